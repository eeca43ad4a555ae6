"""Data-quality checks of raw rows, before anything is trained or scored: the schema check,
the failures and their messages (numpy + pyarrow only).

A library without a CLI, imported as a sibling module by split.py (training's first step)
and prepare.py (inference's first step), and by quality_counter.py, which counts the rows
and turns the counts into `QualityFailure`s against `profile_limits.QualityBounds`.

- `check_schema`: every column of features.RAW_COLUMNS (and `label` in training) is
  present; the numeric ones (float, int or bool in features.RAW_SCHEMA; `label`) have an
  int, float, bool or decimal Arrow type (any width; also dictionary-encoded);
  `product_id` and `category` are strings (string, large_string, string_view, or a
  dictionary of those).
- `QualityFailure`: one failed check (`CHECKS`): missing column, column type, too few rows,
  null rate, out-of-range rate, repeated ids, labels not 0/1. Its `message()` is one line
  naming the column, the observed value and the bound; `to_dict()` is JSON-ready.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if __package__:
    from . import features, profile_limits
else:  # run as a script: the sibling modules sit on PYTHONPATH or in the script's directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import features  # type: ignore[no-redef]
    import profile_limits  # type: ignore[no-redef]

LABEL_COLUMN = "label"  # split.LABEL_COLUMN (split imports this module, not the reverse)
CHECKS: tuple[str, ...] = (
    "missing_column",
    "column_type",
    "rows",
    "null_rate",
    "invalid_rate",
    "duplicate_ids",
    "labels",
)
NUMBER_KIND = "a number (int, float, bool or decimal)"
STRING_KIND = "a string"


# --- small helpers ------------------------------------------------------------------------


def rate_text(rate: float) -> str:
    """A rate with 3 significant digits: 0.312, 0.05, 1."""
    return f"{rate:.3g}"


def json_number(value: float) -> float | str:
    """A float for JSON: non-finite values as the strings 'nan', 'inf', '-inf'."""
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def base_type(data_type: pa.DataType) -> pa.DataType:
    """The value type of a dictionary type, else the type itself."""
    return data_type.value_type if pa.types.is_dictionary(data_type) else data_type


def is_string_type(data_type: pa.DataType) -> bool:
    base = base_type(data_type)
    is_view = getattr(pa.types, "is_string_view", None)  # pyarrow >= 16
    return bool(
        pa.types.is_string(base)
        or pa.types.is_large_string(base)
        or (is_view is not None and is_view(base))
    )


def is_number_type(data_type: pa.DataType) -> bool:
    base = base_type(data_type)
    return bool(
        pa.types.is_integer(base)
        or pa.types.is_floating(base)
        or pa.types.is_boolean(base)
        or pa.types.is_decimal(base)
    )


def expected_kind(column: str) -> str:
    return STRING_KIND if column in profile_limits.STRING_COLUMNS else NUMBER_KIND


def type_fits(data_type: pa.DataType, kind: str) -> bool:
    return is_string_type(data_type) if kind == STRING_KIND else is_number_type(data_type)


def float_values(column: pa.Array | pa.ChunkedArray, fill: float = np.nan) -> np.ndarray:
    """A numeric column as float64 numpy, nulls replaced by `fill` (NaN by default)."""
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    as_float = pc.cast(column, pa.float64())
    if as_float.null_count:
        as_float = pc.fill_null(as_float, fill)
    return np.asarray(as_float.to_numpy(zero_copy_only=False), dtype=np.float64)


# --- quality ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityFailure:
    """One failed check: which, on which column, what was observed against which bound.

    `count`/`total`: the rows or values concerned, out of how many; `examples`: up to 3
    offending values (ids, labels, out-of-range values) or, for the schema checks, input
    files; `context`: words on where (e.g. "of package type 'box'").
    """

    check: str
    column: str | None
    observed: Any
    bound: Any
    count: int | None = None
    total: int | None = None
    examples: tuple[Any, ...] = ()
    context: str = ""

    def __post_init__(self) -> None:
        """The check is one of CHECKS."""
        if self.check not in CHECKS:
            raise ValueError(f"unknown quality check {self.check!r}; checks: {', '.join(CHECKS)}")

    def _files(self) -> str:
        if not self.examples:
            return ""
        files = self.count or len(self.examples)
        if files == 1:
            return f" in {self.examples[0]}"
        return f" in {files:,} files, e.g. {', '.join(map(str, self.examples))}"

    def message(self) -> str:
        """One line naming the column, the observed value and the bound."""
        name = self.column or self.check
        if self.check == "missing_column":
            return f"{name}: column missing{self._files()}"
        if self.check == "column_type":
            return f"{name}: type {self.observed}, expected {self.bound}{self._files()}"
        if self.check == "rows":
            context = f" {self.context}" if self.context else ""
            return f"rows: {self.observed:,} rows{context}, fewer than the minimum {self.bound:,}"
        if self.check == "null_rate":
            return (
                f"{name}: null rate {rate_text(self.observed)} above the bound "
                f"{rate_text(self.bound)} ({self.count:,} of {self.total:,} rows)"
            )
        if self.check == "invalid_rate":
            examples = ", ".join(profile_limits.number_text(v) for v in self.examples)
            return (
                f"{name}: out-of-range rate {rate_text(self.observed)} above the bound "
                f"{rate_text(self.bound)} ({self.count:,} of {self.total:,} non-null values "
                f"outside {self.context}" + (f", e.g. {examples})" if examples else ")")
            )
        if self.check == "duplicate_ids":
            examples = ", ".join(repr(v) for v in self.examples)
            return f"{name}: {self.observed:,} duplicate ids (allowed {self.bound:,})" + (
                f", e.g. {examples}" if examples else ""
            )
        examples = ", ".join(profile_limits.number_text(v) for v in self.examples)
        return f"{name}: {self.observed:,} values not 0/1" + (
            f", e.g. {examples}" if examples else ""
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, with the message."""
        numeric = self.check in ("invalid_rate", "labels")
        return {
            "check": self.check,
            "column": self.column,
            "observed": self.observed,
            "bound": list(self.bound) if isinstance(self.bound, tuple) else self.bound,
            "count": self.count,
            "total": self.total,
            "examples": [json_number(v) if numeric else v for v in self.examples],
            "context": self.context,
            "message": self.message(),
        }


def check_schema(schema: pa.Schema, *, with_label: bool) -> list[QualityFailure]:
    """Missing columns and columns of the wrong type (module doc), in column order."""
    columns = (*features.RAW_COLUMNS, LABEL_COLUMN) if with_label else features.RAW_COLUMNS
    failures = []
    for column in columns:
        kind = expected_kind(column)
        if column not in schema.names:
            failures.append(QualityFailure("missing_column", column, "missing", kind))
            continue
        data_type = schema.field(column).type
        if not type_fits(data_type, kind):
            failures.append(QualityFailure("column_type", column, str(data_type), kind))
    return failures
