"""Pipeline definitions at synth: built by `pipeline_defs`, cached by a key over every input.

Importing the SageMaker SDK and building a definition costs seconds, and every
`cdk synth`, `cdk diff` and test run would pay it for every pipeline. The
definition is a pure function of (builder inputs, builder source, SDK versions),
so it is cached on disk under that key: an unchanged pipeline is read back, a
changed input, builder file or SDK version builds anew. The SDK is imported only
on a miss. Delete `.cache/` (or `make clean`) to rebuild everything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
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
    path = cache_dir / f"{kind}-{cache_key(kind, inputs)}.json"
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
