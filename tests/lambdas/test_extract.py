"""Extract runner: SQL rendering (escaping, no injection, the environment's KMS key), start
against moto's Data API, finish on FINISHED / FAILED / ABORTED / empty / unknown statements
(Stubber for DescribeStatement, because moto's statements never leave STARTED), the
"Extract Failed" event for the notify function (moto's EventBridge; PutEvents' request
shape and a refused entry with Stubber).

Recovery (sweeper, lost events, crashed starts, takeovers, tokens): test_extract_recovery.py.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from extract_service import Clients, Extractor, InputError, parse_start_event
from extract_settings import ConfigError, load_settings
from extract_sql import load_templates, render_query, unload_statement
from runfile import RunKey, parse_run_file

from tests.lambdas.conftest import (
    ACCOUNT,
    BUCKET,
    EXTRACT_ENV,
    PACKAGE_TYPES,
    REGION,
    ROLE_ARN,
    NoListBucketS3,
    deployment,
    fresh_import,
    keys,
    notified,
    put_manifest,
    sent_events,
)

NOW = datetime(2026, 11, 23, 3, 0, 5, tzinfo=UTC).timestamp()
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# conftest's environment plus what this runner requires beyond it
ENV = {**EXTRACT_ENV, "UNLOAD_KMS_KEY_ARN": KMS_KEY_ARN}
RAW_COLUMNS = ("product_id", "length_cm", "width_cm", "height_cm", "weight_kg", "fragility",
               "is_liquid", "has_battery", "category", "price")  # fmt: skip


class RecordingDataApi:
    """Delegates to a (moto or stubbed) client and records execute_statement calls."""

    def __init__(self, real: Any, fail_with: str | None = None) -> None:
        self.real, self.fail_with = real, fail_with
        self.calls: list[dict[str, Any]] = []

    def execute_statement(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.fail_with:
            raise ClientError({"Error": {"Code": self.fail_with, "Message": "x"}}, "Execute")
        return self.real.execute_statement(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def make_extractor(
    aws: dict[str, Any],
    data_api: Any = None,
    *,
    clock: Callable[[], float] = lambda: NOW,
    s3: Any = None,
    events: Any = None,
    **env: str,
) -> Extractor:
    settings = load_settings({**ENV, **env})
    clients = Clients(s3=s3 or aws["s3"], redshift_data=data_api or aws["redshift_data"],
                      events=events or aws["events"])  # fmt: skip
    return Extractor(settings, clients, logging.getLogger("test.extract"), clock=clock)


def status_event(
    statement_id: str, state: str, statement_name: str = "pkgml-dev-extract-training-2026-11-23"
) -> dict[str, Any]:
    """The documented "Redshift Data Statement Status Change" event."""
    return {
        "version": "0",
        "id": "18e7079c-dd4b-dd64-caf9-e2a31640dab0",
        "detail-type": "Redshift Data Statement Status Change",
        "source": "aws.redshift-data",
        "account": "123456789012",
        "time": "2026-11-23T03:20:26Z",
        "region": REGION,
        "resources": ["arn:aws:redshift:us-east-1:123456789012:cluster:pkgml-warehouse"],
        "detail": {
            "principal": "arn:aws:sts::123456789012:assumed-role/pkgml-dev-extract/fn",
            "statementName": statement_name,
            "statementId": statement_id,
            "redshiftQueryId": -1,
            "state": state,
            "rows": 1,
            "expireAt": 1795000000,
        },
    }


def read_json(s3: Any, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


# --- rendering --------------------------------------------------------------------------


def quoted_query(statement: str) -> str:
    """The UNLOAD's query literal, un-escaped; asserts the literal closes exactly at "')"."""
    match = re.fullmatch(r"UNLOAD \('((?:[^']|'')*)'\)\nTO (.*)", statement, flags=re.S)
    assert match, statement
    return match[1].replace("''", "'")


