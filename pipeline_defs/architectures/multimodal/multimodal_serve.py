"""Architecture `multimodal`: the serving program (SAGEMAKER_PROGRAM) of the model package.

The SageMaker scikit-learn serving container imports this module from the model's `code/`
folder (which also holds multimodal_common.py and features.py, its only local imports) and
calls `model_fn`, then per request `input_fn`, `predict_fn`, `output_fn`.

Request: `text/csv`, no header, no id column, one product per line:
FEATURE_COLUMNS (numbers, as Split's validation_features and Prepare write them), then
the text column `features.TEXT_COLUMN` (lowercase [a-z0-9] words joined by spaces; may be
empty, i.e. the line ends with a comma). The text is normalised again with
`features.normalise_text`, which leaves a normalised string unchanged. Response: one
positive-class probability per line, in request order (6 significant digits).

Requests are parsed by Arrow's C++ CSV reader (numbers as float64 rounded to float32,
exactly as `np.loadtxt(..., dtype=np.float32)` reads them; the last field as text). A
request it refuses (a line with another field count, a header, an empty number, ...) or
that holds a line break other than CR/LF goes through the line-by-line parser, which
names the problem.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import multimodal_common as common
import numpy as np

CSV_CONTENT_TYPES = ("text/csv", "text/plain")


@dataclass(frozen=True)
class MultimodalModel:
    """Both stages: the text representation and the classifier over tabular + text."""

    classifier: Any
    text_model: dict[str, Any]
    tabular_columns: int  # len(FEATURE_COLUMNS) the model was trained with


@dataclass(frozen=True)
class Rows:
    """Parsed request rows: tabular features and normalised text tokens."""

    tabular: np.ndarray  # float32 (n, tabular_columns)
    tokens: list[str]


def model_fn(model_dir: str) -> MultimodalModel:
    """Load classifier.joblib and text_model.joblib; check the features module matches."""
    import joblib

    directory = Path(model_dir)
    for name in (common.CLASSIFIER_FILE, common.TEXT_MODEL_FILE, common.METADATA_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"no {name} in model dir {directory}")
    metadata = json.loads((directory / common.METADATA_FILE).read_text(encoding="utf-8"))
    features = common.features()
    expected = [*features.FEATURE_COLUMNS, features.TEXT_COLUMN]
    if metadata["input_columns"] != expected:
        raise ValueError(
            f"the model was trained on input columns {metadata['input_columns']}, but the "
            f"bundled features module defines {expected}"
        )
    return MultimodalModel(
        classifier=joblib.load(directory / common.CLASSIFIER_FILE),
        text_model=joblib.load(directory / common.TEXT_MODEL_FILE),
        tabular_columns=len(features.FEATURE_COLUMNS),
    )


def _base_type(content_type: str | None) -> str:
    """'text/csv; charset=utf-8' -> 'text/csv'."""
    return (content_type or "").split(";", 1)[0].strip().lower()


# Line breaks str.splitlines() knows besides CR and LF: the line-by-line parser splits
# there, Arrow's reader does not, so a request holding one takes the line-by-line path.
_OTHER_LINE_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _read_rows(text: str, fields: int) -> tuple[np.ndarray, Any] | None:
    """(float32 numbers, text column) of rows of `fields` fields by Arrow's CSV reader;
    None if it refuses them (or they hold another line break)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    if text.startswith("\ufeff") or any(mark in text for mark in _OTHER_LINE_BREAKS):
        return None  # Arrow would skip a byte-order mark and keep those breaks in a field
    data = text.encode("utf-8")
    if not data.endswith(b"\n"):
        data += b"\n"
    names = [f"f{index}" for index in range(fields)]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),  # zero-copy, read natively (no Python file calls)
            read_options=pa_csv.ReadOptions(column_names=names),
            parse_options=pa_csv.ParseOptions(quote_char=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={**dict.fromkeys(names[:-1], pa.float64()), names[-1]: pa.string()},
                null_values=[],  # an empty number is an error; empty text stays ""
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows == 0:
        return None
    numbers = np.empty((table.num_rows, fields - 1), dtype=np.float32)
    for index in range(fields - 1):
        numbers[:, index] = table.column(index).to_numpy()
    return numbers, table.column(fields - 1)


def input_fn(body: str | bytes, content_type: str) -> Rows:
    """Parse text/csv rows: FEATURE_COLUMNS numbers, then the text tokens (module doc)."""
    import pyarrow as pa

    if _base_type(content_type) not in CSV_CONTENT_TYPES:
        raise ValueError(
            f"unsupported content type {content_type!r}; send text/csv rows of feature "
            "values followed by the text column"
        )
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    features = common.features()
    fields = len(features.FEATURE_COLUMNS) + 1
    fast = _read_rows(text, fields) if text and not text.isspace() else None
    if fast is not None:
        tabular, tokens = fast
        normalised = features.normalise_text(tokens).to_pylist()
        return Rows(tabular=tabular, tokens=[str(t) for t in normalised])
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("request body is empty; expected text/csv rows")
    numbers, tokens = [], []
    for number, line in enumerate(lines, start=1):
        count = line.count(",") + 1
        if count != fields:
            hint = {
                fields - 1: f" (is the {features.TEXT_COLUMN} column missing? this model "
                "reads FEATURE_COLUMNS then the text)",
                fields + 1: " (is the id column still in? drop it with an input filter)",
            }.get(count, "")
            raise ValueError(f"line {number}: expected {fields} fields, got {count}{hint}")
        head, _, tail = line.rpartition(",")
        numbers.append(head)
        tokens.append(tail)
    try:
        # float32 like compute_features: values lying exactly on a split threshold stay put.
        tabular = np.loadtxt(
            io.StringIO("\n".join(numbers)), delimiter=",", dtype=np.float32, ndmin=2
        )
    except ValueError as error:
        raise ValueError(
            f"request is not numeric CSV before the text column (a header left in?): {error}"
        ) from error
    normalised = features.normalise_text(pa.array(tokens, pa.string())).to_pylist()
    return Rows(tabular=tabular, tokens=[str(t) for t in normalised])


def predict_fn(data: Rows, model: MultimodalModel) -> np.ndarray:
    """Positive-class probability per row."""
    if data.tabular.shape[1] != model.tabular_columns:
        raise ValueError(
            f"expected {model.tabular_columns} feature columns, got {data.tabular.shape[1]}"
        )
    text = common.text_representation(model.text_model, data.tokens)
    x = common.model_inputs(data.tabular, text)
    return np.asarray(model.classifier.predict_proba(x)[:, 1], dtype=np.float64)


def output_fn(prediction: np.ndarray, accept: str) -> tuple[str, str]:
    """One probability per line as text/csv; (body, content type)."""
    if _base_type(accept) not in (*CSV_CONTENT_TYPES, "*/*", ""):
        raise ValueError(f"unsupported accept type {accept!r}; only text/csv is produced")
    values = np.asarray(prediction, dtype=np.float64).ravel().tolist()
    lines = "\n".join(["%.6g" % value for value in values])  # noqa: UP031 (the fast one)
    return lines + "\n", "text/csv"
