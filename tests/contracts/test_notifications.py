"""The notifications contract: SNS's subject rule, the platform's custom events (what the
trigger and the extract runner put, what notify reads back) and which alarms reach people
through notify."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from pkgml_contracts.notifications import (
    SUBJECT_MAX,
    EventNotSent,
    EventShapeError,
    ExtractFailed,
    RunFileNotStarted,
    RunFileQuarantined,
    detail_types,
    encodable,
    event_source,
    notifier_alarm_prefix,
    put_event,
    sns_subject,
    through_notify,
)
from tests.odd_text import ODD_TEXT

EVENTS = Path(__file__).resolve().parents[1] / "lambdas" / "events"


def test_the_cap_is_what_sns_documents():
    """SNS: 'Subjects must be ... less than 100 characters long'."""
    assert SUBJECT_MAX == 99


@pytest.mark.parametrize(
    "text",
    [
        "[dev] run file rejected (bad_key): runs/training/" + "é" * 200,
        "line one\nline two\ttabbed",
        "\udc80 lone surrogate",
        *ODD_TEXT,
    ],
)
def test_subjects_are_valid_for_sns(text):
    subject = sns_subject(text)
    assert 0 < len(subject) <= SUBJECT_MAX
    assert all(" " <= c <= "~" for c in subject)
    assert subject == subject.strip()


def test_short_subjects_are_kept():
    assert sns_subject("[dev] extract failed: training 2026-11-23") == (
        "[dev] extract failed: training 2026-11-23"
    )


def test_long_subjects_say_they_were_cut():
    subject = sns_subject("y" * 120)
    assert subject == "y" * 96 + "..." and len(subject) == 99


def test_lone_surrogates_become_visible_escapes_that_encode():
    text = encodable(json.loads('"bad \\udc80 key"'))
    assert text == "bad \\udc80 key"
    text.encode("utf-8")  # does not raise


@mock_aws
def test_sns_accepts_what_the_rules_produce():
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    raw = json.loads('"runs/training/\\udc80' + "z" * 300 + '"')
    sns.publish(TopicArn=topic, Subject=sns_subject(raw), Message=encodable(raw))


# --- alarms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "through"),
    [
        ("pkgml-dev-mailer-training-execution-failed", True),
        ("pkgml-dev-Dev-Ingest-Trigger-Handler-Fault-Count-Errors", True),
        ("pkgml-dev-trigger-failed-invocations-Queue-Message-Count-Max-NotEmpty", True),
        ("pkgml-dev-scheduler-TargetErrorCount", True),
        # the notifier's own: a direct SNS action instead
        ("pkgml-dev-notifier-Fault-Count-Errors", False),
        ("pkgml-dev-notifier-undelivered-events-Queue-Message-Count-Max-NotEmpty", False),
        # another environment's, or no prefix at all
        ("pkgml-prod-mailer-training-execution-failed", False),
        ("pkgml-devel-mailer-training-execution-failed", False),
        ("mailer-training-execution-failed", False),
    ],
)
def test_which_alarms_reach_people_through_notify(name: str, through: bool) -> None:
    assert through_notify(name, "pkgml", "dev") is through


def test_the_notifiers_alarms_have_their_own_sub_prefix() -> None:
    assert notifier_alarm_prefix("pkgml", "dev") == "pkgml-dev-notifier-"


# --- custom events -----------------------------------------------------------------------


def test_sources_and_detail_types() -> None:
    assert event_source("pkgml", "trigger") == "pkgml.trigger"
    assert event_source("pkgml", "extract") == "pkgml.extract"
    assert detail_types("trigger") == ("Run File Quarantined", "Run File Not Started")
    assert detail_types("extract") == ("Extract Failed",)


def test_the_quarantine_detail_is_the_documented_report() -> None:
    event = RunFileQuarantined(
        environment="dev",
        reason="out_of_range",
        message="must be an integer from 1 to 20 (got 64)",
        field="parameters.training.max_depth",
        bucket="pkgml-dev-data",
        key="runs/training/t-1.json",
        version="v1",
        etag="e1",
        quarantined_copy="s3://pkgml-dev-data/quarantine/h/t-1.json",
        report="s3://pkgml-dev-data/quarantine/h/t-1.json.error.json",
        time="2026-11-23T05:58:11Z",
    )
    assert event.detail() == {
        "environment": "dev",
        "reason": "out_of_range",
        "field": "parameters.training.max_depth",
        "message": "must be an integer from 1 to 20 (got 64)",
        "original": {
            "bucket": "pkgml-dev-data",
            "key": "runs/training/t-1.json",
            "version": "v1",
            "etag": "e1",
        },
        "quarantined_copy": "s3://pkgml-dev-data/quarantine/h/t-1.json",
        "report": "s3://pkgml-dev-data/quarantine/h/t-1.json.error.json",
        "time": "2026-11-23T05:58:11Z",
    }
    whole_file = RunFileQuarantined("dev", "not_json", "is not JSON", "b", "k\udc80")
    assert whole_file.detail()["field"] == ""  # the report's "whole file"
    assert whole_file.detail()["original"]["key"] == "k\\udc80"


def test_free_text_is_bounded() -> None:
    detail = ExtractFailed("dev", "training", "training-1", "x" * 10_000).detail()
    assert len(detail["problem"]) == 4000 and detail["problem"].endswith("...")


@pytest.mark.parametrize(
    ("shape", "sample"),
    [
        (RunFileQuarantined, "pkgml_trigger_run_file_quarantined"),
        (RunFileNotStarted, "pkgml_trigger_run_file_not_started"),
        (ExtractFailed, "pkgml_extract_failed"),
    ],
)
def test_the_recorded_samples_read_back_to_themselves(shape, sample) -> None:
    recorded = json.loads((EVENTS / f"{sample}.json").read_text())
    assert recorded["source"] == event_source("pkgml", shape.EMITTER)
    assert recorded["detail-type"] == shape.DETAIL_TYPE
    assert shape.from_detail(recorded["detail"]).detail() == recorded["detail"]


@pytest.mark.parametrize(
    ("shape", "detail", "problem"),
    [
        (RunFileQuarantined, {"environment": "dev", "reason": "r", "message": "m"},
         "detail.original: missing or not an object"),
        (RunFileQuarantined, {"environment": "dev", "reason": "r", "message": "m",
                              "original": {"bucket": "b"}},
         "detail.original.key: missing, empty or not a string"),
        (RunFileNotStarted, {"environment": "dev", "run_id": "r",
                             "run_file": {"bucket": "b", "key": "k"}, "running": {}},
         "detail.running: not an object of package type -> ARN"),
        (ExtractFailed, {"environment": "dev", "kind": "training", "run_id": "r"},
         "detail.problem: missing, empty or not a string"),
        (ExtractFailed, {"environment": "dev", "kind": "training", "run_id": "r",
                         "problem": "p", "outcome": "late"},
         "detail.outcome: must be 'failed' or 'empty'"),
        (ExtractFailed, {"environment": 7, "kind": "training", "run_id": "r", "problem": "p"},
         "detail.environment: missing, empty or not a string"),
    ],
)  # fmt: skip
def test_a_bad_detail_names_the_field(shape, detail, problem) -> None:
    with pytest.raises(EventShapeError) as raised:
        shape.from_detail(detail)
    assert str(raised.value) == problem


def test_put_event_sends_one_entry_to_the_default_bus() -> None:
    events = boto3.client("events", region_name="us-east-1")
    event = ExtractFailed("dev", "training", "training-2026-11-23", "FAILED: disque plein é")
    detail = {
        "environment": "dev",
        "function_name": None,
        "kind": "training",
        "outcome": "failed",
        "problem": "FAILED: disque plein é",
        "run_date": None,
        "run_id": "training-2026-11-23",
        "started_at": None,
        "statement_id": None,
        "statement_name": None,
    }
    with Stubber(events) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 0, "Entries": [{"EventId": "id-1"}]},
            {"Entries": [{"Source": "pkgml.extract", "DetailType": "Extract Failed",
                          # UTF-8 as it is (EventBridge takes it; no \u escapes)
                          "Detail": json.dumps(detail, sort_keys=True, ensure_ascii=False)}]},
        )  # fmt: skip
        assert put_event(events, "pkgml", event) == "id-1"


@pytest.mark.parametrize(
    "response",
    [
        {"FailedEntryCount": 1,
         "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]},
        {"FailedEntryCount": 0, "Entries": [{}]},  # no event id: not taken either
    ],
)  # fmt: skip
def test_an_entry_eventbridge_did_not_take_raises(response) -> None:
    events = boto3.client("events", region_name="us-east-1")
    with Stubber(events) as stub:
        stub.add_response("put_events", response)
        with pytest.raises(EventNotSent, match=r"'Extract Failed' event of pkgml\.extract"):
            put_event(events, "pkgml", ExtractFailed("dev", "training", "t-1", "p"))
