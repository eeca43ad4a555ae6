"""`ops retry`: RetryPipelineExecution of a Failed or Stopped execution of this environment.

The ClientRequestToken is derived from the execution ARN and the time it last changed, so
running the same command twice (a lost response, a double click) retries once, while a
retry after the next failure gets a new token.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from typing import Any

from ops.commands.status import RETRYABLE, current_step
from ops.context import OpsContext
from ops.errors import OpsError, UsageError
from ops.formatting import Result, iso, shorten, table

EXECUTION_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"pipeline/(?P<pipeline>[A-Za-z0-9-]{1,256})/execution/(?P<id>[A-Za-z0-9]{1,256})"
)


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `retry`."""
    parser = subparsers.add_parser(
        "retry",
        parents=parents,
        help="retry a Failed or Stopped pipeline execution",
        description=(
            "RetryPipelineExecution: resumes from the failed step, keeping the successful "
            "ones. Only executions of this environment's pipelines, only Failed or Stopped."
        ),
    )
    parser.add_argument("--execution-arn", required=True, metavar="ARN")
    parser.set_defaults(handler=retry_command)


def request_token(arn: str, last_modified: Any) -> str:
    """64 hex characters: the same failure of the same execution always gets the same token."""
    return hashlib.sha256(f"{arn}|{iso(last_modified)}".encode()).hexdigest()


def checked_execution(ctx: OpsContext, arn: str) -> tuple[str, str, str]:
    """(pipeline, kind, package type) of an execution ARN of this environment's pipelines;
    UsageError for a malformed ARN, OpsError for another environment's."""
    match = EXECUTION_ARN.fullmatch(arn)
    if match is None:
        raise UsageError(
            f"--execution-arn {arn!r}: expected "
            "arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>"
        )
    # SageMaker writes pipeline names in lowercase into ARNs; ours are lowercase anyway.
    known = {name.lower(): owner for name, owner in ctx.known_pipelines().items()}
    pipeline = match["pipeline"].lower()
    if pipeline not in known:
        raise OpsError(
            f"refused: {pipeline!r} is not a pipeline of environment {ctx.env_name!r} "
            f"(project {ctx.project}); check --env"
        )
    if match["region"] != ctx.region or match["account"] != ctx.environment.account:
        raise OpsError(
            f"refused: the execution is in {match['account']}/{match['region']}; environment "
            f"{ctx.env_name!r} is {ctx.environment.account}/{ctx.region}"
        )
    kind, package_type = known[pipeline]
    return pipeline, kind, package_type


def retry_command(ctx: OpsContext, args: argparse.Namespace) -> Result:
    """Check the ARN and the state, show the plan, confirm, retry."""
    arn = args.execution_arn.strip()
    pipeline, kind, package_type = checked_execution(ctx, arn)
    sagemaker = ctx.client("sagemaker")
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    status = described["PipelineExecutionStatus"]
    if status not in RETRYABLE:
        raise OpsError(
            f"refused: the execution is {status}; only Failed or Stopped executions can be "
            "retried (start a new run with `ops run` instead)"
        )
    step, reason = current_step(sagemaker, arn, status)
    token = request_token(arn, described.get("LastModifiedTime"))
    ctx.say(
        table(
            ["execution", "pipeline", "status", "failed step", "reason"],
            [(arn.rsplit("/", 1)[-1], pipeline, status, step, shorten(reason, 60))],
        )
    )
    ctx.say(f"\nWill retry {arn} from its failed step (ClientRequestToken {token[:12]}...).")
    if not ctx.confirm("Retry this execution?"):
        raise OpsError("not confirmed; nothing changed")
    response = sagemaker.retry_pipeline_execution(
        PipelineExecutionArn=arn, ClientRequestToken=token
    )
    data = {
        "execution_arn": response.get("PipelineExecutionArn", arn),
        "pipeline": pipeline,
        "kind": kind,
        "package_type": package_type,
        "previous_status": status,
        "failed_step": step,
        "client_request_token": token,
        "retried": True,
    }
    text = (
        f"Retried {data['execution_arn']}\n"
        f"Follow it with: python -m ops --env {ctx.env_name} status"
    )
    return Result(data=data, text=text)
