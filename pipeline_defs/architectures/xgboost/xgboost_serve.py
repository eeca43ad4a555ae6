"""Architecture `xgboost`: the serving program (SAGEMAKER_PROGRAM) of the built-in model.

The SageMaker XGBoost container (3.0-5) trains this architecture in built-in algorithm
mode, which writes the booster as `xgboost-model`. For serving, the model's container
environment names this program: the container then imports it from the model's `code/`
folder (the pipeline's PackageModel step adds this folder to model.tar.gz) and calls
`model_fn` once, then per request `input_fn`, `predict_fn`, `output_fn` (script mode of
the same image: sagemaker_xgboost_container.serving, sagemaker-containers' Transformer).

Why not the container's own serving: it decodes CSV in Python, one field at a time, and
is several times slower than the booster's predict. Here the body is parsed by Arrow's C++
CSV reader (pyarrow is in the image) into the float32 matrix the booster predicts on.

Request: `text/csv`, no header, no id column, one product per line with the model's
feature count of numbers (FEATURE_COLUMNS, as Split's validation_features and Prepare
write them). Every line must have that many fields: a line with more or fewer, an empty
field or a value that is not a number is refused with an error naming the line (never a
shifted or padded row). Response: one positive-class probability per line, in request
order, each the shortest text that reads back as the booster's float32 output.

Imports numpy, pyarrow and xgboost only (all in the image); one module, nothing else to
ship.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "xgboost-model"  # what the container's algorithm mode saves
OBJECTIVE = "binary:logistic"  # predictions are probabilities
CSV_CONTENT_TYPES = ("text/csv", "text/plain")


@dataclass(frozen=True)
class XGBoostModel:
    """The booster and the number of features it was trained on."""

    booster: Any
    features: int


def model_fn(model_dir: str) -> XGBoostModel:
    """Load `xgboost-model` (the booster the container's training saved)."""
    import xgboost as xgb

    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {MODEL_FILE} in model dir {model_dir}")
    booster = xgb.Booster()
    booster.load_model(str(path))
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    if objective != OBJECTIVE:
        raise ValueError(f"{MODEL_FILE} was trained with objective {objective}, not {OBJECTIVE}")
    return XGBoostModel(booster=booster, features=int(booster.num_features()))


def _base_type(content_type: str | None) -> str:
    """'text/csv; charset=utf-8' -> 'text/csv'."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _line_error(text: str) -> ValueError | None:
    """The first malformed line of `text` as a ValueError (None if every line is fine):
    a field count unlike the first line's, or a field that is not a number."""
    expected = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line:
            continue  # the reader skips empty lines too
        fields = line.split(",")
        if expected is None:
            expected = len(fields)
        if len(fields) != expected:
            return ValueError(
                f"line {number}: {len(fields)} field(s) where the first line has {expected}; "
                "every line must hold the same feature values"
            )
        for position, field in enumerate(fields, start=1):
            try:
                float(field)
            except ValueError:
                if not field.strip():
                    return ValueError(f"line {number}, field {position}: empty value")
                return ValueError(
                    f"line {number}, field {position}: not a number: {field[:40]!r} (a header "
                    "or an id column left in?)"
                )
    return None


def input_fn(body: str | bytes, content_type: str) -> np.ndarray:
    """Parse text/csv feature rows (no header, no id) into a float32 matrix."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    if _base_type(content_type) not in CSV_CONTENT_TYPES:
        raise ValueError(
            f"unsupported content type {content_type!r}; send text/csv rows of feature values"
        )
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if not data or data.isspace():  # (not data.strip(): no copy of the body)
        raise ValueError("request body is empty; expected text/csv rows of feature values")
    if not data.endswith(b"\n"):
        data += b"\n"  # the reader needs a line end to see the first row's fields
    first = data.lstrip(b"\r\n")
    # The first line's fields, each typed float64 (then float32, as the container and numpy
    # convert: exact); every other line must have as many.
    names = [f"f{index}" for index in range(first[: first.find(b"\n")].count(b",") + 1)]
    float64 = pa.float64()
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),  # zero-copy, read natively (no Python file calls)
            read_options=pa_csv.ReadOptions(column_names=names),
            parse_options=pa_csv.ParseOptions(quote_char=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, float64),
                null_values=[],  # an empty field is an error, not a missing value
                check_utf8=False,  # numbers only; anything else fails conversion
            ),
        )
    except pa.ArrowInvalid as error:
        text = data.decode("utf-8", errors="replace")
        raise (_line_error(text) or ValueError(f"request is not numeric CSV: {error}")) from None
    # Each parsed block of each column into a (columns, rows) array, then one transposing
    # copy: contiguous writes, and no concatenated copy of a column's blocks.
    by_column = np.empty((table.num_columns, table.num_rows), dtype=np.float32)
    for index, column in enumerate(table.columns):
        start = 0
        for chunk in column.chunks:
            by_column[index, start : start + len(chunk)] = chunk.to_numpy()
            start += len(chunk)
    return np.ascontiguousarray(by_column.T)


def predict_fn(data: np.ndarray, model: XGBoostModel) -> np.ndarray:
    """Positive-class probability per row (float32); checks the feature count.

    `inplace_predict` reads the matrix where it is (no DMatrix copy) and gives the values
    `predict(DMatrix(data))` gives; NaN would be a missing value, as in a DMatrix."""
    if data.ndim != 2 or data.shape[1] != model.features:
        got = data.shape[1] if data.ndim == 2 else data.shape
        hint = " (is the id column still in? drop it with an input filter)" * (
            got == model.features + 1
        )
        raise ValueError(f"expected {model.features} feature values per line, got {got}{hint}")
    return np.asarray(model.booster.inplace_predict(data, validate_features=False))


def output_fn(prediction: np.ndarray, accept: str) -> tuple[str, str]:
    """One probability per line as text/csv; (body, content type)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _base_type(accept) not in (*CSV_CONTENT_TYPES, "*/*", ""):
        raise ValueError(f"unsupported accept type {accept!r}; only text/csv is produced")
    values = np.ascontiguousarray(prediction).ravel()
    if values.size == 0:
        return "", "text/csv"
    # Arrow's float -> text cast writes the shortest text that reads back as the value.
    text = pc.cast(pa.array(values), pa.string())
    lines = pa.ListArray.from_arrays(pa.array([0, len(text)], pa.int32()), text)
    return pc.binary_join(lines, "\n")[0].as_py() + "\n", "text/csv"
