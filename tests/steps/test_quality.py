"""profile_limits, quality_checks, quality_counter: the bounds and limits as JSON, the schema
check, the quality counts and failures, counting across batches and hosts.

Expectations are literals worked out by hand (the arithmetic is in the comments), never
recomputed with the code under test.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pyarrow as pa
import pytest

from pipeline_defs.steps import features, profile_limits, quality_checks, quality_counter

# --- configuration -----------------------------------------------------------------------------


def test_quality_bounds_json_is_compact_sorted_and_round_trips() -> None:
    bounds = profile_limits.QualityBounds()
    assert bounds.to_json() == (
        '{"max_duplicate_ids":0,"max_invalid_rate":0.01,"max_null_rate":0.05,"min_rows":1,'
        '"null_rates":{},"ranges":{"fragility":[0.0,3.0],"height_cm":[0.0,null],'
        '"length_cm":[0.0,null],"price":[0.0,null],"weight_kg":[0.0,null],'
        '"width_cm":[0.0,null]}}'
    )
    assert profile_limits.QualityBounds.from_json(bounds.to_json()) == bounds
    custom = profile_limits.QualityBounds.from_json(
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
    assert profile_limits.QualityBounds.from_json(sent) == bounds


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
        profile_limits.QualityBounds.from_json(text)
    assert str(error.value).startswith(message)


def test_drift_limits_json() -> None:
    limits = profile_limits.DriftLimits()
    assert limits.to_json() == (
        '{"category_distance":0.2,"min_rows":1000,"psi":0.25,"psi_moderate":0.1}'
    )
    assert profile_limits.DriftLimits.from_json("{}") == limits
    assert profile_limits.DriftLimits.from_json(
        '{"psi": 0.1, "min_rows": 50}'
    ) == profile_limits.DriftLimits(psi=0.1, min_rows=50)
    with pytest.raises(ValueError, match=r"unknown key 'distance'; the keys are category_dist"):
        profile_limits.DriftLimits.from_json('{"distance": 0.1}')
    with pytest.raises(ValueError, match=r"'psi' must be a number > 0, got 'high'"):
        profile_limits.DriftLimits.from_json('{"psi": "high"}')
    with pytest.raises(ValueError, match=r"'min_rows' must be a whole number >= 0, got -1"):
        profile_limits.DriftLimits.from_json('{"min_rows": -1}')


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
    table: pa.Table, bounds: profile_limits.QualityBounds | None = None, **kwargs: Any
) -> list[str]:
    counter = quality_counter.QualityCounter(bounds, with_label="label" in table.schema.names)
    counter.add_schema_failures(
        quality_checks.check_schema(table.schema, with_label="label" in table.schema.names)
    )
    counter.update(table)
    return [failure.message() for failure in counter.failures(**kwargs)]


def test_a_good_extract_passes() -> None:
    counter = quality_counter.QualityCounter()
    counter.update(_raw(20))
    report = counter.report()
    assert report["passed"] is True and report["reason"] == "" and report["failures"] == []
    assert report["rows"] == 20 and report["null_rates"]["weight_kg"] == 0.0
    assert report["invalid_rates"]["fragility"] == 0.0
    assert report["duplicate_ids"] == {"count": 0, "ids_checked": 20, "exact": True}
    assert report["bounds"] == profile_limits.QualityBounds().to_dict()


def test_a_missing_column() -> None:
    table = _raw(5).drop_columns(["price"])
    failures = quality_checks.check_schema(table.schema, with_label=True)
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
    assert quality_checks.check_schema(table.schema, with_label=False) == []
    assert _failures(table) == []


def test_too_few_rows() -> None:
    assert _failures(_raw(12), profile_limits.QualityBounds(min_rows=1_000)) == [
        "rows: 12 rows, fewer than the minimum 1,000"
    ]
    # one Prepare host of several: the minimum is the run's
    assert _failures(_raw(12), profile_limits.QualityBounds(min_rows=1_000), check_rows=False) == []


def test_null_rate_counts_nan_as_null() -> None:
    weights = [None, None, None, math.nan, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert _failures(_raw(10, weight_kg=weights)) == [
        "weight_kg: null rate 0.4 above the bound 0.05 (4 of 10 rows)"
    ]
    # a column's own bound
    lenient = profile_limits.QualityBounds(null_rates={"weight_kg": 0.5})
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
    lenient = profile_limits.QualityBounds(max_null_rate=0.5)
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
    allowed = profile_limits.QualityBounds(max_duplicate_ids=3)
    assert _failures(_raw(10, product_id=ids), allowed) == []


def test_labels_not_0_or_1() -> None:
    table = _raw(8).append_column(
        "label", pa.array([0, 1, 2, -1, None, 2.0, math.nan, 1.0], pa.float64())
    )
    # 2, -1, 2, NaN: 4 values; the null label is not one (Split drops that row)
    assert _failures(table) == ["label: 4 values not 0/1, e.g. -1, 2, nan"]
    counter = quality_counter.QualityCounter(with_label=True)
    counter.update(table)
    assert counter.labels_checked == 7


def test_report_reason_is_every_message_within_900_characters() -> None:
    # 4 rows: the ranged columns half null, half out of range; the others all null.
    half = [None, None, -1.0, -2.0]
    table = _raw(
        4,
        **{name: half for name in profile_limits.DEFAULT_RANGES},
        is_liquid=pa.nulls(4, pa.bool_()),
        has_battery=pa.nulls(4, pa.bool_()),
        category=pa.nulls(4, pa.string()),
    )
    counter = quality_counter.QualityCounter(profile_limits.QualityBounds(min_rows=10))
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
    one = quality_counter.QualityCounter(with_label=True)
    one.update(table)
    first, second = (
        quality_counter.QualityCounter(with_label=True),
        quality_counter.QualityCounter(with_label=True),
    )
    first.update(table.slice(0, 7))
    second.update(table.slice(7))
    restored = quality_counter.QualityCounter.from_dict(json.loads(json.dumps(first.to_dict())))
    merged = restored.merge(second)
    assert merged.to_dict() == one.to_dict()
    assert merged.report() == one.report()
    assert merged.columns["weight_kg"].nulls == 5 and merged.columns["weight_kg"].invalid == 5
    assert merged.bad_labels == 5


def test_repeated_ids_across_batches_and_hosts() -> None:
    ids = [f"id-{i}" for i in range(50)]
    first, second = quality_counter.QualityCounter(), quality_counter.QualityCounter()
    first.update(_raw(50, product_id=ids))
    # a longer id in the batch must not change how the others hash
    second.update(_raw(3, product_id=["id-7", "x" * 60, "id-42"]))
    merged = quality_counter.QualityCounter.from_dict(first.to_dict()).merge(second)
    assert merged.duplicate_ids == 2 and merged.duplicate_examples == ["id-42", "id-7"]
    assert merged.report()["duplicate_ids"] == {"count": 2, "ids_checked": 53, "exact": True}
    streamed = quality_counter.QualityCounter()
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
    monkeypatch.setattr(quality_counter, "DUPLICATE_SAMPLE_IDS", 16)
    ids = [f"id-{i}" for i in range(100)]
    counter = quality_counter.QualityCounter()
    counter.update(_raw(100, product_id=ids))
    counter.update(_raw(100, product_id=ids[::-1]))
    assert counter.duplicate_ids == 16
    assert counter.report()["duplicate_ids"] == {"count": 16, "ids_checked": 200, "exact": False}
    fresh = quality_counter.QualityCounter()
    fresh.update(_raw(100, product_id=ids))
    fresh.update(_raw(100, product_id=[f"other-{i}" for i in range(100)]))
    assert fresh.duplicate_ids == 0


def test_counters_with_other_bounds_do_not_merge() -> None:
    with pytest.raises(ValueError, match="different bounds"):
        quality_counter.QualityCounter().merge(
            quality_counter.QualityCounter(profile_limits.QualityBounds(min_rows=5))
        )


def test_schema_failures_name_their_files_and_merge() -> None:
    failures = quality_checks.check_schema(_raw(2).drop_columns(["price"]).schema, with_label=False)
    first, second = quality_counter.QualityCounter(), quality_counter.QualityCounter()
    first.add_schema_failures(failures, source="part-00003.parquet")
    second.add_schema_failures(failures, source="part-00001.parquet")
    assert [f.message() for f in first.failures()] == [
        "price: column missing in part-00003.parquet"
    ]
    first.merge(quality_counter.QualityCounter.from_dict(second.to_dict()))
    assert [f.message() for f in first.failures()] == [
        "price: column missing in 2 files, e.g. part-00001.parquet, part-00003.parquet"
    ]
    # a failed schema explains the missing rows: no rows failure on top
    assert first.report()["rows"] == 0 and len(first.failures()) == 1


def test_the_moderate_bound_must_not_exceed_the_limit() -> None:
    with pytest.raises(ValueError, match="'psi_moderate' must be a number > 0 and at most 'psi'"):
        profile_limits.DriftLimits(psi=0.1, psi_moderate=0.2)


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
    assert profile_limits.QualityBounds.from_json(sent) == profile_limits.QualityBounds()
    limits = contract.drift_limits_json(
        psi=contract.DEFAULT_PSI_LIMIT,
        category_distance=contract.DEFAULT_CATEGORY_DISTANCE_LIMIT,
        min_rows=contract.DEFAULT_DRIFT_MIN_ROWS,
        psi_moderate=contract.DEFAULT_PSI_MODERATE,
    )
    assert profile_limits.DriftLimits.from_json(limits) == profile_limits.DriftLimits()
    assert set(contract.QUALITY_COLUMNS) == set(features.REQUIRED_COLUMNS)
