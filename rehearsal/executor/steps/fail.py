"""Fail step: the step fails with its (resolved) ErrorMessage, so the execution ends Failed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rehearsal.executor.errors import StepError
from rehearsal.executor.expressions import Expressions, render
from rehearsal.executor.records import StepRecord


def run(expressions: Expressions, step: Mapping[str, Any], record: StepRecord) -> None:
    """Raise the StepError that fails the step."""
    message = expressions.resolve(step.get("Arguments", {}).get("ErrorMessage", ""))
    raise StepError(f"Fail step {record.name!r}: {render(message)}")
