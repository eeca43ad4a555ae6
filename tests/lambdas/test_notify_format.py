"""notify_format: every recorded event -> exact subject and key body lines; ignores;
malformed input -> generic notification, never an exception; subject constraints.
Whole messages, word for word, per kind: test_notify_messages.py."""

from __future__ import annotations

import copy
import json
import random
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src" / "notify"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src" / "shared"))

from notify_core import (
    NO_LOOKUP,
    DriftNews,
    GateDecision,
    Notification,
    StepFailure,
    parse_pipeline_name,
)
from notify_format import format_event, route
from notify_settings import ConfigError, Settings, load_settings

from pkgml_contracts.notifications import SUBJECT_MAX
from tests.odd_text import ODD_TEXT

EVENTS_DIR = Path(__file__).resolve().parent / "events"
ACCOUNT, REGION = "123456789012", "us-east-1"
ALERTS = f"arn:aws:sns:{REGION}:{ACCOUNT}:pkgml-dev-alerts"
DECISIONS = f"arn:aws:sns:{REGION}:{ACCOUNT}:pkgml-dev-model-decisions"
ENV = {
    "ENVIRONMENT": "dev",
    "PROJECT": "pkgml",
    "REGION": REGION,
    "ALERTS_TOPIC_ARN": ALERTS,
    "DECISIONS_TOPIC_ARN": DECISIONS,
    "PACKAGE_TYPES": '["mailer","bag","box","sioc"]',
}
SETTINGS = load_settings(ENV)
EXECUTION = (
    "arn:aws:sagemaker:us-east-1:123456789012:pipeline/pkgml-dev-mailer-training"
    "/execution/p4jn9xou8a8s"
)
TRAIN_JOB = (
    "arn:aws:sagemaker:us-east-1:123456789012:training-job/pipelines-p4jn9xou8a8s-Train-Wq1z7ZLd0x"
)
SUBJECT_OK = re.compile(r"[ -~]{1,99}")


