"""Condition step: evaluate every condition (all must hold); the outcome decides which
branch runs (the executor skips the other)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rehearsal.executor.errors import StepError, UnsupportedError
from rehearsal.executor.expressions import Expressions
from rehearsal.executor.records import StepRecord

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}


def run(expressions: Expressions, step: Mapping[str, Any], record: StepRecord) -> None:
    """Record the step's Outcome: True when every one of its Conditions holds."""
    conditions = step.get("Arguments", {}).get("Conditions", [])
    outcome = all(evaluate(expressions, condition) for condition in conditions)
    record.properties = {"Outcome": outcome}
    record.outputs = {"outcome": outcome}


def evaluate(expressions: Expressions, condition: dict[str, Any]) -> bool:
    """One condition: Not, Or, In, Equals or a numeric comparison."""
    kind = condition.get("Type")
    if kind == "Not":
        return not evaluate(expressions, condition["Expression"])
    if kind == "Or":
        return any(evaluate(expressions, c) for c in condition["Conditions"])
    if kind == "In":
        query = expressions.resolve(condition["QueryValue"])
        return any(_equal(query, v) for v in expressions.resolve(condition["Values"]))
    left = expressions.resolve(condition.get("LeftValue"))
    right = expressions.resolve(condition.get("RightValue"))
    if kind == "Equals":
        return _equal(left, right)
    if kind not in _COMPARISONS:
        raise UnsupportedError(f"condition type {kind!r} is not emulated")
    try:
        return _COMPARISONS[kind](float(left), float(right))
    except (TypeError, ValueError) as error:
        raise StepError(f"{kind}: cannot compare {left!r} with {right!r}") from error


def _equal(left: Any, right: Any) -> bool:
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers) and not isinstance(left, bool):
        return float(left) == float(right)
    return bool(left == right)
