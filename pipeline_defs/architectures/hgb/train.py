"""Architecture `hgb`: training and serving program for the SageMaker scikit-learn containers.

Training (`python train.py --max-iter 200 ...`): reads the `train` channel (Parquet rows
from the split step), computes features with `features.py`, fits a
HistGradientBoostingClassifier (scikit-learn 1.2 API) and writes to the model dir:
- `model.joblib`: the fitted estimator (plain scikit-learn object, nothing custom pickled);
- `model_metadata.json`: feature columns, hyperparameters, row counts, library versions.
- `code/`: train.py and features.py, the serving code batch transform runs.
If a `validation` channel exists its ROC AUC is logged as `validation:roc_auc=<value>`.

Inference (serving container, batch transform): `model_fn`, `input_fn`, `predict_fn`,
`output_fn`. Requests are `text/csv` rows of FEATURE_COLUMNS values, no header and no id
column (the transform job drops the id with an input filter); the response is one
positive-class probability per line (6 significant digits). Requests are parsed by
Arrow's C++ CSV reader; one Arrow refuses (ragged rows, a header, an empty field, ...)
is parsed again by numpy's `loadtxt`, which either reads it (it also skips `#` comments
and blank lines) or raises the error that names the problem. The inference path imports
numpy, pyarrow and joblib (all in the scikit-learn image).
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

MODEL_FILE = "model.joblib"
METADATA_FILE = "model_metadata.json"
CSV_CONTENT_TYPES = ("text/csv", "text/plain")


_HERE = Path(__file__).resolve().parent
# In a job (and in model.tar.gz's code/) the step modules this program imports lie beside
# it (the code bundle ships them); in the repository they are in pipeline_defs/steps.
_MODULE_FOLDERS = (_HERE, _HERE.parents[1] / "steps")


def _module_folder(name: str) -> Path:
    for folder in _MODULE_FOLDERS:
        if (folder / f"{name}.py").is_file():
            return folder
    raise ModuleNotFoundError(f"{name}.py is neither beside {_HERE.name}/train.py nor in steps/")


def _sibling(name: str) -> ModuleType:
    """Import a step module (features, split) the way the job does: as a top-level module."""
    folder = str(_module_folder(name))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def _optional_int(value: str) -> int | None:
    """argparse type: an int, or None for '', 'none' or 'null'."""
    return None if value.strip().lower() in ("", "none", "null") else int(value)


def _early_stopping(value: str) -> bool | str:
    """argparse type: 'auto', 'true' or 'false'."""
    lowered = value.strip().lower()
    if lowered not in ("auto", "true", "false"):
        raise argparse.ArgumentTypeError(f"expected auto, true or false, got {value!r}")
    return "auto" if lowered == "auto" else lowered == "true"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Hyperparameters (max-iter 200, learning-rate 0.1, max-depth none, seed 42) and paths."""
    env = os.environ
    parser = argparse.ArgumentParser(description="Fit the packaging-suitability classifier.")
    parser.add_argument("--max-iter", "--max_iter", dest="max_iter", type=int, default=200)
    parser.add_argument(
        "--learning-rate", "--learning_rate", dest="learning_rate", type=float, default=0.1
    )
    parser.add_argument("--max-depth", "--max_depth", dest="max_depth", type=_optional_int)
    parser.add_argument(
        "--max-leaf-nodes", "--max_leaf_nodes", dest="max_leaf_nodes", type=int, default=31
    )
    parser.add_argument(
        "--min-samples-leaf", "--min_samples_leaf", dest="min_samples_leaf", type=int, default=20
    )
    parser.add_argument(
        "--l2-regularization",
        "--l2_regularization",
        dest="l2_regularization",
        type=float,
        default=0.0,
    )
    parser.add_argument(
        "--early-stopping",
        "--early_stopping",
        dest="early_stopping",
        type=_early_stopping,
        default="auto",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--model-dir", type=Path, default=Path(env.get("SM_MODEL_DIR", "/opt/ml/model"))
    )
    parser.add_argument(
        "--train",
        type=Path,
        default=Path(env.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")),
    )
    parser.add_argument(
        "--validation",
        type=Path,
        default=Path(env.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation")),
    )
    args = parser.parse_args(argv)
    if args.max_iter < 1:
        parser.error(f"--max-iter must be >= 1, got {args.max_iter}")
    if not 0.0 < args.learning_rate <= 1.0:
        parser.error(f"--learning-rate must be in (0, 1], got {args.learning_rate}")
    return args


def hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    """HistGradientBoostingClassifier keyword arguments (scikit-learn 1.2 names) from args."""
    return {
        "max_iter": args.max_iter,
        "learning_rate": args.learning_rate,
        "max_depth": args.max_depth,
        "max_leaf_nodes": args.max_leaf_nodes,
        "min_samples_leaf": args.min_samples_leaf,
        "l2_regularization": args.l2_regularization,
        "early_stopping": args.early_stopping,
        "random_state": args.seed,
    }


def load_xy(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) from a Parquet channel; rows with null labels are rejected."""
    split = _sibling("split")
    features = _sibling("features")
    table, _ = split.read_parquet_input(path)
    return features.compute_features(table), split.labels_as_int(table)


def fit(x: np.ndarray, y: np.ndarray, params: dict[str, Any]) -> Any:
    """Fit a HistGradientBoostingClassifier; raises ValueError unless both labels occur."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    classes = np.unique(y)
    if len(classes) != 2:
        raise ValueError(f"training needs both labels 0 and 1; found only {classes.tolist()}")
    model = HistGradientBoostingClassifier(**params)
    model.fit(x, y)
    return model


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Fit on the train channel, save model + metadata, return the metadata."""
    import joblib
    import sklearn
    from sklearn.metrics import roc_auc_score

    features = _sibling("features")
    x, y = load_xy(args.train)
    params = hyperparameters(args)
    model = fit(x, y, params)
    metadata: dict[str, Any] = {
        "feature_columns": list(features.FEATURE_COLUMNS),
        "hyperparameters": params,
        "train_rows": len(y),
        "train_positive_rate": float(y.mean()),
        "n_iter": int(model.n_iter_),
        "train_roc_auc": float(roc_auc_score(y, model.predict_proba(x)[:, 1])),
        "sklearn_version": sklearn.__version__,
    }
    print(f"train:roc_auc={metadata['train_roc_auc']:.6f}")
    if args.validation.exists():
        x_val, y_val = load_xy(args.validation)
        if len(np.unique(y_val)) == 2:
            metadata["validation_roc_auc"] = float(
                roc_auc_score(y_val, model.predict_proba(x_val)[:, 1])
            )
            print(f"validation:roc_auc={metadata['validation_roc_auc']:.6f}")
    args.model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, args.model_dir / MODEL_FILE)
    (args.model_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    bundle_serving_code(args.model_dir)
    return metadata


SERVING_CODE = ("train.py", "features.py")


def bundle_serving_code(model_dir: Path, source_dir: Path | None = None) -> list[Path]:
    """Copy the serving code into `<model_dir>/code/` (default: where the job has it).

    The model's container runs with SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code, so
    the artifact carries the exact code it was trained with: no train/serve skew.
    """
    import shutil

    target = model_dir / "code"
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in SERVING_CODE:
        source = source_dir if source_dir is not None else _module_folder(Path(name).stem)
        if not (source / name).is_file():
            raise FileNotFoundError(f"serving code {name} is missing from {source}")
        copied.append(Path(shutil.copy2(source / name, target / name)))
    return copied


@dataclass(frozen=True)
class LoadedModel:
    """A fitted estimator and the feature columns it expects (None if unknown)."""

    estimator: Any
    feature_columns: tuple[str, ...] | None


def model_fn(model_dir: str) -> LoadedModel:
    """Load model.joblib (and model_metadata.json when present) from the model dir."""
    import joblib

    directory = Path(model_dir)
    path = directory / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {MODEL_FILE} in model dir {directory}")
    metadata_path = directory / METADATA_FILE
    columns = None
    if metadata_path.is_file():
        columns = tuple(json.loads(metadata_path.read_text())["feature_columns"])
    return LoadedModel(estimator=joblib.load(path), feature_columns=columns)


def _base_type(content_type: str | None) -> str:
    """'text/csv; charset=utf-8' -> 'text/csv'."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def read_numeric_csv(data: bytes) -> np.ndarray | None:
    """Rows of comma-separated numbers as a float32 matrix, by Arrow's CSV reader: each
    field parsed as float64, then rounded to float32 (exactly what `np.loadtxt(...,
    dtype=np.float32)` gives). None if Arrow refuses the text: every line must have the
    first line's field count and every field must be a number (no empty field)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    if data.startswith(b"\xef\xbb\xbf"):
        return None  # Arrow would skip a byte-order mark; loadtxt refuses it
    if not data.endswith(b"\n"):
        data += b"\n"  # the reader needs a line end to see the first row's fields
    first = data.lstrip(b"\r\n")
    fields = first[: first.find(b"\n")].count(b",") + 1
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),  # zero-copy, read natively (no Python file calls)
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(quote_char=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys((f"f{index}" for index in range(fields)), pa.float64()),
                null_values=[],  # an empty field is an error, not a missing value
                check_utf8=False,  # numbers only: anything else fails conversion
            ),
        )
    except pa.ArrowInvalid:
        return None
    if any(field.type != pa.float64() for field in table.schema):
        return None
    # Each parsed block of each column into a (columns, rows) array, then one transposing
    # copy: contiguous writes, and no concatenated copy of a column's blocks.
    by_column = np.empty((table.num_columns, table.num_rows), dtype=np.float32)
    for index, column in enumerate(table.columns):
        start = 0
        for chunk in column.chunks:
            by_column[index, start : start + len(chunk)] = chunk.to_numpy()
            start += len(chunk)
    return np.ascontiguousarray(by_column.T)


def input_fn(body: str | bytes, content_type: str) -> np.ndarray:
    """Parse text/csv feature rows (no header, no id) into a float32 matrix."""
    if _base_type(content_type) not in CSV_CONTENT_TYPES:
        raise ValueError(
            f"unsupported content type {content_type!r}; send text/csv rows of feature values"
        )
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if not text or text.isspace():  # (not text.strip(): no copy of the body)
        raise ValueError("request body is empty; expected text/csv rows of feature values")
    fast = read_numeric_csv(body if isinstance(body, bytes) else text.encode("utf-8"))
    if fast is not None:
        return fast
    try:
        # float32 like compute_features: the CSV holds float32 values in shortest form, and
        # parsing them as float64 would move values lying exactly on a split threshold.
        matrix = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float32, ndmin=2)
    except ValueError as error:
        raise ValueError(
            f"request is not numeric CSV (a header or an id column left in?): {error}"
        ) from error
    return matrix


def predict_fn(data: np.ndarray, model: LoadedModel | Any) -> np.ndarray:
    """Positive-class probability per row; checks the column count against the model."""
    estimator = model.estimator if isinstance(model, LoadedModel) else model
    expected = (
        len(model.feature_columns)
        if isinstance(model, LoadedModel) and model.feature_columns is not None
        else getattr(estimator, "n_features_in_", None)
    )
    if expected is not None and data.shape[1] != expected:
        hint = " (is the id column still in? drop it with an input filter)" * (
            data.shape[1] == expected + 1
        )
        raise ValueError(f"expected {expected} feature columns, got {data.shape[1]}{hint}")
    return np.asarray(estimator.predict_proba(data)[:, 1], dtype=np.float64)


# Decades 1e-4 .. 1e5 and, per searchsorted position, the scale 10 ** (5 - decade):
# position i (1..9) holds values in [1e(i-5), 1e(i-4)); 0 and 10 are outside (scale 1).
_DECADES = 10.0 ** np.arange(-4, 6)
_SCALES = np.array([1.0, *(10.0 ** np.arange(9, 0, -1)), 1.0])


def format_lines(values: np.ndarray) -> str:
    """`"%.6g" % value` per value, one per line, each ending in a newline; vectorised.

    Where "%.6g" writes fixed-point text (1e-4 <= |value| < 1e5) the value is rounded to
    six significant digits with numpy (scaled by a power of ten, nearest integer, scaled
    back) and written by Arrow's float -> text cast, whose shortest round-trip text of
    that rounded number is "%.6g"'s text. Values within 1e-6 of a rounding tie, or whose
    scaled integer is not six digits long (a decade boundary misjudged, or rounding up to
    the next decade), and every other value (0, tiny, huge, NaN) are written by "%.6g"
    itself, so the text is exactly "%.6g"'s (tests/steps/test_train.py checks it).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    flat = np.asarray(values, dtype=np.float64).ravel()
    if flat.size == 0:
        return ""
    with np.errstate(invalid="ignore", over="ignore"):
        magnitude = np.abs(flat)
        fast = (magnitude >= 1e-4) & (magnitude < 1e5)
        # 10 ** (5 - floor(log10(|value|))): the scale that leaves six digits before the
        # point (a table lookup; a decade boundary misjudged by rounding fails `six`).
        scale = _SCALES[np.searchsorted(_DECADES, magnitude, side="right")]
        scaled = flat * scale
        digits = np.rint(scaled)
        tie = np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) <= 1e-6
        six = (np.abs(digits) >= 1e5) & (np.abs(digits) < 1e6)
        fast &= six & ~tie
        rounded = np.where(fast, digits / scale, 0.0)
    text = pc.cast(pa.array(rounded), pa.string())
    slow = np.flatnonzero(~fast)
    if slow.size:
        exact = ["%.6g" % value for value in flat[slow].tolist()]  # noqa: UP031
        text = pc.replace_with_mask(text, pa.array(~fast), pa.array(exact, pa.string()))
    lines = pa.ListArray.from_arrays(pa.array([0, len(text)], pa.int32()), text)
    return str(pc.binary_join(lines, "\n")[0].as_py()) + "\n"


def output_fn(prediction: np.ndarray, accept: str) -> tuple[str, str]:
    """One probability per line as text/csv ("%.6g"); (body, content type)."""
    accepted = _base_type(accept)
    if accepted not in (*CSV_CONTENT_TYPES, "*/*", ""):
        raise ValueError(f"unsupported accept type {accept!r}; only text/csv is produced")
    # (No prediction gives one empty line, as the per-value formatting always did.)
    return format_lines(prediction) or "\n", "text/csv"


def main(argv: list[str] | None = None) -> None:
    """Entry point for the training container."""
    metadata = train(parse_args(argv))
    print(json.dumps({k: v for k, v in metadata.items() if k != "feature_columns"}))


if __name__ == "__main__":
    main()
