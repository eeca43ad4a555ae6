"""Paired comparison of two models' ROC AUC on the same rows (DeLong et al., 1988).

Both models score the same validation rows, so their AUCs are correlated; DeLong's
structural components estimate the variance of the *difference* with that correlation
taken into account. The computation uses midranks (Sun and Xu, 2014): O(n log n) time,
so it runs on millions of rows in seconds.

For positives X (m rows) and negatives Y (n rows), per model k: V10_k(x) = the share of
negatives x outranks (ties count a half), V01_k(y) = the share of positives that outrank y;
AUC_k = mean(V10_k) = mean(V01_k); Var(AUC_a - AUC_b) = e' (S10 / m + S01 / n) e with
S10, S01 the 2x2 sample covariances of the components and e = (1, -1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from pkgml_contracts import gate

METHOD = "delong"


@dataclass(frozen=True)
class PairedAuc:
    """Challenger and champion ROC AUC on the same rows, and their difference's interval."""

    rows: int
    positives: int
    negatives: int
    challenger_auc: float
    champion_auc: float
    difference: float  # challenger - champion
    standard_error: float
    confidence: float
    interval: tuple[float, float]
    p_value: float  # two-sided, H0: equal AUC

    def text(self) -> str:
        """One sentence for the gate's reasons and the notification."""
        return gate.same_rows_text(
            self.challenger_auc, self.champion_auc, self.rows, self.confidence, self.interval
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for evaluation.json and the decision."""
        return {
            "method": METHOD,
            "rows": self.rows,
            "positives": self.positives,
            "negatives": self.negatives,
            "challenger_auc": self.challenger_auc,
            "champion_auc": self.champion_auc,
            "difference": self.difference,
            "standard_error": self.standard_error,
            "confidence": self.confidence,
            "interval": list(self.interval),
            "p_value": self.p_value,
        }


def midranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ordered)) + 1]
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def _scores(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} scores must be one number per row")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(
            f"{name} scores hold {bad.size} non-finite values (first at row {int(bad[0])})"
        )
    return array


def _components(
    positives: np.ndarray, negatives: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """(AUC, V10 per positive, V01 per negative) of one model."""
    m, n = len(positives), len(negatives)
    within_positives = midranks(positives)
    within_negatives = midranks(negatives)
    overall = midranks(np.concatenate([positives, negatives]))
    v10 = (overall[:m] - within_positives) / n
    v01 = 1.0 - (overall[m:] - within_negatives) / m
    return float(v10.mean()), v10, v01


def compare_auc(
    labels: Sequence[int] | np.ndarray,
    challenger: Sequence[float] | np.ndarray,
    champion: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
) -> PairedAuc:
    """DeLong comparison of challenger and champion scores of the same labelled rows."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be within (0, 1), got {confidence}")
    y = np.asarray(labels)
    a = _scores(challenger, "challenger")
    b = _scores(champion, "champion")
    if not len(y) == len(a) == len(b):
        raise ValueError(
            f"labels, challenger and champion scores have 3 lengths {len(y)}, {len(a)}, "
            f"{len(b)}: the scores must be of the same rows"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    positive = y == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        raise ValueError(
            f"a paired AUC comparison needs at least 2 positive and 2 negative rows "
            f"(got {m} positive, {n} negative)"
        )
    auc_a, v10_a, v01_a = _components(a[positive], a[~positive])
    auc_b, v10_b, v01_b = _components(b[positive], b[~positive])
    s10 = np.cov(np.vstack([v10_a, v10_b]))
    s01 = np.cov(np.vstack([v01_a, v01_b]))
    covariance = s10 / m + s01 / n
    variance = float(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1])
    standard_error = math.sqrt(max(variance, 0.0))
    difference = auc_a - auc_b
    normal = NormalDist()
    z = normal.inv_cdf(0.5 + confidence / 2)
    if standard_error > 0:
        p_value = 2 * (1 - normal.cdf(abs(difference) / standard_error))
    else:
        p_value = 1.0 if difference == 0 else 0.0
    return PairedAuc(
        rows=len(y),
        positives=m,
        negatives=n,
        challenger_auc=auc_a,
        champion_auc=auc_b,
        difference=difference,
        standard_error=standard_error,
        confidence=confidence,
        interval=(difference - z * standard_error, difference + z * standard_error),
        p_value=p_value,
    )
