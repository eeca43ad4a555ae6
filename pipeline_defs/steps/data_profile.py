"""Data quality checks and input drift statistics for the step scripts (numpy + pyarrow only).

A library without a CLI, imported as a sibling module by split.py (training's first step:
the whole table in memory) and prepare.py (inference's first step: record batches streamed,
possibly on several Processing instances). It reads and writes no files; the steps write
what it computes:

- Split: `quality/quality.json` (`QualityCounter.report()`) and `baseline/baseline.json`
  (`build_baseline` over the train rows' feature matrix);
- Prepare: `<host>/profile.json` (`QualityCounter.to_dict()`, `DriftHistogram.to_dict()`
  and the baseline it histogrammed against), which drift.py merges across hosts.

Quality: raw rows, before anything is trained or scored
-------------------------------------------------------
- `check_schema`: every column of features.RAW_COLUMNS (and `label` in training) is
  present; the numeric ones (float, int or bool in features.RAW_SCHEMA; `label`) have an
  int, float, bool or decimal Arrow type (any width; also dictionary-encoded);
  `product_id` and `category` are strings (string, large_string, string_view, or a
  dictionary of those).
- `QualityCounter.update(batch)` counts, over the rows it is given: rows; per raw column of
  features.REQUIRED_COLUMNS its nulls (NaN counts as null) and, for the columns with a
  range (`QualityBounds.ranges`, inclusive; +-inf is outside every range), its non-null
  values outside the range; in training the non-null labels other than 0 and 1 (NaN
  included: a null label is not counted, Split drops those rows); repeated product ids.
  A column missing or of the wrong type is skipped (the schema check reports it); rates
  are over the rows where the column was counted.
- `QualityCounter.failures()` applies `QualityBounds`: fewer rows than `min_rows` (not
  checked when the schema check failed, the rows could not all be read, nor by a Prepare
  host among several: the minimum is for the whole run), a null rate above
  `max_null_rate` (or the column's `null_rates` entry), a share of non-null values out of
  range above `max_invalid_rate`, more repeated ids than `max_duplicate_ids`, any label
  not 0/1. Each failure's `message()` is one line naming the column, the observed value
  and the bound; `report()` joins them into `reason` (at most 900 characters).

Repeated ids: what is guaranteed. A repeat is a row whose (non-null, non-empty) product id
an earlier row already had: an id on 3 rows is 2 repeats. Within one `update` call the
count is exact (the ids' 64-bit hashes are sorted and the rows sharing a hash compared as
strings): Split passes its whole table in one call, so its count is exact. Across calls
(Prepare's batches) and across merged counters (hosts) a bounded sample decides: a counter
keeps the `DUPLICATE_SAMPLE_IDS` (32,768) distinct ids with the smallest hashes it has seen,
and each id of a later batch or counter whose hash is within that range is compared
exactly with the sample. So the count is exact while at most 32,768 distinct ids were seen
(`exact: true` in the report); beyond that, an id repeated across batches is caught with a
probability of about 32,768 / distinct ids (a whole file listed twice in a manifest is
caught almost surely), and nothing is ever counted that is not a real repeat (short of
two different ids sharing a 64-bit hash). Memory: the sample, at most 32,768 ids and their
hashes (about 3 MB for 64-byte ids), whatever the number of rows. Load runs an exact
duplicate check over the whole run in the warehouse before anything is merged (load.py),
so the sample is an early warning, not the last line.

Every count is a sum and every kept example or sample is the smallest by a fixed order, so
`merge` is order-independent: merged per-batch or per-host counters hold what one counter
over all rows would (up to the repeated-id sampling above). For worker threads, `spawn()`
gives an empty counter (or histogram) for one batch, merged back by the main thread.

Drift: the model's features, training vs a scored batch
-------------------------------------------------------
Profiled features (`PROFILE_FEATURES`), from the float32 matrix of
`features.compute_features` (columns features.FEATURE_COLUMNS):
- continuous (`CONTINUOUS_FEATURES`: dimensions, weight, sides, volume, girth, density,
  flatness, log price): numeric, binned at the training data's quantiles;
- small whole numbers (`DISCRETE_FEATURES`: flags, fragility, the *_missing indicators,
  whose share of 1s is the missing rate): categorical over their values;
- the category one-hots: one categorical feature, `category`, valued by the category
  whose one-hot is 1.

`build_baseline` (training rows, in memory) returns
`{"schema_version": 1, "package_type", "rows", "bins", "features": {name: spec}}` where a
numeric spec is `{"kind": "numeric", "edges", "counts", "median", "min", "max"}`: `edges`
the interior cut points (the 1/bins .. (bins-1)/bins quantiles, deduplicated: strictly
increasing, at most bins - 1), bin i holding edges[i-1] <= x < edges[i] (so len(edges) + 1
counts); a categorical spec is `{"kind": "categorical", "values", "counts"}` over the values
seen in training (strings).

`DriftHistogram(baseline)` counts a batch's rows in the baseline's bins or values (a value
never seen in training counts in a last `(other)` bucket) and keeps each numeric feature's
min and max: O(features x bins) memory, never O(rows), and `merge` adds counts up.
`update(matrix)` takes the feature matrix, `update_columns` the same values as one array per
feature column (Prepare's CSV columns, no copy); `to_dict()` and `from_dict(baseline, data)`
carry it between hosts (with its bins, checked against the baseline's).

`drift_report` compares: PSI per feature (`psi`), the total variation distance of
categorical features (`total_variation`), and the batch median of numeric features (from
its bins, by linear interpolation within the median's bin, bounded by the batch's min and
max) over the training median. A feature drifted when its PSI is above `DriftLimits.psi`
or, categorical, its distance above `DriftLimits.category_distance`; a feature not drifted
whose PSI is above `DriftLimits.psi_moderate` (0.1) shifted moderately (the customary PSI
reading: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a significant one). The
verdict is `drift` when any feature drifted, else `moderate` when any shifted, else `ok`;
only `drift` is alarmed or blocked. A batch of fewer than `DriftLimits.min_rows` rows is
not judged (`insufficient_rows`).
"""

from __future__ import annotations

import copy
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if __package__:
    from . import features
else:  # run as a script: the sibling modules sit on PYTHONPATH or in the script's directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import features  # type: ignore[no-redef]

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
Range = tuple[float | None, float | None]
DEFAULT_RANGES: Mapping[str, Range] = {
    "length_cm": (0.0, None),
    "width_cm": (0.0, None),
    "height_cm": (0.0, None),
    "weight_kg": (0.0, None),
    "price": (0.0, None),
    "fragility": (0.0, 3.0),
}
REASON_MAX_CHARS = 900
EXAMPLES = 3
DUPLICATE_SAMPLE_IDS = 32_768
NUMBER_KIND = "a number (int, float, bool or decimal)"
STRING_KIND = "a string"

# The raw columns read as strings; every other raw column (and the label) is a number.
_STRING_COLUMNS = frozenset(
    f.name for f in features.RAW_SCHEMA if pa.types.is_string(f.type) and f.name
) & frozenset(features.RAW_COLUMNS)
_NUMERIC_COLUMNS = tuple(c for c in features.REQUIRED_COLUMNS if c not in _STRING_COLUMNS)


# --- small helpers ------------------------------------------------------------------------


