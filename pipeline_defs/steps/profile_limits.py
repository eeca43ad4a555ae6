"""The thresholds the data-quality and drift steps receive as JSON.

- `QualityBounds`: what a batch of raw rows must satisfy (checked by quality_checks.py and
  quality_counter.py): at least `min_rows` rows, at most `max_null_rate` nulls per raw column
  (or the column's `null_rates` entry), at most `max_invalid_rate` of a column's non-null
  values outside its range (`ranges`, inclusive; DEFAULT_RANGES unless given), at most
  `max_duplicate_ids` repeated product ids.
- `DriftLimits`: when a feature counts as drifted (applied by drift_stats.py and
  score_stats.py): a PSI above `psi` or, categorical, a total variation distance above
  `category_distance`; a moderate shift above `psi_moderate`; a batch of fewer than
  `min_rows` rows is not judged.

Both validate every field (ValueError naming it) and go to and from compact JSON with sorted
keys (`to_json` / `from_json`; missing keys keep their defaults, pkgml_contracts.data_quality's,
the same as the configuration's): the JSON that pkgml_contracts.data_quality puts into the
pipeline definitions. A library without a CLI (pyarrow, the standard library and
pkgml_contracts), imported as a sibling module by the step scripts.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from pkgml_contracts import data_quality as dq

if __package__:
    from . import features
else:  # run as a script: the sibling modules sit on PYTHONPATH or in the script's directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import features  # type: ignore[no-redef]

Range = tuple[float | None, float | None]
DEFAULT_RANGES: Mapping[str, Range] = {
    "length_cm": (0.0, None),
    "width_cm": (0.0, None),
    "height_cm": (0.0, None),
    "weight_kg": (0.0, None),
    "price": (0.0, None),
    "fragility": (0.0, 3.0),
}

# The raw columns read as strings; every other raw column (and the label) is a number.
STRING_COLUMNS = frozenset(
    f.name for f in features.RAW_SCHEMA if pa.types.is_string(f.type) and f.name
) & frozenset(features.RAW_COLUMNS)
NUMERIC_COLUMNS = tuple(c for c in features.REQUIRED_COLUMNS if c not in STRING_COLUMNS)


# --- text and validation helpers ---------------------------------------------------------


def number_text(value: float) -> str:
    """A number as people write it: 3 not 3.0, -1.5, inf, nan."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_rate(what: str, value: Any) -> float:
    if not is_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be a number between 0 and 1, got {value!r}")
    return float(value)


def check_count(what: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a whole number >= 0, got {value!r}")
    return value


def parse_object(text: str, what: str, known: Sequence[str]) -> dict[str, Any]:
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


compact_json = dq.compact_json


def range_text(bounds: Range) -> str:
    """[0, inf), [0, 3], (-inf, 5]."""
    low, high = bounds
    left = "(-inf" if low is None else f"[{number_text(low)}"
    right = "inf)" if high is None else f"{number_text(high)}]"
    return f"{left}, {right}"


# --- the bounds and limits ---------------------------------------------------------------


@dataclass(frozen=True)
class QualityBounds:
    """What a batch of raw rows must satisfy (module doc); JSON via to_json / from_json.

    `null_rates` overrides `max_null_rate` per column; `ranges` (inclusive, None for no
    bound) replaces DEFAULT_RANGES as a whole when given.
    """

    min_rows: int = dq.DEFAULT_MIN_ROWS_INFERENCE
    max_null_rate: float = dq.DEFAULT_MAX_NULL_RATE
    null_rates: dict[str, float] = field(default_factory=dict)
    max_invalid_rate: float = dq.DEFAULT_MAX_INVALID_RATE
    ranges: dict[str, Range] = field(default_factory=lambda: dict(DEFAULT_RANGES))
    max_duplicate_ids: int = dq.DEFAULT_MAX_DUPLICATE_IDS

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
        check_count(f"{what}: 'min_rows'", self.min_rows)
        check_count(f"{what}: 'max_duplicate_ids'", self.max_duplicate_ids)
        object.__setattr__(
            self, "max_null_rate", check_rate(f"{what}: 'max_null_rate'", self.max_null_rate)
        )
        object.__setattr__(
            self,
            "max_invalid_rate",
            check_rate(f"{what}: 'max_invalid_rate'", self.max_invalid_rate),
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
            null_rates[column] = check_rate(f"{what}: 'null_rates' of {column!r}", rate)
        object.__setattr__(self, "null_rates", null_rates)
        if not isinstance(self.ranges, Mapping):
            raise ValueError(
                f"{what}: 'ranges' must be an object of column: [low, high], got {self.ranges!r}"
            )
        ranges: dict[str, Range] = {}
        for column, bounds in self.ranges.items():
            if column not in NUMERIC_COLUMNS:
                raise ValueError(
                    f"{what}: 'ranges' names {column!r}, not a numeric column; the numeric "
                    f"columns are {', '.join(NUMERIC_COLUMNS)}"
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
            if value is not None and not is_number(value):
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
        return compact_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> QualityBounds:
        """Bounds from JSON (missing keys keep their defaults); ValueError naming a bad key."""
        return cls.from_dict(parse_object(text, "quality bounds", cls.KEYS))

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

    psi: float = dq.DEFAULT_PSI_LIMIT
    category_distance: float = dq.DEFAULT_CATEGORY_DISTANCE_LIMIT
    min_rows: int = dq.DEFAULT_DRIFT_MIN_ROWS
    psi_moderate: float = dq.DEFAULT_PSI_MODERATE

    KEYS: ClassVar[tuple[str, ...]] = ("psi", "category_distance", "min_rows", "psi_moderate")

    def __post_init__(self) -> None:
        """Validate every field (ValueError naming it)."""
        if not is_number(self.psi) or self.psi <= 0:
            raise ValueError(f"drift limits: 'psi' must be a number > 0, got {self.psi!r}")
        object.__setattr__(self, "psi", float(self.psi))
        if not is_number(self.psi_moderate) or not 0 < self.psi_moderate <= self.psi:
            raise ValueError(
                "drift limits: 'psi_moderate' must be a number > 0 and at most 'psi' "
                f"({self.psi:g}), got {self.psi_moderate!r}"
            )
        object.__setattr__(self, "psi_moderate", float(self.psi_moderate))
        object.__setattr__(
            self,
            "category_distance",
            check_rate("drift limits: 'category_distance'", self.category_distance),
        )
        check_count("drift limits: 'min_rows'", self.min_rows)

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
        return compact_json(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> DriftLimits:
        """Limits from JSON (missing keys keep their defaults); ValueError naming a bad key."""
        return cls(**parse_object(text, "drift limits", cls.KEYS))
