"""profile: PSI and distances, baselines, drift histograms and reports, quality checks.

Expectations are literals worked out by hand (the arithmetic is in the comments), never
recomputed with the code under test.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from pipeline_defs import synthetic_data
from pipeline_defs.steps import data_profile as profile
from pipeline_defs.steps import features

COLUMNS = features.FEATURE_COLUMNS


# --- PSI and total variation ------------------------------------------------------------------


def test_psi_of_a_two_bin_shift() -> None:
    # expected [0.5, 0.5], actual [0.9, 0.1]: 0.4 * ln(1.8) + (-0.4) * ln(0.2)
    assert profile.psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.8788898309344878, abs=1e-12)
    # counts are turned into proportions first
    assert profile.psi([50, 50], [90, 10]) == pytest.approx(0.8788898309344878, abs=1e-12)
    assert profile.psi([3, 1], [3, 1]) == 0.0


def test_psi_floors_an_empty_bin_at_epsilon() -> None:
    # expected [0.5, 0.5, 0] -> [0.5, 0.5, 1e-4]; actual [0.5, 0.4, 0.1]:
    # 0 + (0.4 - 0.5) * ln(0.8) + (0.1 - 0.0001) * ln(1000) = 0.022314 + 0.690085
    assert profile.psi([5, 5, 0], [5, 4, 1]) == pytest.approx(0.7123991075017365, abs=1e-12)
    # an actual bin left empty: 0.5 * ln(2) + (0.0001 - 0.5) * ln(0.0002): finite
    assert profile.psi([1, 1], [1, 0]) == pytest.approx(4.60431846666895, abs=1e-12)


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
        profile.psi(expected, actual)


def test_total_variation() -> None:
    # 0.5 * (|0.2 - 0.5| + |0.3 - 0.3| + |0.5 - 0.2|) = 0.3
    assert profile.total_variation([5, 3, 2], [20, 30, 50]) == pytest.approx(0.3, abs=1e-12)
    assert profile.total_variation([1, 0], [0, 1]) == 1.0
    assert profile.total_variation([2, 2], [1, 1]) == 0.0


def test_binned_median_interpolates_within_the_middle_bin() -> None:
    # 10 rows, the 5th is the 3rd of the 6 in [10, 20): 10 + 3/6 * 10
    assert profile.binned_median([10, 20], [2, 6, 2], 0.0, 40.0) == 15.0
    # in an open outer bin the data's max ends it: 5 of 10 rows, all in [5.5, max 15)
    assert profile.binned_median([5.5], [0, 10], 6.0, 15.0) == 10.5
    assert profile.binned_median([5.5], [0, 0], None, None) is None


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
    baseline = profile.build_baseline(matrix, package_type="box", bins=4)
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
    assert list(baseline["features"]) == list(profile.PROFILE_FEATURES)
    json.dumps(baseline)  # JSON-ready


def test_baseline_edges_are_deduplicated_and_at_most_bins_minus_one() -> None:
    matrix = _matrix(10, weight_kg=[1, 1, 1, 1, 1, 1, 1, 2, 3, 4])
    weight = profile.build_baseline(matrix, package_type="box", bins=2)["features"]["weight_kg"]
    assert weight["edges"] == [1.0] and weight["counts"] == [0, 10]
    matrix = _matrix(10, weight_kg=np.arange(1, 11))
    weight = profile.build_baseline(matrix, package_type="box", bins=10)["features"]["weight_kg"]
    assert len(weight["edges"]) == 9 and weight["counts"] == [1] * 10


def test_baseline_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        profile.build_baseline(np.zeros((3, 4)), package_type="box")
    with pytest.raises(ValueError, match="0 rows"):
        profile.build_baseline(_matrix(0), package_type="box")
    with pytest.raises(ValueError, match="bins must be at least 2"):
        profile.build_baseline(_matrix(3), package_type="box", bins=1)


# --- drift histograms --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def products_matrix() -> np.ndarray:
    return features.compute_features(synthetic_data.generate_products(6_000, seed=3))


@pytest.fixture(scope="module")
def baseline(products_matrix: np.ndarray) -> dict[str, Any]:
    return profile.build_baseline(products_matrix[:3_000], package_type="box")


def test_histogram_in_two_batches_equals_one(
    baseline: dict[str, Any], products_matrix: np.ndarray
) -> None:
    one = profile.DriftHistogram(baseline)
    one.update(products_matrix)
    two = profile.DriftHistogram(baseline)
    two.update(products_matrix[:2_500])
    two.update(products_matrix[2_500:])
    assert two.to_dict() == one.to_dict()
    assert one.rows == 6_000
    for spec in one.to_dict()["features"].values():
        assert sum(spec["counts"]) == 6_000


def test_merged_histograms_equal_one_over_all_rows(
    baseline: dict[str, Any], products_matrix: np.ndarray
) -> None:
    one = profile.DriftHistogram(baseline)
    one.update(products_matrix)
    left, right = profile.DriftHistogram(baseline), profile.DriftHistogram(baseline)
    left.update(products_matrix[:1_000])
    right.update(products_matrix[1_000:])
    merged = profile.DriftHistogram.from_dict(baseline, json.loads(json.dumps(left.to_dict())))
    assert merged.merge(right).to_dict() == one.to_dict()


def test_histogram_update_columns_equals_update(
    baseline: dict[str, Any], products_matrix: np.ndarray
) -> None:
    """Prepare hands over the CSV columns (int8 for whole-number features): same counts."""
    by_matrix = profile.DriftHistogram(baseline)
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
    baseline = profile.build_baseline(
        _matrix(4, category=["books", "books", "toys", "toys"], fragility=[0, 0, 1, 1]),
        package_type="box",
    )
    histogram = profile.DriftHistogram(baseline)
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
    other = profile.build_baseline(_matrix(10, weight_kg=np.arange(10)), package_type="box")
    with pytest.raises(ValueError, match="different baselines"):
        profile.DriftHistogram(baseline).merge(profile.DriftHistogram(other))
    with pytest.raises(ValueError, match="other bins"):
        profile.DriftHistogram.from_dict(other, profile.DriftHistogram(baseline).to_dict())


def test_a_baseline_of_another_version_is_refused(baseline: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="schema_version 2 is not supported"):
        profile.DriftHistogram({**baseline, "schema_version": 2})


# --- drift reports -----------------------------------------------------------------------------

# Training: 10 rows, weight 1..10 (2 bins: edges [5.5], counts [5, 5], median 5.5); every
# other feature constant (PSI 0 against the same constant).
TRAINING = _matrix(10, weight_kg=np.arange(1, 11))
# A batch with 1 row below 5.5 and 9 above: PSI of [0.5, 0.5] -> [0.1, 0.9] is 0.8789; its
# median: 5 of 10 rows, the 4th of the 9 in [5.5, max 10): 5.5 + 4/9 * 4.5 = 7.5 = 1.36x 5.5
SHIFTED = _matrix(10, weight_kg=[1, 6, 6, 6, 6, 8, 8, 8, 8, 10])


def _report(batch: np.ndarray, **limits: Any) -> dict[str, Any]:
    baseline = profile.build_baseline(TRAINING, package_type="box", bins=2)
    histogram = profile.DriftHistogram(baseline)
    histogram.update(batch)
    return profile.drift_report(baseline, histogram, profile.DriftLimits(**limits))


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
    baseline = profile.build_baseline(
        _matrix(100, category=["books"] * 50 + ["toys"] * 50), package_type="box"
    )
    histogram = profile.DriftHistogram(baseline)
    histogram.update(_matrix(100, category=["books"] * 72 + ["toys"] * 28))
    report = profile.drift_report(baseline, histogram, profile.DriftLimits(min_rows=100))
    assert report["verdict"] == "drift" and report["drifted"] == ["category"]
    assert report["summary"] == "category: PSI 0.21 (limit 0.25), distance 0.22 (limit 0.2)"
    assert report["features"]["category"]["psi"] == pytest.approx(0.207782, abs=1e-6)
    assert report["features"]["category"]["distance"] == pytest.approx(0.22, abs=1e-9)


def test_drifted_features_are_listed_worst_first() -> None:
    baseline = profile.build_baseline(
        _matrix(10, category=["books"] * 5 + ["toys"] * 5, weight_kg=np.arange(1, 11)),
        package_type="box",
        bins=2,
    )
    histogram = profile.DriftHistogram(baseline)
    # weight as SHIFTED (PSI 0.88, 3.5x its limit); category 9 toys, 1 book (PSI 0.88,
    # distance 0.4: 2x its limit; 3.5x by PSI)
    histogram.update(
        _matrix(10, category=["books"] + ["toys"] * 9, weight_kg=[1, 6, 6, 6, 6, 8, 8, 8, 8, 10])
    )
    report = profile.drift_report(baseline, histogram, profile.DriftLimits(min_rows=10))
    assert report["drifted"] == ["weight_kg", "category"]  # equal severity: feature order
    assert report["summary"] == (
        "weight_kg: PSI 0.88 (limit 0.25); the batch's median is 1.4x the training median; "
        "category: PSI 0.88 (limit 0.25), distance 0.40 (limit 0.2)"
    )


# --- configuration -----------------------------------------------------------------------------


def test_quality_bounds_json_is_compact_sorted_and_round_trips() -> None:
    bounds = profile.QualityBounds()
    assert bounds.to_json() == (
        '{"max_duplicate_ids":0,"max_invalid_rate":0.01,"max_null_rate":0.05,"min_rows":1,'
        '"null_rates":{},"ranges":{"fragility":[0.0,3.0],"height_cm":[0.0,null],'
        '"length_cm":[0.0,null],"price":[0.0,null],"weight_kg":[0.0,null],'
        '"width_cm":[0.0,null]}}'
    )
    assert profile.QualityBounds.from_json(bounds.to_json()) == bounds
    custom = profile.QualityBounds.from_json(
        '{"min_rows": 500, "null_rates": {"price": 0.2}, "ranges": {"weight_kg": [0, 50]}}'
    )
    assert custom.min_rows == 500 and custom.null_rate_bound("price") == 0.2
    assert custom.null_rate_bound("weight_kg") == 0.05
    assert custom.ranges == {"weight_kg": (0.0, 50.0)}  # given ranges replace the defaults
    # what the pipeline builders pass (pkgml_contracts.data_quality.quality_bounds_json)
    sent = (
        '{"max_duplicate_ids":0,"max_invalid_rate":0.01,"max_null_rate":0.05,"min_rows":1,'
        '"null_rates":{}}'
    )
    assert profile.QualityBounds.from_json(sent) == bounds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"max_nulls": 0.1}',
            "quality bounds: unknown key 'max_nulls'; the keys are max_duplicate_ids, "
            "max_invalid_rate, max_null_rate, min_rows, null_rates, ranges",
        ),
        (
            '{"max_null_rate": "5%"}',
            "quality bounds: 'max_null_rate' must be a number between 0 and 1, got '5%'",
        ),
        (
            '{"max_invalid_rate": 2}',
            "quality bounds: 'max_invalid_rate' must be a number between 0 and 1, got 2",
        ),
        ('{"min_rows": 1.5}', "quality bounds: 'min_rows' must be a whole number >= 0, got 1.5"),
        (
            '{"max_duplicate_ids": true}',
            "quality bounds: 'max_duplicate_ids' must be a whole number >= 0, got True",
        ),
        (
            '{"null_rates": {"colour": 0.1}}',
            "quality bounds: 'null_rates' names unknown column 'colour'; the columns are "
            "length_cm, width_cm, height_cm, weight_kg, fragility, is_liquid, has_battery, "
            "category, price",
        ),
        (
            '{"null_rates": {"price": -0.1}}',
            "quality bounds: 'null_rates' of 'price' must be a number between 0 and 1, got -0.1",
        ),
        (
            '{"ranges": {"price": [10, 1]}}',
            "quality bounds: 'ranges' of 'price': low 10 is above high 1",
        ),
        (
            '{"ranges": {"price": 5}}',
            "quality bounds: 'ranges' of 'price' must be [low, high] (null for no bound), got 5",
        ),
        ('{"ranges": {"category": [0, 1]}}', "quality bounds: 'ranges' names 'category'"),
        ("[1]", "quality bounds must be a JSON object, got list"),
        ("{min_rows: 1}", "quality bounds is not valid JSON"),
    ],
)
def test_quality_bounds_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        profile.QualityBounds.from_json(text)
    assert str(error.value).startswith(message)


def test_drift_limits_json() -> None:
    limits = profile.DriftLimits()
    assert limits.to_json() == (
        '{"category_distance":0.2,"min_rows":1000,"psi":0.25,"psi_moderate":0.1}'
    )
    assert profile.DriftLimits.from_json("{}") == limits
    assert profile.DriftLimits.from_json('{"psi": 0.1, "min_rows": 50}') == profile.DriftLimits(
        psi=0.1, min_rows=50
    )
    with pytest.raises(ValueError, match=r"unknown key 'distance'; the keys are category_dist"):
        profile.DriftLimits.from_json('{"distance": 0.1}')
    with pytest.raises(ValueError, match=r"'psi' must be a number > 0, got 'high'"):
        profile.DriftLimits.from_json('{"psi": "high"}')
    with pytest.raises(ValueError, match=r"'min_rows' must be a whole number >= 0, got -1"):
        profile.DriftLimits.from_json('{"min_rows": -1}')


# --- quality checks ----------------------------------------------------------------------------


def _raw(rows: int, **columns: Any) -> pa.Table:
    """`rows` valid raw products (RAW_COLUMNS, ids p-0...), some columns replaced."""
    data: dict[str, Any] = {
        "product_id": [f"p-{i}" for i in range(rows)],
        "length_cm": [30.0] * rows,
        "width_cm": [20.0] * rows,
        "height_cm": [5.0] * rows,
        "weight_kg": [1.5] * rows,
        "fragility": [1] * rows,
        "is_liquid": [False] * rows,
        "has_battery": [True] * rows,
        "category": ["books"] * rows,
        "price": [12.5] * rows,
    }
    data.update(columns)
    schema = pa.schema(
        [field for field in features.RAW_SCHEMA if field.name in data and field.name not in columns]
    )
    arrays = {
        name: pa.array(values, schema.field(name).type) if name in schema.names else values
        for name, values in data.items()
    }
    return pa.table({name: arrays[name] for name in data})


def _failures(
    table: pa.Table, bounds: profile.QualityBounds | None = None, **kwargs: Any
) -> list[str]:
    counter = profile.QualityCounter(bounds, with_label="label" in table.schema.names)
    counter.add_schema_failures(
        profile.check_schema(table.schema, with_label="label" in table.schema.names)
    )
    counter.update(table)
    return [failure.message() for failure in counter.failures(**kwargs)]


def test_a_good_extract_passes() -> None:
    counter = profile.QualityCounter()
    counter.update(_raw(20))
    report = counter.report()
    assert report["passed"] is True and report["reason"] == "" and report["failures"] == []
    assert report["rows"] == 20 and report["null_rates"]["weight_kg"] == 0.0
    assert report["invalid_rates"]["fragility"] == 0.0
    assert report["duplicate_ids"] == {"count": 0, "ids_checked": 20, "exact": True}
    assert report["bounds"] == profile.QualityBounds().to_dict()


def test_a_missing_column() -> None:
    table = _raw(5).drop_columns(["price"])
    failures = profile.check_schema(table.schema, with_label=True)
    assert [(f.check, f.column) for f in failures] == [
        ("missing_column", "price"),
        ("missing_column", "label"),
    ]
    assert [f.message() for f in failures] == ["price: column missing", "label: column missing"]


def test_columns_of_the_wrong_type() -> None:
    table = _raw(3, weight_kg=["1.5", "2", "x"], category=[1, 2, 3])
    assert _failures(table) == [
        "weight_kg: type string, expected a number (int, float, bool or decimal)",
        "category: type int64, expected a string",
    ]


def test_types_that_are_fine() -> None:
    table = _raw(
        3,
        product_id=pa.array(["a", "b", "c"]).dictionary_encode(),
        category=pa.array(["books", "toys", "home"], pa.large_string()),
        fragility=pa.array([0, 1, 3], pa.int64()),
        price=pa.array([1, 2, 3], pa.decimal128(10, 2)),
        is_liquid=pa.array([0, 1, 0], pa.int8()),
        weight_kg=pa.array([1.0, 2.0, 3.0], pa.float32()),
    )
    assert profile.check_schema(table.schema, with_label=False) == []
    assert _failures(table) == []


def test_too_few_rows() -> None:
    assert _failures(_raw(12), profile.QualityBounds(min_rows=1_000)) == [
        "rows: 12 rows, fewer than the minimum 1,000"
    ]
    # one Prepare host of several: the minimum is the run's
    assert _failures(_raw(12), profile.QualityBounds(min_rows=1_000), check_rows=False) == []


def test_null_rate_counts_nan_as_null() -> None:
    weights = [None, None, None, math.nan, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert _failures(_raw(10, weight_kg=weights)) == [
        "weight_kg: null rate 0.4 above the bound 0.05 (4 of 10 rows)"
    ]
    # a column's own bound
    lenient = profile.QualityBounds(null_rates={"weight_kg": 0.5})
    assert _failures(_raw(10, weight_kg=weights), lenient) == []
    # strings and flags: nulls only
    categories = ["books", None, "toys", "toys"]
    assert _failures(_raw(4, category=categories, is_liquid=[None, None, True, False])) == [
        "is_liquid: null rate 0.5 above the bound 0.05 (2 of 4 rows)",
        "category: null rate 0.25 above the bound 0.05 (1 of 4 rows)",
    ]


def test_values_out_of_range() -> None:
    fragility = [0, 1, 2, 3, 7, -1, 1, 1, 1, 1]
    assert _failures(_raw(10, fragility=fragility)) == [
        "fragility: out-of-range rate 0.2 above the bound 0.01 "
        "(2 of 10 non-null values outside [0, 3], e.g. -1, 7)"
    ]
    # nulls are not out of range (they are counted as nulls); infinity always is
    prices = [None, math.inf, -5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    lenient = profile.QualityBounds(max_null_rate=0.5)
    assert _failures(_raw(11, price=prices), lenient) == [
        "price: out-of-range rate 0.2 above the bound 0.01 "
        "(2 of 10 non-null values outside [0, inf), e.g. -5, inf)"
    ]


def test_repeated_ids() -> None:
    ids = ["p-1", "p-17", "p-17", "p-99", "p-99", "p-99", None, None, "", ""]
    # p-17 once more, p-99 twice more: 3 repeats; null and empty ids are not ids
    assert _failures(_raw(10, product_id=ids)) == [
        "product_id: 3 duplicate ids (allowed 0), e.g. 'p-17', 'p-99'"
    ]
    allowed = profile.QualityBounds(max_duplicate_ids=3)
    assert _failures(_raw(10, product_id=ids), allowed) == []


def test_labels_not_0_or_1() -> None:
    table = _raw(8).append_column(
        "label", pa.array([0, 1, 2, -1, None, 2.0, math.nan, 1.0], pa.float64())
    )
    # 2, -1, 2, NaN: 4 values; the null label is not one (Split drops that row)
    assert _failures(table) == ["label: 4 values not 0/1, e.g. -1, 2, nan"]
    counter = profile.QualityCounter(with_label=True)
    counter.update(table)
    assert counter.labels_checked == 7


def test_report_reason_is_every_message_within_900_characters() -> None:
    # 4 rows: the ranged columns half null, half out of range; the others all null.
    half = [None, None, -1.0, -2.0]
    table = _raw(
        4,
        **{name: half for name in profile.DEFAULT_RANGES},
        is_liquid=pa.nulls(4, pa.bool_()),
        has_battery=pa.nulls(4, pa.bool_()),
        category=pa.nulls(4, pa.string()),
    )
    counter = profile.QualityCounter(profile.QualityBounds(min_rows=10))
    counter.update(table)
    report = counter.report()
    messages = [f["message"] for f in report["failures"]]
    assert messages[:2] == [
        "rows: 4 rows, fewer than the minimum 10",
        "length_cm: null rate 0.5 above the bound 0.05 (2 of 4 rows)",
    ]
    assert messages[-1] == (
        "price: out-of-range rate 1 above the bound 0.01 "
        "(2 of 2 non-null values outside [0, inf), e.g. -2, -1)"
    )
    assert len(messages) == 16  # rows, 9 null rates, 6 ranges
    assert len("; ".join(messages)) > 900
    assert report["reason"] == "; ".join(messages)[:897] + "..."
    assert len(report["reason"]) == 900


# --- counting across batches and hosts ---------------------------------------------------------


def test_counters_merge_to_one_over_all_rows() -> None:
    weights = [None, 1.0, 2.0, -3.0] * 5
    labels = pa.array([0, 1, 2, 1] * 5, pa.int64())
    table = _raw(20, weight_kg=weights).append_column("label", labels)
    one = profile.QualityCounter(with_label=True)
    one.update(table)
    first, second = profile.QualityCounter(with_label=True), profile.QualityCounter(with_label=True)
    first.update(table.slice(0, 7))
    second.update(table.slice(7))
    restored = profile.QualityCounter.from_dict(json.loads(json.dumps(first.to_dict())))
    merged = restored.merge(second)
    assert merged.to_dict() == one.to_dict()
    assert merged.report() == one.report()
    assert merged.columns["weight_kg"].nulls == 5 and merged.columns["weight_kg"].invalid == 5
    assert merged.bad_labels == 5


def test_repeated_ids_across_batches_and_hosts() -> None:
    ids = [f"id-{i}" for i in range(50)]
    first, second = profile.QualityCounter(), profile.QualityCounter()
    first.update(_raw(50, product_id=ids))
    # a longer id in the batch must not change how the others hash
    second.update(_raw(3, product_id=["id-7", "x" * 60, "id-42"]))
    merged = profile.QualityCounter.from_dict(first.to_dict()).merge(second)
    assert merged.duplicate_ids == 2 and merged.duplicate_examples == ["id-42", "id-7"]
    assert merged.report()["duplicate_ids"] == {"count": 2, "ids_checked": 53, "exact": True}
    streamed = profile.QualityCounter()
    for batch in (ids[:20], ids[20:], ["id-3", "id-3"]):
        part = streamed.spawn()
        part.update(_raw(len(batch), product_id=batch))
        streamed.merge(part)
    assert streamed.duplicate_ids == 2  # id-3 seen in batch 1, then twice in batch 3


def test_beyond_the_sample_repeats_are_found_only_within_its_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a sample of 16 ids, 100 ids seen twice (in two batches): exactly the 16 ids of
    the sample are told apart as repeats, never an id that does not repeat."""
    monkeypatch.setattr(profile, "DUPLICATE_SAMPLE_IDS", 16)
    ids = [f"id-{i}" for i in range(100)]
    counter = profile.QualityCounter()
    counter.update(_raw(100, product_id=ids))
    counter.update(_raw(100, product_id=ids[::-1]))
    assert counter.duplicate_ids == 16
    assert counter.report()["duplicate_ids"] == {"count": 16, "ids_checked": 200, "exact": False}
    fresh = profile.QualityCounter()
    fresh.update(_raw(100, product_id=ids))
    fresh.update(_raw(100, product_id=[f"other-{i}" for i in range(100)]))
    assert fresh.duplicate_ids == 0