def test_training_unload_is_golden() -> None:
    query = render_query(
        load_templates()["training"], run_date=date(2026, 11, 23), package_types=PACKAGE_TYPES
    )
    statement = unload_statement(
        query,
        s3_prefix=f"s3://{BUCKET}/unload/training/training-2026-11-23/",
        role_arn=ROLE_ARN,
        kms_key_arn=KMS_KEY_ARN,
        max_file_size_mb=256,
    )
    # ENCRYPTED + KMS_KEY_ID: SSE-KMS under the environment's key (without them UNLOAD
    # writes SSE-S3 whatever the bucket's default encryption says)
    assert statement.endswith(
        f"TO 's3://{BUCKET}/unload/training/training-2026-11-23/'\n"
        f"IAM_ROLE '{ROLE_ARN}'\nFORMAT PARQUET\nMANIFEST\nENCRYPTED\n"
        f"KMS_KEY_ID '{KMS_KEY_ARN}'\nMAXFILESIZE 256 MB\nALLOWOVERWRITE"
    )
    inner = quoted_query(statement)
    assert inner == query
    assert "DATE ''2026-11-23''" in statement  # quotes doubled inside the literal
    assert "IN (''mailer'', ''bag'', ''box'', ''sioc'')" in statement
    assert "--" not in inner and ";" not in inner
    selected = inner.split("FROM")[0]
    for column in (*RAW_COLUMNS, "package_type", "label"):
        assert re.search(rf"\.{column}\b", selected), column


@pytest.mark.parametrize("kind", ["inference-daily", "inference-monthly"])
def test_inference_queries_select_raw_columns_without_labels(kind: str) -> None:
    query = render_query(load_templates()[kind], run_date=date(2026, 3, 1), package_types=())
    selected = query.split("FROM")[0]
    assert all(re.search(rf"\.{c}\b", selected) for c in RAW_COLUMNS)
    assert "label" not in selected and "${" not in query and "DATE '2026-03-01'" in query


def test_daily_query_reads_the_day_before_the_run_date() -> None:
    query = render_query(load_templates()["inference-daily"], run_date=date(2026, 3, 1),
                         package_types=())  # fmt: skip
    assert "created_at >= DATEADD(day, -1, DATE '2026-03-01')" in query
    assert "created_at < DATE '2026-03-01'" in query


def test_templates_with_statement_breaks_or_unsafe_values_are_refused() -> None:
    with pytest.raises(ValueError, match="one statement"):
        render_query("SELECT 1; DROP TABLE x", run_date=date(2026, 1, 1), package_types=())
    with pytest.raises(ValueError, match="not safe"):
        render_query("SELECT ${package_types}", run_date=date(2026, 1, 1),
                     package_types=("x'); DROP TABLE y",))  # fmt: skip
    safe = {"s3_prefix": f"s3://{BUCKET}/unload/training/t-1/", "role_arn": ROLE_ARN,
            "kms_key_arn": KMS_KEY_ARN, "max_file_size_mb": 256}  # fmt: skip
    assert "ENCRYPTED" in unload_statement("SELECT 1", **safe)
    with pytest.raises(ValueError, match="S3 prefix"):
        unload_statement("SELECT 1", **{**safe, "s3_prefix": "s3://b/x' IAM_ROLE 'y/"})
    with pytest.raises(ValueError, match="role"):
        unload_statement("SELECT 1", **{**safe, "role_arn": "arn:aws:iam::1:role/x' --"})
    for key in (f"{KMS_KEY_ARN}' ALLOWOVERWRITE --", "alias/aws/s3", ""):
        with pytest.raises(ValueError, match="KMS key"):
            unload_statement("SELECT 1", **{**safe, "kms_key_arn": key})


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "training", "run_date": "2026-11-23'); DROP TABLE packaging.products; --"},
        {"kind": "training' OR '1'='1"},
        {"kind": "training", "sql": "SELECT 1"},
        {"kind": "training", "run_date": "2026-02-30"},
        {"kind": "training", "run_date": 20261123},
        {"run_date": "2026-11-23"},
        ["training"],
    ],
)
def test_start_input_is_validated(event: Any) -> None:
    with pytest.raises(InputError):
        parse_start_event(event, date(2026, 11, 23))


def test_run_date_defaults_to_scheduled_time_then_today() -> None:
    today = date(2026, 11, 23)
    assert parse_start_event({"kind": "training"}, today).run_id == "training-2026-11-23"
    scheduled = {"kind": "inference-daily", "scheduled_time": "2026-11-20T05:00:00Z"}
    assert parse_start_event(scheduled, today).run_id == "inference-daily-2026-11-20"


# --- start ------------------------------------------------------------------------------


