"""Following pipeline executions step by step: `run --wait` and `status --watch`.

Polls DescribePipelineExecution and ListPipelineExecutionSteps (two read calls per
running execution per poll) and prints a line whenever an execution or one of its steps
changes status, with the failure reason of a step that failed. The clock and the sleep
are injected, so tests follow a whole execution without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ops.errors import OpsError
from pkgml_contracts.runs import execution_display_name

TERMINAL = frozenset({"Succeeded", "Failed", "Stopped"})
DEFAULT_INTERVAL_SECONDS = 30.0


@dataclass
class Clock:
    """Wall-clock time and sleeping (replaced by a fake in tests)."""

    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], None] = field(default=time.sleep)


@dataclass
class Followed:
    """One execution being followed: its latest status, and each step's (in start order),
    with the reason of each step that failed."""

    label: str
    arn: str
    status: str | None = None
    steps: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)


def execution_steps(sagemaker: Any, arn: str, order: str = "Ascending") -> list[dict[str, Any]]:
    """Every step of an execution (ListPipelineExecutionSteps, all pages), in `order` of
    their start (Ascending or Descending)."""
    steps: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"PipelineExecutionArn": arn, "SortOrder": order}
    while True:
        page = sagemaker.list_pipeline_execution_steps(**kwargs)
        steps.extend(page.get("PipelineExecutionSteps", []))
        if not page.get("NextToken"):
            return steps
        kwargs["NextToken"] = page["NextToken"]


def follow(
    sagemaker: Any,
    executions: Mapping[str, str],
    *,
    say: Callable[[str], None],
    clock: Clock | None = None,
    interval: float = DEFAULT_INTERVAL_SECONDS,
    timeout: float | None = None,
    on_poll: Callable[[Sequence[Followed]], None] | None = None,
) -> dict[str, str]:
    """Follow {label: execution ARN} until every one ends; {label: final status}.

    `say` gets a line per change; `on_poll`, if given, every execution after each poll (a
    live display). Raises OpsError when `timeout` seconds pass first (the executions go on
    running)."""
    clock = clock or Clock()
    started = clock.now()
    followed = [Followed(label, arn) for label, arn in executions.items()]
    while True:
        for item in followed:
            if item.status in TERMINAL:
                continue
            described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=item.arn)
            for step in execution_steps(sagemaker, item.arn):
                name, status = step.get("StepName", "?"), step.get("StepStatus", "?")
                if item.steps.get(name) != status:
                    item.steps[name] = status
                    reason = step.get("FailureReason")
                    if status == "Failed" and reason:
                        item.reasons[name] = reason
                    detail = f": {reason}" if status == "Failed" and reason else ""
                    say(f"{_stamp(clock)} {item.label} {name}: {status}{detail}")
            status = described["PipelineExecutionStatus"]
            if status != item.status:
                item.status = status
                say(f"{_stamp(clock)} {item.label}: execution {status}")
        if on_poll is not None:
            on_poll(followed)
        if all(item.status in TERMINAL for item in followed):
            return {item.label: str(item.status) for item in followed}
        waited = (clock.now() - started).total_seconds()
        if timeout is not None and waited >= timeout:
            running = ", ".join(i.label for i in followed if i.status not in TERMINAL)
            raise OpsError(
                f"still running after {waited / 60:.0f} min: {running} (they go on; follow "
                "them with `status --watch`)"
            )
        clock.sleep(interval)


def find_started(
    sagemaker: Any,
    pipelines: Mapping[str, str],
    run_id: str,
    *,
    say: Callable[[str], None],
    clock: Clock | None = None,
    interval: float = 10.0,
    timeout: float = 300.0,
) -> dict[str, str]:
    """The executions the trigger started for `run_id`, by package type ({package type:
    pipeline} in, {package type: execution ARN} out), found by their display name.

    Raises OpsError when one has not started within `timeout` seconds."""
    clock = clock or Clock()
    started = clock.now()
    found: dict[str, str] = {}
    while True:
        for package_type, pipeline in pipelines.items():
            if package_type in found:
                continue
            wanted = execution_display_name(run_id, package_type)
            summaries = sagemaker.list_pipeline_executions(
                PipelineName=pipeline, SortBy="CreationTime", SortOrder="Descending", MaxResults=20
            )["PipelineExecutionSummaries"]
            for summary in summaries:
                if summary.get("PipelineExecutionDisplayName") == wanted:
                    found[package_type] = summary["PipelineExecutionArn"]
                    say(f"{_stamp(clock)} {package_type}: started {found[package_type]}")
                    break
        if len(found) == len(pipelines):
            return found
        if (clock.now() - started).total_seconds() >= timeout:
            missing = ", ".join(sorted(set(pipelines) - set(found)))
            raise OpsError(
                f"no execution started for run {run_id} ({missing}) within {timeout / 60:.0f} "
                "min: the trigger may have quarantined the run file (see the alerts topic, "
                "and quarantine/ in the data bucket) or not been invoked"
            )
        clock.sleep(interval)


def _stamp(clock: Clock) -> str:
    return clock.now().astimezone(UTC).strftime("%H:%M:%S")
