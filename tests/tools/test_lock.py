"""The locks agree with the requirements they were compiled from (offline, no resolver).

`make lock` compiles requirements*.txt into requirements*.lock with uv (every transitive
package, hashed); `make` installs only the locks. Edit a requirement without re-locking and
these fail, naming the package: a pin that differs or is missing from its lock, a lock
entry no requirement asks for any more, an entry without hashes, or an app lock that
disagrees with the test lock (synth and tests must run the same versions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>\S+)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(path: Path) -> dict[str, str]:
    """{name: version} pinned by a requirements file and the files it includes (-r)."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins |= requirements(path.parent / line[3:].strip())
        elif line:
            match = _REQUIREMENT.match(line)
            assert match, f"{path.name}: {line!r} is not pinned with =="
            pins[_normal(match["name"])] = match["version"]
    return pins


@dataclass
class Entry:
    version: str
    hashes: int = 0
    via: list[str] = field(default_factory=list)


def lock(path: Path) -> dict[str, Entry]:
    """{name: Entry} of a uv-compiled lock (name==version [; marker], hashes, via lines)."""
    entries: dict[str, Entry] = {}
    current: Entry | None = None
    for raw in path.read_text().splitlines():
        if raw and not raw[0].isspace() and not raw.startswith("#"):
            match = _REQUIREMENT.match(raw)
            assert match, f"{path.name}: unexpected line {raw!r}"
            current = Entry(match["version"])
            entries[_normal(match["name"])] = current
        elif current is not None and raw.strip().startswith("--hash=sha256:"):
            current.hashes += 1
        elif current is not None and raw.strip().startswith("#"):
            words = raw.strip("# ").removeprefix("via").strip()
            if words:
                current.via.append(words)
    return entries


LOCKS = [
    ("requirements-bootstrap.in", "requirements-bootstrap.txt"),
    ("requirements.txt", "requirements.lock"),
    ("requirements-dev.txt", "requirements-dev.lock"),
]


@pytest.mark.parametrize(("source", "locked"), LOCKS)
def test_every_requirement_is_locked_at_its_version(source: str, locked: str) -> None:
    entries = lock(ROOT / locked)
    wrong = {
        name: (version, entries[name].version if name in entries else None)
        for name, version in requirements(ROOT / source).items()
        if name not in entries or entries[name].version != version
    }
    assert not wrong, f"{locked} disagrees with {source} (run `make lock`): {wrong}"


@pytest.mark.parametrize(("source", "locked"), LOCKS)
def test_every_lock_entry_is_hashed_and_still_wanted(source: str, locked: str) -> None:
    entries = lock(ROOT / locked)
    assert entries
    unhashed = sorted(name for name, entry in entries.items() if entry.hashes == 0)
    assert not unhashed, f"{locked}: entries without hashes: {unhashed}"
    wanted = requirements(ROOT / source)
    files = {source, *(f.name for f in ROOT.glob("requirements*.txt"))}
    # A package the lock says a requirements file asked for, which that file (and the
    # files it includes) no longer lists: the lock is stale.
    stale = sorted(
        name
        for name, entry in entries.items()
        if any(v.removeprefix("-r ").strip() in files for v in entry.via) and name not in wanted
    )
    assert not stale, f"{locked} still holds {stale}, which {source} no longer asks for"


def test_the_app_lock_is_the_test_lock_restricted() -> None:
    app, dev = lock(ROOT / "requirements.lock"), lock(ROOT / "requirements-dev.lock")
    differ = {n: (e.version, dev[n].version if n in dev else None) for n, e in app.items()}
    differ = {n: v for n, v in differ.items() if v[0] != v[1]}
    assert not differ, f"synth and tests would run different versions: {differ}"


def test_the_parsers_see_a_stale_lock(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("boto3==1.0.0\n")
    (tmp_path / "requirements.lock").write_text(
        "boto3==1.0.1 \\\n    --hash=sha256:00\n    # via -r requirements.txt\n"
        "gone==2.0 \\\n    --hash=sha256:11\n    # via -r requirements.txt\n"
    )
    entries = lock(tmp_path / "requirements.lock")
    assert entries["boto3"].version == "1.0.1" and entries["gone"].via == ["-r requirements.txt"]
    assert requirements(tmp_path / "requirements.txt") == {"boto3": "1.0.0"}


def test_the_overrides_keep_mlflow_out_of_both_locks() -> None:
    # requirements-overrides.txt: the builders never import MLflow (the golden
    # definitions are built without it in CI, where the venv comes from these locks).
    for locked in ("requirements.lock", "requirements-dev.lock"):
        entries = lock(ROOT / locked)
        assert not {"mlflow", "mlflow-skinny", "sagemaker-mlflow"} & set(entries), locked