def test_start_submits_one_unload_and_records_it(aws: dict[str, Any]) -> None:
    data_api = RecordingDataApi(aws["redshift_data"])
    result = make_extractor(aws, data_api).start({"kind": "training"})

    assert result["status"] == "submitted" and result["run_id"] == "training-2026-11-23"
    [call] = data_api.calls
    assert call["WithEvent"] is True
    assert re.fullmatch(r"pkgml-dev-extract-training-2026-11-23\.[0-9a-f]{12}",
                        call["StatementName"])  # fmt: skip
    assert call["ClusterIdentifier"] == "pkgml-warehouse"
    assert call["SecretArn"] == EXTRACT_ENV["REDSHIFT_SECRET_ARN"]
    assert call["Database"] == "analytics" and "DbUser" not in call
    assert call["Sql"].startswith("UNLOAD ('SELECT")
    assert f"TO 's3://{BUCKET}/unload/training/training-2026-11-23/'" in call["Sql"]
    assert f"\nENCRYPTED\nKMS_KEY_ID '{KMS_KEY_ARN}'\n" in call["Sql"]
    described = aws["redshift_data"].describe_statement(Id=result["statement_id"])
    assert described["QueryString"] == call["Sql"]

    pending = read_json(aws["s3"], f"extract-state/{result['statement_id']}.json")
    assert pending["kind"] == "training" and pending["run_id"] == "training-2026-11-23"
    assert pending["manifest"] == (f"s3://{BUCKET}/unload/training/training-2026-11-23/manifest")
    assert pending["started_at"] == "2026-11-23T03:00:05Z"


def test_refired_schedule_does_not_start_a_second_unload(aws: dict[str, Any]) -> None:
    data_api = RecordingDataApi(aws["redshift_data"])
    extractor = make_extractor(aws, data_api)
    extractor.start({"kind": "inference-daily"})
    again = extractor.start({"kind": "inference-daily", "run_date": "2026-11-23"})
    assert again == {"status": "skipped", "reason": "already_running", "kind": "inference-daily",
                     "run_id": "inference-daily-2026-11-23"}  # fmt: skip
    assert len(data_api.calls) == 1
    # another date is another run
    extractor.start({"kind": "inference-daily", "run_date": "2026-11-24"})
    assert len(data_api.calls) == 2


def test_start_is_skipped_when_the_run_file_exists(aws: dict[str, Any]) -> None:
    aws["s3"].put_object(Bucket=BUCKET, Key="runs/training/training-2026-11-23.json", Body=b"{}")
    data_api = RecordingDataApi(aws["redshift_data"])
    result = make_extractor(aws, data_api).start({"kind": "training"})
    assert result["reason"] == "run_file_exists" and data_api.calls == []


def test_failed_submit_releases_the_claim(aws: dict[str, Any]) -> None:
    failing = RecordingDataApi(aws["redshift_data"], fail_with="ActiveStatementsExceededException")
    with pytest.raises(ClientError):
        make_extractor(aws, failing).start({"kind": "training"})
    assert keys(aws["s3"], "extract-state/") == ["extract-state/runs/training-2026-11-23.json"]
    claim = read_json(aws["s3"], "extract-state/runs/training-2026-11-23.json")
    assert claim["status"] == "failed" and "ActiveStatementsExceededException" in claim["error"]
    ok = RecordingDataApi(aws["redshift_data"])
    assert make_extractor(aws, ok).start({"kind": "training"})["status"] == "submitted"


@pytest.mark.parametrize(
    ("env", "present", "absent"),
    [
        ({"REDSHIFT_CLUSTER_ID": "", "REDSHIFT_WORKGROUP": "pkgml-wg"},
         {"WorkgroupName": "pkgml-wg", "SecretArn": EXTRACT_ENV["REDSHIFT_SECRET_ARN"]},
         ("ClusterIdentifier", "DbUser")),
        ({"REDSHIFT_CLUSTER_ID": "", "REDSHIFT_WORKGROUP": "pkgml-wg", "REDSHIFT_SECRET_ARN": ""},
         {"WorkgroupName": "pkgml-wg"}, ("ClusterIdentifier", "DbUser", "SecretArn")),
        ({"REDSHIFT_SECRET_ARN": "", "REDSHIFT_DB_USER": "unloader"},
         {"ClusterIdentifier": "pkgml-warehouse", "DbUser": "unloader"},
         ("WorkgroupName", "SecretArn")),
    ],
)  # fmt: skip
def test_connection_parameters_follow_configuration(
    aws: dict[str, Any], env: dict[str, str], present: dict[str, str], absent: tuple[str, ...]
) -> None:
    data_api = RecordingDataApi(aws["redshift_data"])
    make_extractor(aws, data_api, **env).start({"kind": "training"})
    [call] = data_api.calls
    assert present.items() <= call.items()
    assert not set(absent) & set(call)


