"""`ops drift accept`: a blocked load is loaded again only through a selective execution."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from tests.ops.conftest import Names, Runner
from tests.ops.test_status_retry import describe, execution_arn, steps


def _blocked(stub: Stubber, arn: str) -> None:
    stub.add_response("describe_pipeline_execution", describe(arn, "Failed", "Step failure"))
    stub.add_response(
        "list_pipeline_execution_steps",
        steps(
            ("Load", "Failed", "AlgorithmError: Input drift blocked the load"),
            ("Predict", "Succeeded", ""),
        ),
        {"PipelineExecutionArn": arn, "SortOrder": "Ascending"},
    )
    stub.add_response(
        "list_pipeline_parameters_for_execution",
        {
            "PipelineParameters": [
                {"Name": "InputManifestUri", "Value": "s3://data/unload/daily/e-1/manifest"},
                {"Name": "RunId", "Value": "daily-20261201-mailer"},
                {"Name": "DriftAction", "Value": "block"},
            ]
        },
        {"PipelineExecutionArn": arn},
    )


def test_accept_runs_only_load_with_the_same_parameters_and_warn(
    stub_cli: Runner,
    stubbed: tuple[Any, Stubber],
    names: Names,
) -> None:
    _, stub = stubbed
    pipeline = names.pipeline("inference", "mailer")
    arn = execution_arn(names, pipeline, "aaaa1111")
    _blocked(stub, arn)
    new = execution_arn(names, pipeline, "bbbb2222")
    stub.add_response(
        "start_pipeline_execution",
        {"PipelineExecutionArn": new},
        {
            "PipelineName": pipeline,
            "PipelineParameters": [
                {"Name": "InputManifestUri", "Value": "s3://data/unload/daily/e-1/manifest"},
                {"Name": "RunId", "Value": "daily-20261201-mailer"},
                {"Name": "DriftAction", "Value": "warn"},
            ],
            "PipelineExecutionDescription": "drift accepted: new catalogue, reviewed",
            "SelectiveExecutionConfig": {
                "SourcePipelineExecutionArn": arn,
                "SelectedSteps": [{"StepName": "Load"}],
            },
            "ClientRequestToken": (
                "0ce636fdb983fb70ad8f950227057f05afb642d8c4772f44569f0dc18eecbfcd"
            ),
        },
    )
    result = stub_cli(
        "drift", "accept", "--execution-arn", arn, "--reason", "new catalogue, reviewed", "--yes"
    )
    assert result.code == 0, result.err
    assert new in result.out
    assert "only Load" in result.out


def test_accept_refuses_a_training_execution(
    stub_cli: Runner,
    names: Names,
) -> None:
    arn = execution_arn(names, names.pipeline("training", "mailer"), "aaaa1111")
    result = stub_cli("drift", "accept", "--execution-arn", arn, "--reason", "x", "--yes")
    assert result.code == 1
    assert "training pipeline" in result.err


@pytest.mark.parametrize(
    ("status", "load", "expected"),
    [
        ("Succeeded", "Succeeded", "the execution is Succeeded"),
        ("Failed", "Succeeded", "Load step is Succeeded, not Failed"),
    ],
)
def test_accept_refuses_when_nothing_was_blocked(
    stub_cli: Runner,
    stubbed: tuple[Any, Stubber],
    names: Names,
    status: str,
    load: str,
    expected: str,
) -> None:
    _, stub = stubbed
    arn = execution_arn(names, names.pipeline("inference", "mailer"), "aaaa1111")
    stub.add_response("describe_pipeline_execution", describe(arn, status))
    if status == "Failed":
        stub.add_response(
            "list_pipeline_execution_steps",
            steps(("Load", load, ""), ("Predict", "Failed", "out of memory")),
        )
    result = stub_cli("drift", "accept", "--execution-arn", arn, "--reason", "x", "--yes")
    assert result.code == 1
    assert expected in result.err