def event(name: str) -> dict[str, Any]:
    """One recorded sample event from tests/lambdas/events/, decoded (a fresh copy)."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


class FakeLookup:
    """Answers from fixed values and records what was asked; `broken` makes every call raise."""

    def __init__(self, broken: bool = False, **answers: Any) -> None:
        self.answers = answers
        self.broken = broken
        self.calls: list[tuple[str, str]] = []

    def _answer(self, name: str, argument: str) -> Any:
        self.calls.append((name, argument))
        if self.broken:
            raise TimeoutError("lookup timed out")
        return self.answers.get(name)

    def failed_step(self, execution_arn: str) -> StepFailure | None:
        return self._answer("failed_step", execution_arn)

    def run_id(self, execution_arn: str) -> str | None:
        return self._answer("run_id", execution_arn)

    def decision(self, s3_uri: str) -> GateDecision | None:
        return self._answer("decision", s3_uri)

    def model_package_metadata(self, model_package_arn: str) -> Mapping[str, str] | None:
        return self._answer("model_package_metadata", model_package_arn)

    def drift(self, pipeline_name: str, run_id: str) -> DriftNews | None:
        return self._answer("drift", f"{pipeline_name}/{run_id}")


def render(evt: Any, settings: Settings = SETTINGS, lookup: Any = NO_LOOKUP) -> Notification:
    notification = format_event(evt, settings, lookup)
    assert notification is not None
    assert SUBJECT_OK.fullmatch(notification.subject), notification.subject
    return notification


def lines(notification: Notification) -> list[str]:
    return [line.strip() for line in notification.body.splitlines()]


def row(notification: Notification, label: str) -> str:
    """The value of 'Label:  value' in the body."""
    for line in notification.body.splitlines():
        if line.startswith(f"{label}:"):
            return line[len(label) + 1 :].strip()
    raise AssertionError(f"no {label!r} row in:\n{notification.body}")


def test_recorded_events_are_valid_eventbridge_envelopes() -> None:
    names = sorted(p.stem for p in EVENTS_DIR.glob("*.json"))
    assert len(names) == 9
    for name in names:
        evt = event(name)
        assert {"version", "id", "detail-type", "source", "account", "time", "region",
                "resources", "detail"} <= set(evt)  # fmt: skip


# --- pipeline executions -------------------------------------------------------------------


def test_execution_failed_with_lookup() -> None:
    failure = StepFailure("Train", None, "ClientError: out of memory", TRAIN_JOB)
    lookup = FakeLookup(failed_step=failure)
    n = render(event("sagemaker_pipeline_execution_failed"), lookup=lookup)
    assert n.kind == "execution_failed" and route(n) == "alerts"
    assert n.subject == "[dev] FAILED mailer training pipeline at Train, run training-2026-11-23"
    assert row(n, "Environment") == "dev"
    assert row(n, "Package type") == "mailer"
    assert row(n, "Pipeline") == "pkgml-dev-mailer-training (training)"
    assert row(n, "Run id") == "training-2026-11-23"  # from the display name, no lookup
    assert row(n, "Failed step") == "Train"
    assert row(n, "Reason") == "ClientError: out of memory"
    assert row(n, "Status") == "Failed (was Executing)"
    assert row(n, "Execution") == EXECUTION
    assert f"python -m ops --env dev retry --execution-arn {EXECUTION}" in lines(n)
    assert f"python -m ops --env dev logs --execution-arn {EXECUTION} --step Train" in lines(n)
    assert "NEXT ACTION" in lines(n)
    assert any("resumes the execution from the failed step" in line for line in lines(n))
    assert lookup.calls == [("failed_step", EXECUTION)]
    assert n.attributes == {"environment": "dev", "kind": "execution_failed",
                            "package_type": "mailer"}  # fmt: skip


def test_a_failed_quality_check_says_fix_the_data_not_retry() -> None:
    """Split's Fail step: its reason names the column, the value and the bound; retrying
    the same execution would read the same extract, so the action is the data."""
    reason = (
        "Data quality check failed in Split: weight_kg: null rate 0.312 above the bound 0.05 "
        "(31,200 of 100,000 rows)"
    )
    lookup = FakeLookup(failed_step=StepFailure("DataQualityFailed", None, reason, None))
    n = render(event("sagemaker_pipeline_execution_failed"), lookup=lookup)
    assert n.subject == (
        "[dev] FAILED mailer training pipeline at DataQualityFailed, run training-2026-11-23"
    )
    assert row(n, "Reason") == reason
    assert "1. The extract failed a data-quality check (the Reason above names the column," in (
        lines(n)
    )
    assert not any("retry --execution-arn" in line for line in lines(n))


def test_a_blocked_load_gives_the_command_that_loads_it_after_review() -> None:
    evt = event("sagemaker_pipeline_execution_failed")
    inference = EXECUTION.replace("mailer-training", "mailer-inference")
    evt["detail"]["pipelineArn"] = inference.split("/execution/")[0]
    evt["detail"]["pipelineExecutionArn"] = inference
    evt["resources"] = [inference.split("/execution/")[0], inference]
    reason = (
        "Input drift blocked the load (DriftAction=block): weight_kg: PSI 0.41 (limit 0.25); "
        "the batch's median is 3.1x the training median. Nothing was loaded."
    )
    lookup = FakeLookup(failed_step=StepFailure("Load", None, reason, None))
    n = render(evt, lookup=lookup)
    assert row(n, "Failed step") == "Load"
    assert row(n, "Reason") == reason
    assert (
        f"python -m ops --env dev drift accept --execution-arn {inference} --reason '...'"
    ) in lines(n)
    assert "block: NOTHING was loaded; the table keeps the previous predictions." in lines(n)


def _inference_succeeded() -> dict[str, Any]:
    evt = event("sagemaker_pipeline_execution_failed")
    inference = EXECUTION.replace("mailer-training", "mailer-inference")
    evt["detail"]["pipelineArn"] = inference.split("/execution/")[0]
    evt["detail"]["pipelineExecutionArn"] = inference
    evt["detail"]["currentPipelineExecutionStatus"] = "Succeeded"
    evt["detail"]["pipelineExecutionDisplayName"] = "inference-daily-2026-11-23-mailer"
    evt["resources"] = [inference.split("/execution/")[0], inference]
    return evt


def test_a_loaded_batch_that_drifted_is_news_in_words() -> None:
    """Drift action warn: the run succeeded and loaded; the alerts topic hears which
    features moved and what to do."""
    summary = "weight_kg: PSI 0.41 (limit 0.25); the batch's median is 3.1x the training median"
    uri = "s3://art/pipelines/pkgml-dev-mailer-inference/r/Load/drift/drift.json"
    lookup = FakeLookup(
        run_id="inference-daily-2026-11-23-mailer",
        drift=DriftNews("drift", summary, uri),
    )
    n = render(_inference_succeeded(), lookup=lookup)
    assert n.kind == "input_drift" and route(n) == "alerts"
    assert n.subject.startswith("[dev] INPUT DRIFT in mailer inference run ")
    assert row(n, "Drifted") == summary
    assert row(n, "Loaded") == "yes (drift action warn)"
    assert row(n, "Report") == uri
    assert "python -m ops --env dev models --package-type mailer" in lines(n)
    # the RunId from the trigger's display name (<run id>-<package type>)
    assert ("drift", "pkgml-dev-mailer-inference/inference-daily-2026-11-23") in lookup.calls


@pytest.mark.parametrize("verdict", ["ok", "moderate", "insufficient_rows", "not_measured"])
def test_a_succeeded_run_without_drift_says_nothing(verdict: str) -> None:
    news = DriftNews(verdict, "", "s3://a/b")
    lookup = FakeLookup(run_id="r", drift=news)
    assert format_event(_inference_succeeded(), SETTINGS, lookup) is None
    assert format_event(_inference_succeeded(), SETTINGS, FakeLookup(run_id="r")) is None
    training = event("sagemaker_pipeline_execution_failed")
    training["detail"]["currentPipelineExecutionStatus"] = "Succeeded"
    assert format_event(training, SETTINGS, FakeLookup(drift=news)) is None


def test_execution_failed_without_lookup_still_says_what_to_do() -> None:
    n = render(event("sagemaker_pipeline_execution_failed"))
    assert n.subject == "[dev] FAILED mailer training pipeline, run training-2026-11-23"
    assert row(n, "Failed step") == "(not available; see step 1 below)"
    assert "python -m ops --env dev status --package-type mailer" in lines(n)
    assert not any("aws sagemaker" in line for line in lines(n))


def test_broken_lookup_degrades_to_not_available() -> None:
    evt = event("sagemaker_pipeline_execution_failed")
    del evt["detail"]["pipelineExecutionDisplayName"]
    n = render(evt, lookup=FakeLookup(broken=True))
    assert row(n, "Run id") == "(not available)"
    assert row(n, "Failed step") == "(not available; see step 1 below)"


def test_run_id_from_parameters_when_display_name_is_not_the_triggers() -> None:
    evt = event("sagemaker_pipeline_execution_failed")
    evt["detail"]["pipelineExecutionDisplayName"] = "execution-1795410003123"
    n = render(evt, lookup=FakeLookup(run_id="hand-run-7"))
    assert row(n, "Run id") == "hand-run-7"
    assert n.subject.endswith(", run hand-run-7")


def test_execution_stopped() -> None:
    stopped = event("sagemaker_pipeline_execution_stopped")
    n = render(stopped)
    assert n.kind == "execution_stopped" and route(n) == "alerts"
    assert n.subject == "[dev] STOPPED box inference pipeline, run inference-daily-2026-11-24"
    assert row(n, "Package type") == "box"
    assert row(n, "Pipeline") == "pkgml-dev-box-inference (inference)"
    assert row(n, "Run id") == "inference-daily-2026-11-24"
    arn = stopped["detail"]["pipelineExecutionArn"]
    assert f"python -m ops --env dev retry --execution-arn {arn}" in lines(n)
    assert not any("aws sagemaker" in line for line in lines(n))


def test_execution_of_unknown_name_in_this_environment_is_shown_raw() -> None:
    evt = event("sagemaker_pipeline_execution_failed")
    arn = evt["detail"]["pipelineExecutionArn"].replace("mailer-training", "adhoc-backfill")
    evt["detail"]["pipelineExecutionArn"] = arn
    n = render(evt)
    assert row(n, "Pipeline") == "pkgml-dev-adhoc-backfill"
    assert row(n, "Package type") == "(unknown: pipeline name off-pattern)"
    assert n.subject == "[dev] FAILED pkgml-dev-adhoc-backfill pipeline"


def test_execution_arn_falls_back_to_resources() -> None:
    evt = event("sagemaker_pipeline_execution_failed")
    del evt["detail"]["pipelineExecutionArn"]
    assert row(render(evt), "Execution") == EXECUTION


@pytest.mark.parametrize("status", ["Executing", "Succeeded", "Stopping"])
def test_execution_statuses_without_notification(status: str) -> None:
    evt = event("sagemaker_pipeline_execution_failed")
    evt["detail"]["currentPipelineExecutionStatus"] = status
    assert format_event(evt, SETTINGS) is None


@pytest.mark.parametrize(
    "other", ["pkgml-prod-mailer-training", "pkgml-dev2-mailer-training", "other-dev-x-training"]
)
def test_other_environments_pipelines_are_ignored(other: str) -> None:
    for name in ("sagemaker_pipeline_execution_failed", "sagemaker_pipeline_step_failed"):
        evt = json.loads(json.dumps(event(name)).replace("pkgml-dev-mailer-training", other))
        assert format_event(evt, SETTINGS, FakeLookup(broken=True)) is None


# --- steps -------------------------------------------------------------------------------


def test_step_failed() -> None:
    lookup = FakeLookup(run_id="training-2026-11-23")
    n = render(event("sagemaker_pipeline_step_failed"), lookup=lookup)
    assert n.kind == "step_failed" and route(n) == "alerts"
    assert n.subject == "[dev] STEP Train FAILED in mailer training, run training-2026-11-23"
    assert row(n, "Environment") == "dev"
    assert row(n, "Package type") == "mailer"
    assert row(n, "Failed step") == "Train (Training)"
    assert row(n, "Reason").startswith("ClientError: Please use an instance type with more memory")
    assert row(n, "Job") == TRAIN_JOB
    assert row(n, "Run id") == "training-2026-11-23"
    assert f"python -m ops --env dev retry --execution-arn {EXECUTION}" in lines(n)
    assert lookup.calls == [("run_id", EXECUTION)]


@pytest.mark.parametrize("status", ["Starting", "Executing", "Succeeded", "Stopped"])
def test_step_statuses_without_notification(status: str) -> None:
    evt = event("sagemaker_pipeline_step_failed")
    evt["detail"]["currentStepStatus"] = status
    assert format_event(evt, SETTINGS) is None


def test_fail_step_without_job_points_at_the_step_list() -> None:
    evt = event("sagemaker_pipeline_step_failed")
    evt["detail"].update(stepName="NoChampion", stepType="Fail", metadata={"fail": {}},
                         failureReason="no Approved model in pkgml-dev-mailer")  # fmt: skip
    n = render(evt)
    assert row(n, "Reason") == "no Approved model in pkgml-dev-mailer"
    assert n.subject == "[dev] STEP NoChampion FAILED in mailer training"
    assert "python -m ops --env dev status --package-type mailer" in lines(n)


# --- model decisions ---------------------------------------------------------------------

REASONS = ("max_score_drop: champion 0.912 - challenger 0.874 = 0.038 > 0.02",)


def test_model_rejected_with_reasons() -> None:
    lookup = FakeLookup(decision=GateDecision("reject", REASONS))
    n = render(event("sagemaker_model_package_rejected"), lookup=lookup)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/pkgml-dev-bag/8"
    assert n.kind == "model_rejected" and route(n) == "decisions"
    assert n.subject == "[dev] model REJECTED: bag v8, champion stays (run training-2026-11-23)"
    assert row(n, "Environment") == "dev"
    assert row(n, "Package type") == "bag"
    assert row(n, "Version") == "8"
    assert row(n, "Status") == "Rejected"
    assert row(n, "Gate decision") == "reject"
    assert row(n, "Model package") == arn
    assert REASONS[0] in lines(n)
    assert "the champion stays in use" in n.body
    assert "python -m ops --env dev approve 8 --package-type bag --reason '<why>'" in lines(n)
    assert not any("aws sagemaker" in line for line in lines(n))
    assert lookup.calls[0][0] == "decision" and lookup.calls[0][1].endswith("decision.json")
    assert n.attributes["package_type"] == "bag"


SAME_DATA = {
    "decision": "approve",
    "comparison": "same_data",
    "challenger_score": 0.871,
    "champion_score": 0.912,
    "same_data": {
        "text": "challenger 0.871 vs champion 0.866 on the same 48,210 rows; difference "
        "+0.005, 95 % interval [-0.002, +0.012]"
    },
}


def test_the_decision_shows_both_scores() -> None:
    from notify_core import decision_scores

    scores = decision_scores(SAME_DATA)
    assert scores == (
        "same rows: challenger 0.871 vs champion 0.866 on the same 48,210 rows; difference "
        "+0.005, 95 % interval [-0.002, +0.012]",
        "stored: challenger 0.871 on this week's rows vs the champion's 0.912 on its own week's",
        "the gate judged the drop on: same-data scores",
    )
    lookup = FakeLookup(decision=GateDecision("approve", ("all 5 checks passed",), scores))
    n = render(event("sagemaker_model_package_approved"), lookup=lookup)
    body = lines(n)
    assert body.index("Scores") > body.index("Gate reasons")
    assert scores[0] in body and scores[1] in body
    # a first model has no champion: no scores section
    assert decision_scores({"decision": "approve", "challenger_score": 0.8}) == ()
    assert decision_scores({"challenger_score": True, "champion_score": "x"}) == ()


def test_model_approved() -> None:
    n = render(event("sagemaker_model_package_approved"))
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/pkgml-dev-mailer/7"
    assert n.kind == "model_approved" and route(n) == "decisions"
    assert n.subject == "[dev] model APPROVED: mailer v7 (run training-2026-11-23)"
    assert row(n, "Gate decision") == "approve"
    assert "python -m ops --env dev rollback --package-type mailer --reason '<why>'" in lines(n)
    assert arn == row(n, "Model package")
    # without a lookup the reasons are not fetched: the body says where they are
    assert any(line.startswith("(not fetched; read s3://") for line in lines(n))


def test_manual_override_is_called_out() -> None:
    evt = event("sagemaker_model_package_rejected")
    evt["detail"]["ModelApprovalStatus"] = "Approved"
    evt["detail"]["ApprovalDescription"] = "override: seasonal shift, accepted by ops"
    n = render(evt)
    assert n.subject == (
        "[dev] model APPROVED manually (gate said reject): bag v8 (run training-2026-11-23)"
    )
    assert row(n, "Approval note") == "override: seasonal shift, accepted by ops"


def test_model_metadata_fetched_when_event_lacks_it() -> None:
    evt = event("sagemaker_model_package_rejected")
    metadata = evt["detail"].pop("CustomerMetadataProperties")
    lookup = FakeLookup(model_package_metadata=metadata)
    n = render(evt, lookup=lookup)
    assert row(n, "Run id") == "training-2026-11-23"
    assert lookup.calls[0] == ("model_package_metadata", evt["detail"]["ModelPackageArn"])
    bare = render(evt)  # no lookup: still a decision notification
    assert row(bare, "Gate decision") == "(not available)"
    assert bare.subject == "[dev] model REJECTED: bag v8, champion stays"


def test_model_version_from_arn_when_missing() -> None:
    evt = event("sagemaker_model_package_rejected")
    del evt["detail"]["ModelPackageVersion"]
    assert row(render(evt), "Version") == "8"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ModelApprovalStatus", "PendingManualApproval"),
        ("ModelPackageStatus", "InProgress"),
        ("ModelPackageGroupName", "pkgml-prod-bag"),
        ("ModelPackageGroupName", "pkgml-devel-bag"),
    ],
)
def test_model_events_without_notification(field: str, value: str) -> None:
    evt = event("sagemaker_model_package_rejected")
    evt["detail"][field] = value
    assert format_event(evt, SETTINGS, FakeLookup(broken=True)) is None


# --- platform events and alarms ----------------------------------------------------------


def test_run_file_quarantined() -> None:
    n = render(event("pkgml_trigger_run_file_quarantined"))
    assert n.kind == "run_file_quarantined" and route(n) == "alerts"
    assert n.subject == (
        "[dev] run file QUARANTINED (out_of_range): "
        "runs/training/training-2026-11-23-deeper-trees.json"
    )
    assert row(n, "Field") == "parameters.training.max_depth"
    assert row(n, "Problem") == "must be an integer from 1 to 20 (got 64)"
    assert (
        "aws s3 cp <fixed file> "
        "s3://pkgml-dev-data/runs/training/training-2026-11-23-deeper-trees.json"
    ) in lines(n)
    evt = event("pkgml_trigger_run_file_quarantined")
    del evt["detail"]["report"]  # then the action starts at the fix
    assert lines(render(evt))[-4].startswith("1. Fix the run file")


def test_extract_failed() -> None:
    n = render(event("pkgml_extract_failed"))
    assert n.kind == "extract_failed" and route(n) == "alerts"
    assert n.subject == "[dev] EXTRACT FAILED: inference-daily inference-daily-2026-11-24"
    assert row(n, "Problem") == "FAILED: ERROR: permission denied for relation shipments"
    assert (
        "aws lambda invoke --function-name pkgml-dev-ingest-ExtractRunnerFunction5E3B1C7A-"
        'Xa91LmQ2Zt4R --cli-binary-format raw-in-base64-out --payload \'{"kind": '
        '"inference-daily", "run_date": "2026-11-24"}\' /dev/stdout'
    ) in lines(n)
    evt = event("pkgml_extract_failed")
    del evt["detail"]["function_name"], evt["detail"]["run_date"]
    assert (
        "aws lambda invoke --function-name '<extract function>' --cli-binary-format "
        'raw-in-base64-out --payload \'{"kind": "inference-daily"}\' /dev/stdout'
    ) in lines(render(evt))


@pytest.mark.parametrize(
    "name",
    [
        "pkgml_trigger_run_file_quarantined",
        "pkgml_trigger_run_file_not_started",
        "pkgml_extract_failed",
    ],
)
def test_platform_events_of_other_environments_are_ignored(name: str) -> None:
    evt = event(name)
    evt["detail"]["environment"] = "prod"
    assert format_event(evt, SETTINGS) is None


def test_alarm_and_recovery() -> None:
    n = render(event("cloudwatch_alarm_state_change"))
    assert n.kind == "alarm" and route(n) == "alerts"
    assert n.subject == "[dev] ALARM pkgml-dev-mailer-no-successful-training"
    assert row(n, "State") == "ALARM (was OK)"
    assert row(n, "Means").startswith("No successful execution of pkgml-dev-mailer-training")
    assert "python -m ops --env dev status --package-type mailer --pipeline training" in lines(n)
    assert row(n, "Console").endswith("#alarmsV2:alarm/pkgml-dev-mailer-no-successful-training")
    assert n.attributes["package_type"] == "mailer"
    evt = event("cloudwatch_alarm_state_change")
    evt["detail"]["state"]["value"], evt["detail"]["previousState"]["value"] = "OK", "ALARM"
    assert render(evt).subject == "[dev] OK pkgml-dev-mailer-no-successful-training"
    evt["detail"]["alarmName"] = "pkgml-prod-mailer-no-successful-training"
    assert format_event(evt, SETTINGS) is None


@pytest.mark.parametrize(
    "name",
    [
        "pkgml-dev-notifier-Fault-Count-Errors",
        "pkgml-dev-notifier-failed-invocations-Queue-Message-Count-Max-NotEmpty",
    ],
)
def test_the_notifiers_own_alarms_are_not_worded_twice(name: str) -> None:
    """They have a direct SNS action (a broken notifier cannot speak for itself): should
    their state change reach notify anyway, it says nothing."""
    evt = event("cloudwatch_alarm_state_change")
    evt["detail"]["alarmName"] = name
    assert format_event(evt, SETTINGS) is None


def _alarm_watching(namespace: str, metric: str, dimensions: dict[str, str]) -> dict[str, Any]:
    evt = event("cloudwatch_alarm_state_change")
    evt["detail"]["configuration"]["metrics"] = [
        {"id": "m1", "returnData": True,
         "metricStat": {"metric": {"namespace": namespace, "name": metric,
                                   "dimensions": dimensions}, "period": 300, "stat": "Sum"}}
    ]  # fmt: skip
    return evt


@pytest.mark.parametrize(
    ("namespace", "metric", "dimensions", "commands"),
    [
        ("AWS/Sagemaker/ModelBuildingPipeline", "ExecutionFailed",
         {"PipelineName": "pkgml-dev-bag-inference"},
         ["python -m ops --env dev status --package-type bag --pipeline inference"]),
        ("PackagingML/Gate", "ConsecutiveRejections",
         {"PackageType": "box", "ModelPackageGroup": "pkgml-dev-box"},
         ["python -m ops --env dev models --package-type box",
          "python -m ops --env dev report --package-type box"]),
        ("PackagingML/Inference", "MaxFeaturePSI",
         {"PackageType": "sioc", "RunKind": "inference-monthly"},
         ["python -m ops --env dev status --package-type sioc --pipeline inference",
          "python -m ops --env dev models --package-type sioc"]),
        ("PackagingML/Inference", "DriftBlocked",
         {"PackageType": "sioc", "RunKind": "inference-daily"},
         ["python -m ops --env dev status --package-type sioc --pipeline inference",
          "python -m ops --env dev drift accept --execution-arn '<execution ARN>' "
          "--reason '...'"]),
        ("AWS/Lambda", "Errors", {"FunctionName": "pkgml-dev-ingest-TriggerHandler-AbC12"},
         ['aws logs tail "$(aws lambda get-function-configuration --function-name '
          'pkgml-dev-ingest-TriggerHandler-AbC12 --query LoggingConfig.LogGroup --output '
          'text)" --since 1h']),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "pkgml-dev-q-Xy1"},
         ['aws sqs receive-message --queue-url "$(aws sqs get-queue-url --queue-name '
          'pkgml-dev-q-Xy1 --query QueueUrl --output text)" --max-number-of-messages 10 '
          "--visibility-timeout 0 --attribute-names All --message-attribute-names All"]),
        ("AWS/Scheduler", "TargetErrorCount", {"ScheduleGroup": "default"},
         ["aws cloudwatch describe-alarm-history --alarm-name "
          "pkgml-dev-mailer-no-successful-training --history-item-type StateUpdate "
          "--max-items 5"]),
    ],
)  # fmt: skip
def test_an_alarms_next_action_follows_from_what_it_watches(
    namespace: str, metric: str, dimensions: dict[str, str], commands: list[str]
) -> None:
    n = render(_alarm_watching(namespace, metric, dimensions))
    action = lines(n)[lines(n).index("NEXT ACTION") + 1 :]
    assert [line for line in action if line.startswith(("python -m ops", "aws "))] == commands


# --- malformed input ---------------------------------------------------------------------


def _without(name: str, *path: str) -> dict[str, Any]:
    evt = event(name)
    holder = evt
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return evt


def _with(name: str, value: Any, *path: str) -> dict[str, Any]:
    evt = event(name)
    holder = evt
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return evt


EXE, STEP, PKG = (
    "sagemaker_pipeline_execution_failed",
    "sagemaker_pipeline_step_failed",
    "sagemaker_model_package_rejected",
)
_STEP_DETAIL = event(STEP)["detail"]
MALFORMED: dict[str, Any] = {
    "none": None,
    "string": "Failed",
    "list": [event(EXE)],
    "number": 42,
    "empty": {},
    "no detail": _without(EXE, "detail"),
    "detail not object": _with(EXE, ["x"], "detail"),
    "unknown detail-type": _with(EXE, "SageMaker Endpoint State Change", "detail-type"),
    "detail-type wrong type": _with(EXE, 7, "detail-type"),
    "unknown source": _with("pkgml_extract_failed", "other.extract", "source"),
    "status missing": _without(EXE, "detail", "currentPipelineExecutionStatus"),
    "status wrong type": _with(EXE, {"v": 1}, "detail", "currentPipelineExecutionStatus"),
    "execution arn missing everywhere": _with(STEP, [], "resources")
    | {"detail": {k: v for k, v in _STEP_DETAIL.items() if k != "pipelineExecutionArn"}},
    "execution arn garbage": _with(EXE, "not-an-arn", "detail", "pipelineExecutionArn"),
    "display name wrong type": _with(EXE, 12, "detail", "pipelineExecutionDisplayName"),
    "step name missing": _without(STEP, "detail", "stepName"),
    "failure reason wrong type": _with(STEP, ["oom"], "detail", "failureReason"),
    "group missing": _without(PKG, "detail", "ModelPackageGroupName"),
    "version wrong type": _with(PKG, "8", "detail", "ModelPackageVersion"),
    "version bool": _with(PKG, True, "detail", "ModelPackageVersion"),
    "metadata wrong type": _with(PKG, "gate=reject", "detail", "CustomerMetadataProperties"),
    "alarm state missing": _without("cloudwatch_alarm_state_change", "detail", "state"),
    "quarantine original missing": _without(
        "pkgml_trigger_run_file_quarantined", "detail", "original"
    ),
    "extract environment missing": _without("pkgml_extract_failed", "detail", "environment"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_events_give_the_generic_message(name: str) -> None:
    evt = copy.deepcopy(MALFORMED[name])
    n = render(evt, lookup=FakeLookup(broken=True))
    assert n.kind == "unrecognised_event" and route(n) == "alerts"
    assert n.subject.startswith("[dev] unrecognised event: ")
    assert row(n, "Environment") == "dev"
    assert row(n, "Problem")
    assert "Raw event (secrets redacted)" in lines(n)


def test_generic_message_truncates_and_redacts_the_raw_event() -> None:
    evt = {
        "source": "aws.sagemaker",
        "detail-type": "Something New",
        "detail": {
            "clientSecret": "hunter2",
            "nested": [{"Password": "p@ss"}],
            "blob": "x" * 50000,
            "zz_more": ["y" * 400] * 20,
        },
        "id": "e-1",
    }
    n = render(evt)
    assert n.subject == "[dev] unrecognised event: Something New"
    assert "hunter2" not in n.body and "p@ss" not in n.body
    assert n.body.count("<redacted>") == 2
    assert "...(50000 characters)" in n.body  # a long string is cut, the rest stays visible
    assert "... (truncated:" in n.body  # and the whole dump is bounded
    assert len(n.body) < 8000
    assert row(n, "Problem") == "no format for source 'aws.sagemaker', detail-type 'Something New'"


def test_formatter_bug_becomes_generic_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import notify_pipelines

    def boom(*args: Any) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(notify_pipelines, "execution_parts", boom)
    n = render(event("sagemaker_pipeline_execution_failed"))
    assert row(n, "Problem") == "formatter error (KeyError)"


def test_unserialisable_and_deep_input_never_raises() -> None:
    deep: dict[str, Any] = {}
    holder = deep
    for _ in range(200):
        holder["d"] = {}
        holder = holder["d"]
    odd = {
        "detail-type": "x\ud800",
        "source": object(),
        "detail": {"n": float("nan")},
        "deep": deep,
    }
    for evt in (odd, {"detail-type": "\n" * 500}, {1: 2}, b"bytes", {"detail": deep}):
        n = render(evt)
        n.body.encode("utf-8")  # valid UTF-8 even from lone surrogates


# --- subject constraints over odd inputs --------------------------------------------------


def _random_text(rng: random.Random) -> str:
    pools = [chr(c) for c in range(0, 0x250)] + ["\n", "\r", "\t", "名", "🚀", "\u2028", "\ud800"]
    return "".join(rng.choice(pools) for _ in range(rng.randint(0, 300)))


def test_subjects_stay_valid_for_random_field_values() -> None:
    rng = random.Random(20261123)
    fields = [
        ("sagemaker_pipeline_execution_failed", ("detail", "pipelineExecutionDisplayName")),
        ("sagemaker_pipeline_step_failed", ("detail", "stepName")),
        ("sagemaker_model_package_rejected", ("detail", "CustomerMetadataProperties", "run_id")),
        ("pkgml_trigger_run_file_quarantined", ("detail", "original", "key")),
        ("pkgml_trigger_run_file_quarantined", ("detail", "reason")),
        ("pkgml_extract_failed", ("detail", "run_id")),
        ("cloudwatch_alarm_state_change", ("detail", "alarmName")),
        ("sagemaker_pipeline_execution_failed", ("detail-type",)),
    ]
    lookup = FakeLookup(run_id="r", failed_step=StepFailure("S"), decision=GateDecision(None, ()))
    for _ in range(60):
        for name, path in fields:
            text = _random_text(rng)
            values = [text, ODD_TEXT[rng.randrange(len(ODD_TEXT))]]
            if path[-1] == "alarmName":
                values = [f"pkgml-dev-{v}" for v in values]
            for value in values:
                evt = _with(name, value, *path)
                n = format_event(evt, SETTINGS, lookup)
                if n is not None:
                    assert SUBJECT_OK.fullmatch(n.subject), (name, path, value)
                    n.body.encode("utf-8")


def test_long_names_are_cut_to_the_subject_limit() -> None:
    evt = event("pkgml_trigger_run_file_quarantined")
    evt["detail"]["original"]["key"] = "runs/training/" + "very-long-run-id-" * 20 + ".json"
    n = render(evt)
    assert len(n.subject) == SUBJECT_MAX and n.subject.endswith("...")


# --- names and settings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pkgml-dev-mailer-training", ("mailer", "training")),
        # another deployed architecture's training pipeline of the same package type
        ("pkgml-dev-mailer-training-xgboost", ("mailer", "training")),
        ("pkgml-dev-box-training-multimodal", ("box", "training")),
        ("pkgml-dev-sioc-inference", ("sioc", "inference")),
        ("pkgml-dev-crate-training", (None, None)),  # not a configured package type
        ("pkgml-dev-mailer-scoring", (None, None)),
        ("PKGML-DEV-BOX-INFERENCE", ("box", "inference")),
    ],
)
def test_parse_pipeline_name(name: str, expected: tuple[str | None, str | None]) -> None:
    parsed = parse_pipeline_name(name, SETTINGS)
    assert parsed is not None and (parsed.package_type, parsed.kind) == expected
    assert parsed.name == name


def test_without_package_types_any_package_name_parses() -> None:
    settings = load_settings({k: v for k, v in ENV.items() if k != "PACKAGE_TYPES"})
    parsed = parse_pipeline_name("pkgml-dev-crate-training", settings)
    assert parsed is not None and parsed.package_type == "crate"
    assert parse_pipeline_name("pkgml-test-crate-training", settings) is None


def test_console_base_links_to_studio() -> None:
    settings = load_settings(
        {**ENV, "CONSOLE_BASE": "https://d-abc123.studio.us-east-1.sagemaker.aws/"}
    )
    n = render(event("sagemaker_pipeline_execution_failed"), settings)
    assert row(n, "Console") == (
        "https://d-abc123.studio.us-east-1.sagemaker.aws/pipelines/pkgml-dev-mailer-training"
        "/executions/p4jn9xou8a8s"
    )
    m = render(event("sagemaker_model_package_rejected"), settings)
    assert row(m, "Console") == (
        "https://d-abc123.studio.us-east-1.sagemaker.aws/models/registered-models"
        "/pkgml-dev-bag/versions/8"
    )


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"ENVIRONMENT": ""}, "ENVIRONMENT"),
        ({"PROJECT": "Pkg ML"}, "PROJECT"),
        ({"ALERTS_TOPIC_ARN": "pkgml-dev-alerts"}, "ALERTS_TOPIC_ARN"),
        ({"DECISIONS_TOPIC_ARN": ""}, "DECISIONS_TOPIC_ARN"),
        ({"REGION": "mars-1"}, "REGION"),
        ({"CONSOLE_BASE": "http://insecure.example"}, "CONSOLE_BASE"),
        ({"PACKAGE_TYPES": '["mailer","mailer"]'}, "PACKAGE_TYPES"),
        ({"LOOKUPS": "maybe"}, "LOOKUPS"),
        ({"DECISION_MAX_BYTES": "10"}, "DECISION_MAX_BYTES"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"ARTIFACTS_BUCKET": "Not_A_Bucket"}, "ARTIFACTS_BUCKET"),
    ],
)
def test_bad_settings_name_the_variable(override: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{variable}:"):
        load_settings({**ENV, **override})


def test_region_defaults_to_aws_region() -> None:
    env = {k: v for k, v in ENV.items() if k != "REGION"}
    assert load_settings({**env, "AWS_REGION": "eu-west-1"}).region == "eu-west-1"
    with pytest.raises(ConfigError, match=r"^REGION:"):
        load_settings(env)
