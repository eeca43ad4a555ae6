"""Content-addressed staging folders for assets assembled at synth (no Docker, no bundling)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STAGING_ROOT = PROJECT_ROOT / ".cache" / "staging"


def content_hash(files: Mapping[str, Path]) -> str:
    """sha256 over the relative names and contents of `files` ({relative name: source})."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].read_bytes() + b"\0")
    return digest.hexdigest()


def stage(files: Mapping[str, Path], root: Path = STAGING_ROOT) -> Path:
    """`<root>/<content hash>/` holding `files`; laid out once, atomically, then reused."""
    target = root / content_hash(files)
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=root, prefix=".staging-"))
    for name, source in files.items():
        destination = work / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    try:
        os.replace(work, target)
    except OSError:  # a concurrent synth staged the same content first
        shutil.rmtree(work, ignore_errors=True)
    return target