def _number_text(value: float) -> str:
    """A number as people write it: 3 not 3.0, -1.5, inf, nan."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _rate_text(rate: float) -> str:
    """A rate with 3 significant digits: 0.312, 0.05, 1."""
    return f"{rate:.3g}"


def _ratio_text(ratio: float) -> str:
    """A ratio with 2 significant digits and no exponent: 3.1, 0.95, 12."""
    if ratio <= 0 or not math.isfinite(ratio):
        return _number_text(ratio)
    decimals = max(0, 1 - math.floor(math.log10(ratio)))
    return f"{ratio:.{decimals}f}"


def _json_number(value: float) -> float | str:
    """A float for JSON: non-finite values as the strings 'nan', 'inf', '-inf'."""
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def _number_key(value: float) -> tuple[bool, float]:
    """Sort key of numbers with NaN last."""
    return (math.isnan(value), 0.0 if math.isnan(value) else value)


def _smallest_numbers(values: Iterable[float], limit: int = EXAMPLES) -> list[float]:
    """The `limit` smallest distinct numbers (NaN last, once)."""
    distinct = {repr(float(v)): float(v) for v in values}
    return sorted(distinct.values(), key=_number_key)[:limit]


def _smallest_strings(values: Iterable[str], limit: int = EXAMPLES) -> list[str]:
    """The `limit` smallest distinct strings."""
    return sorted(set(values))[:limit]


def _base_type(data_type: pa.DataType) -> pa.DataType:
    """The value type of a dictionary type, else the type itself."""
    return data_type.value_type if pa.types.is_dictionary(data_type) else data_type


def _is_string_type(data_type: pa.DataType) -> bool:
    base = _base_type(data_type)
    is_view = getattr(pa.types, "is_string_view", None)  # pyarrow >= 16
    return bool(
        pa.types.is_string(base)
        or pa.types.is_large_string(base)
        or (is_view is not None and is_view(base))
    )


def _is_number_type(data_type: pa.DataType) -> bool:
    base = _base_type(data_type)
    return bool(
        pa.types.is_integer(base)
        or pa.types.is_floating(base)
        or pa.types.is_boolean(base)
        or pa.types.is_decimal(base)
    )


def _expected_kind(column: str) -> str:
    return STRING_KIND if column in _STRING_COLUMNS else NUMBER_KIND


def _type_fits(data_type: pa.DataType, kind: str) -> bool:
    return _is_string_type(data_type) if kind == STRING_KIND else _is_number_type(data_type)


def _float_values(column: pa.Array | pa.ChunkedArray, fill: float = np.nan) -> np.ndarray:
    """A numeric column as float64 numpy, nulls replaced by `fill` (NaN by default)."""
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    as_float = pc.cast(column, pa.float64())
    if as_float.null_count:
        as_float = pc.fill_null(as_float, fill)
    return np.asarray(as_float.to_numpy(zero_copy_only=False), dtype=np.float64)


def _string_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One `string` array (chunks combined; large, view and dictionary strings cast)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.string())
    if column.type != pa.string():
        column = pc.cast(column, pa.string())
    return column


# The hash only chooses which ids the repeated-id sample keeps and which rows are compared
# as strings: ids are always compared exactly. 8 bytes at a time (a little-endian word read
# at any byte offset; bytes past the id's end masked to 0): multiply-xorshift per word, the
# length, then splitmix64's finaliser, so every bit depends on every byte of the first
# _HASH_BYTES (ids longer than 64 bytes are rejected by Prepare anyway).
_HASH_BYTES = 64
_HASH_SEED = np.uint64(0xCBF29CE484222325)
_HASH_PRIME = np.uint64(0x100000001B3)
_WORD_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], np.uint64)


def _hash_strings(values: pa.Array) -> np.ndarray:
    """uint64 hash per value of a `string` array (nulls hash as empty strings); the same
    value hashes the same in any array."""
    count = len(values)
    if count == 0:
        return np.empty(0, dtype=np.uint64)
    if values.type != pa.string():
        values = pc.cast(values, pa.string())
    _, offsets, data = values.buffers()[:3]
    bounds = np.frombuffer(offsets, dtype=np.int32, count=count + 1, offset=4 * values.offset)
    first, end = int(bounds[0]), int(bounds[-1])
    starts = (bounds[:-1] - first).astype(np.int64)
    lengths = (bounds[1:] - bounds[:-1]).astype(np.int64)
    padded = np.zeros(end - first + 8, dtype=np.uint8)  # room to read a word at the end
    if end > first:
        padded[: end - first] = np.frombuffer(data, dtype=np.uint8, count=end - first, offset=first)
    words = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    hashes = np.full(count, _HASH_SEED, dtype=np.uint64)
    last = len(words) - 1
    for position in range(0, min(int(lengths.max()), _HASH_BYTES), 8):
        remaining = lengths - position
        where = np.minimum(starts + position, last)  # rows already past their end: masked
        word = words[where] & _WORD_MASKS[np.clip(remaining, 0, 8)]
        mixed = (hashes ^ word) * _HASH_PRIME
        mixed ^= mixed >> np.uint64(32)
        # rows past their own end keep their hash: it must not depend on the other rows
        hashes = np.where(remaining > 0, mixed, hashes)
    hashes ^= lengths.astype(np.uint64)
    hashes = (hashes ^ (hashes >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    hashes = (hashes ^ (hashes >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return hashes ^ (hashes >> np.uint64(31))


# --- configuration --------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_rate(what: str, value: Any) -> float:
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be a number between 0 and 1, got {value!r}")
    return float(value)


def _check_count(what: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a whole number >= 0, got {value!r}")
    return value


def _parse_object(text: str, what: str, known: Sequence[str]) -> dict[str, Any]:
    """A JSON object whose keys are all `known`; ValueError naming what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} is not valid JSON ({error}): {text[:200]!r}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(
            f"{what}: unknown key {unknown[0]!r}; the keys are {', '.join(sorted(known))}"
        )
    return data


def _compact_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _range_text(bounds: Range) -> str:
    """[0, inf), [0, 3], (-inf, 5]."""
    low, high = bounds
    left = "(-inf" if low is None else f"[{_number_text(low)}"
    right = "inf)" if high is None else f"{_number_text(high)}]"
    return f"{left}, {right}"


