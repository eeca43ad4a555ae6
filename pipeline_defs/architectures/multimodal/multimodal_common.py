"""Architecture `multimodal`: what both training stages and the serving program share.

The text representation (fitted by stage 1, `multimodal_text.py`; used by stage 2,
`multimodal_train.py`, and by serving, `multimodal_serve.py`) is a dict of plain
scikit-learn objects saved with joblib as `TEXT_MODEL_FILE` (nothing custom is pickled):

- `vectorizer`: HashingVectorizer over the normalised token string (`features.TEXT_COLUMN`,
  built by `features.text_column` / `features.normalise_text`, one function for training
  and serving), word n-grams, 2**hash_bits columns (stateless);
- `tfidf`: TfidfTransformer (sublinear tf, idf fitted on the train channel);
- `scorer`: LogisticRegression on the tf-idf rows for this package type's label: column 0
  of the representation, `text_score`, is its decision function (log-odds);
- `svd`: TruncatedSVD of the tf-idf rows (`text_components` columns; None when 0).

`text_representation` turns token strings into those columns (float32). The classifier
reads FEATURE_COLUMNS followed by them (`feature_names`).

Standard library, numpy and (lazily) scikit-learn; the step module `features` is imported
from beside this file (the code bundle and the model's `code/` folder ship it) or, in the
repository, from pipeline_defs/steps.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
# In a job and in the model's code/ the step modules lie beside this file; in the
# repository they are in pipeline_defs/steps.
_MODULE_FOLDERS = (HERE, HERE.parents[1] / "steps")

TEXT_MODEL_FILE = "text_model.joblib"
TEXT_METADATA_FILE = "text_metadata.json"
TEXT_SCORES_FILE = "text_train_scores.parquet"  # stage 1 -> stage 2 only, not served
CLASSIFIER_FILE = "classifier.joblib"
METADATA_FILE = "model_metadata.json"
SERVING_PROGRAM = "multimodal_serve.py"
# The serving program and every module it imports: copied into the model's code/.
SERVING_CODE = (SERVING_PROGRAM, "multimodal_common.py", "features.py")
WORD_PATTERN = r"[a-z0-9]+"
TEXT_SCORE = "text_score"


def _module_folder(name: str) -> Path:
    for folder in _MODULE_FOLDERS:
        if (folder / f"{name}.py").is_file():
            return folder
    raise ModuleNotFoundError(
        f"{name}.py is neither beside {Path(__file__).name} nor in pipeline_defs/steps"
    )


def _sibling(name: str) -> ModuleType:
    """Import a step module (features, split) the way the job does: as a top-level module."""
    folder = str(_module_folder(name))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def features() -> ModuleType:
    """The shared feature module (tabular features and the text column)."""
    return _sibling("features")


def text_feature_names(text_model: dict[str, Any]) -> list[str]:
    """Names of the text representation's columns: text_score, text_svd_0, ..."""
    svd = text_model.get("svd")
    components = 0 if svd is None else int(svd.n_components)
    return [TEXT_SCORE, *(f"text_svd_{i}" for i in range(components))]


def feature_names(text_model: dict[str, Any]) -> list[str]:
    """The classifier's columns: FEATURE_COLUMNS, then the text representation."""
    return [*features().FEATURE_COLUMNS, *text_feature_names(text_model)]


def tfidf_rows(text_model: dict[str, Any], tokens: Sequence[str]) -> Any:
    """Sparse tf-idf rows of normalised token strings."""
    return text_model["tfidf"].transform(text_model["vectorizer"].transform(tokens))


def text_representation(text_model: dict[str, Any], tokens: Sequence[str]) -> np.ndarray:
    """(n, len(text_feature_names)) float32: text score, then the SVD components."""
    rows = tfidf_rows(text_model, tokens)
    columns = [np.asarray(text_model["scorer"].decision_function(rows)).reshape(-1, 1)]
    if text_model.get("svd") is not None:
        columns.append(np.asarray(text_model["svd"].transform(rows)))
    return np.hstack(columns).astype(np.float32)


def model_inputs(tabular: np.ndarray, text: np.ndarray) -> np.ndarray:
    """The classifier's input matrix: tabular features, then the text columns (float32)."""
    if tabular.shape[0] != text.shape[0]:
        raise ValueError(f"{tabular.shape[0]} tabular rows but {text.shape[0]} text rows")
    return np.hstack([tabular.astype(np.float32), text.astype(np.float32)])
