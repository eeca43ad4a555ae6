"""evaluate: metrics against hand-computed values, joins, degenerate cases, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline_defs.steps import evaluate

LABELS = np.array([0, 0, 1, 1, 0, 1])
SCORES = np.array([0.1, 0.6, 0.8, 0.4, 0.3, 0.9])


def test_metrics_equal_hand_computed_values() -> None:
    m = evaluate.compute_metrics(LABELS, SCORES, threshold=0.5)
    # Predicted positive: 0.6 (neg), 0.8, 0.9 (pos) -> tp=2 fp=1; 0.4 (pos) missed -> fn=1, tn=2.
    assert m["confusion_matrix"] == {"tn": 2, "fp": 1, "fn": 1, "tp": 2}
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3) and m["accuracy"] == pytest.approx(4 / 6)
    # 9 positive/negative pairs; only (0.4 pos, 0.6 neg) is misordered -> 8/9.
    assert m["roc_auc"] == pytest.approx(8 / 9)
    # Ranked: 0.9+ 0.8+ 0.6- 0.4+: AP = (1 + 1 + 3/4) / 3.
    assert m["pr_auc"] == pytest.approx((1 + 1 + 0.75) / 3)
    assert m["row_count"] == 6 and m["positive_rate"] == 0.5


def test_ties_count_half() -> None:
    m = evaluate.compute_metrics(np.array([0, 1]), np.array([0.5, 0.5]))
    assert m["roc_auc"] == 0.5


def test_single_class_gives_null_auc_with_reason() -> None:
    m = evaluate.compute_metrics(np.array([1, 1, 1]), np.array([0.2, 0.7, 0.9]))
    assert m["roc_auc"] is None and "single class" in m["undefined"]["roc_auc"]
    assert m["recall"] == pytest.approx(2 / 3)
    section = evaluate.model_quality_section(m)
    assert "auc" not in section and section["recall"]["value"] == pytest.approx(2 / 3)


def test_model_quality_section_layout() -> None:
    section = evaluate.model_quality_section(evaluate.compute_metrics(LABELS, SCORES))
    assert section["auc"]["value"] == pytest.approx(8 / 9)
    assert section["confusion_matrix"] == {"0": {"0": 2, "1": 1}, "1": {"0": 1, "1": 2}}


def _write(tmp_path: Path, ids: list[str], labels: list[int], lines: list[str]) -> None:
    """Validation Parquet + a transform output file."""
    (tmp_path / "val").mkdir()
    (tmp_path / "pred").mkdir()
    pq.write_table(pa.table({"product_id": ids, "label": labels}), tmp_path / "val" / "v.parquet")
    (tmp_path / "pred" / "validation.csv.out").write_text("\n".join(lines) + "\n")


def test_end_to_end_order_join(tmp_path: Path) -> None:
    _write(tmp_path, list("abcdef"), LABELS.tolist(), [str(s) for s in SCORES])
    evaluate.main(
        [
            "--validation-dir",
            str(tmp_path / "val"),
            "--predictions-dir",
            str(tmp_path / "pred"),
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )
    document = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert document["metrics"]["roc_auc"] == pytest.approx(8 / 9)
    assert document["binary_classification_metrics"]["auc"]["value"] == pytest.approx(8 / 9)
    # beside it, the challenger's validation scores: inference's score-drift baseline
    scores = json.loads((tmp_path / "out" / "score_baseline.json").read_text())
    assert (scores["kind"], scores["rows"], sum(scores["counts"])) == ("scores", 6, 6)
    assert scores["median"] == pytest.approx(0.5)  # of 0.1 0.3 0.4 | 0.6 0.8 0.9


def test_id_join_reorders_scores(tmp_path: Path) -> None:
    ids = list("abcdef")
    shuffled = [5, 0, 3, 1, 4, 2]
    _write(tmp_path, ids, LABELS.tolist(), [f"{ids[i]},{SCORES[i]}" for i in shuffled])
    document = evaluate.evaluate(tmp_path / "val", tmp_path / "pred")
    assert document["metrics"]["roc_auc"] == pytest.approx(8 / 9)


def test_row_count_mismatch_is_clear(tmp_path: Path) -> None:
    _write(tmp_path, list("abc"), [0, 1, 0], ["0.1", "0.2"])
    with pytest.raises(ValueError, match="3 validation rows but 2 scores"):
        evaluate.evaluate(tmp_path / "val", tmp_path / "pred")


def test_non_probability_score_is_named(tmp_path: Path) -> None:
    _write(tmp_path, list("ab"), [0, 1], ["0.1", "1.7"])
    with pytest.raises(ValueError, match=r"validation.csv.out:2"):
        evaluate.evaluate(tmp_path / "val", tmp_path / "pred")


def _champion(tmp_path: Path, summary: dict, lines: list[str] | None = None) -> Path:
    folder = tmp_path / "champion"
    folder.mkdir()
    (folder / "champion.json").write_text(json.dumps(summary))
    if lines is not None:
        (folder / "validation.csv.out").write_text("\n".join(lines) + "\n")
    return folder


def test_champion_is_scored_on_the_same_rows_with_a_paired_comparison(tmp_path: Path) -> None:
    _write(tmp_path, list("abcdef"), LABELS.tolist(), [str(s) for s in SCORES])
    champion_scores = [0.2, 0.1, 0.7, 0.8, 0.6, 0.15]
    folder = _champion(
        tmp_path,
        {"model_package_arn": "arn:champion/3", "model_package_version": 3, "architecture": "hgb"},
        [str(s) for s in champion_scores],
    )
    document = evaluate.evaluate(tmp_path / "val", tmp_path / "pred", champion_dir=folder)
    champion = document["champion"]
    assert champion["model_package_arn"] == "arn:champion/3"
    assert champion["architecture"] == "hgb"
    # champion on the same rows: positives 0.7, 0.8, 0.15 vs negatives 0.2, 0.1, 0.6 -> 7/9
    assert champion["metrics"]["roc_auc"] == pytest.approx(7 / 9)
    paired = document["paired"]
    assert paired["method"] == "delong"
    assert paired["challenger_auc"] == pytest.approx(8 / 9)
    assert paired["champion_auc"] == pytest.approx(7 / 9)
    assert paired["difference"] == pytest.approx(1 / 9)
    assert paired["rows"] == 6
    assert paired["interval"][0] < paired["difference"] < paired["interval"][1]


def test_no_champion_gives_no_paired_comparison_and_says_why(tmp_path: Path) -> None:
    _write(tmp_path, list("abcdef"), LABELS.tolist(), [str(s) for s in SCORES])
    folder = _champion(tmp_path, {"model_package_arn": None, "reason": "no Approved model yet"})
    document = evaluate.evaluate(tmp_path / "val", tmp_path / "pred", champion_dir=folder)
    assert document["champion"] is None
    assert document["paired"] is None
    assert document["paired_unavailable"] == "no Approved model yet"


def test_champion_rows_must_match_the_validation_rows(tmp_path: Path) -> None:
    _write(tmp_path, list("abcdef"), LABELS.tolist(), [str(s) for s in SCORES])
    folder = _champion(tmp_path, {"model_package_arn": "arn:c/1"}, ["0.1", "0.2"])
    with pytest.raises(ValueError, match="champion: row count mismatch: 6 validation rows"):
        evaluate.evaluate(tmp_path / "val", tmp_path / "pred", champion_dir=folder)


def test_a_single_class_validation_set_leaves_the_paired_comparison_out(tmp_path: Path) -> None:
    _write(tmp_path, list("abc"), [1, 1, 1], ["0.9", "0.8", "0.7"])
    folder = _champion(tmp_path, {"model_package_arn": "arn:c/1"}, ["0.5", "0.6", "0.7"])
    document = evaluate.evaluate(tmp_path / "val", tmp_path / "pred", champion_dir=folder)
    assert document["paired"] is None
    assert "at least 2 positive and 2 negative" in document["paired_unavailable"]


def test_champion_dir_flag_end_to_end(tmp_path: Path) -> None:
    _write(tmp_path, list("abcdef"), LABELS.tolist(), [str(s) for s in SCORES])
    _champion(tmp_path, {"model_package_arn": "arn:c/1"}, [str(s) for s in SCORES])
    evaluate.main(
        [
            "--validation-dir",
            str(tmp_path / "val"),
            "--predictions-dir",
            str(tmp_path / "pred"),
            "--champion-dir",
            str(tmp_path / "champion"),
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )
    document = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert document["paired"]["difference"] == 0.0