# --- finish -----------------------------------------------------------------------------


def started(aws: dict[str, Any], kind: str = "training", run_date: str = "2026-11-23") -> str:
    result = make_extractor(aws).start({"kind": kind, "run_date": run_date})
    return str(result["statement_id"])


def test_finished_writes_a_valid_run_file_once(aws: dict[str, Any]) -> None:
    statement_id = started(aws)
    manifest = f"s3://{BUCKET}/unload/training/training-2026-11-23/manifest"
    put_manifest(aws["s3"], manifest)
    extractor = make_extractor(aws)

    result = extractor.finish(status_event(statement_id, "FINISHED"))

    assert result["status"] == "finished"
    key = "runs/training/training-2026-11-23.json"
    run_file = read_json(aws["s3"], key)
    # the trigger's own schema accepts what the extract writes
    run = parse_run_file(run_file, expected=RunKey("training", "training-2026-11-23"),
                         data_bucket=BUCKET, configured_package_types=PACKAGE_TYPES,
                         deployment=deployment())  # fmt: skip
    assert run.manifest_uri == manifest
    assert read_json(aws["s3"], f"extract-state/{statement_id}.json")["status"] == "finished"

    duplicate = extractor.finish(status_event(statement_id, "FINISHED"))
    assert duplicate["status"] == "ignored"
    versions = aws["s3"].list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]
    assert len(versions) == 1 and sent_events() == []


def test_finished_never_overwrites_a_run_file_dropped_by_hand(aws: dict[str, Any]) -> None:
    statement_id = started(aws)
    put_manifest(aws["s3"], f"s3://{BUCKET}/unload/training/training-2026-11-23/manifest")
    key = "runs/training/training-2026-11-23.json"
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=b'{"by": "hand"}')
    result = make_extractor(aws).finish(status_event(statement_id, "FINISHED"))
    assert result["status"] == "run_file_exists"
    assert read_json(aws["s3"], key) == {"by": "hand"}


def test_finished_without_manifest_alerts_and_writes_nothing(aws: dict[str, Any]) -> None:
    statement_id = started(aws)
    result = make_extractor(aws).finish(status_event(statement_id, "FINISHED"))
    assert result["reason"] == "manifest_missing"
    assert keys(aws["s3"], "runs/") == []
    [sent] = sent_events()
    assert sent["detail"]["run_id"] == "training-2026-11-23"
    assert sent["detail"]["outcome"] == "failed" and "manifest" in sent["detail"]["problem"]


@pytest.mark.parametrize(("kind", "alerted"), [("inference-daily", 0), ("training", 1)])
def test_empty_extract_writes_no_run_file(aws: dict[str, Any], kind: str, alerted: int) -> None:
    statement_id = started(aws, kind)
    put_manifest(aws["s3"], f"s3://{BUCKET}/unload/{kind}/{kind}-2026-11-23/manifest", entries=0)
    assert make_extractor(aws).finish(status_event(statement_id, "FINISHED"))["status"] == "empty"
    assert keys(aws["s3"], "runs/") == [] and len(sent_events()) == alerted


def describing(statement_id: str, **described: Any) -> Any:
    """A Data API client whose one DescribeStatement call answers `described` (Stubber)."""
    client = boto3.client("redshift-data", region_name=REGION)
    stub = Stubber(client)
    stub.add_response("describe_statement", {"Id": statement_id, **described},
                      {"Id": statement_id})  # fmt: skip
    stub.activate()
    return client


def claim_of(aws: dict[str, Any], run_id: str) -> dict[str, Any]:
    return read_json(aws["s3"], f"extract-state/runs/{run_id}.json")


def test_empty_day_without_manifest_is_a_quiet_no_op(aws: dict[str, Any]) -> None:
    # Redshift may write no manifest for 0 rows; DescribeStatement's ResultRows says why.
    statement_id = started(aws, "inference-daily")
    data_api = describing(statement_id, Status="FINISHED", ResultRows=0)
    result = make_extractor(aws, data_api).finish(status_event(statement_id, "FINISHED"))
    assert result["status"] == "empty"
    assert keys(aws["s3"], "runs/") == [] and sent_events() == []
    assert claim_of(aws, "inference-daily-2026-11-23")["status"] == "empty"
    assert read_json(aws["s3"], f"extract-state/{statement_id}.json")["status"] == "empty"


