"""Run kinds and run ids: what a run file's `kind` may be and which pipeline each starts.

A run kind is the folder of a run file (`runs/<kind>/<run_id>.json`), the extract's
schedule and query template, and the trigger's routing key. Training runs start the
training pipeline; daily and monthly inference share the inference pipeline, which
labels the rows it loads with the kind (its RunKind parameter).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final, Literal

RunKind = Literal["training", "inference-daily", "inference-monthly"]
PipelineKind = Literal["training", "inference"]

RUN_KINDS: Final[tuple[RunKind, ...]] = ("training", "inference-daily", "inference-monthly")
TRAINING_KINDS: Final[frozenset[str]] = frozenset({"training"})
INFERENCE_KINDS: Final[frozenset[str]] = frozenset({"inference-daily", "inference-monthly"})
PIPELINE_KINDS: Final[tuple[PipelineKind, ...]] = ("training", "inference")

_PIPELINE_FOR_RUN: Final[dict[str, PipelineKind]] = {
    **dict.fromkeys(TRAINING_KINDS, "training"),
    **dict.fromkeys(INFERENCE_KINDS, "inference"),
}

RUN_ID_FORM: Final = "1-63 letters, digits and hyphens, starting with a letter or digit"
RUN_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")
"""Any run id (a run file's name; the pipelines' RunId, part of every output prefix)."""

SCHEDULED_RUN_ID: Final = re.compile(
    "(?:" + "|".join(re.escape(kind) for kind in RUN_KINDS) + r")-\d{4}-\d{2}-\d{2}"
)
"""The run id of a scheduled extract: `<kind>-YYYY-MM-DD` (one per kind and day)."""


def pipeline_for_run(run_kind: str) -> PipelineKind:
    """Which pipeline a run kind starts: daily and monthly inference share one pipeline."""
    return _PIPELINE_FOR_RUN[run_kind]


def setting_key(run_kind: str) -> str:
    """The kind as a configuration key or file stem ('inference-daily' -> 'inference_daily')."""
    if run_kind not in RUN_KINDS:
        raise ValueError(f"unknown run kind {run_kind!r}; kinds: {', '.join(RUN_KINDS)}")
    return run_kind.replace("-", "_")


def scheduled_run_id(run_kind: str, run_date: date) -> str:
    """`<kind>-YYYY-MM-DD`: deterministic per kind and date, so a re-fired schedule is the
    same run (`run_kind` is one of RUN_KINDS; callers validate it)."""
    return f"{run_kind}-{run_date.isoformat()}"


_DISPLAY_NAME_CHARS: Final = re.compile(r"[^A-Za-z0-9-]+")


def execution_display_name(run_id: str, package_type: str) -> str:
    """PipelineExecutionDisplayName of a run's execution for one package type, as the
    trigger starts it and the ops CLI finds it: '<run_id>-<package_type>', within
    SageMaker's 82 characters of [A-Za-z0-9-]."""
    name = _DISPLAY_NAME_CHARS.sub("-", f"{run_id}-{package_type}")[:82]
    return name.rstrip("-") or "run"
