"""Input drift statistics: a scored batch's features counted in the training baseline's bins,
and compared with it (numpy and the standard library only).

A library without a CLI, imported as a sibling module by prepare.py, which counts its
batches (`DriftHistogram.to_dict()` into `<host>/profile.json`, with the baseline it
histogrammed against), and by drift.py, which merges the hosts' histograms and writes
`drift_report`. The baseline is feature_baseline.build_baseline's, the limits
profile_limits.DriftLimits.

`DriftHistogram(baseline)` counts a batch's rows in the baseline's bins or values (a value
never seen in training counts in a last `(other)` bucket) and keeps each numeric feature's
min and max: O(features x bins) memory, never O(rows), and `merge` adds counts up.
`update(matrix)` takes the feature matrix, `update_columns` the same values as one array per
feature column (Prepare's CSV columns, no copy); `to_dict()` and `from_dict(baseline, data)`
carry it between hosts (with its bins, checked against the baseline's).

`drift_report` compares: PSI per feature (`psi`), the total variation distance of
categorical features (`total_variation`), and the batch median of numeric features (from
its bins, by linear interpolation within the median's bin, bounded by the batch's min and
max) over the training median. A feature drifted when its PSI is above `DriftLimits.psi`
or, categorical, its distance above `DriftLimits.category_distance`; a feature not drifted
whose PSI is above `DriftLimits.psi_moderate` (0.1) shifted moderately (the customary PSI
reading: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a significant one). The
verdict is `drift` when any feature drifted, else `moderate` when any shifted, else `ok`;
only `drift` is alarmed or blocked. A batch of fewer than `DriftLimits.min_rows` rows is
not judged (`insufficient_rows`).
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

if __package__:
    from . import feature_baseline, features, profile_limits
else:  # run as a script: the sibling modules sit on PYTHONPATH or in the script's directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import feature_baseline  # type: ignore[no-redef]
    import features  # type: ignore[no-redef]
    import profile_limits  # type: ignore[no-redef]

OTHER_VALUE = "(other)"
PROFILE_FILE = "profile.json"
"""What each Prepare host writes into its summary output and drift.py merges."""
TOP_FEATURES = 5
"""The most drifted features a report names in `top` (the FeaturePSI metrics)."""


def ratio_text(ratio: float) -> str:
    """A ratio with 2 significant digits and no exponent: 3.1, 0.95, 12."""
    if ratio <= 0 or not math.isfinite(ratio):
        return profile_limits.number_text(ratio)
    decimals = max(0, 1 - math.floor(math.log10(ratio)))
    return f"{ratio:.{decimals}f}"


class DriftHistogram:
    """Streaming counts of feature matrices in a baseline's bins and values (module doc).

    Per numeric feature: counts per bin (len(edges) + 1) and the min and max seen; per
    categorical feature: counts per training value, then one for values never seen in
    training (`(other)`). Memory O(features x bins).
    """

    def __init__(self, baseline: Mapping[str, Any]) -> None:
        specs = feature_baseline.baseline_features(baseline)
        self.package_type = str(baseline.get("package_type"))
        self.baseline_rows = int(baseline.get("rows", 0))
        self.rows = 0
        self.edges: dict[str, np.ndarray] = {}
        self._thresholds: dict[str, np.ndarray] = {}
        self.values: dict[str, list[str]] = {}
        self.counts: dict[str, np.ndarray] = {}
        self.minimum: dict[str, float | None] = {}
        self.maximum: dict[str, float | None] = {}
        for name, spec in specs.items():
            if spec["kind"] == "numeric":
                edges = np.asarray(spec["edges"], dtype=np.float64)
                if len(edges) > 1 and not np.all(np.diff(edges) > 0):
                    raise ValueError(f"feature baseline: {name!r} edges are not increasing")
                self.edges[name] = edges
                self._thresholds[name] = feature_baseline.float32_thresholds(edges)
                self.counts[name] = np.zeros(len(edges) + 1, dtype=np.int64)
                self.minimum[name] = self.maximum[name] = None
            else:
                self.values[name] = [str(v) for v in spec["values"]]
                self.counts[name] = np.zeros(len(spec["values"]) + 1, dtype=np.int64)
        self._index = {name: {v: i for i, v in enumerate(vs)} for name, vs in self.values.items()}

    def spawn(self) -> DriftHistogram:
        """An empty histogram in the same bins (for one batch, to be merged back)."""
        histogram = copy.copy(self)
        histogram.rows = 0
        histogram.counts = {name: np.zeros_like(c) for name, c in self.counts.items()}
        histogram.minimum = dict.fromkeys(self.minimum)
        histogram.maximum = dict.fromkeys(self.maximum)
        return histogram

    def update(self, matrix: np.ndarray) -> None:
        """Count a batch's feature matrix (features.compute_features of its rows)."""
        self.update_columns(feature_baseline.matrix_columns(matrix))

    def update_columns(self, columns: Mapping[str, np.ndarray]) -> None:
        """Count a batch given as {feature column: values} (every features.FEATURE_COLUMNS
        name; the matrix's float32 values, whole-number features may be any integer type):
        what Prepare has at hand, split.feature_csv_columns' arrays, without a copy."""
        missing = [name for name in features.FEATURE_COLUMNS if name not in columns]
        if missing:
            raise ValueError(f"feature columns {missing} are missing")
        rows = len(columns[features.FEATURE_COLUMNS[0]])
        if not rows:
            return
        self.rows += rows
        for name, thresholds in self._thresholds.items():
            values = feature_baseline.continuous_values(columns, name)
            self.counts[name] += feature_baseline.bin_counts(thresholds, values)
            low, high = float(values.min()), float(values.max())
            current_low, current_high = self.minimum[name], self.maximum[name]
            self.minimum[name] = low if current_low is None else min(current_low, low)
            self.maximum[name] = high if current_high is None else max(current_high, high)
        for name, index in self._index.items():
            other = len(index)
            for value, count in feature_baseline.categorical_counts(name, columns).items():
                self.counts[name][index.get(value, other)] += count

    def _same_bins(self, other: DriftHistogram) -> bool:
        return (
            self.edges.keys() == other.edges.keys()
            and all(np.array_equal(e, other.edges[n]) for n, e in self.edges.items())
            and self.values == other.values
        )

    def merge(self, other: DriftHistogram) -> DriftHistogram:
        """Add `other`'s counts (same baseline bins); returns self."""
        if not self._same_bins(other):
            raise ValueError("cannot merge drift histograms of different baselines (bins differ)")
        self.rows += other.rows
        for name, counts in other.counts.items():
            self.counts[name] += counts
        for name in self.edges:
            for mine, theirs, pick in (
                (self.minimum, other.minimum, min),
                (self.maximum, other.maximum, max),
            ):
                values = [v for v in (mine[name], theirs[name]) if v is not None]
                mine[name] = pick(values) if values else None
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts, with the bins they are in (from_dict checks them)."""
        out: dict[str, Any] = {}
        for name, counts in self.counts.items():
            if name in self.edges:
                out[name] = {
                    "kind": "numeric",
                    "edges": self.edges[name].tolist(),
                    "counts": counts.tolist(),
                    "min": self.minimum[name],
                    "max": self.maximum[name],
                }
            else:
                out[name] = {
                    "kind": "categorical",
                    "values": [*self.values[name], OTHER_VALUE],
                    "counts": counts.tolist(),
                }
        return {
            "package_type": self.package_type,
            "baseline_rows": self.baseline_rows,
            "rows": self.rows,
            "features": out,
        }

    @classmethod
    def from_dict(cls, baseline: Mapping[str, Any], data: Mapping[str, Any]) -> DriftHistogram:
        """The histogram to_dict wrote, against the `baseline` it was counted with."""
        histogram = cls(baseline)
        stored = data.get("features", {})
        if set(stored) != set(histogram.counts):
            raise ValueError(
                f"histogram features {sorted(stored)} differ from the baseline's "
                f"{sorted(histogram.counts)}"
            )
        for name, spec in stored.items():
            counts = np.asarray(spec["counts"], dtype=np.int64)
            if name in histogram.edges:
                same = np.array_equal(np.asarray(spec["edges"], float), histogram.edges[name])
                histogram.minimum[name], histogram.maximum[name] = spec["min"], spec["max"]
            else:
                same = list(spec["values"]) == [*histogram.values[name], OTHER_VALUE]
            if not same or counts.shape != histogram.counts[name].shape:
                raise ValueError(
                    f"histogram of {name!r} was counted in other bins than the baseline's"
                )
            histogram.counts[name] = counts
        histogram.rows = int(data["rows"])
        return histogram


def _proportions(counts: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    values = np.asarray(counts, dtype=np.float64)
    if values.ndim != 1 or not len(values):
        raise ValueError(f"{what} counts must be a non-empty list, got {counts!r}")
    if np.any(values < 0) or not np.all(np.isfinite(values)):
        raise ValueError(f"{what} counts must be finite and >= 0, got {counts!r}")
    total = values.sum()
    if total <= 0:
        raise ValueError(f"{what} counts add up to 0: no rows to compare")
    return values / total


def psi(
    expected_counts: Sequence[float] | np.ndarray,
    actual_counts: Sequence[float] | np.ndarray,
    epsilon: float = 1e-4,
) -> float:
    """Population stability index: sum over bins of (a - e) * ln(a / e), where e and a are
    the expected (training) and actual (batch) proportions, each floored at `epsilon`.

    Why the floor: a bin empty on one side has proportion 0 and ln(0) is infinite, so one
    empty bin (a category training never saw, a tail the batch lacks) would make the index
    infinite and hide how much the rest moved. Floored at 1e-4 (one row in 10,000, below
    what a bin of a 10-bin baseline holds), a bin's term stays finite (at most about
    |a - e| * 9.2) while a real shift still scores far above the usual 0.25 limit.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    expected = _proportions(expected_counts, "expected")
    actual = _proportions(actual_counts, "actual")
    if expected.shape != actual.shape:
        raise ValueError(f"expected {len(expected)} bins, got {len(actual)} actual bins")
    expected, actual = np.maximum(expected, epsilon), np.maximum(actual, epsilon)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def total_variation(
    expected_counts: Sequence[float] | np.ndarray, actual_counts: Sequence[float] | np.ndarray
) -> float:
    """Total variation distance of two distributions: half the sum of |a - e| over the
    proportions (0: the same mix, 1: nothing in common)."""
    expected = _proportions(expected_counts, "expected")
    actual = _proportions(actual_counts, "actual")
    if expected.shape != actual.shape:
        raise ValueError(f"expected {len(expected)} values, got {len(actual)} actual values")
    return float(0.5 * np.abs(actual - expected).sum())