def test_counters_with_other_bounds_do_not_merge() -> None:
    with pytest.raises(ValueError, match="different bounds"):
        profile.QualityCounter().merge(profile.QualityCounter(profile.QualityBounds(min_rows=5)))


def test_schema_failures_name_their_files_and_merge() -> None:
    failures = profile.check_schema(_raw(2).drop_columns(["price"]).schema, with_label=False)
    first, second = profile.QualityCounter(), profile.QualityCounter()
    first.add_schema_failures(failures, source="part-00003.parquet")
    second.add_schema_failures(failures, source="part-00001.parquet")
    assert [f.message() for f in first.failures()] == [
        "price: column missing in part-00003.parquet"
    ]
    first.merge(profile.QualityCounter.from_dict(second.to_dict()))
    assert [f.message() for f in first.failures()] == [
        "price: column missing in 2 files, e.g. part-00001.parquet, part-00003.parquet"
    ]
    # a failed schema explains the missing rows: no rows failure on top
    assert first.report()["rows"] == 0 and len(first.failures()) == 1


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


def test_the_moderate_bound_must_not_exceed_the_limit() -> None:
    with pytest.raises(ValueError, match="'psi_moderate' must be a number > 0 and at most 'psi'"):
        profile.DriftLimits(psi=0.1, psi_moderate=0.2)


