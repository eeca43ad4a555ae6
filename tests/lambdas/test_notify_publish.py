"""Notify function against moto: SNS publish read back through SQS, alerts vs decisions
routing, lookups against S3 and SageMaker, publish failures raising, the handler module."""

from __future__ import annotations

import importlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src" / "notify"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src" / "shared"))

from notify_core import NO_LOOKUP, GateDecision
from notify_lookup import AwsLookup
from notify_service import Notifier
from notify_settings import load_settings
from pkgml_log import get_logger

from tests.lambdas.test_notify_format import ALERTS, DECISIONS, ENV, REGION, event

ARTIFACTS = "pkgml-dev-artifacts-123456789012-us-east-1"
DECISION_KEY = "pipelines/pkgml-dev-bag-training/9q2w3e4r5t6y/Compare/decision/decision.json"
DECISION = {
    "decision": "reject",
    "reasons": ["max_score_drop: champion 0.912 - challenger 0.874 = 0.038 > 0.02"],
    "checks": [],
    "challenger_score": 0.874,
    "champion_score": 0.912,
    "comparison": "stored",
}
ROLE = "arn:aws:iam::123456789012:role/pkgml-dev-sagemaker"


@pytest.fixture(scope="module")
def boto() -> dict[str, Any]:
    """Clients built once; moto intercepts them inside mock_aws."""
    return {n: boto3.client(n, region_name=REGION) for n in ("sns", "sqs", "s3", "sagemaker")}


