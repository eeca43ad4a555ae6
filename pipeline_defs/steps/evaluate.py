"""Evaluation step: validation labels + batch-transform scores -> evaluation.json.

Runs as `python3 /opt/ml/processing/input/code/evaluate.py` in a SageMaker Processing job.

Inputs:
- `--validation-dir` (default /opt/ml/processing/input/validation): the split step's
  validation Parquet (`product_id`, `label`, ...).
- `--predictions-dir` (default /opt/ml/processing/input/predictions): the batch-transform
  output for `validation_features/validation.csv` (e.g. `validation.csv.out`), one line per
  input row, either `score` or `product_id,score` (with `JoinSource=Input`,
  `OutputFilter="$[0,-1]"`).

Join: with ids, scores are matched to labels by `product_id` (ids must be unique and the
same set). Without ids, the n-th score belongs to the n-th validation row: this holds
because the transform input was written in validation.parquet's row order, and batch
transform with `SplitType=Line` + `AssembleWith=Line` keeps line order within a file. Row
counts are checked either way.

Output: `--output-dir` (default /opt/ml/processing/output/evaluation)/evaluation.json with
`{"metrics": {...}, "binary_classification_metrics": {...}}`; the second section follows the
SageMaker model-quality layout so the file can be attached to the model package. Beside it,
`score_baseline.json`: the distribution of the challenger's validation scores
(`score_stats.score_baseline`), registered with the package as `score_baseline_s3_uri`;
and `curves.json`: ROC, precision-recall, calibration, score histograms and lift of the
challenger and of the champion on the same rows, and each feature's association with the
challenger's score (`curves`), which Compare draws into the model report.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if __package__:
    from . import split
else:  # run as a script: the sibling modules sit in the script's own directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import split  # type: ignore[no-redef]

if __package__:
    from . import curves, features, paired, score_stats
else:
    import curves  # type: ignore[no-redef]
    import features  # type: ignore[no-redef]
    import paired  # type: ignore[no-redef]
    import score_stats  # type: ignore[no-redef]

# The challenger's validation scores (score_stats.score_baseline): what inference compares
# the predicted scores of a batch with, once this model is the champion.
SCORE_BASELINE_FILE = "score_baseline.json"

ID_COLUMN = "product_id"
DEFAULT_THRESHOLD = 0.5


def read_predictions(path: str | Path) -> tuple[list[str] | None, np.ndarray]:
    """(ids or None, scores) from transform output files (sorted by name, hidden files skipped)."""
    root = Path(path)
    files = (
        [root]
        if root.is_file()
        else sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    )
    if not files:
        raise ValueError(f"no prediction files in {root}")
    ids: list[str] = []
    scores: list[float] = []
    widths: set[int] = set()
    for file in files:
        for number, line in enumerate(file.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            fields = [f.strip() for f in line.split(",")]
            widths.add(len(fields))
            if len(widths) > 1 or len(fields) > 2:
                raise ValueError(
                    f"{file}:{number}: expected 'score' or 'product_id,score', got {line!r}"
                )
            try:
                score = float(fields[-1])
            except ValueError as error:
                raise ValueError(
                    f"{file}:{number}: score {fields[-1]!r} is not a number"
                ) from error
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"{file}:{number}: score {score} is not a probability in [0, 1]")
            scores.append(score)
            if len(fields) == 2:
                ids.append(fields[0])
    return (ids if widths == {2} else None), np.asarray(scores, dtype=np.float64)


def align(
    validation: pa.Table, ids: list[str] | None, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, scores) in the same row order; raises ValueError on any mismatch."""
    labels = split.labels_as_int(validation)
    if len(scores) != len(labels):
        raise ValueError(
            f"row count mismatch: {len(labels)} validation rows but {len(scores)} scores; "
            "the transform output must hold exactly one line per validation row"
        )
    if ids is None:
        return labels, scores
    validation_ids = pc.cast(validation.column(ID_COLUMN), pa.string()).to_pylist()
    position = {product_id: i for i, product_id in enumerate(validation_ids)}
    if len(position) != len(validation_ids) or len(set(ids)) != len(ids):
        raise ValueError("product_id values must be unique to join scores to labels")
    unknown = [i for i in ids if i not in position]
    if unknown:
        raise ValueError(f"{len(unknown)} scored ids are not in the validation set: {unknown[:5]}")
    order = np.fromiter((position[i] for i in ids), dtype=np.int64, count=len(ids))
    return labels[order], scores


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, None when the denominator is zero."""
    return numerator / denominator if denominator else None


def _average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision (step-wise area under the precision-recall curve, ties grouped)."""
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_labels = scores[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    true_positives = np.cumsum(sorted_labels)[last_of_tie]
    predicted = last_of_tie + 1
    precision = true_positives / predicted
    recall = true_positives / labels.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count one half)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(scores)]
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    positives = labels.sum()
    negatives = len(labels) - positives
    return float(
        (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def compute_metrics(
    labels: np.ndarray, scores: np.ndarray, *, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, Any]:
    """Ranking and threshold metrics (threshold default 0.5); undefined ones are null + reason."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be within [0, 1], got {threshold}")
    if len(labels) == 0:
        raise ValueError("cannot evaluate an empty validation set")
    predicted = scores >= threshold
    actual = labels == 1
    tp = int(np.sum(predicted & actual))
    fp = int(np.sum(predicted & ~actual))
    fn = int(np.sum(~predicted & actual))
    tn = int(np.sum(~predicted & ~actual))
    undefined: dict[str, str] = {}
    single_class = tp + fn == 0 or tn + fp == 0
    if single_class:
        only = "positive" if tn + fp == 0 else "negative"
        reason = f"validation labels hold a single class (all {only})"
        undefined["roc_auc"] = reason
        if tp + fn == 0:
            undefined["pr_auc"] = reason
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    if precision is None:
        undefined["precision"] = f"no row scored >= threshold {threshold}"
    if recall is None:
        undefined["recall"] = "no positive labels"
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall > 0
        else None
    )
    if f1 is None:
        undefined["f1"] = "precision or recall undefined or both zero"
    return {
        "roc_auc": None if single_class else _roc_auc(labels, scores),
        "pr_auc": None if tp + fn == 0 else _average_precision(labels, scores),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": (tp + tn) / len(labels),
        "threshold": threshold,
        "confusion_matrix": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        "row_count": len(labels),
        "positive_rate": (tp + fn) / len(labels),
        "undefined": undefined,
    }


def model_quality_section(metrics: dict[str, Any]) -> dict[str, Any]:
    """SageMaker model-quality `binary_classification_metrics` (undefined metrics left out)."""
    matrix = metrics["confusion_matrix"]
    tp, fp, fn, tn = matrix["tp"], matrix["fp"], matrix["fn"], matrix["tn"]
    values = {
        "auc": metrics["roc_auc"],
        "au_prc": metrics["pr_auc"],
        "precision": metrics["precision"],
        "recall": metrics["recall"],
        "f1": metrics["f1"],
        "accuracy": metrics["accuracy"],
        "true_positive_rate": _ratio(tp, tp + fn),
        "true_negative_rate": _ratio(tn, tn + fp),
        "false_positive_rate": _ratio(fp, fp + tn),
        "false_negative_rate": _ratio(fn, fn + tp),
    }
    section: dict[str, Any] = {
        "confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}},
    }
    for name, value in values.items():
        if value is not None and math.isfinite(value):
            section[name] = {"value": value, "standard_deviation": "NaN"}
    return section


def _champion(
    validation: pa.Table,
    labels: np.ndarray,
    challenger_scores: np.ndarray,
    champion_dir: Path,
    *,
    threshold: float,
) -> tuple[dict[str, Any], tuple[np.ndarray, np.ndarray] | None]:
    """(`champion`, `paired` and, when there is no paired comparison, `paired_unavailable`;
    the champion's (labels, scores) when it has a model).

    champion_dir is ScoreChampion's output: champion.json, and the champion's scores of
    the same validation rows in the same order (validation.csv.out).
    """
    summary = json.loads((champion_dir / "champion.json").read_text())
    if not summary.get("model_package_arn"):
        reason = str(summary.get("reason") or "no champion")
        return {"champion": None, "paired": None, "paired_unavailable": reason}, None
    ids, scores = read_predictions(champion_dir / "validation.csv.out")
    try:
        champion_labels, champion_scores = align(validation, ids, scores)
    except ValueError as error:
        raise ValueError(f"champion: {error}") from error
    section: dict[str, Any] = {
        "champion": {
            **{k: v for k, v in summary.items() if k != "rows"},
            "metrics": compute_metrics(champion_labels, champion_scores, threshold=threshold),
        }
    }
    scored = (champion_labels, champion_scores)
    try:
        comparison = paired.compare_auc(labels, challenger_scores, champion_scores)
    except ValueError as error:
        return {**section, "paired": None, "paired_unavailable": str(error)}, scored
    return {**section, "paired": comparison.to_dict()}, scored


def feature_columns(validation: pa.Table) -> dict[str, np.ndarray]:
    """The model inputs of the validation rows: the engineered FEATURE_COLUMNS when the rows
    carry the raw product columns, else the table's own numeric columns (id and label left out)."""
    try:
        matrix = features.compute_features(validation)
    except ValueError:
        return {
            name: np.asarray(
                validation.column(name).to_numpy(zero_copy_only=False), dtype=np.float64
            )
            for name in validation.schema.names
            if name not in (ID_COLUMN, split.LABEL_COLUMN)
            and (
                pa.types.is_integer(validation.schema.field(name).type)
                or pa.types.is_floating(validation.schema.field(name).type)
            )
        }
    return {name: matrix[:, i] for i, name in enumerate(features.FEATURE_COLUMNS)}


def curves_document(
    validation: pa.Table,
    labels: np.ndarray,
    scores: np.ndarray,
    champion: tuple[np.ndarray, np.ndarray] | None,
) -> dict[str, Any]:
    """curves.json: both models' curves on the same rows and the features' association."""
    return {
        "challenger": curves.curve_data(labels, scores),
        "champion": None if champion is None else curves.curve_data(*champion),
        "feature_association": curves.feature_association(feature_columns(validation), scores),
    }


def evaluate(
    validation_dir: Path,
    predictions_dir: Path,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    champion_dir: Path | None = None,
) -> dict[str, Any]:
    """The evaluation document for one validation set and its transform output; with
    champion_dir, also the champion's metrics on the same rows and the paired comparison."""
    return _evaluate(
        validation_dir, predictions_dir, threshold=threshold, champion_dir=champion_dir
    )[0]


def _evaluate(
    validation_dir: Path,
    predictions_dir: Path,
    *,
    threshold: float,
    champion_dir: Path | None,
) -> tuple[dict[str, Any], np.ndarray, dict[str, Any]]:
    """(the evaluation document, the challenger's validation scores, curves.json)."""
    validation, _ = split.read_parquet_input(validation_dir)
    ids, scores = read_predictions(predictions_dir)
    labels, aligned = align(validation, ids, scores)
    metrics = compute_metrics(labels, aligned, threshold=threshold)
    document = {"metrics": metrics, "binary_classification_metrics": model_quality_section(metrics)}
    champion = None
    if champion_dir is not None:
        section, champion = _champion(
            validation, labels, aligned, champion_dir, threshold=threshold
        )
        document |= section
    return document, aligned, curves_document(validation, labels, aligned, champion)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Arguments; paths default to the SageMaker Processing container paths."""
    parser = argparse.ArgumentParser(description="Score the challenger on the validation set.")
    parser.add_argument(
        "--validation-dir", type=Path, default=Path("/opt/ml/processing/input/validation")
    )
    parser.add_argument(
        "--predictions-dir", type=Path, default=Path("/opt/ml/processing/input/predictions")
    )
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument(
        "--champion-dir",
        type=Path,
        default=None,
        help="ScoreChampion's output: compare with the champion on the same rows",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=Path("/opt/ml/processing/output/evaluation")
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point: evaluate (threshold 0.5) and write evaluation.json,
    score_baseline.json and curves.json."""
    args = parse_args(argv)
    document, scores, curve_document = _evaluate(
        args.validation_dir,
        args.predictions_dir,
        threshold=args.threshold,
        champion_dir=args.champion_dir,
    )
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "evaluation.json").write_text(json.dumps(document, indent=2))
    (args.output_dir / SCORE_BASELINE_FILE).write_text(
        json.dumps(score_stats.score_baseline(scores), indent=2)
    )
    (args.output_dir / curves.CURVES_FILE).write_text(json.dumps(curve_document))
    print(json.dumps(document["metrics"]))


if __name__ == "__main__":
    main()
