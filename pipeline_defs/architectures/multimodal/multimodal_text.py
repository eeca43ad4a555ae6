"""Architecture `multimodal`, stage 1 (`TrainText`): fit the text representation.

`python multimodal_text.py --hash_bits 18 --text_c 2 ...` in the SageMaker scikit-learn
container: reads the `train` channel (Split's train.parquet: raw rows with title,
description and category_path), builds the normalised token string of each row with
`features.text_column` (the function serving uses too) and fits, on the train rows only:

- a tf-idf of hashed word n-grams and a LogisticRegression text scorer for the label,
- a TruncatedSVD of the tf-idf rows (`text_components`, 0 = none),

(see multimodal_common.py), then writes to the model dir (SM_MODEL_DIR):

- `text_model.joblib`: the representation (plain scikit-learn objects);
- `text_train_scores.parquet`: product_id and an out-of-fold text score per train row
  (`text_folds` stratified folds: each row scored by a scorer that never saw it), so that
  stage 2 trains its classifier on honest scores rather than on scores of rows the scorer
  has memorised;
- `text_metadata.json`: hyperparameters, row counts, out-of-fold and validation ROC AUC of
  the text score alone, library versions.

Every declared hyperparameter is accepted (the job passes all of them to each stage);
this stage reads hash_bits, ngram_max, text_c, text_folds and text_components.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import multimodal_common as common
import multimodal_training as training
import numpy as np


def build_text_model(args: argparse.Namespace) -> dict[str, Any]:
    """The unfitted representation for the hyperparameters."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    return {
        "vectorizer": HashingVectorizer(
            n_features=2**args.hash_bits,
            ngram_range=(1, args.ngram_max),
            token_pattern=common.WORD_PATTERN,
            lowercase=False,
            alternate_sign=False,
            norm=None,
        ),
        "tfidf": TfidfTransformer(sublinear_tf=True),
        # liblinear: fast and single-threaded on sparse rows; arpack: exact, deterministic.
        "scorer": LogisticRegression(C=args.text_c, solver="liblinear"),
        "svd": (
            TruncatedSVD(n_components=args.text_components, algorithm="arpack")
            if args.text_components > 0
            else None
        ),
    }


def out_of_fold_scores(
    scorer: Any, rows: Any, labels: np.ndarray, folds: int, seed: int
) -> np.ndarray:
    """Each row's text score from a scorer fitted on the other folds."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    folds = min(folds, int(np.bincount(labels).min()))
    if folds < 2:
        raise ValueError("out-of-fold text scores need at least 2 rows of each label")
    scores = np.empty(len(labels), dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_index, score_index in splitter.split(np.zeros(len(labels)), labels):
        fold_scorer = clone(scorer).fit(rows[fit_index], labels[fit_index])
        scores[score_index] = fold_scorer.decision_function(rows[score_index])
    return scores


def train_text(args: argparse.Namespace) -> dict[str, Any]:
    """Fit on the train channel, write the stage's model dir, return its metadata."""
    import joblib
    import pyarrow as pa
    import pyarrow.parquet as pq
    import sklearn

    train = training.read_channel(args.train)
    training.require_both_labels(train.labels, "the text stage")
    model = build_text_model(args)
    hashed = model["vectorizer"].transform(train.tokens)
    rows = model["tfidf"].fit_transform(hashed)
    model["scorer"].fit(rows, train.labels)
    if model["svd"] is not None:
        model["svd"].fit(rows)
    scores = out_of_fold_scores(model["scorer"], rows, train.labels, args.text_folds, args.seed)
    metadata: dict[str, Any] = {
        "stage": "TrainText",
        "hyperparameters": training.hyperparameters(args),
        "text_features": common.text_feature_names(model),
        "train_rows": len(train.labels),
        "train_rows_without_text": sum(not t for t in train.tokens),
        "out_of_fold_roc_auc": training.roc_auc(train.labels, scores),
        "sklearn_version": sklearn.__version__,
    }
    print(f"text:out_of_fold_roc_auc={metadata['out_of_fold_roc_auc']}")
    if args.validation.exists():
        validation = training.read_channel(args.validation)
        validation_scores = common.text_representation(model, validation.tokens)[:, 0]
        metadata["validation_roc_auc"] = training.roc_auc(validation.labels, validation_scores)
        print(f"text:validation_roc_auc={metadata['validation_roc_auc']}")
    args.model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, args.model_dir / common.TEXT_MODEL_FILE)
    pq.write_table(
        pa.table({"product_id": pa.array(train.ids, pa.string()), common.TEXT_SCORE: scores}),
        args.model_dir / common.TEXT_SCORES_FILE,
    )
    training.write_json(args.model_dir / common.TEXT_METADATA_FILE, metadata)
    return metadata


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the TrainText stage."""
    args = training.parse_args(argv, "Fit the text representation (multimodal, stage 1).")
    print(json.dumps(train_text(args), sort_keys=True))


if __name__ == "__main__":
    main()