@pytest.fixture
def aws(boto: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Both topics, each with an SQS queue subscribed (to read messages back), and the
    artifacts bucket holding the rejected bag model's decision.json."""
    with mock_aws():
        queues = {}
        for topic_arn in (ALERTS, DECISIONS):
            name = topic_arn.rsplit(":", 1)[1]
            boto["sns"].create_topic(Name=name)
            url = boto["sqs"].create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
            queue_arn = boto["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            boto["sns"].subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
            queues[topic_arn] = url
        boto["s3"].create_bucket(Bucket=ARTIFACTS)
        boto["s3"].put_object(Bucket=ARTIFACTS, Key=DECISION_KEY, Body=json.dumps(DECISION))
        yield {**boto, "queues": queues}


def inbox(aws: dict[str, Any], topic_arn: str) -> list[dict[str, Any]]:
    """SNS envelopes delivered to the topic's queue: Subject, Message, MessageAttributes."""
    response = aws["sqs"].receive_message(QueueUrl=aws["queues"][topic_arn], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in response.get("Messages", [])]


def notifier(aws: dict[str, Any], sns: Any = None, lookups: bool = True) -> Notifier:
    settings = load_settings(ENV)
    lookup = (
        AwsLookup(aws["sagemaker"], aws["s3"], logging.getLogger("test.notify"), 65536)
        if lookups
        else NO_LOOKUP
    )
    return Notifier(settings, sns or aws["sns"], lookup, get_logger("pkgml.notify.test"))


def test_failure_goes_to_alerts_only(aws: dict[str, Any]) -> None:
    result = notifier(aws).handle(event("sagemaker_pipeline_execution_failed"))
    assert result["status"] == "published" and result["topic"] == "alerts"
    [message] = inbox(aws, ALERTS)
    assert inbox(aws, DECISIONS) == []
    assert message["Subject"] == "[dev] FAILED mailer training pipeline, run training-2026-11-23"
    assert "Package type: mailer" in message["Message"]
    assert "python -m ops --env dev retry --execution-arn" in message["Message"]
    # moto does not implement ListPipelineExecutionSteps: the lookup degrades, no raise
    assert "Failed step:  (not available; see step 1 below)" in message["Message"]
    attributes = {k: v["Value"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {"environment": "dev", "kind": "execution_failed",
                          "package_type": "mailer"}  # fmt: skip


def test_decision_goes_to_decisions_with_reasons_from_s3(aws: dict[str, Any]) -> None:
    result = notifier(aws).handle(event("sagemaker_model_package_rejected"))
    assert result["topic"] == "decisions"
    [message] = inbox(aws, DECISIONS)
    assert inbox(aws, ALERTS) == []
    assert message["Subject"] == (
        "[dev] model REJECTED: bag v8, champion stays (run training-2026-11-23)"
    )
    assert f"  {DECISION['reasons'][0]}\n" in message["Message"]
    assert "python -m ops --env dev approve 8 --package-type bag" in message["Message"]


def test_approved_goes_to_decisions(aws: dict[str, Any]) -> None:
    notifier(aws).handle(event("sagemaker_model_package_approved"))
    [message] = inbox(aws, DECISIONS)
    assert message["Subject"] == "[dev] model APPROVED: mailer v7 (run training-2026-11-23)"
    # its decision.json does not exist: the body points at it instead of failing
    assert "(not fetched; read s3://" in message["Message"]


@pytest.mark.parametrize(
    "name",
    [
        "sagemaker_pipeline_execution_stopped",
        "sagemaker_pipeline_step_failed",
        "pkgml_trigger_run_file_quarantined",
        "pkgml_trigger_run_file_not_started",
        "pkgml_extract_failed",
        "cloudwatch_alarm_state_change",
    ],
)
def test_other_events_go_to_alerts(aws: dict[str, Any], name: str) -> None:
    notifier(aws).handle(event(name))
    [message] = inbox(aws, ALERTS)
    assert message["Subject"].startswith("[dev] ")
    assert "NEXT ACTION" in message["Message"]
    assert inbox(aws, DECISIONS) == []


def test_ignored_event_publishes_nothing(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    evt = event("sagemaker_pipeline_execution_failed")
    evt["detail"]["currentPipelineExecutionStatus"] = "Succeeded"
    assert notifier(aws).handle(evt)["status"] == "ignored"
    assert inbox(aws, ALERTS) == [] and inbox(aws, DECISIONS) == []
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert logged[-1]["event"] == "event.ignored"
    assert logged[-1]["detail_type"] == evt["detail-type"]


def test_malformed_event_is_published_as_generic_alert_and_never_logged_raw(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    evt = {"source": "aws.sagemaker", "detail-type": "Mystery", "detail": {"apiKey": "s3cr3t"}}
    assert notifier(aws).handle(evt)["status"] == "published"
    [message] = inbox(aws, ALERTS)
    assert message["Subject"] == "[dev] unrecognised event: Mystery"
    assert "s3cr3t" not in message["Message"] and "<redacted>" in message["Message"]
    assert "s3cr3t" not in capsys.readouterr().out
    assert notifier(aws).handle(["not", "an", "event"])["status"] == "published"


def test_run_id_lookup_reads_the_execution_parameters(aws: dict[str, Any]) -> None:
    sagemaker = aws["sagemaker"]
    sagemaker.create_pipeline(
        PipelineName="pkgml-dev-mailer-training", PipelineDefinition="{}", RoleArn=ROLE
    )
    arn = sagemaker.start_pipeline_execution(
        PipelineName="pkgml-dev-mailer-training",
        PipelineParameters=[{"Name": "RunId", "Value": "training-2026-11-30"}],
    )["PipelineExecutionArn"]
    evt = event("sagemaker_pipeline_step_failed")
    evt["detail"]["pipelineExecutionArn"] = arn
    notifier(aws).handle(evt)
    [message] = inbox(aws, ALERTS)
    assert message["Subject"] == (
        "[dev] STEP Train FAILED in mailer training, run training-2026-11-30"
    )


def test_model_metadata_lookup_uses_describe_model_package(aws: dict[str, Any]) -> None:
    sagemaker = aws["sagemaker"]
    sagemaker.create_model_package_group(ModelPackageGroupName="pkgml-dev-bag")
    metadata = event("sagemaker_model_package_rejected")["detail"]["CustomerMetadataProperties"]
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="pkgml-dev-bag",
        ModelApprovalStatus="Rejected",
        CustomerMetadataProperties=metadata,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    evt = event("sagemaker_model_package_rejected")
    del evt["detail"]["CustomerMetadataProperties"]
    evt["detail"]["ModelPackageArn"] = arn
    notifier(aws).handle(evt)
    [message] = inbox(aws, DECISIONS)
    assert "Gate decision: reject" in message["Message"]
    assert DECISION["reasons"][0] in message["Message"]


@pytest.mark.parametrize(
    ("body", "uri"),
    [
        (b"x" * 70000, f"s3://{ARTIFACTS}/big.json"),  # over DECISION_MAX_BYTES
        (b"{not json", f"s3://{ARTIFACTS}/bad.json"),
        (None, f"s3://{ARTIFACTS}/missing.json"),
        (None, "https://example.com/decision.json"),
        (None, "s3://no-such-bucket-pkgml/decision.json"),
    ],
)
def test_decision_lookup_falls_back_to_none(
    aws: dict[str, Any], body: bytes | None, uri: str
) -> None:
    if body is not None:
        aws["s3"].put_object(Bucket=ARTIFACTS, Key=uri.rsplit("/", 1)[1], Body=body)
    lookup = AwsLookup(aws["sagemaker"], aws["s3"], logging.getLogger("test.notify"), 65536)
    assert lookup.decision(uri) is None


def test_decision_lookup_reads_reasons(aws: dict[str, Any]) -> None:
    lookup = AwsLookup(aws["sagemaker"], aws["s3"], logging.getLogger("test.notify"), 65536)
    assert lookup.decision(f"s3://{ARTIFACTS}/{DECISION_KEY}") == GateDecision(
        "reject",
        tuple(DECISION["reasons"]),
        (
            "stored: challenger 0.874 on this week's rows vs the champion's 0.912 on its own "
            "week's",
            "the gate judged the drop on: stored scores",
        ),
    )


class FailingSns:
    def publish(self, **kwargs: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "KMSAccessDenied", "Message": "no kms:GenerateDataKey"}}, "Publish"
        )


def test_publish_failure_raises(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ClientError, match="KMSAccessDenied"):
        notifier(aws, sns=FailingSns()).handle(event("sagemaker_pipeline_execution_failed"))
    logged = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert logged["event"] == "notification.publish_failed"
    assert logged["topic_arn"] == ALERTS


def test_publish_to_missing_topic_raises(aws: dict[str, Any]) -> None:
    aws["sns"].delete_topic(TopicArn=DECISIONS)
    with pytest.raises(ClientError):
        notifier(aws).handle(event("sagemaker_model_package_approved"))


def _import_handler(monkeypatch: pytest.MonkeyPatch, **extra: str) -> ModuleType:
    for key, value in {**ENV, "AWS_REGION": REGION, **extra}.items():
        monkeypatch.setenv(key, value)
    sys.modules.pop("notify_handler", None)
    return importlib.import_module("notify_handler")


def test_handler_module_end_to_end(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    handler_module = _import_handler(monkeypatch)
    assert isinstance(handler_module.LOOKUP, AwsLookup)

    class Context:
        aws_request_id = "req-1"

    result = handler_module.handler(event("sagemaker_model_package_rejected"), Context())
    assert result["topic"] == "decisions"
    [message] = inbox(aws, DECISIONS)
    assert DECISION["reasons"][0] in message["Message"]
    result = handler_module.handler(event("pkgml_trigger_run_file_quarantined"), Context())
    assert result["topic"] == "alerts" and len(inbox(aws, ALERTS)) == 1


def test_handler_without_lookups(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    handler_module = _import_handler(monkeypatch, LOOKUPS="false")
    assert handler_module.LOOKUP is NO_LOOKUP
    handler_module.handler(event("sagemaker_model_package_rejected"), None)
    [message] = inbox(aws, DECISIONS)
    assert "(not fetched; read s3://" in message["Message"]


def test_handler_fails_init_on_bad_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from notify_settings import ConfigError

    with pytest.raises(ConfigError, match=r"^ALERTS_TOPIC_ARN:"):
        _import_handler(monkeypatch, ALERTS_TOPIC_ARN="alerts")
    sys.modules.pop("notify_handler", None)


def test_failed_processing_step_reason_is_the_jobs_exit_message() -> None:
    """Our step scripts write why they stopped to /opt/ml/output/message; SageMaker returns
    it as the job's ExitMessage, which says more than the step's "AlgorithmError"."""
    import boto3
    from botocore.stub import Stubber

    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    execution = (
        "arn:aws:sagemaker:us-east-1:123456789012:pipeline/pkgml-dev-box-inference/execution/e1"
    )
    job = "arn:aws:sagemaker:us-east-1:123456789012:processing-job/pipelines-e1-Prepare-a1b2c3"
    message = "Data quality check failed on algo-1: price: null rate 0.2 above the bound 0.05"
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "list_pipeline_execution_steps",
            {
                "PipelineExecutionSteps": [
                    {
                        "StepName": "Prepare",
                        "StepStatus": "Failed",
                        "FailureReason": "ClientError: AlgorithmError: see the job logs",
                        "Metadata": {"ProcessingJob": {"Arn": job}},
                    }
                ]
            },
            {"PipelineExecutionArn": execution, "SortOrder": "Descending", "MaxResults": 100},
        )
        stub.add_response(
            "describe_processing_job",
            {
                "ProcessingJobName": "pipelines-e1-Prepare-a1b2c3",
                "ProcessingJobArn": job,
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.xlarge",
                        "VolumeSizeInGB": 30,
                    }
                },
                "AppSpecification": {"ImageUri": "image"},
                "ProcessingJobStatus": "Failed",
                "ExitMessage": message + "\n",
                "CreationTime": 1_700_000_000,
            },
            {"ProcessingJobName": "pipelines-e1-Prepare-a1b2c3"},
        )
        lookup = AwsLookup(sagemaker, None, logging.getLogger("test.notify"), 65536)
        failure = lookup.failed_step(execution)
    assert failure is not None
    assert (failure.name, failure.reason, failure.job_arn) == ("Prepare", message, job)


def test_drift_lookup_reads_the_runs_drift_json(aws: dict[str, Any]) -> None:
    key = "pipelines/pkgml-dev-box-inference/inference-daily-1/Load/drift/drift.json"
    document = {"verdict": "drift", "summary": "weight_kg: PSI 0.41", "action": "warn",
                "loaded": True}  # fmt: skip
    aws["s3"].put_object(Bucket=ARTIFACTS, Key=key, Body=json.dumps(document).encode())
    lookup = AwsLookup(
        aws["sagemaker"], aws["s3"], logging.getLogger("test.notify"), 65536, ARTIFACTS
    )
    news = lookup.drift("pkgml-dev-box-inference", "inference-daily-1")
    assert news is not None
    assert (news.verdict, news.summary) == ("drift", "weight_kg: PSI 0.41")
    assert news.uri == f"s3://{ARTIFACTS}/{key}"
    # no file (a run that never reached Load), or no bucket configured: nothing
    assert lookup.drift("pkgml-dev-box-inference", "other-run") is None
    unset = AwsLookup(aws["sagemaker"], aws["s3"], logging.getLogger("test.notify"), 65536)
    assert unset.drift("pkgml-dev-box-inference", "inference-daily-1") is None