def binned_median(
    edges: Sequence[float] | np.ndarray,
    counts: Sequence[int] | np.ndarray,
    low: float | None,
    high: float | None,
) -> float | None:
    """The median estimated from bin counts: linear within the bin holding the middle row,
    whose ends are its edges bounded by the data's `low` and `high` (the outer bins are
    open: they end at low and high). None without rows."""
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    total = counts.sum()
    if total <= 0 or low is None or high is None:
        return None
    half = total / 2.0
    cumulative = np.cumsum(counts)
    index = int(np.searchsorted(cumulative, half, side="left"))
    before = cumulative[index] - counts[index]
    left = max(float(edges[index - 1]), low) if index > 0 else low
    right = min(float(edges[index]), high) if index < len(edges) else high
    if right <= left:
        return float(left)
    return float(left + (half - before) / counts[index] * (right - left))


def numeric_drift(
    name: str,
    baseline: Mapping[str, Any],
    edges: Sequence[float] | np.ndarray,
    counts: np.ndarray,
    low: float | None,
    high: float | None,
    limits: profile_limits.DriftLimits,
    *,
    judged: bool,
    against: str,
) -> tuple[dict[str, Any], float | None]:
    """One numeric value's drift entry (a feature, or the predicted scores) and its
    unrounded PSI: PSI of the batch's `counts` against the baseline's in the same bins,
    the batch median (from its bins, within `low`..`high`) over the baseline's `median`,
    drifted / moderate by `limits` when the batch is `judged` (enough rows), and the
    message ("...x the <against> median")."""
    counts = np.asarray(counts, dtype=np.float64)
    expected = np.asarray(baseline["counts"], dtype=np.float64)
    value = psi(expected, counts) if counts.sum() else None
    median = binned_median(edges, counts, low, high)
    reference = float(baseline["median"])
    ratio = None if median is None or reference == 0 else median / reference
    drifted = judged and value is not None and value > limits.psi
    message = f"{name}: " + (
        "no rows" if value is None else f"PSI {value:.2f} (limit {limits.psi:g})"
    )
    if ratio is not None:
        message += f"; the batch's median is {ratio_text(ratio)}x the {against} median"
    entry = {
        "kind": "numeric",
        "psi": None if value is None else round(value, 6),
        "median_ratio": None if ratio is None else round(ratio, 6),
        "drifted": drifted,
        "moderate": judged and not drifted and value is not None and value > limits.psi_moderate,
        "message": message,
    }
    return entry, value