def test_zero_row_training_without_manifest_alerts_that_it_is_empty(aws: dict[str, Any]) -> None:
    statement_id = started(aws, "training")
    data_api = describing(statement_id, Status="FINISHED", ResultRows=0)
    result = make_extractor(aws, data_api).finish(status_event(statement_id, "FINISHED"))
    assert result["status"] == "empty"
    [sent] = sent_events()
    assert sent["detail"]["outcome"] == "empty" and "no rows" in sent["detail"]["problem"]
    assert notified(sent).subject == "[dev] EXTRACT EMPTY: training training-2026-11-23"
    assert claim_of(aws, "training-2026-11-23")["status"] == "empty"


def test_missing_manifest_after_unloading_rows_is_a_failure(aws: dict[str, Any]) -> None:
    statement_id = started(aws, "inference-daily")
    data_api = describing(statement_id, Status="FINISHED", ResultRows=1234)
    result = make_extractor(aws, data_api).finish(status_event(statement_id, "FINISHED"))
    assert result["status"] == "failed" and result["reason"] == "manifest_missing"
    [sent] = sent_events()
    assert sent["detail"]["outcome"] == "failed" and "1234 rows" in sent["detail"]["problem"]
    assert claim_of(aws, "inference-daily-2026-11-23")["status"] == "failed"


def test_an_unencodable_redshift_error_is_escaped_in_the_event(aws: dict[str, Any]) -> None:
    # A lone surrogate in Redshift's error text cannot be encoded: the contract escapes it
    # (encodable) instead of breaking the PutEvents call.
    statement_id = started(aws)
    data_api = describing(statement_id, Status="FAILED", Error="bad name \udc80 in relation")
    make_extractor(aws, data_api).finish(status_event(statement_id, "FAILED"))
    [sent] = sent_events()
    assert sent["detail"]["problem"] == "FAILED: bad name \\udc80 in relation"
    assert "bad name \\udc80 in relation" in notified(sent).body


def test_put_events_request_is_one_entry_on_the_default_bus(aws: dict[str, Any]) -> None:
    """The exact PutEvents request (Stubber: botocore validates it against the API model)."""
    statement_id = started(aws)
    data_api = describing(statement_id, Status="ABORTED", Error="cancelled by the user")
    events = boto3.client("events", region_name=REGION)
    detail = {
        "environment": "dev",
        "function_name": "pkgml-dev-extract-runner",
        "kind": "training",
        "outcome": "failed",
        "problem": "ABORTED: cancelled by the user",
        "run_date": "2026-11-23",
        "run_id": "training-2026-11-23",
        "started_at": "2026-11-23T03:00:05Z",
        "statement_id": statement_id,
        "statement_name": claim_of(aws, "training-2026-11-23")["statement_name"],
    }
    with Stubber(events) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 0, "Entries": [{"EventId": "11111111-2222-3333-4444-5555"}]},
            {"Entries": [{"Source": "pkgml.extract", "DetailType": "Extract Failed",
                          "Detail": json.dumps(detail, sort_keys=True)}]},
        )  # fmt: skip
        extractor = make_extractor(
            aws, data_api, events=events, AWS_LAMBDA_FUNCTION_NAME="pkgml-dev-extract-runner"
        )
        assert extractor.finish(status_event(statement_id, "ABORTED"))["status"] == "failed"
        stub.assert_no_pending_responses()


def test_an_event_eventbridge_refuses_raises_and_the_claim_stays_unsettled(
    aws: dict[str, Any],
) -> None:
    """PutEvents answers 200 with FailedEntryCount 1: the finish raises (EventBridge retries
    the status event, then its dead-letter queue keeps it); nothing is marked failed."""
    from pkgml_contracts.notifications import EventNotSent

    statement_id = started(aws)
    events = boto3.client("events", region_name=REGION)
    with Stubber(events) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 1,
             "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]},
        )  # fmt: skip
        data_api = describing(statement_id, Status="FAILED", Error="ERROR: disk full")
        with pytest.raises(EventNotSent, match="InternalFailure: try again"):
            make_extractor(aws, data_api, events=events).finish(
                status_event(statement_id, "FAILED")
            )
    assert read_json(aws["s3"], f"extract-state/{statement_id}.json")["status"] == "submitted"
    assert claim_of(aws, "training-2026-11-23")["status"] == "submitted"
    # the retry puts the event and settles
    data_api = describing(statement_id, Status="FAILED", Error="ERROR: disk full")
    make_extractor(aws, data_api).finish(status_event(statement_id, "FAILED"))
    assert [e["detail"]["problem"] for e in sent_events()] == ["FAILED: ERROR: disk full"]
    assert claim_of(aws, "training-2026-11-23")["status"] == "failed"


