"""`ops status` and `ops retry`: botocore Stubber for the calls moto lacks, moto for the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from ops.commands.retry import request_token
from tests.ops.conftest import Clients, Names, Runner

T0 = datetime(2026, 11, 23, 3, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 23, 3, 42, 7, tzinfo=UTC)


def execution_arn(names: Names, pipeline: str, execution: str) -> str:
    env = names.env
    return f"arn:aws:sagemaker:{env.region}:{env.account}:pipeline/{pipeline}/execution/{execution}"


def describe(arn: str, status: str, reason: str = "") -> dict[str, Any]:
    return {
        "PipelineExecutionArn": arn,
        "PipelineExecutionStatus": status,
        "PipelineExecutionDisplayName": "t-1-mailer",
        "CreationTime": T0,
        "LastModifiedTime": T1,
        "FailureReason": reason,
    }


def steps(*items: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "PipelineExecutionSteps": [
            {"StepName": name, "StepStatus": status, "FailureReason": reason, "StartTime": T0}
            for name, status, reason in items
        ]
    }


def test_status_shows_failing_step_reason_and_missing_pipelines(
    stub_cli: Runner, stubbed: tuple[Any, Stubber], names: Names
) -> None:
    _, stub = stubbed
    training = names.pipeline("training", "mailer")
    failed = execution_arn(names, training, "aaaa1111")
    good = execution_arn(names, training, "bbbb2222")
    stub.add_response(
        "list_pipeline_executions",
        {
            "PipelineExecutionSummaries": [
                {"PipelineExecutionArn": failed, "PipelineExecutionStatus": "Failed"},
                {"PipelineExecutionArn": good, "PipelineExecutionStatus": "Succeeded"},
            ]
        },
        {
            "PipelineName": training,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 2,
        },
    )
    stub.add_response(
        "describe_pipeline_execution", describe(failed, "Failed", "Step failure: Train")
    )
    stub.add_response(
        "list_pipeline_execution_steps",
        steps(
            ("Train", "Failed", "ClientError: AlgorithmError: out of memory"),
            ("Split", "Succeeded", ""),
        ),
        {"PipelineExecutionArn": failed, "SortOrder": "Descending"},
    )
    stub.add_response("describe_pipeline_execution", describe(good, "Succeeded"))
    stub.add_client_error(
        "list_pipeline_executions",
        service_error_code="ValidationException",
        service_message="Pipeline does not exist",
    )

    result = stub_cli("status", "--package-type", "mailer", "--last", "2")
    assert result.code == 0, result.err
    rows = [line for line in result.out.splitlines() if line.startswith("mailer")]
    assert rows[0].split()[:6] == [
        "mailer", "training", "t-1", "aaaa1111", "Failed", "2026-11-23",
    ]  # fmt: skip
    assert "42m07s" in rows[0]
    assert "Train" in rows[0]
    assert "AlgorithmError: out of memory" in rows[0]
    assert rows[1].split()[4] == "Succeeded"
    assert names.pipeline("inference", "mailer") in result.out  # listed as not found
    assert f"retry --execution-arn {failed}" in result.out


def test_status_json(stub_cli: Runner, stubbed: tuple[Any, Stubber], names: Names) -> None:
    _, stub = stubbed
    training = names.pipeline("training", "box")
    arn = execution_arn(names, training, "cccc3333")
    stub.add_response(
        "list_pipeline_executions",
        {"PipelineExecutionSummaries": [{"PipelineExecutionArn": arn}]},
    )
    stub.add_response("describe_pipeline_execution", describe(arn, "Executing"))
    stub.add_response(
        "list_pipeline_execution_steps",
        steps(("Evaluate", "Executing", ""), ("Train", "Succeeded", "")),
    )
    result = stub_cli(
        "--json", "status", "--package-type", "box", "--pipeline", "training", "--last", "1"
    )
    assert result.code == 0, result.err
    (record,) = result.json()["executions"]
    assert record["arn"] == arn
    # not the trigger's '<run id>-box' form: the display name is shown as it is
    assert record["run_id"] == "t-1-mailer"
    assert record["status"] == "Executing"
    assert record["step"] == "Evaluate"
    assert record["started"] == "2026-11-23T03:00:00Z"
    assert record["duration_seconds"] > 0  # still running: measured up to now


def test_status_against_moto(cli: Runner, names: Names, clients: Clients) -> None:
    sagemaker = clients("sagemaker", names.env.region)
    pipeline = names.pipeline("inference", "bag")
    sagemaker.create_pipeline(
        PipelineName=pipeline,
        PipelineDefinition="{}",
        RoleArn=f"arn:aws:iam::{names.env.account}:role/example",
    )
    for _ in range(3):
        sagemaker.start_pipeline_execution(PipelineName=pipeline)
    result = cli("--json", "status", "--package-type", "bag", "--last", "2")
    assert result.code == 0, result.err
    data = result.json()
    assert [r["status"] for r in data["executions"]] == ["Succeeded", "Succeeded"]
    assert data["missing_pipelines"] == [names.pipeline("training", "bag")]


def test_retry_failed_execution_with_a_stable_token(
    stub_cli: Runner, stubbed: tuple[Any, Stubber], names: Names
) -> None:
    _, stub = stubbed
    arn = execution_arn(names, names.pipeline("training", "mailer"), "aaaa1111")
    assert arn == (
        "arn:aws:sagemaker:us-east-1:222222222222:pipeline/pkgml-dev-mailer-training/"
        "execution/aaaa1111"
    )
    # sha256 of "<arn>|2026-11-23T03:42:07Z" (the failure's last-modified time), by hand:
    # the same failure always sends this token; another failure of the run another one.
    token = "c050e83bae48296904ca1f27293251ef7a93e5d1e0507e46e02f515e5058105a"
    assert request_token(arn, datetime(2026, 11, 24, tzinfo=UTC)) != token
    stub.add_response("describe_pipeline_execution", describe(arn, "Failed"))
    stub.add_response("list_pipeline_execution_steps", steps(("Train", "Failed", "OOM")))
    stub.add_response(
        "retry_pipeline_execution",
        {"PipelineExecutionArn": arn},
        {"PipelineExecutionArn": arn, "ClientRequestToken": token},
    )
    result = stub_cli("--json", "retry", "--execution-arn", arn, "--yes")
    assert result.code == 0, result.err
    data = result.json()
    assert data["retried"] is True
    assert data["failed_step"] == "Train"
    assert data["package_type"] == "mailer"


@pytest.mark.parametrize("status", ["Succeeded", "Executing", "Stopping"])
def test_retry_refuses_unless_failed_or_stopped(
    stub_cli: Runner, stubbed: tuple[Any, Stubber], names: Names, status: str
) -> None:
    _, stub = stubbed
    arn = execution_arn(names, names.pipeline("inference", "mailer"), "dddd4444")
    stub.add_response("describe_pipeline_execution", describe(arn, status))
    result = stub_cli("retry", "--execution-arn", arn, "--yes")
    assert result.code == 1
    assert f"is {status}" in result.err


def test_retry_not_confirmed(stub_cli: Runner, stubbed: tuple[Any, Stubber], names: Names) -> None:
    _, stub = stubbed
    arn = execution_arn(names, names.pipeline("inference", "mailer"), "eeee5555")
    stub.add_response("describe_pipeline_execution", describe(arn, "Stopped"))
    stub.add_response("list_pipeline_execution_steps", steps(("Load", "Stopped", "")))
    result = stub_cli("retry", "--execution-arn", arn, stdin="no\n")
    assert result.code == 1
    assert "Load" in result.out  # the plan was shown


def test_retry_refuses_other_environments_and_bad_arns(stub_cli: Runner, names: Names) -> None:
    prod_pipeline = names.pipeline("training", "mailer").replace("-dev-", "-prod-")
    foreign = execution_arn(names, prod_pipeline, "ffff6666")
    result = stub_cli("retry", "--execution-arn", foreign, "--yes")
    assert result.code == 1
    assert "not a pipeline of environment 'dev'" in result.err
    assert stub_cli("retry", "--execution-arn", "arn:aws:s3:::bucket", "--yes").code == 2
    assert stub_cli("retry", "--yes").code == 2