def drift_report(
    baseline: Mapping[str, Any], histogram: DriftHistogram, limits: profile_limits.DriftLimits
) -> dict[str, Any]:
    """The batch's drift against the baseline, JSON-ready (module doc).

    {"rows", "baseline_rows", "features": {name: {"kind", "psi", "distance" (categorical),
    "median_ratio" (numeric), "drifted", "moderate", "message"}}, "drifted": [names, worst
    first], "moderate": [names], "top": [up to 5 names, highest PSI first], "max_psi",
    "verdict": ok | moderate | drift | insufficient_rows, "summary": the drifted (else the
    moderately shifted) features' messages, or why the batch was not judged}.
    """
    specs = feature_baseline.baseline_features(baseline)
    if set(specs) != set(histogram.counts) or any(
        spec["kind"] == "numeric"
        and not np.array_equal(np.asarray(spec["edges"], float), histogram.edges[name])
        for name, spec in specs.items()
    ):
        raise ValueError("the histogram was not counted in this baseline's bins")
    rows = histogram.rows
    judged = rows >= limits.min_rows
    report: dict[str, Any] = {}
    severity: dict[str, float] = {}
    for name, spec in specs.items():
        counts = histogram.counts[name]
        if spec["kind"] == "numeric":
            report[name], value = numeric_drift(
                name,
                spec,
                histogram.edges[name],
                counts,
                histogram.minimum[name],
                histogram.maximum[name],
                limits,
                judged=judged,
                against="training",
            )
            severity[name] = 0.0 if value is None else value / limits.psi
            continue
        entry: dict[str, Any] = {"kind": spec["kind"]}
        expected = np.asarray([*spec["counts"], 0], dtype=np.float64)
        value = psi(expected, counts) if rows else None
        distance = total_variation(expected, counts) if rows else None
        entry.update(psi=value, distance=None if distance is None else round(distance, 6))
        drifted = judged and (
            (value is not None and value > limits.psi)
            or (distance is not None and distance > limits.category_distance)
        )
        message = f"{name}: " + (
            "no rows"
            if value is None or distance is None
            else f"PSI {value:.2f} (limit {limits.psi:g}), distance {distance:.2f} "
            f"(limit {limits.category_distance:g})"
        )
        severity[name] = (
            0.0
            if value is None or distance is None
            else max(value / limits.psi, distance / limits.category_distance)
        )
        if entry["psi"] is not None:
            entry["psi"] = round(entry["psi"], 6)
        moderate = judged and not drifted and value is not None and value > limits.psi_moderate
        entry.update(drifted=drifted, moderate=moderate, message=message)
        report[name] = entry
    order = list(specs)
    drifted_names = sorted(
        (n for n in order if report[n]["drifted"]), key=lambda n: (-severity[n], order.index(n))
    )
    measured = [n for n in order if report[n]["psi"] is not None]
    top = sorted(measured, key=lambda n: (-report[n]["psi"], order.index(n)))[:TOP_FEATURES]
    if not judged:
        verdict = "insufficient_rows"
        summary = (
            f"insufficient rows: {rows:,} rows, fewer than the {limits.min_rows:,} needed to "
            "judge drift"
        )
    else:
        moderate_names = sorted(
            (n for n in order if report[n]["moderate"]),
            key=lambda n: (-severity[n], order.index(n)),
        )
        if drifted_names:
            verdict = "drift"
            summary = "; ".join(report[n]["message"] for n in drifted_names)
        elif moderate_names:
            verdict = "moderate"
            summary = f"moderate shift (PSI above {limits.psi_moderate:g}, within the limit): " + (
                "; ".join(report[n]["message"] for n in moderate_names)
            )
        else:
            verdict, summary = "ok", ""
    return {
        "package_type": histogram.package_type,
        "rows": rows,
        "baseline_rows": int(baseline.get("rows", 0)),
        "features": report,
        "drifted": drifted_names,
        "moderate": [n for n in order if report[n]["moderate"]],
        "top": top,
        "max_psi": max((report[n]["psi"] for n in measured), default=None),
        "verdict": verdict,
        "summary": summary,
        "limits": limits.to_dict(),
    }
