"""The predicted scores' baseline and drift (numpy and the standard library only).

A library without a CLI, imported as a sibling module by evaluate.py, which writes the
challenger's validation scores' distribution (`score_baseline`, registered with the package
as `score_baseline_s3_uri`), and by drift.py, which counts a scored batch's predictions in
its bins (`score_counts`) and judges them like a numeric feature (`score_drift`: PSI and
median ratio from drift_stats.py, against profile_limits.DriftLimits), under the name
`SCORE_FEATURE`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

if __package__:
    from . import drift_stats, feature_baseline, profile_limits
else:  # run as a script: the sibling modules sit on PYTHONPATH or in the script's directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import drift_stats  # type: ignore[no-redef]
    import feature_baseline  # type: ignore[no-redef]
    import profile_limits  # type: ignore[no-redef]

SCORE_FEATURE = "prediction_score"


def score_baseline(scores: np.ndarray, *, bins: int = 10) -> dict[str, Any]:
    """The validation scores' distribution (Evaluate, the challenger on its validation
    rows), JSON-ready: {"schema_version", "kind": "scores", "rows", "edges" (interior
    quantile cut points, deduplicated), "counts", "median", "min", "max"}."""
    values = np.asarray(scores, dtype=np.float64)
    values = values[np.isfinite(values)]
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    if not len(values):
        raise ValueError("cannot build a score baseline from 0 finite scores")
    edges = np.unique(np.quantile(values, np.arange(1, bins) / bins))
    return {
        "schema_version": feature_baseline.SCHEMA_VERSION,
        "kind": "scores",
        "rows": len(values),
        "edges": [float(e) for e in edges],
        "counts": score_counts(edges, values).tolist(),
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def score_counts(edges: Sequence[float] | np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Scores per bin of `edges` (bin i: edges[i-1] <= s < edges[i]; NaN in the last), in
    float64 (feature_baseline.bin_counts)."""
    return feature_baseline.bin_counts(
        np.asarray(edges, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    )


def score_drift(
    baseline: Mapping[str, Any],
    counts: Sequence[int] | np.ndarray,
    low: float | None,
    high: float | None,
    limits: profile_limits.DriftLimits,
) -> dict[str, Any]:
    """The batch's predicted scores against the validation scores: an entry like a numeric
    feature's in `drift_report` (psi, median_ratio, drifted, moderate, message)."""
    if (
        baseline.get("kind") != "scores"
        or baseline.get("schema_version") != feature_baseline.SCHEMA_VERSION
    ):
        raise ValueError("not a score baseline (score_stats.score_baseline)")
    counts = np.asarray(counts, dtype=np.float64)
    rows = int(counts.sum())
    if len(counts) != len(baseline["edges"]) + 1:
        raise ValueError("the scores were not counted in this baseline's bins")
    entry, _ = drift_stats.numeric_drift(
        SCORE_FEATURE,
        baseline,
        baseline["edges"],
        counts,
        low,
        high,
        limits,
        judged=rows >= limits.min_rows,
        against="validation",
    )
    return {**entry, "rows": rows}
