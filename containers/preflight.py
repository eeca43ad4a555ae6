"""Can this machine run the container checks? `python -m containers.preflight`

Exit 0 when it can (a sandbox, and each image's Python); 1 with the reason otherwise.
`--quiet`: print nothing; `--reason`: print only the reason (nothing when it can).
Without flags, also builds (or finds cached) every image's venv and says how long it took.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

from containers import images, sandbox


def reason() -> str | None:
    why = sandbox.unavailable()
    if why:
        return f"no sandbox: {why}"
    missing = sorted(
        f"Python {image.python} (image {image.key})"
        for image in images.images().values()
        if images.find_python(image.python) is None
    )
    if missing:
        return f"not installed: {', '.join(missing)} (pyenv install, or PKGML_PYTHON_3_12=...)"
    return None


def main(argv: list[str]) -> int:
    why = reason()
    if "--reason" in argv:
        if why:
            print(why)
        return 0 if why is None else 1
    if why:
        if "--quiet" not in argv:
            print(f"containers: cannot run here: {why}", file=sys.stderr)
        return 1
    if "--quiet" in argv:
        return 0
    began = time.monotonic()
    # Building is mostly pip waiting on downloads and compilers: the images in parallel.
    with ThreadPoolExecutor() as pool:
        built = dict(
            zip(images.images(), pool.map(images.venv, images.images().values()), strict=True)
        )
    for key, python in built.items():
        print(f"containers: {key} venv ready: {python}")
    print(f"containers: every image's venv ready in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
