"""`ops status`: the latest executions of every pipeline of the environment.

For each execution: state, start, duration, and for one that failed (or is running) the
step concerned with its failure reason, from ListPipelineExecutionSteps.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from ops.context import OpsContext
from ops.formatting import Result, format_duration, seconds_between, shorten, table
from ops.watch import execution_steps, follow
from pkgml_contracts.runs import PIPELINE_KINDS

TERMINAL = frozenset({"Succeeded", "Failed", "Stopped"})
NEEDS_STEPS = frozenset({"Failed", "Stopped", "Executing", "Stopping"})
RETRYABLE = frozenset({"Failed", "Stopped"})
STATUS_HEADERS = (
    "package type",
    "pipeline",
    "run id",
    "execution",
    "status",
    "started",
    "took",
    "step",
    "reason",
)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `status`."""
    parser = subparsers.add_parser(
        "status",
        parents=parents,
        help="latest executions per pipeline, with the failing step and reason",
        description="The latest executions of each selected pipeline, newest first.",
    )
    parser.add_argument(
        "--last", type=positive_int, default=5, metavar="N", help="executions per pipeline (5)"
    )
    parser.add_argument(
        "--pipeline",
        choices=PIPELINE_KINDS,
        action="append",
        help="training and/or inference (default: both)",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="then follow the running executions shown, step by step, until they end",
    )
    parser.add_argument(
        "--interval", type=positive_int, default=30, metavar="SECONDS", help=argparse.SUPPRESS
    )
    parser.set_defaults(handler=status_command)


def status_command(ctx: OpsContext, args: argparse.Namespace) -> Result:
    """Collect the executions of every selected pipeline; list retry commands for failures."""
    kinds = [k for k in PIPELINE_KINDS if k in (args.pipeline or PIPELINE_KINDS)]
    now = datetime.now(UTC)
    records: list[dict[str, Any]] = []
    missing: list[str] = []
    for package_type in ctx.package_types:
        for kind in kinds:
            name = ctx.pipeline_name(kind, package_type)
            executions = pipeline_executions(ctx.client("sagemaker"), name, args.last, now)
            if executions is None:
                missing.append(name)
                continue
            for record in executions:
                run_id = run_id_of(record["display_name"], package_type)
                records.append(
                    {"package_type": package_type, "kind": kind, "run_id": run_id, **record}
                )

    data: dict[str, Any] = {
        "environment": ctx.env_name,
        "region": ctx.region,
        "executions": records,
        "missing_pipelines": missing,
    }
    rows = [
        (
            r["package_type"],
            r["kind"],
            r["run_id"],
            r["execution"],
            r["status"],
            r["started"],
            format_duration(r["duration_seconds"]),
            r["step"],
            shorten(r["reason"], 60),
        )
        for r in records
    ]
    lines = [
        f"{ctx.env_name} ({ctx.region}): last {args.last} executions per pipeline",
        "",
        table(
            list(STATUS_HEADERS),
            rows,
        ),
    ]
    if not records:
        lines.append("(no executions)")
    if missing:
        lines += ["", "Not found (not deployed to this account/region?): " + ", ".join(missing)]
    retryable = [r for r in records if r["status"] in RETRYABLE]
    if retryable:
        lines += ["", "Retry with:"]
        lines += [
            f"  python -m ops --env {ctx.env_name} retry --execution-arn {r['arn']}"
            for r in retryable
        ]
    running = {
        f"{r['package_type']} {r['kind']} {r['execution']}": r["arn"]
        for r in records
        if r["status"] not in TERMINAL
    }
    if not args.watch or not running:
        if args.watch:
            lines += ["", "Nothing running to watch."]
        return Result(data=data, text="\n".join(lines))
    ctx.say("\n".join(lines))
    ctx.say("")
    with ctx.board() as board:
        final = follow(
            ctx.client("sagemaker"),
            running,
            say=board.say,
            clock=ctx.clock,
            interval=args.interval,
            on_poll=board.update,
        )
    data["watched"] = final
    ended = [f"{label}: {status}" for label, status in final.items()]
    failed = any(status != "Succeeded" for status in final.values())
    return Result(data=data, text="\n".join(["", *ended]), exit_code=1 if failed else 0)


def run_id_of(display_name: str | None, package_type: str) -> str | None:
    """The run id in a display name the trigger gave ('<run id>-<package type>'); another
    display name (an execution started by hand) as it is."""
    if display_name and display_name.endswith(f"-{package_type}"):
        return display_name.removesuffix(f"-{package_type}") or display_name
    return display_name


def pipeline_executions(
    sagemaker: Any, pipeline: str, last: int, now: datetime
) -> list[dict[str, Any]] | None:
    """The newest `last` executions of a pipeline as plain records; None if it does not exist."""
    try:
        summaries = sagemaker.list_pipeline_executions(
            PipelineName=pipeline,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=last,
        )["PipelineExecutionSummaries"]
    except ClientError as exc:
        if _is_missing(exc):
            return None
        raise
    return [execution_record(sagemaker, s["PipelineExecutionArn"], now) for s in summaries[:last]]


def execution_record(sagemaker: Any, arn: str, now: datetime) -> dict[str, Any]:
    """One execution: status, times, and the failed/stopped/running step with its reason."""
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    status = described["PipelineExecutionStatus"]
    started = described.get("CreationTime")
    ended = described.get("LastModifiedTime") if status in TERMINAL else now
    step, reason = None, _reason(described.get("FailureReason"))
    if status in NEEDS_STEPS:
        step, step_reason = current_step(sagemaker, arn, status)
        reason = step_reason or reason
    return {
        "arn": arn,
        "execution": arn.rsplit("/", 1)[-1],
        "display_name": described.get("PipelineExecutionDisplayName"),
        "status": status,
        "started": started,
        "duration_seconds": seconds_between(started, ended),
        "step": step,
        "reason": reason,
    }


def current_step(sagemaker: Any, arn: str, status: str) -> tuple[str | None, str | None]:
    """(step name, reason) of the step that failed, stopped, or is running now."""
    wanted = {
        "Failed": ("Failed",),
        "Stopped": ("Stopped", "Failed"),
        "Stopping": ("Stopping", "Executing"),
        "Executing": ("Executing",),
    }[status]
    steps = execution_steps(sagemaker, arn, "Descending")
    for state in wanted:
        for step in steps:
            if step.get("StepStatus") == state:
                return step.get("StepName"), _reason(step.get("FailureReason"))
    return None, None


def _reason(text: Any) -> str | None:
    # moto reports the string 'None' for "no failure"; the service omits the field.
    if not text or text == "None":
        return None
    return str(text)


def _is_missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    message = str(error.get("Message", "")).lower()
    if error.get("Code") == "ResourceNotFound":
        return True
    return error.get("Code") == "ValidationException" and (
        "does not exist" in message or "could not find" in message
    )