@pytest.mark.parametrize("state", ["FAILED", "ABORTED"])
def test_failed_or_aborted_alerts_with_redshift_error(aws: dict[str, Any], state: str) -> None:
    statement_id = started(aws)
    stubbed = boto3.client("redshift-data", region_name=REGION)
    error = "ERROR: permission denied for relation package_labels"
    with Stubber(stubbed) as stub:
        described = {"Id": statement_id, "Status": state, "Error": error}
        stub.add_response("describe_statement", described, {"Id": statement_id})
        result = make_extractor(aws, stubbed).finish(status_event(statement_id, state))
        stub.assert_no_pending_responses()

    assert result["status"] == "failed" and result["error"] == error
    assert keys(aws["s3"], "runs/") == []
    [sent] = sent_events()
    assert (sent["source"], sent["detail-type"]) == ("pkgml.extract", "Extract Failed")
    claim = claim_of(aws, "training-2026-11-23")
    assert sent["detail"] == {
        "environment": "dev",
        "kind": "training",
        "run_id": "training-2026-11-23",
        "outcome": "failed",
        "problem": f"{state}: ERROR: permission denied for relation package_labels",
        "run_date": "2026-11-23",
        "statement_id": statement_id,
        "statement_name": claim["statement_name"],
        "started_at": "2026-11-23T03:00:05Z",
        "function_name": None,  # outside Lambda: AWS_LAMBDA_FUNCTION_NAME unset
    }
    assert notified(sent).subject == "[dev] EXTRACT FAILED: training training-2026-11-23"
    claim = read_json(aws["s3"], "extract-state/runs/training-2026-11-23.json")
    assert claim["status"] == "failed"

    # the same event again: no second alert
    make_extractor(aws, stubbed).finish(status_event(statement_id, state))
    assert len(sent_events()) == 1
    # a re-fired schedule may now run the extract again
    assert (
        make_extractor(aws).start({"kind": "training", "run_date": "2026-11-23"})["status"]
        == "submitted"
    )


def test_describe_failure_still_alerts(aws: dict[str, Any]) -> None:
    statement_id = started(aws)
    stubbed = boto3.client("redshift-data", region_name=REGION)
    with Stubber(stubbed) as stub:
        stub.add_client_error("describe_statement", "ResourceNotFoundException")
        result = make_extractor(aws, stubbed).finish(status_event(statement_id, "FAILED"))
    assert "ResourceNotFoundException" in result["error"] and len(sent_events()) == 1


def test_unknown_statement_is_ignored(aws: dict[str, Any]) -> None:
    result = make_extractor(aws).finish(
        status_event("dd2e1ec9-2ee3-49a0-819f-905fa7d75a4a", "FINISHED")
    )
    assert result["status"] == "ignored" and result["reason"] == "unknown_statement"
    assert keys(aws["s3"], "runs/") == [] and sent_events() == []


def test_missing_state_is_recognised_without_list_bucket_404s(aws: dict[str, Any]) -> None:
    settings = load_settings(ENV)
    clients = Clients(s3=NoListBucketS3(aws["s3"]), redshift_data=aws["redshift_data"],
                      events=aws["events"])  # fmt: skip
    extractor = Extractor(settings, clients, logging.getLogger("t"), clock=lambda: NOW)
    assert extractor.start({"kind": "training"})["status"] == "submitted"
    unknown = extractor.finish(status_event("dd2e1ec9-2ee3-49a0-819f-905fa7d75a4a", "FAILED"))
    assert unknown["reason"] == "unknown_statement" and sent_events() == []


def test_non_terminal_state_is_ignored(aws: dict[str, Any]) -> None:
    statement_id = started(aws)
    result = make_extractor(aws).finish(status_event(statement_id, "STARTED"))
    assert result["reason"] == "not_terminal"
    assert read_json(aws["s3"], f"extract-state/{statement_id}.json")["status"] == "submitted"