@dataclass(frozen=True)
class QualityBounds:
    """What a batch of raw rows must satisfy (module doc); JSON via to_json / from_json.

    `null_rates` overrides `max_null_rate` per column; `ranges` (inclusive, None for no
    bound) replaces DEFAULT_RANGES as a whole when given.
    """

    min_rows: int = 1
    max_null_rate: float = 0.05
    null_rates: dict[str, float] = field(default_factory=dict)
    max_invalid_rate: float = 0.01
    ranges: dict[str, Range] = field(default_factory=lambda: dict(DEFAULT_RANGES))
    max_duplicate_ids: int = 0

    KEYS: ClassVar[tuple[str, ...]] = (
        "min_rows",
        "max_null_rate",
        "null_rates",
        "max_invalid_rate",
        "ranges",
        "max_duplicate_ids",
    )

    def __post_init__(self) -> None:
        """Validate every field (ValueError naming it); normalise numbers to float."""
        what = "quality bounds"
        _check_count(f"{what}: 'min_rows'", self.min_rows)
        _check_count(f"{what}: 'max_duplicate_ids'", self.max_duplicate_ids)
        object.__setattr__(
            self, "max_null_rate", _check_rate(f"{what}: 'max_null_rate'", self.max_null_rate)
        )
        object.__setattr__(
            self,
            "max_invalid_rate",
            _check_rate(f"{what}: 'max_invalid_rate'", self.max_invalid_rate),
        )
        if not isinstance(self.null_rates, Mapping):
            raise ValueError(
                f"{what}: 'null_rates' must be an object of column: rate, got {self.null_rates!r}"
            )
        null_rates = {}
        for column, rate in self.null_rates.items():
            if column not in features.REQUIRED_COLUMNS:
                raise ValueError(
                    f"{what}: 'null_rates' names unknown column {column!r}; the columns are "
                    f"{', '.join(features.REQUIRED_COLUMNS)}"
                )
            null_rates[column] = _check_rate(f"{what}: 'null_rates' of {column!r}", rate)
        object.__setattr__(self, "null_rates", null_rates)
        if not isinstance(self.ranges, Mapping):
            raise ValueError(
                f"{what}: 'ranges' must be an object of column: [low, high], got {self.ranges!r}"
            )
        ranges: dict[str, Range] = {}
        for column, bounds in self.ranges.items():
            if column not in _NUMERIC_COLUMNS:
                raise ValueError(
                    f"{what}: 'ranges' names {column!r}, not a numeric column; the numeric "
                    f"columns are {', '.join(_NUMERIC_COLUMNS)}"
                )
            ranges[column] = self._range(column, bounds)
        object.__setattr__(self, "ranges", ranges)

    @staticmethod
    def _range(column: str, bounds: Any) -> Range:
        what = f"quality bounds: 'ranges' of {column!r}"
        if not isinstance(bounds, list | tuple) or len(bounds) != 2:
            raise ValueError(f"{what} must be [low, high] (null for no bound), got {bounds!r}")
        low, high = bounds
        for value in (low, high):
            if value is not None and not _is_number(value):
                raise ValueError(f"{what} must hold numbers or null, got {bounds!r}")
        if low is not None and high is not None and low > high:
            raise ValueError(f"{what}: low {low} is above high {high}")
        return (
            None if low is None else float(low),
            None if high is None else float(high),
        )

    def null_rate_bound(self, column: str) -> float:
        """The largest null rate allowed in `column`."""
        return self.null_rates.get(column, self.max_null_rate)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (ranges as [low, high] lists)."""
        return {
            "max_duplicate_ids": self.max_duplicate_ids,
            "max_invalid_rate": self.max_invalid_rate,
            "max_null_rate": self.max_null_rate,
            "min_rows": self.min_rows,
            "null_rates": dict(sorted(self.null_rates.items())),
            "ranges": {column: list(bounds) for column, bounds in sorted(self.ranges.items())},
        }

    def to_json(self) -> str:
        """Compact JSON, keys sorted: the same bounds give the same text."""
        return _compact_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> QualityBounds:
        """Bounds from JSON (missing keys keep their defaults); ValueError naming a bad key."""
        return cls.from_dict(_parse_object(text, "quality bounds", cls.KEYS))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityBounds:
        """Bounds from a dict of (some of) KEYS; ValueError naming a bad key."""
        unknown = sorted(set(data) - set(cls.KEYS))
        if unknown:
            raise ValueError(
                f"quality bounds: unknown key {unknown[0]!r}; the keys are "
                f"{', '.join(sorted(cls.KEYS))}"
            )
        return cls(**data)


@dataclass(frozen=True)
class DriftLimits:
    """When a feature counts as drifted, and the smallest batch worth judging."""

    psi: float = 0.25
    category_distance: float = 0.2
    min_rows: int = 1000
    psi_moderate: float = 0.1

    KEYS: ClassVar[tuple[str, ...]] = ("psi", "category_distance", "min_rows", "psi_moderate")

    def __post_init__(self) -> None:
        """Validate every field (ValueError naming it)."""
        if not _is_number(self.psi) or self.psi <= 0:
            raise ValueError(f"drift limits: 'psi' must be a number > 0, got {self.psi!r}")
        object.__setattr__(self, "psi", float(self.psi))
        if not _is_number(self.psi_moderate) or not 0 < self.psi_moderate <= self.psi:
            raise ValueError(
                "drift limits: 'psi_moderate' must be a number > 0 and at most 'psi' "
                f"({self.psi:g}), got {self.psi_moderate!r}"
            )
        object.__setattr__(self, "psi_moderate", float(self.psi_moderate))
        object.__setattr__(
            self,
            "category_distance",
            _check_rate("drift limits: 'category_distance'", self.category_distance),
        )
        _check_count("drift limits: 'min_rows'", self.min_rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "category_distance": self.category_distance,
            "min_rows": self.min_rows,
            "psi": self.psi,
            "psi_moderate": self.psi_moderate,
        }

    def to_json(self) -> str:
        """Compact JSON, keys sorted."""
        return _compact_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> DriftLimits:
        """Limits from JSON (missing keys keep their defaults); ValueError naming a bad key."""
        return cls(**_parse_object(text, "drift limits", cls.KEYS))


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
                f"{name}: null rate {_rate_text(self.observed)} above the bound "
                f"{_rate_text(self.bound)} ({self.count:,} of {self.total:,} rows)"
            )
        if self.check == "invalid_rate":
            examples = ", ".join(_number_text(v) for v in self.examples)
            return (
                f"{name}: out-of-range rate {_rate_text(self.observed)} above the bound "
                f"{_rate_text(self.bound)} ({self.count:,} of {self.total:,} non-null values "
                f"outside {self.context}" + (f", e.g. {examples})" if examples else ")")
            )
        if self.check == "duplicate_ids":
            examples = ", ".join(repr(v) for v in self.examples)
            return f"{name}: {self.observed:,} duplicate ids (allowed {self.bound:,})" + (
                f", e.g. {examples}" if examples else ""
            )
        examples = ", ".join(_number_text(v) for v in self.examples)
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
            "examples": [_json_number(v) if numeric else v for v in self.examples],
            "context": self.context,
            "message": self.message(),
        }


def check_schema(schema: pa.Schema, *, with_label: bool) -> list[QualityFailure]:
    """Missing columns and columns of the wrong type (module doc), in column order."""
    columns = (*features.RAW_COLUMNS, LABEL_COLUMN) if with_label else features.RAW_COLUMNS
    failures = []
    for column in columns:
        kind = _expected_kind(column)
        if column not in schema.names:
            failures.append(QualityFailure("missing_column", column, "missing", kind))
            continue
        data_type = schema.field(column).type
        if not _type_fits(data_type, kind):
            failures.append(QualityFailure("column_type", column, str(data_type), kind))
    return failures


@dataclass
class _ColumnCounts:
    rows: int = 0  # rows where the column was counted
    nulls: int = 0  # null or NaN
    invalid: int = 0  # non-null values outside the column's range
    examples: list[float] = field(default_factory=list)  # smallest out-of-range values

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "nulls": self.nulls,
            "invalid": self.invalid,
            "examples": [_json_number(v) for v in self.examples],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> _ColumnCounts:
        return cls(
            int(data["rows"]),
            int(data["nulls"]),
            int(data["invalid"]),
            [float(v) for v in data.get("examples", [])],
        )


class QualityCounter:
    """Streaming, mergeable quality counts over record batches (module doc).

    `context` (e.g. "of package type 'box'") completes the rows failure's message.
    """

    def __init__(
        self, bounds: QualityBounds | None = None, *, with_label: bool = False, context: str = ""
    ) -> None:
        self.bounds = bounds or QualityBounds()
        self.with_label = with_label
        self.context = context
        self.rows = 0
        self.columns = {column: _ColumnCounts() for column in features.REQUIRED_COLUMNS}
        self.labels_checked = 0
        self.bad_labels = 0
        self.label_examples: list[float] = []
        self.ids_checked = 0
        self.duplicate_ids = 0
        self.duplicate_examples: list[str] = []
        # {(check, column, observed, bound): [files seen (smallest EXAMPLES), count]}
        self.schema: dict[tuple[str, str, str, str], list[Any]] = {}
        # The sample: every distinct id seen whose hash is <= _limit (None: every id), at
        # most DUPLICATE_SAMPLE_IDS of them, sorted by hash.
        self._sample_hashes = np.empty(0, dtype=np.uint64)
        self._sample_ids = pa.array([], pa.string())  # aligned with the hashes
        self._limit: np.uint64 | None = None

    # -- counting ----------------------------------------------------------------------------

    def add_schema_failures(
        self, failures: Iterable[QualityFailure], source: str | None = None
    ) -> None:
        """Record check_schema's failures (of the input file `source`, if known)."""
        for failure in failures:
            key = (failure.check, failure.column or "", str(failure.observed), str(failure.bound))
            files, count = self.schema.get(key, [[], 0])
            if source is not None:
                files, count = _smallest_strings([*files, source]), count + 1
            self.schema[key] = [files, count]

    def update(self, data: pa.RecordBatch | pa.Table) -> None:
        """Count one batch (or a whole table: then repeated ids are counted exactly)."""
        rows = data.num_rows
        self.rows += rows
        names = set(data.schema.names)
        for column in features.REQUIRED_COLUMNS:
            kind = _expected_kind(column)
            if column not in names or not _type_fits(data.schema.field(column).type, kind):
                continue
            values = data.column(column)
            counts = self.columns[column]
            counts.rows += rows
            bounds = self.bounds.ranges.get(column)
            floating = pa.types.is_floating(_base_type(values.type))
            if kind == STRING_KIND or (bounds is None and not floating):
                counts.nulls += values.null_count
                continue
            numbers = _float_values(values)
            missing = np.isnan(numbers)
            counts.nulls += int(np.count_nonzero(missing))
            if bounds is not None:
                self._count_out_of_range(counts, numbers, missing, bounds)
        if (
            self.with_label
            and LABEL_COLUMN in names
            and _is_number_type(data.schema.field(LABEL_COLUMN).type)
        ):
            self._count_labels(data.column(LABEL_COLUMN))
        if features.ID_COLUMN in names and _is_string_type(
            data.schema.field(features.ID_COLUMN).type
        ):
            self._count_ids(data.column(features.ID_COLUMN))

    @staticmethod
    def _count_out_of_range(
        counts: _ColumnCounts, numbers: np.ndarray, missing: np.ndarray, bounds: Range
    ) -> None:
        low, high = bounds
        bad = ~missing & ~np.isfinite(numbers)
        if low is not None:
            bad |= numbers < low
        if high is not None:
            bad |= numbers > high
        found = int(np.count_nonzero(bad))
        if found:
            counts.invalid += found
            smallest = np.unique(numbers[bad])[:EXAMPLES]
            counts.examples = _smallest_numbers([*counts.examples, *smallest.tolist()])

    def _count_labels(self, labels: pa.Array | pa.ChunkedArray) -> None:
        self.labels_checked += len(labels) - labels.null_count
        values = _float_values(labels, fill=0.0)  # a null label is not a bad one
        bad = (values != 0.0) & (values != 1.0)  # NaN too
        found = int(np.count_nonzero(bad))
        if found:
            self.bad_labels += found
            self.label_examples = _smallest_numbers(
                [*self.label_examples, *np.unique(values[bad])[:EXAMPLES].tolist()]
            )

    def _count_ids(self, column: pa.Array | pa.ChunkedArray) -> None:
        """Repeats within these rows (exact), then the sample (module doc).

        Exact without a hash table: ids are hashed and the hashes sorted; only rows whose
        hash occurs twice (repeats, or in theory two ids with one hash) are compared as
        strings (pyarrow's value_counts over those rows alone).
        """
        ids = _string_array(column)
        if ids.null_count or not len(ids) or pc.min(pc.binary_length(ids)).as_py() == 0:
            ids = ids.filter(pc.and_(pc.is_valid(ids), pc.greater(pc.binary_length(ids), 0)))
        self.ids_checked += len(ids)
        hashes = _hash_strings(ids)
        ordered = np.sort(hashes)
        twice = ordered[1:] == ordered[:-1]
        if twice.any():
            suspects = np.isin(hashes, ordered[1:][twice])
            counted = pc.value_counts(ids.filter(pa.array(suspects)))
            repeats = pc.subtract(counted.field("counts"), 1)
            found = int(pc.sum(repeats).as_py() or 0)
            if found:
                self.duplicate_ids += found
                repeated = counted.field("values").filter(pc.greater(repeats, 0))
                self._add_duplicate_examples(repeated.to_pylist())
        if self._limit is not None:  # only ids that may enter the sample
            within = hashes <= self._limit
            hashes, ids = hashes[within], ids.filter(pa.array(within))
        # one row per hash: the sample holds distinct ids (up to 64-bit hash collisions)
        hashes, first = np.unique(hashes, return_index=True)
        self._add_to_sample(hashes, ids.take(pa.array(first)))

    def spawn(self) -> QualityCounter:
        """An empty counter with these bounds for one batch, to be merged back into this
        one: it samples only ids within this counter's current sample range (any later
        range is smaller, so nothing the merge could use is left out), which keeps the
        per-batch work small once the sample is full. Safe to call from worker threads."""
        counter = QualityCounter(self.bounds, with_label=self.with_label, context=self.context)
        counter._limit = self._limit
        return counter

    def _add_duplicate_examples(self, ids: Iterable[str]) -> None:
        self.duplicate_examples = _smallest_strings([*self.duplicate_examples, *ids])

    def _add_to_sample(self, hashes: np.ndarray, ids: pa.Array) -> None:
        """Merge distinct ids into the sample: count those already in it, keep the smallest
        DUPLICATE_SAMPLE_IDS hashes (module doc)."""
        if self._limit is not None:
            within = hashes <= self._limit
            if not within.all():
                hashes, ids = hashes[within], ids.filter(pa.array(within))
        if not len(hashes):
            return
        if np.any(hashes[1:] < hashes[:-1]):
            order = np.argsort(hashes, kind="stable")
            hashes, ids = hashes[order], ids.take(pa.array(order))
        if len(self._sample_hashes):
            position = np.searchsorted(self._sample_hashes, hashes)
            hit = position < len(self._sample_hashes)
            hit[hit] = self._sample_hashes[position[hit]] == hashes[hit]
            if hit.any():
                candidates = np.flatnonzero(hit)
                same = pc.equal(
                    self._sample_ids.take(pa.array(position[candidates])),
                    ids.take(pa.array(candidates)),
                ).to_numpy(zero_copy_only=False)
                repeated = candidates[same]
                if len(repeated):
                    self.duplicate_ids += len(repeated)
                    self._add_duplicate_examples(ids.take(pa.array(repeated)).to_pylist())
                    keep = np.ones(len(hashes), dtype=bool)
                    keep[repeated] = False
                    hashes, ids = hashes[keep], ids.filter(pa.array(keep))
        merged = np.concatenate([self._sample_hashes, hashes])
        order = np.argsort(merged, kind="stable")  # two sorted runs: a linear merge
        merged_ids = pa.concat_arrays([self._sample_ids, ids]).take(pa.array(order))
        merged = merged[order]
        if len(merged) > DUPLICATE_SAMPLE_IDS:
            merged = merged[:DUPLICATE_SAMPLE_IDS]
            merged_ids = merged_ids.slice(0, DUPLICATE_SAMPLE_IDS)
            self._limit = merged[-1]
        self._sample_hashes, self._sample_ids = merged, merged_ids

    def _lower_limit(self, limit: np.uint64 | None) -> None:
        """Keep only sampled ids with hashes <= limit (another sample's range, when merging:
        ids above it were not kept there, so repeats above it could not be told)."""
        if limit is None or (self._limit is not None and self._limit <= limit):
            return
        self._limit = limit
        keep = int(np.searchsorted(self._sample_hashes, limit, side="right"))
        self._sample_hashes = self._sample_hashes[:keep]
        self._sample_ids = self._sample_ids.slice(0, keep)

    # -- merging and serialising -------------------------------------------------------------

    def merge(self, other: QualityCounter) -> QualityCounter:
        """Add `other`'s counts (same bounds and label setting); returns self."""
        if other.bounds != self.bounds or other.with_label != self.with_label:
            raise ValueError(
                "cannot merge quality counters with different bounds or label settings: "
                f"{self.bounds.to_json()} (label {self.with_label}) vs "
                f"{other.bounds.to_json()} (label {other.with_label})"
            )
        self.rows += other.rows
        for column, counts in self.columns.items():
            theirs = other.columns[column]
            counts.rows += theirs.rows
            counts.nulls += theirs.nulls
            counts.invalid += theirs.invalid
            counts.examples = _smallest_numbers([*counts.examples, *theirs.examples])
        self.labels_checked += other.labels_checked
        self.bad_labels += other.bad_labels
        self.label_examples = _smallest_numbers([*self.label_examples, *other.label_examples])
        self.ids_checked += other.ids_checked
        self.duplicate_ids += other.duplicate_ids
        self._add_duplicate_examples(other.duplicate_examples)
        for key, (files, count) in other.schema.items():
            mine, my_count = self.schema.get(key, [[], 0])
            self.schema[key] = [_smallest_strings([*mine, *files]), my_count + count]
        self._lower_limit(other._limit)
        self._add_to_sample(other._sample_hashes, other._sample_ids)
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state (from_dict restores it, merge-ready)."""
        return {
            "bounds": self.bounds.to_dict(),
            "with_label": self.with_label,
            "context": self.context,
            "rows": self.rows,
            "columns": {column: counts.to_dict() for column, counts in self.columns.items()},
            "labels": {
                "checked": self.labels_checked,
                "bad": self.bad_labels,
                "examples": [_json_number(v) for v in self.label_examples],
            },
            "duplicate_ids": {
                "ids_checked": self.ids_checked,
                "count": self.duplicate_ids,
                "examples": list(self.duplicate_examples),
                "sampled": self._limit is not None,
                # the sample's hash range (a uint64, as text: JSON numbers are doubles)
                "sample_limit": None if self._limit is None else str(int(self._limit)),
                "sample": self._sample_ids.to_pylist(),
            },
            "schema": [
                {
                    "check": check,
                    "column": column,
                    "observed": observed,
                    "bound": bound,
                    "files": files,
                    "file_count": count,
                }
                for (check, column, observed, bound), (files, count) in sorted(self.schema.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityCounter:
        """A counter from to_dict's output."""
        try:
            counter = cls(
                QualityBounds.from_dict(data["bounds"]),
                with_label=bool(data["with_label"]),
                context=str(data.get("context", "")),
            )
            counter.rows = int(data["rows"])
            for column, counts in data["columns"].items():
                counter.columns[column] = _ColumnCounts.from_dict(counts)
            labels = data["labels"]
            counter.labels_checked = int(labels["checked"])
            counter.bad_labels = int(labels["bad"])
            counter.label_examples = [float(v) for v in labels["examples"]]
            duplicates = data["duplicate_ids"]
            counter.ids_checked = int(duplicates["ids_checked"])
            counter.duplicate_ids = int(duplicates["count"])
            counter.duplicate_examples = [str(v) for v in duplicates["examples"]]
            ids = pa.array(duplicates["sample"], pa.string())
            hashes = _hash_strings(ids)
            order = np.argsort(hashes, kind="stable")
            counter._sample_hashes = hashes[order]
            counter._sample_ids = ids.take(pa.array(order))
            limit = duplicates.get("sample_limit")
            counter._limit = None if limit is None else np.uint64(int(limit))
            for entry in data["schema"]:
                key = (entry["check"], entry["column"], entry["observed"], entry["bound"])
                counter.schema[key] = [list(entry["files"]), int(entry["file_count"])]
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a quality counter's state: missing or bad {error}") from error
        return counter

    # -- judging ------------------------------------------------------------------------------

    def schema_failures(self) -> list[QualityFailure]:
        """The schema checks' failures, in check then column order."""
        order = {column: i for i, column in enumerate((*features.RAW_COLUMNS, LABEL_COLUMN))}
        return [
            QualityFailure(
                check,
                column,
                observed,
                bound,
                count=count or None,
                examples=tuple(files),
            )
            for (check, column, observed, bound), (files, count) in sorted(
                self.schema.items(),
                key=lambda item: (CHECKS.index(item[0][0]), order.get(item[0][1], 99)),
            )
        ]

    def null_rate(self, column: str) -> float | None:
        """Share of null (or NaN) values where the column was counted; None without rows."""
        counts = self.columns[column]
        return counts.nulls / counts.rows if counts.rows else None

    def invalid_rate(self, column: str) -> float | None:
        """Share of the non-null values outside the column's range; None without any."""
        counts = self.columns[column]
        present = counts.rows - counts.nulls
        return counts.invalid / present if present else None

    def failures(self, *, check_rows: bool = True) -> list[QualityFailure]:
        """Every failed check (module doc); `check_rows`: apply min_rows (whole runs only)."""
        found = self.schema_failures()
        bounds = self.bounds
        if check_rows and not found and self.rows < bounds.min_rows:
            found.append(
                QualityFailure("rows", None, self.rows, bounds.min_rows, context=self.context)
            )
        for column, counts in self.columns.items():
            rate = self.null_rate(column)
            if rate is not None and rate > bounds.null_rate_bound(column):
                found.append(
                    QualityFailure(
                        "null_rate",
                        column,
                        round(rate, 6),
                        bounds.null_rate_bound(column),
                        count=counts.nulls,
                        total=counts.rows,
                    )
                )
        for column, counts in self.columns.items():
            rate = self.invalid_rate(column)
            if column in bounds.ranges and rate is not None and rate > bounds.max_invalid_rate:
                found.append(
                    QualityFailure(
                        "invalid_rate",
                        column,
                        round(rate, 6),
                        bounds.max_invalid_rate,
                        count=counts.invalid,
                        total=counts.rows - counts.nulls,
                        examples=tuple(counts.examples),
                        context=_range_text(bounds.ranges[column]),
                    )
                )
        if self.duplicate_ids > bounds.max_duplicate_ids:
            found.append(
                QualityFailure(
                    "duplicate_ids",
                    features.ID_COLUMN,
                    self.duplicate_ids,
                    bounds.max_duplicate_ids,
                    count=self.duplicate_ids,
                    total=self.ids_checked,
                    examples=tuple(self.duplicate_examples),
                )
            )
        if self.bad_labels:
            found.append(
                QualityFailure(
                    "labels",
                    LABEL_COLUMN,
                    self.bad_labels,
                    "0/1",
                    count=self.bad_labels,
                    total=self.labels_checked,
                    examples=tuple(self.label_examples),
                )
            )
        return found

    def report(self, *, check_rows: bool = True) -> dict[str, Any]:
        """JSON-ready verdict: passed, reason (the messages, at most 900 characters), the
        failures, rows, per-column null and invalid rates, repeated ids, the bounds."""
        failures = self.failures(check_rows=check_rows)
        reason = "; ".join(f.message() for f in failures)
        if len(reason) > REASON_MAX_CHARS:
            reason = reason[: REASON_MAX_CHARS - 3] + "..."
        return {
            "passed": not failures,
            "reason": reason,
            "failures": [f.to_dict() for f in failures],
            "rows": self.rows,
            "null_rates": {
                c: None if (r := self.null_rate(c)) is None else round(r, 6) for c in self.columns
            },
            "invalid_rates": {
                c: None if (r := self.invalid_rate(c)) is None else round(r, 6)
                for c in self.columns
                if c in self.bounds.ranges
            },
            "duplicate_ids": {
                "count": self.duplicate_ids,
                "ids_checked": self.ids_checked,
                "exact": self._limit is None,
            },
            "bounds": self.bounds.to_dict(),
        }


