"""Where benchmarks write their outputs: a new private folder per run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

TMPFS_MIN_FREE = 4 * 1024**3


def scratch_dir(prefix: str, cache: Path) -> Path:
    """A new private folder: on tmpfs (/dev/shm) when it has 4 GiB free, so disk speed does
    not blur the figures; else under `cache`."""
    shm = Path("/dev", "shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > TMPFS_MIN_FREE:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=shm))
    cache.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="out-", dir=cache))


def run_figures(
    command: Callable[[Path], list[str]], *, prefix: str, cache: Path, root: Path, what: str
) -> dict[str, Any]:
    """Run `command(out)` (a fresh interpreter writing into a new scratch folder `out`,
    removed afterwards) from `root`; the JSON object on its last stdout line."""
    out = scratch_dir(prefix, cache)
    os.sync()  # earlier runs' dirty pages must not be flushed during this one
    try:
        result = subprocess.run(  # noqa: S603 (the benchmark's own child, fixed interpreter)
            command(out),
            cwd=root,
            check=False,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))
