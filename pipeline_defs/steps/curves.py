"""The curves of the model report, computed by Evaluate on the validation rows.

`curve_data`: ROC and precision-recall points (cut at the distinct scores, ties grouped,
downsampled to CURVE_POINTS), calibration (CALIBRATION_BINS equal-width score bins: mean
score, observed positive rate, rows), score histograms per label (HISTOGRAM_BINS bins of
[0, 1]) and lift per tenth of the rows by score (rows, positives, lift over the overall
positive rate, share of the positives captured so far).

`feature_association`: |Spearman rank correlation| of each input column with the score,
strongest first (model-agnostic: Evaluate has the scores, not the model).

numpy only (and paired.midranks), like the processing image's other step code;
`model_report` draws the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

if __package__:
    from . import paired
else:  # run as a script's sibling module: it sits in the script's own directory
    import paired  # type: ignore[no-redef]

CURVES_FILE = "curves.json"
CURVE_POINTS = 101  # ROC / PR points kept per model
CALIBRATION_BINS = 10
HISTOGRAM_BINS = 20
LIFT_GROUPS = 10


def curve_data(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """ROC, precision-recall, calibration, score histograms per label and lift per decile.

    Cut points are the distinct scores (ties grouped), downsampled to CURVE_POINTS.
    """
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if len(labels) != len(scores) or len(labels) == 0:
        raise ValueError(
            "need equal, non-zero numbers of labels and scores, "
            f"got {len(labels)} and {len(scores)}"
        )
    positives = int(labels.sum())
    negatives = len(labels) - positives
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_labels = scores[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    true_pos = np.cumsum(sorted_labels)[last_of_tie]
    false_pos = (last_of_tie + 1) - true_pos
    keep = np.unique(
        np.linspace(0, len(last_of_tie) - 1, min(CURVE_POINTS, len(last_of_tie)))
        .round()
        .astype(int)
    )
    tpr = true_pos / positives if positives else np.zeros_like(true_pos, dtype=float)
    fpr = false_pos / negatives if negatives else np.zeros_like(false_pos, dtype=float)
    precision = true_pos / (last_of_tie + 1)
    roc = [[0.0, 0.0]] + [[float(fpr[i]), float(tpr[i])] for i in keep]
    pr = [[float(tpr[i]), float(precision[i])] for i in keep] if positives else []

    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, CALIBRATION_BINS - 1)
    calibration = [
        {
            "mean_score": float(scores[which == b].mean()),
            "positive_rate": float(labels[which == b].mean()),
            "rows": int(np.sum(which == b)),
        }
        for b in range(CALIBRATION_BINS)
        if np.any(which == b)
    ]
    histogram_edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    histogram = {
        str(label): np.histogram(scores[labels == label], bins=histogram_edges)[0].tolist()
        for label in (0, 1)
    }
    groups = np.array_split(np.arange(len(scores)), LIFT_GROUPS)
    rate = positives / len(labels)
    captured = 0
    lift = []
    for number, rows in enumerate(groups, start=1):
        if len(rows) == 0:
            continue
        hits = int(sorted_labels[rows].sum())
        captured += hits
        lift.append(
            {
                "group": number,
                "rows": len(rows),
                "positives": hits,
                "lift": (hits / len(rows)) / rate if rate else None,
                "captured": captured / positives if positives else None,
            }
        )
    return {
        "rows": len(labels),
        "positives": positives,
        "roc": roc,
        "pr": pr,
        "calibration": calibration,
        "histogram": {"edges": histogram_edges.tolist(), "counts": histogram},
        "lift": lift,
    }


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rank correlation of the pairs where both are finite (None when either
    side is constant or fewer than 3 pairs remain)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if len(x) < 3:
        return None
    rx, ry = paired.midranks(x), paired.midranks(y)
    sx, sy = rx.std(), ry.std()
    if sx == 0 or sy == 0:
        return None
    return float(np.mean((rx - rx.mean()) * (ry - ry.mean())) / (sx * sy))


def feature_association(
    columns: Mapping[str, np.ndarray], scores: np.ndarray
) -> list[dict[str, Any]]:
    """|Spearman| of each column with the score, strongest first (constant columns left out)."""
    rows = []
    for name, values in columns.items():
        rho = spearman(values, scores)
        if rho is not None:
            rows.append({"feature": name, "spearman": rho, "strength": abs(rho)})
    return sorted(rows, key=lambda row: (-row["strength"], row["feature"]))
