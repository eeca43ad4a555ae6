"""Pipeline definitions at synth: built by `pipeline_defs`, cached by a key over every input.

Importing the SageMaker SDK and building a definition costs seconds, and every
`cdk synth`, `cdk diff` and test run would pay it for every pipeline. The
definition is a pure function of (builder inputs, builder source, SDK versions),
so it is cached on disk under that key: an unchanged pipeline is read back, a
changed input, builder file or SDK version builds anew. The SDK is imported only
on a miss. Delete `.cache/` (or `make clean`) to rebuild everything.

Package types share builds: a template is built once per distinct set of other
inputs, and each pipeline's names are filled in (`pipeline_definition`).

`start` begins building the missing templates of the whole app first thing (`app.py`,
before aws_cdk is imported), on a worker process (PKGML_DEFINITION_WORKERS, default 1)
that imports the SDK once; the stacks' constructs are created meanwhile, and each
pipeline waits only for its own template. The results are byte-identical to building
one by one.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
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


# A definition names its package type, pipeline and model package group only as literal
# strings, so one build serves every package type whose other inputs are equal: the
# builder runs on these stand-ins and each pipeline's own names are substituted into the
# text. Each is a valid name (the inputs' checks pass) that no real name contains.
# tests/infra/test_definition_templates.py proves the result byte-identical to building
# each pipeline directly, for every pipeline the app deploys and for edge-case names.
TEMPLATE_PACKAGE_TYPE = "zzpkgmltypezz"
TEMPLATE_PIPELINE_NAME = "zz-pkgml-pipeline-zz"
TEMPLATE_GROUP = "zz-pkgml-group-zz"
_STAND_INS = (TEMPLATE_PIPELINE_NAME, TEMPLATE_GROUP, TEMPLATE_PACKAGE_TYPE)


def template_inputs(inputs: Any) -> Any:
    """`inputs` with the stand-in names: what is built and cached."""
    return dataclasses.replace(
        inputs,
        package_type=TEMPLATE_PACKAGE_TYPE,
        pipeline_name=TEMPLATE_PIPELINE_NAME,
        model_package_group=TEMPLATE_GROUP,
    )


def fill_template(text: str, inputs: Any) -> str:
    """The template `text` with `inputs`' own pipeline, group and package type names."""
    names = (inputs.pipeline_name, inputs.model_package_group, inputs.package_type)
    for name in names:
        if any(stand_in in name for stand_in in _STAND_INS):
            raise ValueError(f"{name!r} contains a name reserved for definition templates")
    for stand_in, name in zip(_STAND_INS, names, strict=True):
        text = text.replace(stand_in, name)
    return text


def pipeline_definition(
    kind: PipelineKind, inputs: Any, *, cache_dir: Path | None = CACHE_DIR
) -> str:
    """The definition text (with placeholders) for `inputs`: its package type's template,
    from the cache when unchanged, with this pipeline's names filled in."""
    return fill_template(_definition(kind, template_inputs(inputs), cache_dir), inputs)


def direct_definition(
    kind: PipelineKind, inputs: Any, *, cache_dir: Path | None = CACHE_DIR
) -> str:
    """The definition built from `inputs` themselves, without a template: the reference
    the templates are checked against."""
    return _definition(kind, inputs, cache_dir)


def _definition(kind: PipelineKind, inputs: Any, cache_dir: Path | None) -> str:
    """`inputs`' definition, from the cache or built (waiting first for a started build)."""
    if cache_dir is None:
        return _build(kind, inputs)
    path = _cache_path(kind, inputs, cache_dir)
    started = _PENDING.pop(path, None)
    if started is not None and not path.is_file():
        # A build that failed in a worker is built again here, where its error is plain.
        with contextlib.suppress(Exception):
            started.result()
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
    """A worker's part of `start`: build and store each definition of `share`."""
    for kind, inputs in share:
        _definition(kind, inputs, Path(cache_dir))
    return len(share)


# Builds started by `start` and not yet waited for, by cache file.
_PENDING: dict[Path, Future[int]] = {}


def start(
    requests: Sequence[tuple[PipelineKind, Any]],
    *,
    cache_dir: Path = CACHE_DIR,
    workers: int | None = None,
) -> list[Future[int]]:
    """Start building, in the background, every template `requests` need that the cache
    lacks; `pipeline_definition` waits for the one it reads. The app calls this before
    creating its first stack, so the builds overlap the constructs' creation. With one
    miss, the worker builds it while the app goes on."""
    missing: dict[Path, tuple[PipelineKind, Any]] = {}
    for kind, inputs in requests:
        template = template_inputs(inputs)
        path = _cache_path(kind, template, cache_dir)
        if not path.is_file() and path not in _PENDING:
            missing.setdefault(path, (kind, template))
    if workers is None:
        # One worker by default: after the SDK's import (about 3 s) a template builds in
        # about 0.1 s, and the app's own process needs the other core (measured on two
        # cores: one worker 8-9 s cold, two 10-12 s; bench/bench_synth.py).
        workers = max(1, int(os.environ.get("PKGML_DEFINITION_WORKERS", "1") or 1))
    workers = min(workers, len(missing))
    if workers < 1:
        return []
    paths = list(missing)
    started = time.monotonic()
    print(
        f"pipeline definitions: building {len(paths)} templates for "
        f"{len(requests)} pipelines on {workers} processes (cache: {cache_dir})",
        file=sys.stderr,
        flush=True,
    )
    futures: list[Future[int]] = []
    for index in range(workers):
        share = paths[index::workers]
        future = _pool(workers).submit(
            _build_share, [missing[path] for path in share], str(cache_dir)
        )
        _PENDING.update(dict.fromkeys(share, future))
        futures.append(future)

    def report(_: Future[int]) -> None:
        if all(future.done() for future in futures):
            built = sum(f.result() for f in futures if f.exception() is None)
            print(
                f"pipeline definitions: built {built} in {time.monotonic() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    for future in futures:
        future.add_done_callback(report)
    return futures
