"""Paired ROC AUC comparison (DeLong): two models scored on the same validation rows."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from pipeline_defs.steps import paired


def brute_force_delong(labels, first, second):
    """DeLong's structural components by their definition, O(m * n): the reference."""
    labels = np.asarray(labels)
    positives = [np.asarray(s)[labels == 1] for s in (first, second)]
    negatives = [np.asarray(s)[labels == 0] for s in (first, second)]

    def psi(x, y):
        return 1.0 if x > y else 0.5 if x == y else 0.0

    v10 = [
        [np.mean([psi(x, y) for y in neg]) for x in pos]
        for pos, neg in zip(positives, negatives, strict=True)
    ]
    v01 = [
        [np.mean([psi(x, y) for x in pos]) for y in neg]
        for pos, neg in zip(positives, negatives, strict=True)
    ]
    aucs = [float(np.mean(v)) for v in v10]
    s10 = np.cov(np.array(v10))
    s01 = np.cov(np.array(v01))
    m, n = len(positives[0]), len(negatives[0])
    s = s10 / m + s01 / n
    return aucs, float(s[0, 0] + s[1, 1] - 2 * s[0, 1])


def test_hand_computed_example():
    # 3 positives, 3 negatives; challenger ranks every positive first, champion errs once.
    labels = [1, 1, 1, 0, 0, 0]
    challenger = [0.9, 0.8, 0.7, 0.3, 0.2, 0.1]
    champion = [0.9, 0.8, 0.2, 0.3, 0.25, 0.1]
    result = paired.compare_auc(labels, challenger, champion)
    assert result.challenger_auc == 1.0
    # champion: positive 0.2 beats only 0.1 -> 1/3; others beat all three -> (1+1+1/3)/3
    assert result.champion_auc == pytest.approx(7 / 9)
    assert result.difference == pytest.approx(2 / 9)
    _, variance = brute_force_delong(labels, challenger, champion)
    assert result.standard_error == pytest.approx(math.sqrt(variance))
    assert (result.rows, result.positives, result.negatives) == (6, 3, 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_definition_with_ties(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 80)
    # rounded scores make many ties, the case midranks must get right
    challenger = np.round(rng.random(80) + labels * 0.4, 1)
    champion = np.round(rng.random(80) + labels * 0.2, 1)
    result = paired.compare_auc(labels, challenger, champion)
    (auc_a, auc_b), variance = brute_force_delong(labels, challenger, champion)
    assert result.challenger_auc == pytest.approx(auc_a)
    assert result.champion_auc == pytest.approx(auc_b)
    assert result.challenger_auc == pytest.approx(roc_auc_score(labels, challenger))
    assert result.standard_error == pytest.approx(math.sqrt(variance))
    z = NormalDist().inv_cdf(0.975)
    assert result.interval[0] == pytest.approx(result.difference - z * result.standard_error)
    assert result.interval[1] == pytest.approx(result.difference + z * result.standard_error)


def test_identical_models_differ_by_zero_with_a_degenerate_interval():
    labels = [1, 0, 1, 0, 1, 0]
    scores = [0.9, 0.1, 0.6, 0.7, 0.8, 0.2]
    result = paired.compare_auc(labels, scores, scores)
    assert result.difference == 0.0
    assert result.interval == (0.0, 0.0)
    assert result.p_value == 1.0


def test_interval_coverage_on_data_with_a_known_difference():
    """Binormal scores: AUC = Phi(d / sqrt(2)) exactly, so the true difference is known.

    The two models share noise (correlated, as two models of the same rows are), which is
    what the paired interval accounts for. 95 % intervals must cover the true difference
    in about 95 % of repetitions (binomial spread at 400 draws: 0.93-0.97).
    """
    rng = np.random.default_rng(2026)
    d_challenger, d_champion = 1.2, 1.0
    phi = NormalDist().cdf
    truth = phi(d_challenger / math.sqrt(2)) - phi(d_champion / math.sqrt(2))
    covered = 0
    draws = 400
    for _ in range(draws):
        labels = rng.integers(0, 2, 600)
        shared = rng.normal(size=600)
        own = rng.normal(size=(2, 600))
        # each model's score: N(0, 1) noise (shared part correlates the two), shifted by d
        challenger = labels * d_challenger + math.sqrt(0.5) * shared + math.sqrt(0.5) * own[0]
        champion = labels * d_champion + math.sqrt(0.5) * shared + math.sqrt(0.5) * own[1]
        result = paired.compare_auc(labels, challenger, champion)
        covered += result.interval[0] <= truth <= result.interval[1]
    assert 0.92 <= covered / draws <= 0.98, covered / draws


def test_the_paired_interval_is_narrower_than_ignoring_the_pairing():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 2000)
    shared = rng.normal(size=2000)
    challenger = labels * 1.1 + shared + 0.3 * rng.normal(size=2000)
    champion = labels * 1.0 + shared + 0.3 * rng.normal(size=2000)
    result = paired.compare_auc(labels, challenger, champion)
    solo_a = paired.compare_auc(labels, challenger, np.zeros(2000)).standard_error
    solo_b = paired.compare_auc(labels, champion, np.zeros(2000)).standard_error
    # an unpaired interval would use sqrt(var_a + var_b); correlation shrinks the paired one
    assert result.standard_error < 0.5 * math.hypot(solo_a, solo_b)


def test_text_names_both_scores_the_rows_and_the_interval():
    labels = [1, 1, 1, 0, 0, 0]
    result = paired.compare_auc(
        labels, [0.9, 0.8, 0.7, 0.3, 0.2, 0.1], [0.9, 0.8, 0.2, 0.3, 0.25, 0.1]
    )
    text = result.text()
    assert text.startswith("challenger 1.000 vs champion 0.778 on the same 6 rows; ")
    assert "difference +0.222, 95 % interval [" in text
    assert result.to_dict()["method"] == "delong"
    assert result.to_dict()["interval"] == list(result.interval)


@pytest.mark.parametrize(
    ("labels", "first", "second", "message"),
    [
        ([1, 0], [0.1], [0.2, 0.3], "3 lengths"),
        ([1, 1, 1], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3], "at least 2 positive and 2 negative"),
        ([1, 0, 1, 0], [0.1, float("nan"), 0.3, 0.2], [0.1, 0.2, 0.3, 0.4], "challenger"),
        ([1, 0, 2, 0], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], "labels must be 0 or 1"),
    ],
)
def test_bad_input_is_refused_with_the_reason(labels, first, second, message):
    with pytest.raises(ValueError, match=message):
        paired.compare_auc(labels, first, second)


def test_confidence_level_is_checked_and_used():
    labels = [1, 0, 1, 0, 1, 0, 1, 0]
    a = [0.9, 0.1, 0.8, 0.3, 0.4, 0.5, 0.7, 0.2]
    b = [0.6, 0.2, 0.7, 0.4, 0.3, 0.6, 0.9, 0.1]
    wide = paired.compare_auc(labels, a, b, confidence=0.99)
    narrow = paired.compare_auc(labels, a, b, confidence=0.8)
    assert wide.interval[0] < narrow.interval[0] <= narrow.interval[1] < wide.interval[1]
    with pytest.raises(ValueError, match="confidence"):
        paired.compare_auc(labels, a, b, confidence=1.0)