# --- feature statistics ------------------------------------------------------------------------

SCHEMA_VERSION = 1
OTHER_VALUE = "(other)"
CATEGORY_FEATURE = "category"
DISCRETE_FEATURES: tuple[str, ...] = tuple(
    f for f in features.NUMERIC_FEATURES if f in features.INTEGER_FEATURES
)
CONTINUOUS_FEATURES: tuple[str, ...] = tuple(
    f for f in features.NUMERIC_FEATURES if f not in features.INTEGER_FEATURES
)
PROFILE_FEATURES: tuple[str, ...] = (*CONTINUOUS_FEATURES, *DISCRETE_FEATURES, CATEGORY_FEATURE)
_POSITION = {name: i for i, name in enumerate(features.FEATURE_COLUMNS)}
_CATEGORY_COLUMNS = slice(len(features.NUMERIC_FEATURES), len(features.FEATURE_COLUMNS))


def _check_matrix(matrix: np.ndarray) -> np.ndarray:
    """The float32 matrix with one column per features.FEATURE_COLUMNS; ValueError otherwise."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != len(features.FEATURE_COLUMNS):
        raise ValueError(
            f"expected a feature matrix of shape (rows, {len(features.FEATURE_COLUMNS)}) "
            f"(features.compute_features), got {matrix.shape}"
        )
    return matrix


def _float32_thresholds(edges: np.ndarray) -> np.ndarray:
    """Each edge rounded up to a float32: for a float32 x, x < edge exactly when
    x < threshold (no float32 lies between the edge and its rounding up)."""
    thresholds = edges.astype(np.float32)
    low = thresholds.astype(np.float64) < edges
    thresholds[low] = np.nextafter(thresholds[low], np.float32(np.inf))
    return thresholds


def _bin_counts(thresholds: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Rows per bin of float32 values: bin i holds edges[i-1] <= x < edges[i] (len(edges) + 1
    bins; NaN in the last). One comparison pass per edge: about 10x faster than a binary
    search per value for the ten-odd edges of a baseline."""
    below = [np.count_nonzero(values < threshold) for threshold in thresholds]
    return np.diff(np.asarray([0, *below, len(values)], dtype=np.int64))