def test_the_configurations_defaults_are_the_steps_defaults() -> None:
    """What the settings send (pkgml_contracts.data_quality) parses into the defaults the
    steps use when given nothing: one set of defaults, two places that must agree."""
    from pkgml_contracts import data_quality as contract

    sent = contract.quality_bounds_json(
        min_rows=1,
        max_null_rate=contract.DEFAULT_MAX_NULL_RATE,
        null_rates={},
        max_invalid_rate=contract.DEFAULT_MAX_INVALID_RATE,
        max_duplicate_ids=contract.DEFAULT_MAX_DUPLICATE_IDS,
    )
    assert profile.QualityBounds.from_json(sent) == profile.QualityBounds()
    limits = contract.drift_limits_json(
        psi=contract.DEFAULT_PSI_LIMIT,
        category_distance=contract.DEFAULT_CATEGORY_DISTANCE_LIMIT,
        min_rows=contract.DEFAULT_DRIFT_MIN_ROWS,
        psi_moderate=contract.DEFAULT_PSI_MODERATE,
    )
    assert profile.DriftLimits.from_json(limits) == profile.DriftLimits()
    assert set(contract.QUALITY_COLUMNS) == set(features.REQUIRED_COLUMNS)


def test_score_baseline_and_counts_on_a_small_case() -> None:
    """Scores 0.1..1.0 in 2 bins: the median 0.55 is the edge; 5 rows each side."""
    scores = np.arange(1, 11) / 10
    baseline = profile.score_baseline(scores, bins=2)
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
    assert profile.score_counts([0.55], np.array([0.1, 0.55, 0.9, np.nan])).tolist() == [1, 3]
    with pytest.raises(ValueError, match="0 finite scores"):
        profile.score_baseline(np.array([np.nan]))


