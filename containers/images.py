"""Image-faithful virtualenvs: the Python packages of each SageMaker image the platform runs.

Each image the pipelines use has a pins file, `containers/images/<framework>-<version>.txt`:
a header of `# key: value` lines (the image, its Python, the source the pins were read
from, the patches the image applies), then one `name==version` per line: every package the
image installs from PyPI, exactly. `venv(image)` builds a virtualenv from it with the
image's Python (3.12 from PATH or pyenv, or $PKGML_PYTHON_3_12) and caches it under
`.cache/containers/`, keyed by the pins file and the Python, so it is built once per
change. The image's own packages that are not on PyPI are replaced by small shims of ours
(`containers/shims/`, put on PYTHONPATH by the checks).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PINS_DIR = Path(__file__).resolve().parent / "images"
SHIMS_DIR = Path(__file__).resolve().parent / "shims"
CACHE_DIR = ROOT / ".cache" / "containers"
# Bump when the way a venv is built changes (invalidates every cached venv).
BUILDER_VERSION = "1"
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")
_HEADER = re.compile(r"^#\s*(?P<key>[a-z-]+):\s*(?P<value>.+?)\s*$")
# Installed first, so that source distributions build with the image's own setuptools.
_BOOTSTRAP = ("pip", "setuptools")
# Exactly the pins: no resolver additions; source distributions built with the image's
# setuptools; typing 3.10.0.0 (in the scikit-learn image) declares Python < 3.5.
_EXACT = ("--no-deps", "--no-build-isolation", "--ignore-requires-python")


class ImageError(RuntimeError):
    """An image's pins cannot be read or its venv cannot be built."""


@dataclass(frozen=True)
class Patch:
    """A text replacement the image applies to an installed file (`# patch:` lines:
    `<path in site-packages> | <old> | <new>`)."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Image:
    """One image's pins file, parsed."""

    framework: str
    version: str
    python: str
    reference: str
    source: str
    pins: dict[str, str]
    patches: tuple[Patch, ...]
    environment: dict[str, str]
    path: Path

    @property
    def key(self) -> str:
        return f"{self.framework}-{self.version}"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read(path: Path) -> Image:
    """Parse a pins file; ImageError naming the file and line when it is malformed."""
    header: dict[str, list[str]] = {}
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = _HEADER.match(line)
            if match:
                header.setdefault(match["key"], []).append(match["value"])
            continue
        pin = _PIN.match(line)
        if pin is None:
            raise ImageError(f"{path.name}:{number}: expected name==version, got {line!r}")
        name = _normalise(pin["name"])
        if name in pins:
            raise ImageError(f"{path.name}:{number}: {name} is pinned twice")
        pins[name] = pin["version"]
    missing = [k for k in ("image", "python", "reference", "source") if k not in header]
    if missing:
        raise ImageError(f"{path.name}: header lacks {', '.join(f'# {k}:' for k in missing)}")
    framework, _, version = header["image"][0].partition(" ")
    if path.stem != f"{framework}-{version}":
        raise ImageError(f"{path.name}: names image {framework} {version}; rename it or fix it")
    patches = []
    for text in header.get("patch", []):
        parts = [part.strip() for part in text.split("|")]
        if len(parts) != 3:
            raise ImageError(f"{path.name}: a patch is `<path> | <old> | <new>`, got {text!r}")
        patches.append(Patch(*parts))
    environment = {}
    for text in header.get("env", []):
        name, equals, value = text.partition("=")
        if not equals or not name.strip():
            raise ImageError(f"{path.name}: an env line is `NAME=value`, got {text!r}")
        environment[name.strip()] = value.strip()
    for name in _BOOTSTRAP:
        if name not in pins:
            raise ImageError(f"{path.name}: pins no {name} (the image's own is needed)")
    return Image(
        framework=framework,
        version=version,
        python=header["python"][0],
        reference=header["reference"][0],
        source=header["source"][0],
        pins=pins,
        patches=tuple(patches),
        environment=environment,
        path=path,
    )


def images() -> dict[str, Image]:
    """Every pins file, by `<framework>-<version>`."""
    found = {}
    for path in sorted(PINS_DIR.glob("*.txt")):
        image = read(path)
        found[image.key] = image
    return found


def image_for(framework: str, version: str) -> Image:
    """The pins of one image; ImageError listing the known ones if there are none."""
    known = images()
    key = f"{framework}-{version}"
    if key not in known:
        raise ImageError(
            f"no pins for the {framework} {version} image: add containers/images/{key}.txt "
            f"(known: {', '.join(sorted(known)) or 'none'})"
        )
    return known[key]


def image_of_uri(uri: str) -> Image:
    """The pins of the image an ECR image URI names (`<account>.dkr.ecr.<region>.
    amazonaws.com/<repository>:<tag>`): the pins file whose reference has the same
    repository and whose version starts the tag (`1.9-0` in `1.9-0-cpu-py3`)."""
    repository, _, tag = uri.rsplit("/", 1)[-1].partition(":")
    for image in images().values():
        reference_repository = image.reference.partition(":")[0]
        if repository == reference_repository and (
            tag == image.version or tag.startswith(f"{image.version}-")
        ):
            return image
    raise ImageError(
        f"no image-faithful environment for image {uri!r}: add its pins under "
        f"containers/images/ (known: {', '.join(i.reference for i in images().values())})"
    )


