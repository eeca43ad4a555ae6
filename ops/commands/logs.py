"""`ops logs`: the CloudWatch log of a pipeline step's job, without the console.

Finds the step (named, else the one that failed, else the latest that ran a job) in
ListPipelineExecutionSteps, the job in its metadata (processing, training or transform),
and prints the last lines of the job's log streams (`/aws/sagemaker/<kind>Jobs`, streams
named after the job).
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from botocore.exceptions import ClientError

from ops.commands.retry import checked_execution
from ops.commands.status import positive_int
from ops.context import OpsContext
from ops.errors import OpsError, UsageError
from ops.formatting import Result
from ops.watch import execution_steps

LOG_GROUPS = {
    "processing-job": "/aws/sagemaker/ProcessingJobs",
    "training-job": "/aws/sagemaker/TrainingJobs",
    "transform-job": "/aws/sagemaker/TransformJobs",
}
_JOB_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[^:]*:\d{12}:(?P<kind>[a-z-]+)/(?P<name>.+)")


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `logs`."""
    parser = subparsers.add_parser(
        "logs",
        parents=parents,
        help="the log of a step's job (default: the failed step)",
        description=(
            "Print the last lines of the CloudWatch log of a pipeline step's processing, "
            "training or transform job: the named --step, else the step that failed, else "
            "the latest step that ran a job."
        ),
    )
    parser.add_argument("--execution-arn", required=True, metavar="ARN")
    parser.add_argument("--step", metavar="NAME", help="the step (default: the failed one)")
    parser.add_argument(
        "--lines", type=positive_int, default=100, metavar="N", help="last N lines (100)"
    )
    parser.set_defaults(handler=logs_command)


def job_of(step: dict[str, Any]) -> str | None:
    """The processing/training/transform job ARN in a step's metadata, if any."""
    for value in (step.get("Metadata") or {}).values():
        if isinstance(value, dict) and isinstance(value.get("Arn"), str):
            match = _JOB_ARN.fullmatch(value["Arn"])
            if match and match["kind"] in LOG_GROUPS:
                return str(value["Arn"])
    return None


def _chosen(steps: list[dict[str, Any]], name: str | None) -> dict[str, Any]:
    if name is not None:
        for step in steps:
            if step.get("StepName") == name:
                return step
        known = ", ".join(sorted({str(s.get("StepName")) for s in steps})) or "(none yet)"
        raise UsageError(f"--step {name!r}: the execution has no such step; its steps: {known}")
    for step in steps:  # newest first
        if step.get("StepStatus") == "Failed":
            return step
    for step in steps:
        if job_of(step):
            return step
    raise OpsError("the execution has run no job yet: no log to show")


def _event(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "stream": event.get("logStreamName"),
        "timestamp": event.get("timestamp"),
        "message": event.get("message"),
    }


def logs_command(ctx: OpsContext, args: argparse.Namespace) -> Result:
    """Find the step's job and print the end of its log."""
    arn = args.execution_arn.strip()
    checked_execution(ctx, arn)
    step = _chosen(execution_steps(ctx.client("sagemaker"), arn, "Descending"), args.step)
    name, status = step.get("StepName"), step.get("StepStatus")
    job = job_of(step)
    if job is None:
        reason = step.get("FailureReason") or "none reported"
        raise OpsError(
            f"step {name} ({status}) ran no processing, training or transform job, so it has "
            f"no job log; its failure reason: {reason}"
        )
    match = _JOB_ARN.fullmatch(job)
    assert match is not None  # job_of matched it
    group, job_name = LOG_GROUPS[match["kind"]], match["name"]
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamNamePrefix": job_name}
    try:
        while True:
            page = ctx.client("logs").filter_log_events(**kwargs)
            events.extend(page.get("events", []))
            if not page.get("nextToken") or page["nextToken"] == kwargs.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    events.sort(key=lambda event: (event.get("timestamp", 0), event.get("logStreamName", "")))
    shown = events[-args.lines :]
    header = f"{name} ({status}): {group}, streams {job_name}*"
    if not events:
        text = f"{header}\n(no log events: the job may not have started, or wrote nothing)"
    else:
        more = f" (last {len(shown)} of {len(events)})" if len(shown) < len(events) else ""
        lines = [
            f"{event.get('logStreamName', '')}: {event.get('message', '')}".rstrip()
            for event in shown
        ]
        text = "\n".join([header + more, *lines])
    data = {
        "step": name,
        "status": status,
        "job_arn": job,
        "log_group": group,
        "events": [_event(e) for e in shown],
    }
    return Result(data=data, text=text)
