"""Architecture `multimodal`, stage 2 (`Train`): the classifier on tabular + text features.

`python multimodal_train.py --max_iter 200 --learning_rate 0.1 ...` in the SageMaker
scikit-learn container, with the `previous` channel (SM_CHANNEL_PREVIOUS) holding stage 1's
model dir (extracted, or its model.tar.gz, which is then extracted here):

1. reads the `train` channel (the same rows stage 1 read, in the same order; checked by
   product id) and computes FEATURE_COLUMNS and the text tokens with `features`;
2. the text representation of stage 1 (`text_model.joblib`) gives the text columns; for
   the train rows the text score is stage 1's out-of-fold score, so the classifier learns
   how much to trust a score on rows the scorer has not seen (as at serving time);
3. fits a HistGradientBoostingClassifier on [FEATURE_COLUMNS, text_score, text_svd_*];
4. writes ONE model dir, the model package's artifact:
   - `classifier.joblib`, `text_model.joblib` (both stages), `text_metadata.json`;
   - `model_metadata.json`: input columns, classifier columns, hyperparameters, row counts,
     train and validation ROC AUC (also logged as `validation:roc_auc=<value>`);
   - `code/`: multimodal_serve.py (SAGEMAKER_PROGRAM) and every module it imports
     (multimodal_common.py, features.py), so serving runs the exact code trained with.

Every declared hyperparameter is accepted; this stage reads max_iter, learning_rate,
max_depth, min_samples_leaf and l2_regularization.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import multimodal_common as common
import multimodal_training as training
import numpy as np


def _extract(archive: Path, target: Path) -> None:
    """Extract a model.tar.gz safely (the "data" filter where this Python has it)."""
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, filter="data")
            return
        for member in tar.getmembers():  # older Pythons: regular files and folders only
            path = (target / member.name).resolve()
            if not (member.isfile() or member.isdir()) or not path.is_relative_to(target.resolve()):
                raise ValueError(f"{archive} holds an unsafe member {member.name!r}")
        tar.extractall(target)  # noqa: S202 (members checked above)


def stage_one_dir(previous: Path, scratch: Path) -> Path:
    """The folder holding stage 1's files: the channel itself, or its extracted tarball."""
    if (previous / common.TEXT_MODEL_FILE).is_file():
        return previous
    archives = sorted(previous.glob("*.tar.gz")) if previous.is_dir() else []
    if len(archives) == 1:
        _extract(archives[0], scratch)
        if (scratch / common.TEXT_MODEL_FILE).is_file():
            return scratch
    raise FileNotFoundError(
        f"the previous channel {previous} holds neither {common.TEXT_MODEL_FILE} nor one "
        "model.tar.gz with it: stage 2 needs stage 1 (TrainText) as its `previous` channel"
    )


def train_scores(folder: Path, ids: list[str]) -> np.ndarray:
    """Stage 1's out-of-fold text scores, checked to be for exactly these rows in order."""
    import pyarrow.parquet as pq

    table = pq.read_table(folder / common.TEXT_SCORES_FILE)
    if table.column("product_id").to_pylist() != ids:
        raise ValueError(
            f"stage 1 scored {table.num_rows} train rows that are not this stage's "
            f"{len(ids)} train rows in order: both stages must read the same train channel"
        )
    return np.asarray(table.column(common.TEXT_SCORE).to_numpy(), dtype=np.float64)


def classifier_params(args: argparse.Namespace) -> dict[str, Any]:
    """HistGradientBoostingClassifier keyword arguments from the hyperparameters."""
    return {
        "max_iter": args.max_iter,
        "learning_rate": args.learning_rate,
        "max_depth": args.max_depth,
        "min_samples_leaf": args.min_samples_leaf,
        "l2_regularization": args.l2_regularization,
        "random_state": args.seed,
    }


def bundle_serving_code(model_dir: Path) -> list[Path]:
    """Copy the serving program and the modules it imports into `<model_dir>/code/`."""
    target = model_dir / "code"
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in common.SERVING_CODE:
        source = common._module_folder(Path(name).stem) / name
        copied.append(Path(shutil.copy2(source, target / name)))
    return copied


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Fit the classifier on stage 1's representation, write the model dir, return metadata."""
    with tempfile.TemporaryDirectory() as scratch:
        stage_one = stage_one_dir(args.previous, Path(scratch))
        import joblib

        text_model = joblib.load(stage_one / common.TEXT_MODEL_FILE)
        train = training.read_channel(args.train)
        scores = train_scores(stage_one, train.ids)
        text_metadata = json.loads((stage_one / common.TEXT_METADATA_FILE).read_text())
        args.model_dir.mkdir(parents=True, exist_ok=True)
        for name in (common.TEXT_MODEL_FILE, common.TEXT_METADATA_FILE):
            shutil.copy2(stage_one / name, args.model_dir / name)
    training.require_both_labels(train.labels, "training")
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier

    text = common.text_representation(text_model, train.tokens)
    text[:, 0] = scores
    x = common.model_inputs(train.tabular, text)
    params = classifier_params(args)
    classifier = HistGradientBoostingClassifier(**params).fit(x, train.labels)
    features = common.features()
    metadata: dict[str, Any] = {
        "architecture": "multimodal",
        "input_columns": [*features.FEATURE_COLUMNS, features.TEXT_COLUMN],
        "feature_columns": common.feature_names(text_model),
        "hyperparameters": training.hyperparameters(args),
        "classifier_params": params,
        "train_rows": len(train.labels),
        "train_positive_rate": float(train.labels.mean()),
        "n_iter": int(classifier.n_iter_),
        "train_roc_auc": training.roc_auc(train.labels, classifier.predict_proba(x)[:, 1]),
        "text_stage": text_metadata,
        "sklearn_version": sklearn.__version__,
    }
    print(f"train:roc_auc={metadata['train_roc_auc']:.6f}")
    if args.validation.exists():
        validation = training.read_channel(args.validation)
        x_val = common.model_inputs(
            validation.tabular, common.text_representation(text_model, validation.tokens)
        )
        auc = training.roc_auc(validation.labels, classifier.predict_proba(x_val)[:, 1])
        if auc is not None:
            metadata["validation_roc_auc"] = auc
            print(f"validation:roc_auc={auc:.6f}")
    joblib.dump(classifier, args.model_dir / common.CLASSIFIER_FILE)
    training.write_json(args.model_dir / common.METADATA_FILE, metadata)
    bundle_serving_code(args.model_dir)
    return metadata


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the Train stage."""
    args = training.parse_args(argv, "Fit the multimodal classifier (stage 2).")
    metadata = train(args)
    print(json.dumps({k: v for k, v in metadata.items() if k != "text_stage"}, sort_keys=True))


if __name__ == "__main__":
    main()
