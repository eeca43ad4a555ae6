"""The champion/challenger gate's criteria: names, defaults, bounds and pipeline parameters.

One criterion has one name everywhere: the `gate` setting in `cdk.json`
(`stacks/settings.py`), the run file's `parameters.thresholds` (the trigger), the training
pipeline's parameter (`parameter`, e.g. MaxScoreDrop, whose default is the configured
value) and the Compare step's argument (`--max-score-drop`). `low`..`high` is what
configuration and run files may set (inclusive). The Compare step itself only refuses
limits that are negative or not finite: a pipeline started by hand with another value
still runs.

`deviation` names what a limit bounds in decision.json's "deviations" (and, through
`pkgml_contracts.metrics`, the CloudWatch metric the gate publishes for it); the floor
(`min_score`) bounds the challenger's score, not a deviation.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Criterion:
    """One gate limit: setting/run-file name, pipeline parameter, default, accepted range."""

    name: str
    parameter: str
    default: float
    low: float
    high: float
    deviation: str | None

    @property
    def argument(self) -> str:
        """The Compare step's command-line option, e.g. '--max-score-drop'."""
        return "--" + self.name.replace("_", "-")

    def accepts(self, value: float) -> bool:
        """`value` is finite and within low..high (inclusive)."""
        return math.isfinite(value) and self.low <= value <= self.high


# Bounds are written as integers so messages read "from 0 to 1", not "0.0 to 1.0".
CRITERIA: Final[tuple[Criterion, ...]] = (
    Criterion("max_score_drop", "MaxScoreDrop", 0.02, 0, 1, "score_drop"),
    Criterion("min_score", "MinScore", 0.70, 0, 1, None),
    Criterion("max_label_shift", "MaxLabelShift", 0.10, 0, 1, "label_shift"),
    Criterion("max_label_count_change", "MaxLabelCountChange", 0.5, 0, 100, "label_count_change"),
    Criterion("max_input_size_change", "MaxInputSizeChange", 0.5, 0, 100, "input_size_change"),
)  # fmt: skip
"""In the order the training pipeline declares its parameters and the trigger passes them."""

NAMES: Final = tuple(c.name for c in CRITERIA)
PARAMETER_NAMES: Final = tuple(c.parameter for c in CRITERIA)
DEFAULTS: Final[dict[str, float]] = {c.name: c.default for c in CRITERIA}
DEVIATIONS: Final = tuple(c.deviation for c in CRITERIA if c.deviation is not None)
"""decision.json's "deviations" keys, in the order the gate reports them."""

COMPARISONS: Final = ("same_data", "stored")
"""How the score drop is measured: `same_data` (the champion scored on the challenger's
validation rows, a paired difference with its interval) or `stored` (the champion's score
on its own validation set when it was trained)."""
DEFAULT_COMPARISON: Final = "same_data"


def same_rows_text(
    challenger: float,
    champion: float,
    rows: int,
    confidence: float,
    interval: tuple[float, float],
) -> str:
    """The same-data comparison as one sentence (Evaluate's paired section, the gate's
    reasons, the decision notification), e.g. "challenger 0.871 vs champion 0.866 on the
    same 48,210 rows; difference +0.005, 95 % interval [-0.002, +0.012]"."""
    low, high = interval
    return (
        f"challenger {challenger:.3f} vs champion {champion:.3f} on the same {rows:,} rows; "
        f"difference {challenger - champion:+.3f}, {confidence * 100:g} % interval "
        f"[{low:+.3f}, {high:+.3f}]"
    )


PRIMARY_METRIC: Final = "roc_auc"
"""The evaluation metric the gate judges by default (evaluation.json's `metrics`)."""
PRIMARY_METRIC_PATTERN: Final = re.compile(r"[a-z0-9_]+")


def criterion(name: str) -> Criterion:
    """The criterion called `name`; KeyError naming the known ones."""
    for item in CRITERIA:
        if item.name == name:
            return item
    raise KeyError(f"no gate criterion {name!r}; criteria: {', '.join(NAMES)}")