def _whole_number_counts(values: np.ndarray) -> dict[int, int]:
    """{value: rows} of a column of whole numbers (stored as floats)."""
    if not len(values):
        return {}
    numbers = np.rint(values).astype(np.int64)
    low, high = int(numbers.min()), int(numbers.max())
    if high - low <= 4096:
        counts = np.bincount(numbers - low)
        return {low + int(i): int(counts[i]) for i in np.flatnonzero(counts)}
    distinct, counts = np.unique(numbers, return_counts=True)
    return {int(v): int(c) for v, c in zip(distinct, counts, strict=True)}


def _matrix_columns(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """{feature column: its values} of a feature matrix (strided views, no copy)."""
    matrix = _check_matrix(matrix)
    return {name: matrix[:, i] for i, name in enumerate(features.FEATURE_COLUMNS)}


def _continuous_values(columns: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """A continuous feature's values as contiguous float32 (no copy when they are)."""
    return np.ascontiguousarray(columns[name], dtype=np.float32)


def _categorical_counts(name: str, columns: Mapping[str, np.ndarray]) -> dict[str, int]:
    """{value as text: rows} of a categorical profile feature. A row's category is the one
    whose one-hot is 1 (compute_features sets exactly one), so the one-hot sums count them."""
    if name == CATEGORY_FEATURE:
        ones = {c: int(np.count_nonzero(columns[f"category_{c}"])) for c in features.CATEGORIES}
        return {category: count for category, count in ones.items() if count}
    values = np.asarray(columns[name])
    if np.issubdtype(values.dtype, np.integer):
        values = values.astype(np.int64)
    return {str(value): count for value, count in _whole_number_counts(values).items()}


def build_baseline(matrix: np.ndarray, *, package_type: str, bins: int = 10) -> dict[str, Any]:
    """The training rows' feature statistics (module doc), JSON-ready."""
    matrix = _check_matrix(matrix)
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    if not len(matrix):
        raise ValueError("cannot build a baseline from 0 rows")
    specs: dict[str, dict[str, Any]] = {}
    quantiles = np.arange(1, bins) / bins
    columns = _matrix_columns(matrix)
    for name in CONTINUOUS_FEATURES:
        values = _continuous_values(columns, name)
        edges = np.unique(np.quantile(values.astype(np.float64), quantiles))
        specs[name] = {
            "kind": "numeric",
            "edges": [float(e) for e in edges],
            "counts": _bin_counts(_float32_thresholds(edges), values).tolist(),
            "median": float(np.median(values.astype(np.float64))),
            "min": float(values.min()),
            "max": float(values.max()),
        }
    for name in (*DISCRETE_FEATURES, CATEGORY_FEATURE):
        counted = _categorical_counts(name, columns)
        if name == CATEGORY_FEATURE:
            values_seen = [c for c in features.CATEGORIES if c in counted]
        else:
            values_seen = sorted(counted, key=int)
        specs[name] = {
            "kind": "categorical",
            "values": values_seen,
            "counts": [counted[v] for v in values_seen],
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "package_type": package_type,
        "rows": len(matrix),
        "bins": bins,
        "features": {name: specs[name] for name in PROFILE_FEATURES},
    }


def _baseline_features(baseline: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    """The baseline's feature specs, checked: version, known names, kinds."""
    if not isinstance(baseline, Mapping) or "features" not in baseline:
        raise ValueError("not a feature baseline: no 'features' (profile.build_baseline)")
    version = baseline.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(
            f"feature baseline schema_version {version!r} is not supported "
            f"(this code reads {SCHEMA_VERSION})"
        )
    specs = baseline["features"]
    unknown = sorted(set(specs) - set(PROFILE_FEATURES))
    if unknown:
        raise ValueError(
            f"feature baseline holds unknown feature(s) {unknown}; known: {list(PROFILE_FEATURES)}"
        )
    for name, spec in specs.items():
        expected = "numeric" if name in CONTINUOUS_FEATURES else "categorical"
        if spec.get("kind") != expected:
            raise ValueError(
                f"feature baseline: {name!r} has kind {spec.get('kind')!r}, expected {expected!r}"
            )
    return specs


class DriftHistogram:
    """Streaming counts of feature matrices in a baseline's bins and values (module doc).

    Per numeric feature: counts per bin (len(edges) + 1) and the min and max seen; per
    categorical feature: counts per training value, then one for values never seen in
    training (`(other)`). Memory O(features x bins).
    """

    def __init__(self, baseline: Mapping[str, Any]) -> None:
        specs = _baseline_features(baseline)
        self.package_type = str(baseline.get("package_type"))
        self.baseline_rows = int(baseline.get("rows", 0))
        self.rows = 0
        self.edges: dict[str, np.ndarray] = {}
        self._thresholds: dict[str, np.ndarray] = {}
        self.values: dict[str, list[str]] = {}
        self.counts: dict[str, np.ndarray] = {}
        self.minimum: dict[str, float | None] = {}
        self.maximum: dict[str, float | None] = {}
        for name, spec in specs.items():
            if spec["kind"] == "numeric":
                edges = np.asarray(spec["edges"], dtype=np.float64)
                if len(edges) > 1 and not np.all(np.diff(edges) > 0):
                    raise ValueError(f"feature baseline: {name!r} edges are not increasing")
                self.edges[name] = edges
                self._thresholds[name] = _float32_thresholds(edges)
                self.counts[name] = np.zeros(len(edges) + 1, dtype=np.int64)
                self.minimum[name] = self.maximum[name] = None
            else:
                self.values[name] = [str(v) for v in spec["values"]]
                self.counts[name] = np.zeros(len(spec["values"]) + 1, dtype=np.int64)
        self._index = {name: {v: i for i, v in enumerate(vs)} for name, vs in self.values.items()}

    def spawn(self) -> DriftHistogram:
        """An empty histogram in the same bins (for one batch, to be merged back)."""
        histogram = copy.copy(self)
        histogram.rows = 0
        histogram.counts = {name: np.zeros_like(c) for name, c in self.counts.items()}
        histogram.minimum = dict.fromkeys(self.minimum)
        histogram.maximum = dict.fromkeys(self.maximum)
        return histogram

    def update(self, matrix: np.ndarray) -> None:
        """Count a batch's feature matrix (features.compute_features of its rows)."""
        self.update_columns(_matrix_columns(matrix))

    def update_columns(self, columns: Mapping[str, np.ndarray]) -> None:
        """Count a batch given as {feature column: values} (every features.FEATURE_COLUMNS
        name; the matrix's float32 values, whole-number features may be any integer type):
        what Prepare has at hand, split.feature_csv_columns' arrays, without a copy."""
        missing = [name for name in features.FEATURE_COLUMNS if name not in columns]
        if missing:
            raise ValueError(f"feature columns {missing} are missing")
        rows = len(columns[features.FEATURE_COLUMNS[0]])
        if not rows:
            return
        self.rows += rows
        for name, thresholds in self._thresholds.items():
            values = _continuous_values(columns, name)
            self.counts[name] += _bin_counts(thresholds, values)
            low, high = float(values.min()), float(values.max())
            current_low, current_high = self.minimum[name], self.maximum[name]
            self.minimum[name] = low if current_low is None else min(current_low, low)
            self.maximum[name] = high if current_high is None else max(current_high, high)
        for name, index in self._index.items():
            other = len(index)
            for value, count in _categorical_counts(name, columns).items():
                self.counts[name][index.get(value, other)] += count

    def _same_bins(self, other: DriftHistogram) -> bool:
        return (
            self.edges.keys() == other.edges.keys()
            and all(np.array_equal(e, other.edges[n]) for n, e in self.edges.items())
            and self.values == other.values
        )

    def merge(self, other: DriftHistogram) -> DriftHistogram:
        """Add `other`'s counts (same baseline bins); returns self."""
        if not self._same_bins(other):
            raise ValueError("cannot merge drift histograms of different baselines (bins differ)")
        self.rows += other.rows
        for name, counts in other.counts.items():
            self.counts[name] += counts
        for name in self.edges:
            for mine, theirs, pick in (
                (self.minimum, other.minimum, min),
                (self.maximum, other.maximum, max),
            ):
                values = [v for v in (mine[name], theirs[name]) if v is not None]
                mine[name] = pick(values) if values else None
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts, with the bins they are in (from_dict checks them)."""
        out: dict[str, Any] = {}
        for name, counts in self.counts.items():
            if name in self.edges:
                out[name] = {
                    "kind": "numeric",
                    "edges": self.edges[name].tolist(),
                    "counts": counts.tolist(),
                    "min": self.minimum[name],
                    "max": self.maximum[name],
                }
            else:
                out[name] = {
                    "kind": "categorical",
                    "values": [*self.values[name], OTHER_VALUE],
                    "counts": counts.tolist(),
                }
        return {
            "package_type": self.package_type,
            "baseline_rows": self.baseline_rows,
            "rows": self.rows,
            "features": out,
        }

    @classmethod
    def from_dict(cls, baseline: Mapping[str, Any], data: Mapping[str, Any]) -> DriftHistogram:
        """The histogram to_dict wrote, against the `baseline` it was counted with."""
        histogram = cls(baseline)
        stored = data.get("features", {})
        if set(stored) != set(histogram.counts):
            raise ValueError(
                f"histogram features {sorted(stored)} differ from the baseline's "
                f"{sorted(histogram.counts)}"
            )
        for name, spec in stored.items():
            counts = np.asarray(spec["counts"], dtype=np.int64)
            if name in histogram.edges:
                same = np.array_equal(np.asarray(spec["edges"], float), histogram.edges[name])
                histogram.minimum[name], histogram.maximum[name] = spec["min"], spec["max"]
            else:
                same = list(spec["values"]) == [*histogram.values[name], OTHER_VALUE]
            if not same or counts.shape != histogram.counts[name].shape:
                raise ValueError(
                    f"histogram of {name!r} was counted in other bins than the baseline's"
                )
            histogram.counts[name] = counts
        histogram.rows = int(data["rows"])
        return histogram


def _proportions(counts: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    values = np.asarray(counts, dtype=np.float64)
    if values.ndim != 1 or not len(values):
        raise ValueError(f"{what} counts must be a non-empty list, got {counts!r}")
    if np.any(values < 0) or not np.all(np.isfinite(values)):
        raise ValueError(f"{what} counts must be finite and >= 0, got {counts!r}")
    total = values.sum()
    if total <= 0:
        raise ValueError(f"{what} counts add up to 0: no rows to compare")
    return values / total


def psi(
    expected_counts: Sequence[float] | np.ndarray,
    actual_counts: Sequence[float] | np.ndarray,
    epsilon: float = 1e-4,
) -> float:
    """Population stability index: sum over bins of (a - e) * ln(a / e), where e and a are
    the expected (training) and actual (batch) proportions, each floored at `epsilon`.

    Why the floor: a bin empty on one side has proportion 0 and ln(0) is infinite, so one
    empty bin (a category training never saw, a tail the batch lacks) would make the index
    infinite and hide how much the rest moved. Floored at 1e-4 (one row in 10,000, below
    what a bin of a 10-bin baseline holds), a bin's term stays finite (at most about
    |a - e| * 9.2) while a real shift still scores far above the usual 0.25 limit.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    expected = _proportions(expected_counts, "expected")
    actual = _proportions(actual_counts, "actual")
    if expected.shape != actual.shape:
        raise ValueError(f"expected {len(expected)} bins, got {len(actual)} actual bins")
    expected, actual = np.maximum(expected, epsilon), np.maximum(actual, epsilon)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def total_variation(
    expected_counts: Sequence[float] | np.ndarray, actual_counts: Sequence[float] | np.ndarray
) -> float:
    """Total variation distance of two distributions: half the sum of |a - e| over the
    proportions (0: the same mix, 1: nothing in common)."""
    expected = _proportions(expected_counts, "expected")
    actual = _proportions(actual_counts, "actual")
    if expected.shape != actual.shape:
        raise ValueError(f"expected {len(expected)} values, got {len(actual)} actual values")
    return float(0.5 * np.abs(actual - expected).sum())


def binned_median(
    edges: Sequence[float] | np.ndarray,
    counts: Sequence[int] | np.ndarray,
    low: float | None,
    high: float | None,
) -> float | None:
    """The median estimated from bin counts: linear within the bin holding the middle row,
    whose ends are its edges bounded by the data's `low` and `high` (the outer bins are
    open: they end at low and high). None without rows."""
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    total = counts.sum()
    if total <= 0 or low is None or high is None:
        return None
    half = total / 2.0
    cumulative = np.cumsum(counts)
    index = int(np.searchsorted(cumulative, half, side="left"))
    before = cumulative[index] - counts[index]
    left = max(float(edges[index - 1]), low) if index > 0 else low
    right = min(float(edges[index]), high) if index < len(edges) else high
    if right <= left:
        return float(left)
    return float(left + (half - before) / counts[index] * (right - left))


def drift_report(
    baseline: Mapping[str, Any], histogram: DriftHistogram, limits: DriftLimits
) -> dict[str, Any]:
    """The batch's drift against the baseline, JSON-ready (module doc).

    {"rows", "baseline_rows", "features": {name: {"kind", "psi", "distance" (categorical),
    "median_ratio" (numeric), "drifted", "moderate", "message"}}, "drifted": [names, worst
    first], "moderate": [names], "top": [up to 5 names, highest PSI first], "max_psi",
    "verdict": ok | moderate | drift | insufficient_rows, "summary": the drifted (else the
    moderately shifted) features' messages, or why the batch was not judged}.
    """
    specs = _baseline_features(baseline)
    if set(specs) != set(histogram.counts) or any(
        spec["kind"] == "numeric"
        and not np.array_equal(np.asarray(spec["edges"], float), histogram.edges[name])
        for name, spec in specs.items()
    ):
        raise ValueError("the histogram was not counted in this baseline's bins")
    rows = histogram.rows
    judged = rows >= limits.min_rows
    report: dict[str, Any] = {}
    severity: dict[str, float] = {}
    for name, spec in specs.items():
        counts = histogram.counts[name]
        entry: dict[str, Any] = {"kind": spec["kind"]}
        if spec["kind"] == "numeric":
            expected = np.asarray(spec["counts"], dtype=np.float64)
            value = psi(expected, counts) if rows else None
            median = binned_median(
                histogram.edges[name], counts, histogram.minimum[name], histogram.maximum[name]
            )
            training_median = float(spec["median"])
            ratio = None if median is None or training_median == 0 else median / training_median
            entry.update(psi=value, median_ratio=None if ratio is None else round(ratio, 6))
            drifted = judged and value is not None and value > limits.psi
            message = f"{name}: " + (
                "no rows" if value is None else f"PSI {value:.2f} (limit {limits.psi:g})"
            )
            if ratio is not None:
                message += f"; the batch's median is {_ratio_text(ratio)}x the training median"
            severity[name] = 0.0 if value is None else value / limits.psi
        else:
            expected = np.asarray([*spec["counts"], 0], dtype=np.float64)
            value = psi(expected, counts) if rows else None
            distance = total_variation(expected, counts) if rows else None
            entry.update(psi=value, distance=None if distance is None else round(distance, 6))
            drifted = judged and (
                (value is not None and value > limits.psi)
                or (distance is not None and distance > limits.category_distance)
            )
            message = f"{name}: " + (
                "no rows"
                if value is None or distance is None
                else f"PSI {value:.2f} (limit {limits.psi:g}), distance {distance:.2f} "
                f"(limit {limits.category_distance:g})"
            )
            severity[name] = (
                0.0
                if value is None or distance is None
                else max(value / limits.psi, distance / limits.category_distance)
            )
        if entry["psi"] is not None:
            entry["psi"] = round(entry["psi"], 6)
        moderate = judged and not drifted and value is not None and value > limits.psi_moderate
        entry.update(drifted=drifted, moderate=moderate, message=message)
        report[name] = entry
    order = list(specs)
    drifted_names = sorted(
        (n for n in order if report[n]["drifted"]), key=lambda n: (-severity[n], order.index(n))
    )
    measured = [n for n in order if report[n]["psi"] is not None]
    top = sorted(measured, key=lambda n: (-report[n]["psi"], order.index(n)))[:5]
    if not judged:
        verdict = "insufficient_rows"
        summary = (
            f"insufficient rows: {rows:,} rows, fewer than the {limits.min_rows:,} needed to "
            "judge drift"
        )
    else:
        moderate_names = sorted(
            (n for n in order if report[n]["moderate"]),
            key=lambda n: (-severity[n], order.index(n)),
        )
        if drifted_names:
            verdict = "drift"
            summary = "; ".join(report[n]["message"] for n in drifted_names)
        elif moderate_names:
            verdict = "moderate"
            summary = f"moderate shift (PSI above {limits.psi_moderate:g}, within the limit): " + (
                "; ".join(report[n]["message"] for n in moderate_names)
            )
        else:
            verdict, summary = "ok", ""
    return {
        "package_type": histogram.package_type,
        "rows": rows,
        "baseline_rows": int(baseline.get("rows", 0)),
        "features": report,
        "drifted": drifted_names,
        "moderate": [n for n in order if report[n]["moderate"]],
        "top": top,
        "max_psi": max((report[n]["psi"] for n in measured), default=None),
        "verdict": verdict,
        "summary": summary,
        "limits": limits.to_dict(),
    }


# --- the predicted scores ---------------------------------------------------------------------

SCORE_FEATURE = "prediction_score"


def score_baseline(scores: np.ndarray, *, bins: int = 10) -> dict[str, Any]:
    """The validation scores' distribution (Evaluate, the challenger on its validation
    rows), JSON-ready: {"schema_version", "kind": "scores", "rows", "edges" (interior
    quantile cut points, deduplicated), "counts", "median", "min", "max"}."""
    values = np.asarray(scores, dtype=np.float64)
    values = values[np.isfinite(values)]
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    if not len(values):
        raise ValueError("cannot build a score baseline from 0 finite scores")
    edges = np.unique(np.quantile(values, np.arange(1, bins) / bins))
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "scores",
        "rows": len(values),
        "edges": [float(e) for e in edges],
        "counts": score_counts(edges, values).tolist(),
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def score_counts(edges: Sequence[float] | np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Scores per bin of `edges` (bin i: edges[i-1] <= s < edges[i]; NaN in the last)."""
    values = np.asarray(scores, dtype=np.float64)
    below = [np.count_nonzero(values < edge) for edge in np.asarray(edges, dtype=np.float64)]
    return np.diff(np.asarray([0, *below, len(values)], dtype=np.int64))


def score_drift(
    baseline: Mapping[str, Any],
    counts: Sequence[int] | np.ndarray,
    low: float | None,
    high: float | None,
    limits: DriftLimits,
) -> dict[str, Any]:
    """The batch's predicted scores against the validation scores: an entry like a numeric
    feature's in `drift_report` (psi, median_ratio, drifted, moderate, message)."""
    if baseline.get("kind") != "scores" or baseline.get("schema_version") != SCHEMA_VERSION:
        raise ValueError("not a score baseline (data_profile.score_baseline)")
    counts = np.asarray(counts, dtype=np.float64)
    rows = int(counts.sum())
    if len(counts) != len(baseline["edges"]) + 1:
        raise ValueError("the scores were not counted in this baseline's bins")
    value = psi(np.asarray(baseline["counts"], dtype=np.float64), counts) if rows else None
    median = binned_median(baseline["edges"], counts, low, high)
    trained = float(baseline["median"])
    ratio = None if median is None or trained == 0 else median / trained
    judged = rows >= limits.min_rows
    drifted = judged and value is not None and value > limits.psi
    message = f"{SCORE_FEATURE}: " + (
        "no rows" if value is None else f"PSI {value:.2f} (limit {limits.psi:g})"
    )
    if ratio is not None:
        message += f"; the batch's median is {_ratio_text(ratio)}x the validation median"
    return {
        "kind": "numeric",
        "psi": None if value is None else round(value, 6),
        "median_ratio": None if ratio is None else round(ratio, 6),
        "drifted": drifted,
        "moderate": judged and not drifted and value is not None and value > limits.psi_moderate,
        "message": message,
        "rows": rows,
    }