def test_score_drift_is_judged_like_a_feature() -> None:
    """[0.5, 0.5] -> [0.1, 0.9]: PSI 0.878890 (as for weight_kg above); the median of the
    batch (5 of 10 rows: the 4th of 9 in [0.55, 1.0)) = 0.55 + 4/9 * 0.45 = 0.75."""
    baseline = profile.score_baseline(np.arange(1, 11) / 10, bins=2)
    entry = profile.score_drift(baseline, [1, 9], 0.1, 1.0, profile.DriftLimits(min_rows=10))
    assert entry["psi"] == pytest.approx(0.878890, abs=1e-6)
    assert entry["median_ratio"] == pytest.approx(0.75 / 0.55, abs=1e-6)
    assert entry["drifted"] is True and entry["moderate"] is False
    assert entry["message"] == (
        "prediction_score: PSI 0.88 (limit 0.25); the batch's median is 1.4x the validation median"
    )
    small = profile.score_drift(baseline, [1, 9], 0.1, 1.0, profile.DriftLimits(min_rows=11))
    assert small["drifted"] is False  # too few rows to judge
    with pytest.raises(ValueError, match="not counted in this baseline's bins"):
        profile.score_drift(baseline, [1, 2, 3], 0.1, 1.0, profile.DriftLimits())
