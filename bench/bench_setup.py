"""Fresh-clone cost: the README's commands on a clean clone of the current commit.

Clones HEAD into a temporary folder and times, one after another: `make setup` (venv,
uv, the synth lock, Node and the CDK CLI), `make synth` (the first: every pipeline
definition built), `make setup-dev` (the test lock), and reports the size of `.venv`
and its package count. uv's download cache (~/.cache/uv) is kept as a developer's
machine would have it; set BENCH_COLD_UV=1 to use an empty one. Set BENCH_WITH_TEST=1 to
also time `make test` (about 10 minutes here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 (make, in our own clone)
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return time.perf_counter() - started


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MAKE"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    with tempfile.TemporaryDirectory() as tmp:
        if os.environ.get("BENCH_COLD_UV") == "1":
            env["UV_CACHE_DIR"] = str(Path(tmp) / "uv-cache")
        clone = Path(tmp) / "clone"
        subprocess.run(  # noqa: S603
            ["git", "clone", "-q", str(ROOT), str(clone)],  # noqa: S607
            check=True,
        )
        figures = [
            ("make setup (venv, uv, synth lock, CDK CLI)", _timed(["make", "setup"], clone, env)),
            ("make synth (first: definitions built)", _timed(["make", "synth"], clone, env)),
            ("make setup-dev (test lock)", _timed(["make", "setup-dev"], clone, env)),
        ]
        if os.environ.get("BENCH_WITH_TEST") == "1":
            figures.append(("make test", _timed(["make", "test"], clone, env)))
        venv = clone / ".venv"
        packages = len(list(venv.glob("lib/python*/site-packages/*.dist-info")))
        print(f"{'step':<46}{'seconds':>9}")
        for label, seconds in figures:
            print(f"{label:<46}{seconds:>9.1f}")
        print(f".venv: {_size(venv) / 2**30:.2f} GiB, {packages} packages")
        shutil.rmtree(clone, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
