"""Pipeline definitions at synth: built by `pipeline_defs`, cached by a key over every input.

Importing the SageMaker SDK and building a definition costs seconds, and every
`cdk synth`, `cdk diff` and test run would pay it for every pipeline. The
definition is a pure function of (builder inputs, builder source, SDK versions),
so it is cached on disk under that key: an unchanged pipeline is read back, a
changed input, builder file or SDK version builds anew. The SDK is imported only
on a miss. Delete `.cache/` (or `make clean`) to rebuild everything.

`prebuild` builds the misses of a whole stack at once, split over worker processes
(one per core, at most PKGML_DEFINITION_WORKERS): each imports the SDK once and builds
its share; the results are byte-identical to building them one by one.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = PROJECT_ROOT / ".cache" / "pipeline-definitions"
# Every module a definition can depend on: the builders and the contracts they read. The
# architectures' declarations are part of the inputs; their programs only of the code
# bundles, which the definitions name by placeholder.
BUILDER_SOURCES = tuple(
    sorted(
        [
            *(PROJECT_ROOT / "pipeline_defs").glob("*.py"),
            *(PROJECT_ROOT / "pkgml_contracts").glob("*.py"),
        ]
    )
)
SDK_DISTRIBUTIONS = ("sagemaker", "sagemaker-core", "sagemaker-mlops", "sagemaker-train")

PipelineKind = Literal["training", "inference"]


def _fingerprint() -> dict[str, str]:
    versions = {name: metadata.version(name) for name in SDK_DISTRIBUTIONS}
    sources = {
        path.relative_to(PROJECT_ROOT).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in BUILDER_SOURCES
    }
    return {**versions, **sources}


_FINGERPRINT: dict[str, str] | None = None


def cache_key(kind: PipelineKind, inputs: Any) -> str:
    """sha256 of the kind, the builder inputs, the builder sources and the SDK versions."""
    global _FINGERPRINT  # computed once per process: the sources do not change mid-synth
    if _FINGERPRINT is None:
        _FINGERPRINT = _fingerprint()
    payload = {
        "kind": kind,
        "inputs": dataclasses.asdict(inputs),
        "fingerprint": _FINGERPRINT,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _build(kind: PipelineKind, inputs: Any) -> str:
    if kind == "training":
        from pipeline_defs.training import build_training_pipeline

        return build_training_pipeline(inputs)
    from pipeline_defs.inference import build_inference_pipeline

    return build_inference_pipeline(inputs)


def pipeline_definition(
    kind: PipelineKind, inputs: Any, *, cache_dir: Path | None = CACHE_DIR
) -> str:
    """The definition text (with placeholders) for `inputs`; from the cache when unchanged."""
    if cache_dir is None:
        return _build(kind, inputs)
    path = _cache_path(kind, inputs, cache_dir)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    text = _build(kind, inputs)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Atomic: concurrent synths never read a half-written file.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return text


_POOLS: dict[int, ProcessPoolExecutor] = {}


def _pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes kept for the whole synth: the next stack's misses reuse workers
    that have imported the SDK and loaded its service models already. spawn: a fresh
    interpreter (the parent runs the jsii kernel's threads)."""
    if workers not in _POOLS:
        context = multiprocessing.get_context("spawn")
        _POOLS[workers] = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        atexit.register(_POOLS[workers].shutdown)
    return _POOLS[workers]


def _cache_path(kind: PipelineKind, inputs: Any, cache_dir: Path) -> Path:
    return cache_dir / f"{kind}-{cache_key(kind, inputs)}.json"


def _build_share(share: list[tuple[PipelineKind, Any]], cache_dir: str) -> int:
    """A worker's part of `prebuild`: build and store each definition of `share`."""
    for kind, inputs in share:
        pipeline_definition(kind, inputs, cache_dir=Path(cache_dir))
    return len(share)


def prebuild(
    requests: Sequence[tuple[PipelineKind, Any]],
    *,
    cache_dir: Path = CACHE_DIR,
    workers: int | None = None,
) -> int:
    """Build every requested definition missing from the cache, in parallel; the number
    built. With one miss, or one worker, nothing is done here (`pipeline_definition`
    builds on demand)."""
    missing: dict[Path, tuple[PipelineKind, Any]] = {}
    for kind, inputs in requests:
        path = _cache_path(kind, inputs, cache_dir)
        if not path.is_file():
            missing.setdefault(path, (kind, inputs))
    if workers is None:
        limit = int(os.environ.get("PKGML_DEFINITION_WORKERS", "0") or 0)
        workers = min(os.cpu_count() or 1, limit) if limit > 0 else os.cpu_count() or 1
    workers = min(workers, len(missing))
    if workers <= 1:
        return 0
    work = list(missing.values())
    shares = [work[index::workers] for index in range(workers)]
    started = time.monotonic()
    built = sum(_pool(workers).map(_build_share, shares, [str(cache_dir)] * workers))
    print(
        f"pipeline definitions: built {built} in {time.monotonic() - started:.1f} s "
        f"on {workers} processes (cached in {cache_dir})",
        file=sys.stderr,
        flush=True,
    )
    return built
