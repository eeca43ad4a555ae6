"""Data-quality bounds and drift limits: the configuration's names, defaults and wire form.

The settings (`stacks/settings.py`: `data_quality`, `monitoring.drift`) validate them, the
pipeline builders pass them to the steps as compact JSON (`quality_bounds_json`,
`drift_limits_json`), and the steps parse that JSON with
`profile_limits.QualityBounds.from_json` and `profile_limits.DriftLimits.from_json`
(`pipeline_defs/steps/profile_limits.py`). Pure Python: the app imports it at synth time
without numpy or pyarrow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final, Literal

QUALITY_COLUMNS: Final = (
    "length_cm",
    "width_cm",
    "height_cm",
    "weight_kg",
    "fragility",
    "is_liquid",
    "has_battery",
    "category",
    "price",
)
"""The raw columns the features are computed from (`features.REQUIRED_COLUMNS`): the ones
whose null rate is checked."""

DEFAULT_MAX_NULL_RATE: Final = 0.05
DEFAULT_MAX_INVALID_RATE: Final = 0.01
DEFAULT_MAX_DUPLICATE_IDS: Final = 0
DEFAULT_MIN_ROWS_TRAINING: Final = 500
DEFAULT_MIN_ROWS_INFERENCE: Final = 1

DriftAction = Literal["warn", "block"]
DRIFT_ACTIONS: Final = ("warn", "block")
DEFAULT_DRIFT_ACTION: Final[DriftAction] = "warn"
DEFAULT_PSI_LIMIT: Final = 0.25
DEFAULT_CATEGORY_DISTANCE_LIMIT: Final = 0.2
DEFAULT_DRIFT_MIN_ROWS: Final = 1000
DEFAULT_PSI_MODERATE: Final = 0.1


def compact_json(document: Mapping[str, object]) -> str:
    """Compact JSON, keys sorted: the same values give the same text (definitions, steps)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def quality_bounds_json(
    *,
    min_rows: int,
    max_null_rate: float,
    null_rates: Mapping[str, float],
    max_invalid_rate: float,
    max_duplicate_ids: int,
) -> str:
    """The `--quality-bounds` argument of split.py and prepare.py (deterministic JSON)."""
    return compact_json(
        {
            "min_rows": min_rows,
            "max_null_rate": max_null_rate,
            "null_rates": dict(sorted(null_rates.items())),
            "max_invalid_rate": max_invalid_rate,
            "max_duplicate_ids": max_duplicate_ids,
        }
    )


def drift_limits_json(
    *, psi: float, category_distance: float, min_rows: int, psi_moderate: float
) -> str:
    """The `--drift-limits` argument of load.py (deterministic JSON)."""
    return compact_json(
        {
            "psi": psi,
            "category_distance": category_distance,
            "min_rows": min_rows,
            "psi_moderate": psi_moderate,
        }
    )
