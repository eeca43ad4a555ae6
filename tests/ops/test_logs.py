"""`ops logs`: a step's job log from CloudWatch Logs (moto), steps from a stubbed SageMaker."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.ops.conftest import Clients, Names, Runner

JOB = "pipelines-p4jn9xou8a8s-Train-Wq1z7ZLd0x"


@pytest.fixture
def run_logs(
    aws: None,
    clients: Clients,
    names: Names,
    stubbed: tuple[Any, Stubber],
    make_runner: Callable[..., Runner],
) -> Runner:
    client, _ = stubbed

    def factory(service: str, region: str) -> Any:
        return client if service == "sagemaker" else clients(service, region)

    return make_runner(factory)


def arn(names: Names) -> str:
    env = names.env
    pipeline = names.pipeline("training", "mailer")
    return f"arn:aws:sagemaker:{env.region}:{env.account}:pipeline/{pipeline}/execution/e1"


def steps(names: Names) -> dict[str, Any]:
    env = names.env
    job_arn = f"arn:aws:sagemaker:{env.region}:{env.account}:training-job/{JOB}"
    return {
        "PipelineExecutionSteps": [
            {"StepName": "Compare", "StepStatus": "Succeeded", "Metadata": {}},
            {
                "StepName": "Train",
                "StepStatus": "Failed",
                "FailureReason": "AlgorithmError: out of memory",
                "Metadata": {"TrainingJob": {"Arn": job_arn}},
            },
            {"StepName": "Gate", "StepStatus": "Succeeded", "Metadata": {"Condition": {}}},
        ]
    }


def write_log(clients: Clients, names: Names, lines: list[str]) -> None:
    logs = clients("logs", names.env.region)
    now = int(time.time() * 1000)
    group = "/aws/sagemaker/TrainingJobs"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=f"{JOB}/algo-1-1700000000")
    logs.put_log_events(
        logGroupName=group,
        logStreamName=f"{JOB}/algo-1-1700000000",
        # recent: CloudWatch Logs (and moto) drop events older than 14 days
        logEvents=[{"timestamp": now - 1000 + i, "message": m} for i, m in enumerate(lines)],
    )


def test_the_failed_steps_job_log_is_printed(
    run_logs: Runner, stubbed, clients: Clients, names: Names
) -> None:
    _, stub = stubbed
    stub.add_response("list_pipeline_execution_steps", steps(names))
    write_log(clients, names, ["loading data", "MemoryError", "exit 1"])
    result = run_logs("logs", "--execution-arn", arn(names), "--lines", "2")
    assert result.code == 0, result.err
    out = result.out.splitlines()
    assert out[0] == (f"Train (Failed): /aws/sagemaker/TrainingJobs, streams {JOB}* (last 2 of 3)")
    assert out[1:] == [
        f"{JOB}/algo-1-1700000000: MemoryError",
        f"{JOB}/algo-1-1700000000: exit 1",
    ]


def test_a_step_without_a_job_says_so_with_its_reason(
    run_logs: Runner, stubbed, names: Names
) -> None:
    _, stub = stubbed
    stub.add_response("list_pipeline_execution_steps", steps(names))
    result = run_logs("logs", "--execution-arn", arn(names), "--step", "Gate")
    assert result.code == 1
    assert "step Gate (Succeeded) ran no processing, training or transform job" in result.err


def test_an_unknown_step_lists_the_steps(run_logs: Runner, stubbed, names: Names) -> None:
    _, stub = stubbed
    stub.add_response("list_pipeline_execution_steps", steps(names))
    result = run_logs("logs", "--execution-arn", arn(names), "--step", "Trian")
    assert result.code == 2
    assert "no such step; its steps: Compare, Gate, Train" in result.err


def test_a_job_without_log_events_is_explained(run_logs: Runner, stubbed, names: Names) -> None:
    _, stub = stubbed
    stub.add_response("list_pipeline_execution_steps", steps(names))
    result = run_logs("--json", "logs", "--execution-arn", arn(names))
    assert result.code == 0, result.err
    assert result.json()["events"] == []
    assert result.json()["log_group"] == "/aws/sagemaker/TrainingJobs"


def test_another_environments_execution_is_refused(run_logs: Runner, names: Names) -> None:
    other = arn(names).replace(names.env.account, "999999999999")
    result = run_logs("logs", "--execution-arn", other)
    assert result.code == 1
    assert "refused: the execution is in 999999999999" in result.err
