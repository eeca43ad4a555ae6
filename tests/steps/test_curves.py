"""The model report's curves (Evaluate): literal expectations on rows small enough to
work out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline_defs.steps import curves


def test_four_rows_give_the_hand_computed_curves() -> None:
    # scores high to low: 0.9 (1), 0.8 (0), 0.4 (1), 0.1 (0)
    data = curves.curve_data(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.4, 0.1]))
    assert data["rows"] == 4
    assert data["positives"] == 2
    assert data["roc"] == [[0.0, 0.0], [0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [1.0, 1.0]]
    assert data["pr"] == [[0.5, 1.0], [0.5, 0.5], [1.0, pytest.approx(2 / 3)], [1.0, 0.5]]
    assert data["calibration"] == [
        {"mean_score": 0.1, "positive_rate": 0.0, "rows": 1},
        {"mean_score": 0.4, "positive_rate": 1.0, "rows": 1},
        {"mean_score": 0.8, "positive_rate": 0.0, "rows": 1},
        {"mean_score": 0.9, "positive_rate": 1.0, "rows": 1},
    ]
    counts = data["histogram"]["counts"]
    assert [i for i, c in enumerate(counts["0"]) if c] == [2, 16]  # 0.1 and 0.8
    assert [i for i, c in enumerate(counts["1"]) if c] == [8, 18]  # 0.4 and 0.9
    assert len(data["histogram"]["edges"]) == 21
    # four rows in ten groups: four groups of one row, the empty ones left out
    assert data["lift"] == [
        {"group": 1, "rows": 1, "positives": 1, "lift": 2.0, "captured": 0.5},
        {"group": 2, "rows": 1, "positives": 0, "lift": 0.0, "captured": 0.5},
        {"group": 3, "rows": 1, "positives": 1, "lift": 2.0, "captured": 1.0},
        {"group": 4, "rows": 1, "positives": 0, "lift": 0.0, "captured": 1.0},
    ]


def test_tied_scores_are_one_cut_point() -> None:
    data = curves.curve_data(np.array([1, 0, 1]), np.array([0.5, 0.5, 0.2]))
    assert data["roc"] == [[0.0, 0.0], [1.0, 0.5], [1.0, 1.0]]
    assert data["pr"] == [[0.5, 0.5], [1.0, pytest.approx(2 / 3)]]


def test_a_large_set_keeps_at_most_the_configured_points() -> None:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 10_000)
    scores = rng.random(10_000)
    data = curves.curve_data(labels, scores)
    assert len(data["roc"]) <= curves.CURVE_POINTS + 1
    assert data["roc"][-1] == [1.0, 1.0]
    assert sum(g["rows"] for g in data["lift"]) == 10_000
    assert sum(map(sum, data["histogram"]["counts"].values())) == 10_000


def test_single_class_has_no_precision_recall_curve_and_no_lift_value() -> None:
    data = curves.curve_data(np.array([0, 0, 0]), np.array([0.1, 0.5, 0.9]))
    assert data["pr"] == []
    assert {g["lift"] for g in data["lift"]} == {None}


def test_mismatched_or_empty_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="got 2 and 3"):
        curves.curve_data(np.array([1, 0]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="got 0 and 0"):
        curves.curve_data(np.array([]), np.array([]))


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        ([1, 2, 3, 4], [10, 20, 30, 40], 1.0),
        ([1, 2, 3, 4], [40, 30, 20, 10], -1.0),
        ([1, 2, math.nan, 4, 5], [2, 4, 100, 8, 10], 1.0),  # the NaN pair left out
        ([1, 1, 2], [1, 2, 3], math.sqrt(3) / 2),  # tied ranks share 0.5
        ([3, 3, 3], [1, 2, 3], None),  # constant
        ([1, 2], [1, 2], None),  # fewer than three pairs
    ],
)
def test_spearman(x: list[float], y: list[float], expected: float | None) -> None:
    got = curves.spearman(np.array(x, dtype=float), np.array(y, dtype=float))
    assert got == (None if expected is None else pytest.approx(expected))


def test_feature_association_is_strongest_first_without_constant_columns() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.4])
    rows = curves.feature_association(
        {
            "weak": np.array([2.0, 1.0, 4.0, 3.0]),
            "constant": np.array([1.0, 1.0, 1.0, 1.0]),
            "inverse": np.array([4.0, 3.0, 2.0, 1.0]),
        },
        scores,
    )
    assert [(r["feature"], r["spearman"]) for r in rows] == [
        ("inverse", pytest.approx(-1.0)),
        ("weak", pytest.approx(0.6)),
    ]
    assert rows[0]["strength"] == pytest.approx(1.0)