def test_malformed_finish_event_raises(aws: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        make_extractor(aws).finish({"detail": {"state": "FINISHED"}})


# --- handler and settings ---------------------------------------------------------------


@pytest.mark.parametrize("entry", ["split", "dispatch"])
def test_handlers_end_to_end(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    module = fresh_import("extract_handler", monkeypatch, ENV)
    start = module.start if entry == "split" else module.handler
    finish = module.finish if entry == "split" else module.handler
    result = start({"kind": "inference-monthly", "run_date": "2026-12-01"}, None)
    assert result["status"] == "submitted"
    put_manifest(aws["s3"], f"s3://{BUCKET}/unload/inference-monthly/"
                 "inference-monthly-2026-12-01/manifest")  # fmt: skip
    finished = finish(status_event(result["statement_id"], "FINISHED"), None)
    assert finished["run_file"] == "runs/inference-monthly/inference-monthly-2026-12-01.json"


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"REDSHIFT_WORKGROUP": "pkgml-wg"}, "REDSHIFT_CLUSTER_ID / REDSHIFT_WORKGROUP"),
        ({"REDSHIFT_CLUSTER_ID": ""}, "REDSHIFT_CLUSTER_ID / REDSHIFT_WORKGROUP"),
        ({"REDSHIFT_SECRET_ARN": ""}, "REDSHIFT_SECRET_ARN / REDSHIFT_DB_USER"),
        ({"REDSHIFT_DB_USER": "u"}, "REDSHIFT_SECRET_ARN / REDSHIFT_DB_USER"),
        ({"REDSHIFT_CLUSTER_ID": "", "REDSHIFT_WORKGROUP": "pkgml-wg", "REDSHIFT_SECRET_ARN": "",
          "REDSHIFT_DB_USER": "u"}, "REDSHIFT_DB_USER"),
        ({"REDSHIFT_UNLOAD_ROLE_ARN": "arn:aws:iam::1:role/x"}, "REDSHIFT_UNLOAD_ROLE_ARN"),
        ({"REDSHIFT_DATABASE": ""}, "REDSHIFT_DATABASE"),
        ({"UNLOAD_MAX_FILE_SIZE_MB": "7000"}, "UNLOAD_MAX_FILE_SIZE_MB"),
        ({"EXTRACT_STATE_PREFIX": "runs/state/"}, "EXTRACT_STATE_PREFIX"),
        ({"PACKAGE_TYPES": "[]"}, "PACKAGE_TYPES"),
        ({"STATEMENT_PREFIX": "bad prefix"}, "STATEMENT_PREFIX"),
        ({"UNLOAD_KMS_KEY_ARN": ""}, "UNLOAD_KMS_KEY_ARN"),
        ({"UNLOAD_KMS_KEY_ARN": "alias/aws/s3"}, "UNLOAD_KMS_KEY_ARN"),
        ({"UNLOAD_KMS_KEY_ARN": f"{KMS_KEY_ARN}' --"}, "UNLOAD_KMS_KEY_ARN"),
        ({"SWEEP_AFTER_SECONDS": "30"}, "SWEEP_AFTER_SECONDS"),
        ({"PROJECT": ""}, "PROJECT"),
    ],
)  # fmt: skip
def test_bad_configuration_names_the_variable(override: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(variable)):
        load_settings({**ENV, **override})


def test_the_unload_key_is_required_and_sweep_defaults_to_fifteen_minutes() -> None:
    with pytest.raises(ConfigError, match="UNLOAD_KMS_KEY_ARN: required"):
        load_settings(EXTRACT_ENV)
    settings = load_settings(ENV)
    assert settings.kms_key_arn == KMS_KEY_ARN and settings.sweep_after_seconds == 900
    mrk = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    assert load_settings({**ENV, "UNLOAD_KMS_KEY_ARN": mrk}).kms_key_arn == mrk


def test_statement_name_starts_with_the_event_rule_prefix() -> None:
    name = load_settings(ENV).statement_name("t-1", "0123456789ab")
    assert name == "pkgml-dev-extract-t-1.0123456789ab"
    settings = load_settings({**ENV, "STATEMENT_PREFIX": "pkgml2-prod-"})
    assert settings.statement_name("t-1", "0123456789ab") == "pkgml2-prod-extract-t-1.0123456789ab"
