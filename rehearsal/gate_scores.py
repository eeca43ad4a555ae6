"""The gate's score check, both ways: what the stored comparison would have decided
next to the same-data comparison the gate used, from one decision.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rehearsal.plan import APPROVE, REJECT


@dataclass(frozen=True)
class GateScores:
    """The score check of one decision.json both ways: the stored comparison (the
    champion's score on its own validation rows, when it was trained) and the same-data
    one (both models on this week's validation rows), whichever the gate used.

    What the stored comparison would have decided comes from the same document (the
    other checks do not depend on the comparison), not from a second run.
    """

    comparison: str  # what the gate used: same_data or stored
    challenger: float
    stored_champion: float
    limit: float
    tolerance: float
    other_checks_passed: bool  # every non-skipped check but max_score_drop
    same_data: Mapping[str, Any] | None  # decision.json's same_data, when measured

    @property
    def stored_drop(self) -> float:
        """The champion's stored score minus the challenger's."""
        return self.stored_champion - self.challenger

    @property
    def stored_verdict(self) -> str:
        """APPROVE or REJECT: the gate's decision had it used the stored comparison."""
        within = self.stored_drop <= self.limit + self.tolerance
        return APPROVE if within and self.other_checks_passed else REJECT

    def text(self) -> str:
        """Both comparisons in one line, e.g. 'stored: champion 0.970 (its own week) vs
        challenger 0.820 -> drop +0.150, over the 0.020 limit; same rows: challenger
        0.820 vs champion 0.790 on 720 rows, difference +0.030, 95 % interval [+0.001,
        +0.059]; judged on the same rows'."""
        drop = self.stored_drop
        side = "within" if drop <= self.limit + self.tolerance else "over"
        parts = [
            f"stored: champion {self.stored_champion:.3f} (its own week) vs challenger "
            f"{self.challenger:.3f} -> drop {drop:+.3f}, {side} the {self.limit:.3f} limit"
        ]
        same = self.same_data
        if same:
            low, high = (float(v) for v in same["interval"])
            confidence = float(same.get("confidence", 0.95)) * 100
            parts.append(
                f"same rows: challenger {float(same['challenger_score']):.3f} vs champion "
                f"{float(same['champion_score']):.3f} on {int(same['rows']):,} rows, "
                f"difference {float(same['difference']):+.3f}, {confidence:g} % interval "
                f"[{low:+.3f}, {high:+.3f}]"
            )
        else:
            parts.append("same rows: not measured")
        judged = "the same rows" if self.comparison == "same_data" else "the stored scores"
        return "; ".join(parts) + f"; judged on {judged}"


def gate_scores(decision: Mapping[str, Any]) -> GateScores | None:
    """The score check of a decision.json both ways; None when there was no champion (or
    no score to compare)."""
    challenger, champion = decision.get("challenger_score"), decision.get("champion_score")
    if challenger is None or champion is None:
        return None
    checks = decision.get("checks") or []
    criteria = decision.get("criteria") or {}
    return GateScores(
        comparison=str(decision.get("comparison") or "stored"),
        challenger=float(challenger),
        stored_champion=float(champion),
        limit=float(criteria.get("max_score_drop", 0.0)),
        tolerance=float(decision.get("tolerance") or 0.0),
        other_checks_passed=all(
            c.get("passed") or c.get("skipped") for c in checks if c.get("name") != "max_score_drop"
        ),
        same_data=decision.get("same_data") or None,
    )
