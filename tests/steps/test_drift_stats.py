"""feature_baseline, drift_stats, score_stats: PSI and distances, baselines, drift histograms
and reports, the predicted scores' baseline and drift.

Expectations are literals worked out by hand (the arithmetic is in the comments), never
recomputed with the code under test.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from pipeline_defs import synthetic_data
from pipeline_defs.steps import drift_stats, feature_baseline, features, profile_limits, score_stats

COLUMNS = features.FEATURE_COLUMNS


# --- PSI and total variation ------------------------------------------------------------------


def test_psi_of_a_two_bin_shift() -> None:
    # expected [0.5, 0.5], actual [0.9, 0.1]: 0.4 * ln(1.8) + (-0.4) * ln(0.2)
    assert drift_stats.psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.8788898309344878, abs=1e-12)
    # counts are turned into proportions first
    assert drift_stats.psi([50, 50], [90, 10]) == pytest.approx(0.8788898309344878, abs=1e-12)
    assert drift_stats.psi([3, 1], [3, 1]) == 0.0


def test_psi_floors_an_empty_bin_at_epsilon() -> None:
    # expected [0.5, 0.5, 0] -> [0.5, 0.5, 1e-4]; actual [0.5, 0.4, 0.1]:
    # 0 + (0.4 - 0.5) * ln(0.8) + (0.1 - 0.0001) * ln(1000) = 0.022314 + 0.690085
    assert drift_stats.psi([5, 5, 0], [5, 4, 1]) == pytest.approx(0.7123991075017365, abs=1e-12)
    # an actual bin left empty: 0.5 * ln(2) + (0.0001 - 0.5) * ln(0.0002): finite
    assert drift_stats.psi([1, 1], [1, 0]) == pytest.approx(4.60431846666895, abs=1e-12)


@pytest.mark.parametrize(
    ("expected", "actual", "message"),
    [
        ([1, 1], [1, 1, 1], "expected 2 bins, got 3"),
        ([0, 0], [1, 1], "expected counts add up to 0"),
        ([1, -1], [1, 1], "must be finite and >= 0"),
    ],
)
def test_psi_refuses_what_it_cannot_compare(
    expected: list[int], actual: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        drift_stats.psi(expected, actual)


def test_total_variation() -> None:
    # 0.5 * (|0.2 - 0.5| + |0.3 - 0.3| + |0.5 - 0.2|) = 0.3
    assert drift_stats.total_variation([5, 3, 2], [20, 30, 50]) == pytest.approx(0.3, abs=1e-12)
    assert drift_stats.total_variation([1, 0], [0, 1]) == 1.0
    assert drift_stats.total_variation([2, 2], [1, 1]) == 0.0


def test_binned_median_interpolates_within_the_middle_bin() -> None:
    # 10 rows, the 5th is the 3rd of the 6 in [10, 20): 10 + 3/6 * 10
    assert drift_stats.binned_median([10, 20], [2, 6, 2], 0.0, 40.0) == 15.0
    # in an open outer bin the data's max ends it: 5 of 10 rows, all in [5.5, max 15)
    assert drift_stats.binned_median([5.5], [0, 10], 6.0, 15.0) == 10.5
    assert drift_stats.binned_median([5.5], [0, 0], None, None) is None


# --- baselines ---------------------------------------------------------------------------------


def _matrix(rows: int, category: str | Sequence[str] = "books", **values: Any) -> np.ndarray:
    """A hand-made feature matrix: the given feature columns, 0 elsewhere, one category."""
    matrix = np.zeros((rows, len(COLUMNS)), dtype=np.float32)
    for name, value in values.items():
        matrix[:, COLUMNS.index(name)] = value
    categories = [category] * rows if isinstance(category, str) else list(category)
    for row, name in enumerate(categories):
        matrix[row, COLUMNS.index(f"category_{name}")] = 1.0
    return matrix


def test_baseline_of_a_small_matrix() -> None:
    matrix = _matrix(
        10,
        category=["books"] * 6 + ["toys"] * 4,
        weight_kg=np.arange(1, 11),
        length_cm=20.0,
        fragility=[0, 0, 0, 0, 1, 1, 1, 2, 2, 3],
        is_liquid=[0] * 9 + [1],
    )
    baseline = feature_baseline.build_baseline(matrix, package_type="box", bins=4)
    assert baseline["schema_version"] == 1 and baseline["rows"] == 10
    assert baseline["package_type"] == "box" and baseline["bins"] == 4
    weight = baseline["features"]["weight_kg"]
    # quartiles of 1..10 (linear): positions 2.25, 4.5, 6.75 -> 3.25, 5.5, 7.75;
    # bins [.., 3.25) {1,2,3}, [3.25, 5.5) {4,5}, [5.5, 7.75) {6,7}, [7.75, ..) {8,9,10}
    assert weight == {
        "kind": "numeric",
        "edges": [3.25, 5.5, 7.75],
        "counts": [3, 2, 2, 3],
        "median": 5.5,
        "min": 1.0,
        "max": 10.0,
    }
    # a constant column: every cut point the same value, kept once; all rows at or above it
    assert baseline["features"]["length_cm"]["edges"] == [20.0]
    assert baseline["features"]["length_cm"]["counts"] == [0, 10]
    assert baseline["features"]["fragility"] == {
        "kind": "categorical",
        "values": ["0", "1", "2", "3"],
        "counts": [4, 3, 2, 1],
    }
    assert baseline["features"]["is_liquid"]["values"] == ["0", "1"]
    assert baseline["features"]["is_liquid"]["counts"] == [9, 1]
    assert baseline["features"]["dims_missing"] == {
        "kind": "categorical",
        "values": ["0"],
        "counts": [10],
    }
    assert baseline["features"]["category"] == {
        "kind": "categorical",
        "values": ["books", "toys"],
        "counts": [6, 4],
    }
    assert list(baseline["features"]) == list(feature_baseline.PROFILE_FEATURES)
    json.dumps(baseline)  # JSON-ready


def test_baseline_edges_are_deduplicated_and_at_most_bins_minus_one() -> None:
    matrix = _matrix(10, weight_kg=[1, 1, 1, 1, 1, 1, 1, 2, 3, 4])
    weight = feature_baseline.build_baseline(matrix, package_type="box", bins=2)["features"][
        "weight_kg"
    ]
    assert weight["edges"] == [1.0] and weight["counts"] == [0, 10]
    matrix = _matrix(10, weight_kg=np.arange(1, 11))
    weight = feature_baseline.build_baseline(matrix, package_type="box", bins=10)["features"][
        "weight_kg"
    ]
    assert len(weight["edges"]) == 9 and weight["counts"] == [1] * 10


def test_baseline_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        feature_baseline.build_baseline(np.zeros((3, 4)), package_type="box")
    with pytest.raises(ValueError, match="0 rows"):
        feature_baseline.build_baseline(_matrix(0), package_type="box")
    with pytest.raises(ValueError, match="bins must be at least 2"):
        feature_baseline.build_baseline(_matrix(3), package_type="box", bins=1)


# --- drift histograms --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def products_matrix() -> np.ndarray:
    return features.compute_features(synthetic_data.generate_products(6_000, seed=3))


@pytest.fixture(scope="module")
def baseline(products_matrix: np.ndarray) -> dict[str, Any]:
    return feature_baseline.build_baseline(products_matrix[:3_000], package_type="box")


def test_histogram_in_two_batches_equals_one(
    baseline: dict[str, Any], products_matrix: np.ndarray
) -> None:
    one = drift_stats.DriftHistogram(baseline)
    one.update(products_matrix)
    two = drift_stats.DriftHistogram(baseline)
    two.update(products_matrix[:2_500])
    two.update(products_matrix[2_500:])
    assert two.to_dict() == one.to_dict()
    assert one.rows == 6_000
    for spec in one.to_dict()["features"].values():
        assert sum(spec["counts"]) == 6_000


def test_merged_histograms_equal_one_over_all_rows(
    baseline: dict[str, Any], products_matrix: np.ndarray
) -> None:
    one = drift_stats.DriftHistogram(baseline)
    one.update(products_matrix)
    left, right = drift_stats.DriftHistogram(baseline), drift_stats.DriftHistogram(baseline)
    left.update(products_matrix[:1_000])
    right.update(products_matrix[1_000:])
    merged = drift_stats.DriftHistogram.from_dict(baseline, json.loads(json.dumps(left.to_dict())))
    assert merged.merge(right).to_dict() == one.to_dict()


def test_histogram_update_columns_equals_update(
    baseline: dict[str, Any], products_matrix: np.ndarray
) -> None:
    """Prepare hands over the CSV columns (int8 for whole-number features): same counts."""
    by_matrix = drift_stats.DriftHistogram(baseline)
    by_matrix.update(products_matrix)
    by_columns = by_matrix.spawn()
    assert by_columns.rows == 0
    by_columns.update_columns(
        {
            name: products_matrix[:, i].astype(np.int8)
            if name in features.INTEGER_FEATURES
            else products_matrix[:, i].copy()
            for i, name in enumerate(COLUMNS)
        }
    )
    assert by_columns.to_dict() == by_matrix.to_dict()


def test_a_value_never_seen_in_training_counts_as_other() -> None:
    baseline = feature_baseline.build_baseline(
        _matrix(4, category=["books", "books", "toys", "toys"], fragility=[0, 0, 1, 1]),
        package_type="box",
    )
    histogram = drift_stats.DriftHistogram(baseline)
    histogram.update(_matrix(3, category=["books", "home", "home"], fragility=[0, 3, 3]))
    counted = histogram.to_dict()["features"]
    assert counted["category"] == {
        "kind": "categorical",
        "values": ["books", "toys", "(other)"],
        "counts": [1, 0, 2],
    }
    assert counted["fragility"]["values"] == ["0", "1", "(other)"]
    assert counted["fragility"]["counts"] == [1, 0, 2]


def test_histograms_of_different_baselines_do_not_mix(baseline: dict[str, Any]) -> None:
    other = feature_baseline.build_baseline(
        _matrix(10, weight_kg=np.arange(10)), package_type="box"
    )
    with pytest.raises(ValueError, match="different baselines"):
        drift_stats.DriftHistogram(baseline).merge(drift_stats.DriftHistogram(other))
    with pytest.raises(ValueError, match="other bins"):
        drift_stats.DriftHistogram.from_dict(other, drift_stats.DriftHistogram(baseline).to_dict())


def test_a_baseline_of_another_version_is_refused(baseline: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="schema_version 2 is not supported"):
        drift_stats.DriftHistogram({**baseline, "schema_version": 2})


# --- drift reports -----------------------------------------------------------------------------

# Training: 10 rows, weight 1..10 (2 bins: edges [5.5], counts [5, 5], median 5.5); every
# other feature constant (PSI 0 against the same constant).
TRAINING = _matrix(10, weight_kg=np.arange(1, 11))
# A batch with 1 row below 5.5 and 9 above: PSI of [0.5, 0.5] -> [0.1, 0.9] is 0.8789; its
# median: 5 of 10 rows, the 4th of the 9 in [5.5, max 10): 5.5 + 4/9 * 4.5 = 7.5 = 1.36x 5.5
SHIFTED = _matrix(10, weight_kg=[1, 6, 6, 6, 6, 8, 8, 8, 8, 10])


def _report(batch: np.ndarray, **limits: Any) -> dict[str, Any]:
    baseline = feature_baseline.build_baseline(TRAINING, package_type="box", bins=2)
    histogram = drift_stats.DriftHistogram(baseline)
    histogram.update(batch)
    return drift_stats.drift_report(baseline, histogram, profile_limits.DriftLimits(**limits))


def test_drift_report_flags_a_shifted_feature() -> None:
    report = _report(SHIFTED, min_rows=10)
    assert report["verdict"] == "drift"
    assert report["drifted"] == ["weight_kg"]
    assert report["summary"] == (
        "weight_kg: PSI 0.88 (limit 0.25); the batch's median is 1.4x the training median"
    )
    weight = report["features"]["weight_kg"]
    assert weight["psi"] == pytest.approx(0.878890, abs=1e-6)
    assert weight["median_ratio"] == pytest.approx(1.363636, abs=1e-6)
    assert weight["drifted"] is True and weight["kind"] == "numeric"
    assert report["max_psi"] == pytest.approx(0.878890, abs=1e-6)
    assert report["top"] == ["weight_kg", "length_cm", "width_cm", "height_cm", "longest_side_cm"]
    assert report["rows"] == 10 and report["baseline_rows"] == 10
    assert report["features"]["length_cm"] == {
        "kind": "numeric",
        "psi": 0.0,
        "median_ratio": None,  # the training median is 0
        "drifted": False,
        "moderate": False,
        "message": "length_cm: PSI 0.00 (limit 0.25)",
    }
    json.dumps(report)


def test_drift_report_ok_when_nothing_moved() -> None:
    report = _report(TRAINING, min_rows=10)
    assert report["verdict"] == "ok" and report["drifted"] == [] and report["summary"] == ""
    assert report["max_psi"] == 0.0


def test_drift_report_does_not_judge_a_small_batch() -> None:
    report = _report(SHIFTED, min_rows=11)
    assert report["verdict"] == "insufficient_rows"
    assert report["drifted"] == []
    assert report["summary"] == (
        "insufficient rows: 10 rows, fewer than the 11 needed to judge drift"
    )
    assert report["features"]["weight_kg"]["drifted"] is False
    assert report["features"]["weight_kg"]["psi"] == pytest.approx(0.878890, abs=1e-6)


def test_drift_report_by_category_distance_alone() -> None:
    """72/28 against 50/50: PSI 0.22 * ln(0.72/0.28) = 0.2078 is within 0.25, but the
    distance 0.22 is above 0.2."""
    baseline = feature_baseline.build_baseline(
        _matrix(100, category=["books"] * 50 + ["toys"] * 50), package_type="box"
    )
    histogram = drift_stats.DriftHistogram(baseline)
    histogram.update(_matrix(100, category=["books"] * 72 + ["toys"] * 28))
    report = drift_stats.drift_report(baseline, histogram, profile_limits.DriftLimits(min_rows=100))
    assert report["verdict"] == "drift" and report["drifted"] == ["category"]
    assert report["summary"] == "category: PSI 0.21 (limit 0.25), distance 0.22 (limit 0.2)"
    assert report["features"]["category"]["psi"] == pytest.approx(0.207782, abs=1e-6)
    assert report["features"]["category"]["distance"] == pytest.approx(0.22, abs=1e-9)


def test_drifted_features_are_listed_worst_first() -> None:
    baseline = feature_baseline.build_baseline(
        _matrix(10, category=["books"] * 5 + ["toys"] * 5, weight_kg=np.arange(1, 11)),
        package_type="box",
        bins=2,
    )
    histogram = drift_stats.DriftHistogram(baseline)
    # weight as SHIFTED (PSI 0.88, 3.5x its limit); category 9 toys, 1 book (PSI 0.88,
    # distance 0.4: 2x its limit; 3.5x by PSI)
    histogram.update(
        _matrix(10, category=["books"] + ["toys"] * 9, weight_kg=[1, 6, 6, 6, 6, 8, 8, 8, 8, 10])
    )
    report = drift_stats.drift_report(baseline, histogram, profile_limits.DriftLimits(min_rows=10))
    assert report["drifted"] == ["weight_kg", "category"]  # equal severity: feature order
    assert report["summary"] == (
        "weight_kg: PSI 0.88 (limit 0.25); the batch's median is 1.4x the training median; "
        "category: PSI 0.88 (limit 0.25), distance 0.40 (limit 0.2)"
    )


def test_a_psi_between_the_moderate_bound_and_the_limit_is_a_moderate_shift() -> None:
    """7 of 10 rows below 5.5 against 5 of 10: [0.5, 0.5] -> [0.7, 0.3], PSI
    0.2*ln(1.4) + (-0.2)*ln(0.6) = 0.0672944 + 0.1021651 = 0.1694595: above 0.1, within
    0.25."""
    report = _report(_matrix(10, weight_kg=[1, 2, 3, 4, 5, 1, 2, 6, 7, 8]), min_rows=10)
    assert report["features"]["weight_kg"]["psi"] == pytest.approx(0.1694595, abs=1e-6)
    assert report["verdict"] == "moderate"
    assert report["drifted"] == [] and report["moderate"] == ["weight_kg"]
    assert report["summary"].startswith(
        "moderate shift (PSI above 0.1, within the limit): weight_kg: PSI 0.17 (limit 0.25)"
    )
    stricter = _report(_matrix(10, weight_kg=[1, 2, 3, 4, 5, 1, 2, 6, 7, 8]), min_rows=10, psi=0.15)
    assert stricter["verdict"] == "drift" and stricter["moderate"] == []


def test_score_baseline_and_counts_on_a_small_case() -> None:
    """Scores 0.1..1.0 in 2 bins: the median 0.55 is the edge; 5 rows each side."""
    scores = np.arange(1, 11) / 10
    baseline = score_stats.score_baseline(scores, bins=2)
    assert baseline == {
        "schema_version": 1,
        "kind": "scores",
        "rows": 10,
        "edges": [pytest.approx(0.55)],
        "counts": [5, 5],
        "median": pytest.approx(0.55),
        "min": 0.1,
        "max": 1.0,
    }
    assert score_stats.score_counts([0.55], np.array([0.1, 0.55, 0.9, np.nan])).tolist() == [1, 3]
    with pytest.raises(ValueError, match="0 finite scores"):
        score_stats.score_baseline(np.array([np.nan]))


def test_score_drift_is_judged_like_a_feature() -> None:
    """[0.5, 0.5] -> [0.1, 0.9]: PSI 0.878890 (as for weight_kg above); the median of the
    batch (5 of 10 rows: the 4th of 9 in [0.55, 1.0)) = 0.55 + 4/9 * 0.45 = 0.75."""
    baseline = score_stats.score_baseline(np.arange(1, 11) / 10, bins=2)
    entry = score_stats.score_drift(
        baseline, [1, 9], 0.1, 1.0, profile_limits.DriftLimits(min_rows=10)
    )
    assert entry["psi"] == pytest.approx(0.878890, abs=1e-6)
    assert entry["median_ratio"] == pytest.approx(0.75 / 0.55, abs=1e-6)
    assert entry["drifted"] is True and entry["moderate"] is False
    assert entry["message"] == (
        "prediction_score: PSI 0.88 (limit 0.25); the batch's median is 1.4x the validation median"
    )
    small = score_stats.score_drift(
        baseline, [1, 9], 0.1, 1.0, profile_limits.DriftLimits(min_rows=11)
    )
    assert small["drifted"] is False  # too few rows to judge
    with pytest.raises(ValueError, match="not counted in this baseline's bins"):
        score_stats.score_drift(baseline, [1, 2, 3], 0.1, 1.0, profile_limits.DriftLimits())
