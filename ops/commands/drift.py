"""`ops drift accept`: load an inference batch that the drift policy blocked, after review.

With `monitoring.drift.action = block`, the Load step of a drifted batch loads nothing and
fails with the drifted features (drift.json beside the run's outputs). Once someone has
looked at the batch, this command starts a *selective* execution of the same pipeline:
only the Load step runs again, on the source execution's Prepare and Predict outputs,
with the source's parameters and DriftAction=warn. Refused for anything but a Failed
inference execution whose Load step failed. The ClientRequestToken is derived from the
execution ARN, so running the command twice starts one execution.
"""

from __future__ import annotations

import argparse
import hashlib
from typing import Any

from ops.commands.retry import checked_execution
from ops.context import OpsContext
from ops.errors import OpsError
from ops.formatting import Result, shorten, table
from ops.watch import execution_steps

LOAD_STEP = "Load"
DRIFT_ACTION = "DriftAction"


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `drift accept`."""
    parser = subparsers.add_parser(
        "drift",
        help="load a batch that the drift policy blocked, after review",
        description=(
            "accept: re-run only the Load step of a blocked inference execution, with "
            "DriftAction=warn (a selective execution reusing its Prepare and Predict)."
        ),
    )
    actions = parser.add_subparsers(dest="drift_action", metavar="ACTION", required=True)
    accept = actions.add_parser(
        "accept", parents=parents, help="load the blocked batch of one execution"
    )
    accept.add_argument("--execution-arn", required=True, metavar="ARN")
    accept.add_argument(
        "--reason", required=True, help="why the drift is acceptable (kept with the execution)"
    )
    accept.set_defaults(handler=accept_command)


def request_token(arn: str) -> str:
    """64 hex characters: one accepting execution per blocked execution."""
    return hashlib.sha256(f"{arn}|accept-drift".encode()).hexdigest()


def _load_step(sagemaker: Any, arn: str) -> dict[str, Any]:
    for step in execution_steps(sagemaker, arn):
        if step.get("StepName") == LOAD_STEP:
            return dict(step)
    raise OpsError(f"refused: the execution has no {LOAD_STEP} step record (did it get there?)")


def _parameters(sagemaker: Any, arn: str) -> list[dict[str, str]]:
    parameters: list[dict[str, str]] = []
    pages = sagemaker.get_paginator("list_pipeline_parameters_for_execution").paginate(
        PipelineExecutionArn=arn
    )
    for page in pages:
        parameters.extend(page.get("PipelineParameters", []))
    return parameters


def accept_command(ctx: OpsContext, args: argparse.Namespace) -> Result:
    """Check the execution, show the plan, confirm, start the selective execution."""
    arn = args.execution_arn.strip()
    reason = args.reason.strip()
    if not reason:
        raise OpsError("refused: --reason must say why the drift is acceptable")
    pipeline, kind, package_type = checked_execution(ctx, arn)
    if kind != "inference":
        raise OpsError(f"refused: {pipeline!r} is a {kind} pipeline; drift blocks only loads")
    sagemaker = ctx.client("sagemaker")
    status = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)[
        "PipelineExecutionStatus"
    ]
    if status != "Failed":
        raise OpsError(f"refused: the execution is {status}; only a Failed (blocked) load")
    load = _load_step(sagemaker, arn)
    if load.get("StepStatus") != "Failed":
        raise OpsError(
            f"refused: its {LOAD_STEP} step is {load.get('StepStatus')}, not Failed: "
            "nothing was blocked (use `ops retry` for other failures)"
        )
    parameters = [
        {"Name": p["Name"], "Value": "warn" if p["Name"] == DRIFT_ACTION else p["Value"]}
        for p in _parameters(sagemaker, arn)
    ]
    if not any(p["Name"] == DRIFT_ACTION for p in parameters):
        parameters.append({"Name": DRIFT_ACTION, "Value": "warn"})
    token = request_token(arn)
    ctx.say(
        table(
            ["execution", "pipeline", "package type", "Load failed with"],
            [
                (
                    arn.rsplit("/", 1)[-1],
                    pipeline,
                    package_type,
                    shorten(load.get("FailureReason", ""), 60),
                )
            ],
        )
    )
    ctx.say(f"\nWill run only {LOAD_STEP} again with {DRIFT_ACTION}=warn; reason: {reason}")
    if not ctx.confirm("Load this batch despite its drift?"):
        raise OpsError("not confirmed; nothing changed")
    response = sagemaker.start_pipeline_execution(
        PipelineName=pipeline,
        PipelineParameters=parameters,
        PipelineExecutionDescription=shorten(f"drift accepted: {reason}", 3000) or "",
        SelectiveExecutionConfig={
            "SourcePipelineExecutionArn": arn,
            "SelectedSteps": [{"StepName": LOAD_STEP}],
        },
        ClientRequestToken=token,
    )
    data = {
        "execution_arn": response["PipelineExecutionArn"],
        "source_execution_arn": arn,
        "pipeline": pipeline,
        "package_type": package_type,
        "reason": reason,
        "client_request_token": token,
    }
    text = (
        f"Started {data['execution_arn']} (only {LOAD_STEP}, DriftAction=warn)\n"
        f"Follow it with: python -m ops --env {ctx.env_name} status --watch"
    )
    return Result(data=data, text=text)
