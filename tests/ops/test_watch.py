"""`run --wait` and `status --watch`: executions followed step by step, on a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from ops.errors import OpsError
from ops.watch import Clock, find_started, follow
from tests.ops.conftest import Clients, Names, Runner

T0 = datetime(2026, 11, 23, 3, 0, 0, tzinfo=UTC)
ARN = "arn:aws:sagemaker:us-east-1:222222222222:pipeline/pkgml-dev-mailer-training/execution/e1"


class FakeClock(Clock):
    """Time moves only when someone sleeps."""

    def __init__(self) -> None:
        self.moment = T0
        self.slept: list[float] = []
        super().__init__(now=lambda: self.moment, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.moment += timedelta(seconds=seconds)


def poll(stub: Stubber, status: str, *steps: tuple[str, str, str], arn: str = ARN) -> None:
    """One poll's two responses: the execution, then its steps."""
    stub.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionArn": arn, "PipelineExecutionStatus": status},
        {"PipelineExecutionArn": arn},
    )
    stub.add_response(
        "list_pipeline_execution_steps",
        {
            "PipelineExecutionSteps": [
                {"StepName": name, "StepStatus": state, "FailureReason": reason}
                for name, state, reason in steps
            ]
        },
        {"PipelineExecutionArn": arn, "SortOrder": "Ascending"},
    )


def trigger_started(stub: Stubber, arn: str, display_name: str) -> None:
    """The trigger's execution, as ListPipelineExecutions shows it."""
    summary = {"PipelineExecutionArn": arn, "PipelineExecutionDisplayName": display_name}
    stub.add_response("list_pipeline_executions", {"PipelineExecutionSummaries": [summary]})


def with_sagemaker(client: Any, clients: Clients) -> Callable[[str, str], Any]:
    """The CLI's client factory: the stubbed SageMaker client, moto for the rest."""
    return lambda service, region: client if service == "sagemaker" else clients(service, region)


def test_each_change_is_said_once_until_the_execution_ends(stubbed) -> None:
    client, stub = stubbed
    poll(stub, "Executing", ("Split", "Executing", ""))
    poll(stub, "Executing", ("Split", "Succeeded", ""), ("Train", "Executing", ""))
    poll(stub, "Executing", ("Split", "Succeeded", ""), ("Train", "Executing", ""))
    poll(stub, "Succeeded", ("Split", "Succeeded", ""), ("Train", "Succeeded", ""))
    said: list[str] = []
    clock = FakeClock()
    final = follow(client, {"mailer": ARN}, say=said.append, clock=clock, interval=30)
    assert final == {"mailer": "Succeeded"}
    assert said == [
        "03:00:00 mailer Split: Executing",
        "03:00:00 mailer: execution Executing",
        "03:00:30 mailer Split: Succeeded",
        "03:00:30 mailer Train: Executing",
        "03:01:30 mailer Train: Succeeded",
        "03:01:30 mailer: execution Succeeded",
    ]
    assert clock.slept == [30, 30, 30]


def test_a_failed_step_is_said_with_its_reason(stubbed) -> None:
    client, stub = stubbed
    poll(stub, "Failed", ("Split", "Succeeded", ""), ("Train", "Failed", "AlgorithmError: OOM"))
    said: list[str] = []
    final = follow(client, {"mailer": ARN}, say=said.append, clock=FakeClock())
    assert final == {"mailer": "Failed"}
    assert "03:00:00 mailer Train: Failed: AlgorithmError: OOM" in said


def test_waiting_stops_at_the_timeout_and_says_how_to_go_on(stubbed) -> None:
    client, stub = stubbed
    for _ in range(3):
        poll(stub, "Executing", ("Train", "Executing", ""))
    clock = FakeClock()
    with pytest.raises(OpsError, match=r"still running after 1 min: mailer .*status --watch"):
        follow(client, {"mailer": ARN}, say=lambda _: None, clock=clock, interval=30, timeout=60)
    assert clock.slept == [30, 30]


def test_the_triggers_execution_is_found_by_its_display_name(stubbed) -> None:
    client, stub = stubbed
    request = {
        "PipelineName": "pkgml-dev-mailer-training",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 20,
    }
    other = {"PipelineExecutionArn": ARN + "x", "PipelineExecutionDisplayName": "t-0-mailer"}
    stub.add_response("list_pipeline_executions", {"PipelineExecutionSummaries": [other]}, request)
    mine = {"PipelineExecutionArn": ARN, "PipelineExecutionDisplayName": "t-1-mailer"}
    stub.add_response(
        "list_pipeline_executions", {"PipelineExecutionSummaries": [mine, other]}, request
    )
    clock = FakeClock()
    said: list[str] = []
    found = find_started(
        client, {"mailer": "pkgml-dev-mailer-training"}, "t-1", say=said.append, clock=clock
    )
    assert found == {"mailer": ARN}
    assert clock.slept == [10.0]
    assert said == [f"03:00:10 mailer: started {ARN}"]


def test_an_execution_that_never_starts_points_at_the_quarantine(stubbed) -> None:
    client, stub = stubbed
    for _ in range(2):
        stub.add_response("list_pipeline_executions", {"PipelineExecutionSummaries": []})
    where = r"no execution started for run t-9 .*and quarantine/ in the data bucket"
    with pytest.raises(OpsError, match=where):
        find_started(
            client,
            {"mailer": "pkgml-dev-mailer-training"},
            "t-9",
            say=lambda _: None,
            clock=FakeClock(),
            interval=10,
            timeout=10,
        )


def test_run_wait_writes_then_follows_to_the_end(
    s3: Any,
    names: Names,
    clients: Clients,
    stubbed,
    make_runner: Callable[..., Runner],
) -> None:
    client, stub = stubbed
    pipeline = names.pipeline("training", "mailer")
    arn = ARN.replace("222222222222", names.env.account)
    trigger_started(stub, arn, "w-1-mailer")
    poll(stub, "Executing", ("Split", "Executing", ""), arn=arn)
    poll(stub, "Failed", ("Split", "Failed", "no rows"), arn=arn)
    run = make_runner(with_sagemaker(client, clients), FakeClock())
    result = run(
        "run", "--kind", "training", "--manifest", names.manifest(), "--run-id", "w-1",
        "--package-type", "mailer", "--wait",
    )  # fmt: skip
    assert result.code == 1, result.err  # the execution failed
    out = result.out.splitlines()
    assert out[0] == f"Wrote s3://{names.data_bucket}/runs/training/w-1.json"
    assert "03:00:00 mailer: started " + arn in out
    assert "03:00:30 mailer Split: Failed: no rows" in out
    assert any(line.split()[:2] == ["mailer", "Failed"] for line in out)
    assert out[-1].endswith("status --package-type mailer`.")
    assert pipeline in result.out


def test_status_watch_with_nothing_running(cli: Runner, names: Names) -> None:
    result = cli("status", "--package-type", "mailer", "--watch")
    assert result.code == 0, result.err
    assert "Nothing running to watch." in result.out