def find_python(version: str) -> Path | None:
    """An interpreter of `version` (e.g. "3.12"): $PKGML_PYTHON_3_12, `python3.12` on
    PATH, or pyenv's newest 3.12.x."""
    variable = "PKGML_PYTHON_" + version.replace(".", "_")
    candidates: list[Path] = []
    if os.environ.get(variable):
        candidates.append(Path(os.environ[variable]))
    if sys.version_info[:2] == tuple(int(p) for p in version.split(".")):
        candidates.append(Path(sys.executable))
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(
        (p / "bin" / f"python{version}" for p in pyenv.glob(f"{version}.*")),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)],
        reverse=True,
    )
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if not candidate.is_file():
            continue
        probe = subprocess.run(  # noqa: S603 (an interpreter we found)
            [str(candidate), "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(  # noqa: S603 (our interpreter and pip)
        command, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ImageError(f"{what} failed:\n{(result.stdout + result.stderr)[-4000:]}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def installed(python: Path) -> dict[str, str]:
    """{normalised name: version} of every distribution a venv's python sees."""
    listing = subprocess.run(  # noqa: S603
        [
            str(python),
            "-I",  # not the current folder's distributions
            "-c",
            "import importlib.metadata as m, json; print(json.dumps("
            "{d.metadata['Name']: d.version for d in m.distributions()}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=python.parent,
    )
    return {_normalise(k): v for k, v in json.loads(listing.stdout).items()}


def venv(image: Image, *, log: bool = True) -> Path:
    """The python of a cached venv with exactly the image's pins (built if needed)."""
    interpreter = find_python(image.python)
    if interpreter is None:
        raise ImageError(
            f"the {image.key} image runs Python {image.python}, which is not installed here: "
            f"install it (e.g. pyenv install {image.python}) or set PKGML_PYTHON_"
            f"{image.python.replace('.', '_')}"
        )
    digest = hashlib.sha256(
        image.path.read_bytes() + BUILDER_VERSION.encode() + str(interpreter).encode()
    ).hexdigest()[:12]
    target = CACHE_DIR / f"{image.key}-{digest}"
    python = target / "bin" / "python"
    stamp = target / ".complete"
    with _locked(CACHE_DIR / f".{image.key}.lock"):
        if stamp.is_file():
            return python
        started = time.monotonic()
        if log:
            print(f"containers: building the {image.key} venv from {image.path.name}", flush=True)
        shutil.rmtree(target, ignore_errors=True)
        for stale in CACHE_DIR.glob(f"{image.key}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        _run([str(interpreter), "-m", "venv", str(target)], f"creating the {image.key} venv")
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        first = [*_BOOTSTRAP, *(["wheel"] if "wheel" in image.pins else [])]
        bootstrap = [f"{name}=={image.pins[name]}" for name in first]
        _run([*pip, *bootstrap], f"installing {' '.join(bootstrap)}")
        requirements = target / "pins.txt"
        requirements.write_text(
            "".join(f"{n}=={v}\n" for n, v in image.pins.items() if n not in first)
        )
        # Exactly the pins: no resolver additions, sdists built with the image's setuptools.
        _run(
            [*pip, *_EXACT, "-r", str(requirements)],
            f"installing the {image.key} pins",
        )
        if "wheel" not in image.pins:
            subprocess.run(  # noqa: S603
                [str(python), "-m", "pip", "uninstall", "-y", "-q", "wheel"],
                capture_output=True,
                check=False,
            )
        _apply_patches(image, python)
        have = installed(python)
        differ = {
            name: (version, have.get(name))
            for name, version in image.pins.items()
            if have.get(name) != version
        }
        extra = sorted(set(have) - set(image.pins))
        if differ or extra:
            raise ImageError(
                f"the {image.key} venv does not match its pins: differ {differ}, extra {extra}"
            )
        stamp.write_text(json.dumps({"interpreter": str(interpreter), "pins": image.pins}))
        if log:
            seconds = time.monotonic() - started
            print(f"containers: {image.key} venv built in {seconds:.0f} s ({target})", flush=True)
    return python


def site_packages(python: Path) -> Path:
    result = subprocess.run(  # noqa: S603
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(result.stdout.strip())


def _apply_patches(image: Image, python: Path) -> None:
    site = site_packages(python)
    for patch in image.patches:
        path = site / patch.path
        if not path.is_file():
            raise ImageError(f"{image.key}: patch target {patch.path} is not installed")
        text = path.read_text()
        if patch.old not in text:
            raise ImageError(f"{image.key}: {patch.path} has no {patch.old!r} to patch")
        path.write_text(text.replace(patch.old, patch.new))


def standins(python: Path, requirements: Sequence[str]) -> Path:
    """A folder with `requirements` installed for `python`'s version (pip --target),
    cached: libraries the rehearsal's local AWS stand-ins need inside a step (DuckDB for
    the Data API), kept out of the image's venv."""
    version = subprocess.run(  # noqa: S603
        [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:12]
    target = CACHE_DIR / f"standins-py{version}-{digest}"
    stamp = target / ".complete"
    with _locked(CACHE_DIR / f".standins-py{version}.lock"):
        if not stamp.is_file():
            shutil.rmtree(target, ignore_errors=True)
            _run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "-q",
                    "--no-deps",
                    "--target",
                    str(target),
                    *requirements,
                ],
                f"installing the rehearsal's stand-in libraries for Python {version}",
            )
            stamp.write_text("\n".join(requirements))
    return target
