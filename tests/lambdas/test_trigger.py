"""Trigger against moto (S3, SageMaker, EventBridge): starts, de-duplication, quarantine and
its event, failures."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from typing import Any
from urllib.parse import quote_plus

import pytest
from botocore.exceptions import ClientError
from runfile import Reason
from trigger_service import (
    BatchError,
    Clients,
    EventShapeError,
    Trigger,
    client_request_token,
    display_name,
    object_refs,
)
from trigger_settings import ConfigError, load_settings

from tests.lambdas.conftest import (
    BUCKET,
    PACKAGE_TYPES,
    PIPELINES,
    TRIGGER_ENV,
    NoListBucketS3,
    all_executions,
    example,
    executions,
    fresh_import,
    keys,
    put_manifest,
    sent_events,
)

TRAINING = example("training-2026-11-23-deeper-trees.json")
DAILY = example("inference-daily-2026-11-24.json")


class Recorder:
    """Delegates to a real client, recording calls; can fail chosen pipelines."""

    def __init__(self, real: Any, fail_pipelines: set[str] | None = None, code: str = "") -> None:
        self.real = real
        self.calls: list[dict[str, Any]] = []
        self.fail_pipelines = fail_pipelines or set()
        self.code = code

    def start_pipeline_execution(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if kwargs["PipelineName"] in self.fail_pipelines:
            raise ClientError(
                {"Error": {"Code": self.code, "Message": "injected"}}, "StartPipelineExecution"
            )
        return self.real.start_pipeline_execution(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def make_trigger(aws: dict[str, Any], sagemaker: Any = None, s3: Any = None, **env: str) -> Trigger:
    settings = load_settings({**TRIGGER_ENV, **env})
    clients = Clients(
        s3=s3 or aws["s3"], sagemaker=sagemaker or aws["sagemaker"], events=aws["events"]
    )
    return Trigger(settings, clients, logging.getLogger("test.trigger"))


def upload(aws: dict[str, Any], document: Any, key: str | None = None) -> dict[str, Any]:
    """Put a run file (dict -> JSON, bytes as-is) and return its S3 event record."""
    if isinstance(document, dict):
        key = key or f"runs/{document['kind']}/{document['run_id']}.json"
        body = json.dumps(document).encode()
    else:
        body = document
    assert key is not None
    response = aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=body)
    return record(key, response.get("VersionId"), response["ETag"])


def record(key: str, version_id: str | None = None, etag: str = '"abc"') -> dict[str, Any]:
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": 1, "eTag": etag.strip('"')}
    if version_id:
        obj["versionId"] = version_id
    return {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": obj},
    }


def event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def with_manifest(aws: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    put_manifest(aws["s3"], document["data"]["manifest"])
    return document


def markers(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=k)["Body"].read())
        for k in keys(aws["s3"], "trigger-state/")
    ]


# --- valid files ------------------------------------------------------------------------


def test_valid_file_starts_one_execution_per_package_type_with_its_parameters(
    aws: dict[str, Any],
) -> None:
    document = with_manifest(aws, TRAINING)
    sagemaker = Recorder(aws["sagemaker"])
    summary = make_trigger(aws, sagemaker).handle(event(upload(aws, document)))

    assert summary["started"] == 2 and summary["quarantined"] == 0
    for package_type in PACKAGE_TYPES:
        runs = executions(aws["sagemaker"], PIPELINES["training"][package_type])
        assert len(runs) == (1 if package_type in ("mailer", "box") else 0)
    arn = executions(aws["sagemaker"], PIPELINES["training"]["box"])[0]["PipelineExecutionArn"]
    params = aws["sagemaker"].list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    values = {p["Name"]: p["Value"] for p in params["PipelineParameters"]}
    assert values["InputManifestUri"] == document["data"]["manifest"]
    assert values["RunId"] == document["run_id"]
    assert values["MaxDepth"] == "8" and values["LearningRate"] == "0.05"
    described = aws["sagemaker"].describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionDisplayName"] == f"{document['run_id']}-box"

    tokens = [c["ClientRequestToken"] for c in sagemaker.calls]
    assert len(set(tokens)) == 2 and all(32 <= len(t) <= 128 for t in tokens)
    assert sorted(m["status"] for m in markers(aws)) == ["started", "started"]
    assert {m["execution_arn"] for m in markers(aws)} == set(
        summary["outcomes"][0]["executions"].values()
    )


def test_inference_kinds_route_to_the_inference_pipelines(aws: dict[str, Any]) -> None:
    make_trigger(aws).handle(event(upload(aws, with_manifest(aws, DAILY))))
    for package_type in PACKAGE_TYPES:
        assert len(executions(aws["sagemaker"], PIPELINES["inference-daily"][package_type])) == 1
        assert executions(aws["sagemaker"], PIPELINES["training"][package_type]) == []


def test_duplicate_delivery_starts_nothing_more(aws: dict[str, Any]) -> None:
    trigger = make_trigger(aws)
    rec = upload(aws, with_manifest(aws, DAILY))
    first = trigger.handle(event(rec))
    second = trigger.handle(event(rec))
    third = trigger.handle(event(rec, rec))  # the same record twice in one batch

    assert first["started"] == 4
    assert second["started"] == 0 and second["duplicates"] == 4
    assert third["started"] == 0 and third["duplicates"] == 8
    assert second["outcomes"][0]["status"] == "duplicate"
    assert all_executions(aws["sagemaker"]) == 4


def test_a_new_version_of_the_file_is_a_new_run(aws: dict[str, Any]) -> None:
    trigger = make_trigger(aws)
    document = with_manifest(aws, DAILY)
    trigger.handle(event(upload(aws, document)))
    trigger.handle(event(upload(aws, document)))
    assert all_executions(aws["sagemaker"]) == 8


def test_unversioned_bucket_dedupes_on_etag(aws: dict[str, Any]) -> None:
    aws["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    trigger = make_trigger(aws)
    document = with_manifest(aws, DAILY)
    trigger.handle(event(upload(aws, document)))
    trigger.handle(event(upload(aws, document)))  # same bytes, same ETag
    assert all_executions(aws["sagemaker"]) == 4


def test_eventbridge_object_created_shape_is_accepted(aws: dict[str, Any]) -> None:
    obj = upload(aws, with_manifest(aws, DAILY))["s3"]["object"]
    eb_event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": BUCKET},
            "object": {"key": obj["key"], "version-id": obj["versionId"]},
        },
    }
    assert make_trigger(aws).handle(eb_event)["started"] == 4


# --- bad files: quarantined, nothing started, original kept ----------------------------


def _bad_cases() -> list[Any]:
    def doc(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
        document = copy.deepcopy(base)
        *parents, last = path.split(".")
        node = document
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
        return document

    train_key = f"runs/training/{TRAINING['run_id']}.json"
    return [
        pytest.param(b"{" + b" " * 70000 + b"}", train_key, Reason.TOO_LARGE, id="too_large"),
        pytest.param(b"\xff\xfe\x00{", train_key, Reason.NOT_UTF8, id="not_utf8"),
        pytest.param(b"kind: training", train_key, Reason.NOT_JSON, id="not_json"),
        pytest.param(doc(TRAINING, "extra", 1), None, Reason.SCHEMA_VIOLATION, id="schema"),
        pytest.param(
            doc(TRAINING, "schema_version", 2), None, Reason.UNSUPPORTED_SCHEMA_VERSION, id="v2"
        ),
        pytest.param(TRAINING, "runs/scoring/x.json", Reason.UNKNOWN_KIND, id="unknown_kind"),
        pytest.param(
            doc(TRAINING, "package_types", ["crate"]), None, Reason.UNKNOWN_PACKAGE_TYPE,
            id="unknown_package_type",
        ),
        pytest.param(
            doc(TRAINING, "parameters.training_instance_count", 99), None, Reason.OUT_OF_RANGE,
            id="out_of_range",
        ),
        pytest.param(
            doc(DAILY, "parameters.validation_ratio", 0.2), None, Reason.NOT_FOR_KIND,
            id="training_param_on_inference",
        ),
        pytest.param(
            TRAINING, "runs/training/another-name.json", Reason.KEY_MISMATCH, id="run_id_vs_name"
        ),
        pytest.param(TRAINING, "runs/inference-daily/training-2026-11-23-deeper-trees.json",
                     Reason.KEY_MISMATCH, id="kind_vs_folder"),
        pytest.param(TRAINING, "runs/training/my run.json", Reason.BAD_KEY, id="bad_key"),
        pytest.param(
            doc(TRAINING, "data.manifest", f"s3://{BUCKET}/unload/training/missing-1/manifest"),
            None, Reason.MANIFEST_MISSING, id="manifest_missing",
        ),
    ]  # fmt: skip


@pytest.mark.parametrize(("document", "key", "reason"), _bad_cases())
def test_bad_file_is_quarantined_alerted_and_starts_nothing(
    aws: dict[str, Any], document: Any, key: str | None, reason: str
) -> None:
    put_manifest(aws["s3"], TRAINING["data"]["manifest"])
    rec = upload(aws, document, key)
    original_key = json.loads(json.dumps(rec))["s3"]["object"]["key"].replace("+", " ")
    sagemaker = Recorder(aws["sagemaker"])

    summary = make_trigger(aws, sagemaker).handle(event(rec))

    assert summary["quarantined"] == 1 and summary["started"] == 0
    assert summary["outcomes"][0]["reason"] == reason
    assert sagemaker.calls == [] and all_executions(aws["sagemaker"]) == 0
    assert keys(aws["s3"], "trigger-state/") == []
    # the original is kept; the copy and the report sit side by side, in the key's folder
    assert keys(aws["s3"], original_key) == [original_key]
    folder = f"quarantine/{hashlib.sha256(original_key.encode()).hexdigest()}/"
    copy_key = folder + original_key.rsplit("/", 1)[1]
    assert keys(aws["s3"], "quarantine/") == [copy_key, f"{copy_key}.error.json"]
    original = aws["s3"].get_object(Bucket=BUCKET, Key=original_key)["Body"].read()
    assert aws["s3"].get_object(Bucket=BUCKET, Key=copy_key)["Body"].read() == original
    report = json.loads(
        aws["s3"].get_object(Bucket=BUCKET, Key=f"{copy_key}.error.json")["Body"].read()
    )
    assert report["reason"] == reason
    assert report["original"]["key"] == original_key
    assert report["original"]["version"] == rec["s3"]["object"]["versionId"]
    assert report["quarantined_copy"] == f"s3://{BUCKET}/{copy_key}"
    assert report["report"] == f"s3://{BUCKET}/{copy_key}.error.json"
    assert report["message"] and report["time"].endswith("Z")
    # the notify function hears of it: the report is the event's detail
    [sent] = sent_events()
    assert (sent["source"], sent["detail-type"]) == ("pkgml.trigger", "Run File Quarantined")
    assert sent["detail"] == report


@pytest.mark.parametrize(
    ("manifest_body", "reason"),
    [
        (b"", Reason.MANIFEST_EMPTY),
        (json.dumps({"entries": []}).encode(), Reason.MANIFEST_EMPTY),
        (b"not json", Reason.MANIFEST_INVALID),
        (json.dumps({"files": ["a"]}).encode(), Reason.MANIFEST_INVALID),
    ],
)
def test_empty_or_invalid_manifest_quarantines(
    aws: dict[str, Any], manifest_body: bytes, reason: str
) -> None:
    manifest_key = TRAINING["data"]["manifest"].split("/", 3)[3]
    aws["s3"].put_object(Bucket=BUCKET, Key=manifest_key, Body=manifest_body)
    summary = make_trigger(aws).handle(event(upload(aws, TRAINING)))
    assert summary["outcomes"][0]["reason"] == reason
    assert all_executions(aws["sagemaker"]) == 0


def test_duplicate_delivery_of_a_bad_file_alerts_once(aws: dict[str, Any]) -> None:
    trigger = make_trigger(aws)
    rec = upload(aws, b"not json", "runs/training/t-1.json")
    trigger.handle(event(rec))
    trigger.handle(event(rec))
    assert len(sent_events()) == 1
    # a new (still bad) version is reported again
    trigger.handle(event(upload(aws, b"still not json", "runs/training/t-1.json")))
    assert len(sent_events()) == 2


def test_mixed_batch_good_and_bad(aws: dict[str, Any]) -> None:
    good = upload(aws, with_manifest(aws, DAILY))
    bad = upload(aws, b"{", "runs/inference-daily/broken.json")
    summary = make_trigger(aws).handle(event(bad, good))
    assert (summary["quarantined"], summary["started"], summary["failed"]) == (1, 4, 0)
    assert [o["status"] for o in summary["outcomes"]] == ["quarantined", "started"]


# --- not ours, gone ---------------------------------------------------------------------


def test_objects_outside_the_runs_prefix_or_bucket_are_ignored(aws: dict[str, Any]) -> None:
    aws["s3"].put_object(Bucket=BUCKET, Key="other/x.json", Body=b"{}")
    foreign = record("runs/training/x.json")
    foreign["s3"]["bucket"]["name"] = "someone-elses-bucket"
    marker = upload(aws, b"", "runs/training/")  # a zero-byte console "folder"
    summary = make_trigger(aws).handle(event(record("other/x.json"), foreign, marker))
    assert summary["ignored"] == 3 and summary["quarantined"] == 0
    assert [o["reason"] for o in summary["outcomes"]] == [
        "outside_runs_prefix",
        "outside_runs_prefix",
        "folder_marker",
    ]
    assert keys(aws["s3"], "quarantine/") == [] and sent_events() == []


def test_file_deleted_before_processing_is_ignored(aws: dict[str, Any]) -> None:
    summary = make_trigger(aws).handle(event(record("runs/training/t-1.json")))
    assert summary["outcomes"][0]["reason"] == "gone"


def test_s3_test_event_and_non_create_records_are_ignored(aws: dict[str, Any]) -> None:
    trigger = make_trigger(aws)
    assert trigger.handle({"Event": "s3:TestEvent", "Service": "Amazon S3"})["records"] == 0
    removed = record("runs/training/t-1.json")
    removed["eventName"] = "ObjectRemoved:Delete"
    assert trigger.handle(event(removed))["records"] == 0


def test_unrecognised_event_shape_raises() -> None:
    with pytest.raises(EventShapeError):
        object_refs({"detail": {}})


# --- failures: raise for retry, never quarantine a good file ---------------------------


@pytest.mark.parametrize("code", ["ThrottlingException", "ValidationException"])
def test_start_failure_releases_the_claim_and_raises(aws: dict[str, Any], code: str) -> None:
    rec = upload(aws, with_manifest(aws, DAILY))
    failing = Recorder(aws["sagemaker"], {PIPELINES["inference-daily"]["box"]}, code)

    with pytest.raises(BatchError) as caught:
        make_trigger(aws, failing).handle(event(rec))
    assert isinstance(caught.value.__cause__, ClientError)
    started = {m["package_type"] for m in markers(aws)}
    assert started == {"mailer", "bag", "sioc"}  # box's claim was released
    assert all(m["status"] == "started" for m in markers(aws))
    assert keys(aws["s3"], "quarantine/") == []

    # Lambda's retry: only box starts now
    summary = make_trigger(aws).handle(event(rec))
    assert summary["started"] == 1 and summary["duplicates"] == 3
    assert all_executions(aws["sagemaker"]) == 4


class FlakyS3:
    """An S3 client whose chosen operation fails with a chosen error code."""

    def __init__(self, real: Any, operation: str, code: str, status: int) -> None:
        self.real, self.operation, self.code, self.status = real, operation, code, status

    def __getattr__(self, name: str) -> Any:
        if name == self.operation:

            def fail(**kwargs: Any) -> Any:
                raise ClientError(
                    {"Error": {"Code": self.code, "Message": "injected"},
                     "ResponseMetadata": {"HTTPStatusCode": self.status}},
                    name,
                )  # fmt: skip

            return fail
        return getattr(self.real, name)


@pytest.mark.parametrize(
    ("operation", "code", "status"),
    [
        ("head_object", "SlowDown", 503),
        ("head_object", "403", 403),
        ("get_object", "InternalError", 500),
    ],
)
def test_unexpected_s3_errors_raise_instead_of_quarantining(
    aws: dict[str, Any], operation: str, code: str, status: int
) -> None:
    good = upload(aws, with_manifest(aws, DAILY))
    flaky = FlakyS3(aws["s3"], operation, code, status)
    with pytest.raises(BatchError):
        make_trigger(aws, s3=flaky).handle(event(good))
    assert keys(aws["s3"], "quarantine/") == [] and sent_events() == []
    assert all_executions(aws["sagemaker"]) == 0


def test_one_failing_record_does_not_block_the_others(aws: dict[str, Any]) -> None:
    good = upload(aws, with_manifest(aws, DAILY))
    training = upload(aws, with_manifest(aws, TRAINING))
    failing = Recorder(aws["sagemaker"], set(PIPELINES["training"].values()), "Throttling")
    with pytest.raises(BatchError):
        make_trigger(aws, failing).handle(event(training, good))
    assert all_executions(aws["sagemaker"]) == 4  # the daily file still started


def test_missing_objects_are_recognised_without_list_bucket_404s(aws: dict[str, Any]) -> None:
    """Without s3:ListBucket S3 says 403 for a missing key; a scoped listing tells them apart."""
    trigger = make_trigger(aws, s3=NoListBucketS3(aws["s3"]))
    no_manifest = upload(aws, TRAINING)  # its manifest was never written
    bad = upload(aws, b"{", "runs/training/t-1.json")
    gone = record("runs/training/deleted.json")

    summary = trigger.handle(event(no_manifest, bad, gone))

    assert [o["reason"] for o in summary["outcomes"]] == [
        Reason.MANIFEST_MISSING,
        Reason.NOT_JSON,
        "gone",
    ]
    assert len(sent_events()) == 2 and all_executions(aws["sagemaker"]) == 0


# --- claims -----------------------------------------------------------------------------


def _claim_for(aws: dict[str, Any], rec: dict[str, Any], package_type: str, age_s: float,
               status: str = "claimed") -> None:  # fmt: skip
    from trigger_service import ObjectRef

    obj = rec["s3"]["object"]
    ref = ObjectRef(BUCKET, obj["key"], obj["versionId"])
    token = client_request_token(ref, obj["versionId"], package_type)
    body = {"status": status, "claimed_at_epoch": 1_000_000.0 - age_s}
    aws["s3"].put_object(Bucket=BUCKET, Key=f"trigger-state/{token}.json", Body=json.dumps(body))


def test_fresh_claim_is_respected_and_stale_claim_is_taken_over(aws: dict[str, Any]) -> None:
    rec = upload(aws, with_manifest(aws, DAILY))
    _claim_for(aws, rec, "mailer", age_s=10)  # another invocation is starting it right now
    _claim_for(aws, rec, "bag", age_s=3600)  # an invocation died an hour ago
    trigger = make_trigger(aws)
    trigger.clock = lambda: 1_000_000.0

    summary = trigger.handle(event(rec))

    outcome = summary["outcomes"][0]
    assert sorted(outcome["executions"]) == ["bag", "box", "sioc"]
    assert outcome["duplicates"] == ["mailer"]


def test_token_is_deterministic_and_distinct_per_type_and_version() -> None:
    from trigger_service import ObjectRef

    ref = ObjectRef(BUCKET, "runs/training/t-1.json")
    token = client_request_token(ref, "v1", "mailer")
    assert token == client_request_token(ref, "v1", "mailer")
    assert len({token, client_request_token(ref, "v2", "mailer"),
                client_request_token(ref, "v1", "bag")}) == 3  # fmt: skip
    assert 32 <= len(token) <= 128


def test_display_name_fits_sagemaker_pattern() -> None:
    name = display_name("a" * 63 + "-", "mailer-xl")
    assert len(name) <= 82 and not name.endswith("-") and name[0].isalnum()


# --- handler and settings ---------------------------------------------------------------


def test_handler_end_to_end_logs_json_lines(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = fresh_import("trigger_handler", monkeypatch, TRIGGER_ENV)
    rec = upload(aws, with_manifest(aws, DAILY))

    class Context:
        aws_request_id = "req-1"

    summary = handler.handler(event(rec), Context())

    assert summary["started"] == 4
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    started = [line for line in lines if line["event"] == "pipeline.started"]
    assert len(started) == 4 and all(line["request_id"] == "req-1" for line in started)
    assert {line["package_type"] for line in started} == set(PACKAGE_TYPES)


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"DATA_BUCKET": ""}, "DATA_BUCKET"),
        ({"ENVIRONMENT": "Dev!"}, "ENVIRONMENT"),
        ({"PROJECT": "Pkg ML"}, "PROJECT"),
        ({"PACKAGE_TYPES": '["mailer", "mailer"]'}, "PACKAGE_TYPES"),
        ({"PACKAGE_TYPES": "mailer"}, "PACKAGE_TYPES"),
        ({"PIPELINES": json.dumps({"training": {}})}, "PIPELINES"),
        ({"PACKAGE_TYPES": '["mailer","bag","box","sioc","tube"]'}, "PIPELINES"),
        ({"MAX_RUN_FILE_BYTES": "lots"}, "MAX_RUN_FILE_BYTES"),
        ({"QUARANTINE_PREFIX": "runs/quarantine/"}, "QUARANTINE_PREFIX"),
        ({"QUARANTINE_PREFIX": "q/" * 129}, "QUARANTINE_PREFIX"),  # leaves no room for keys
        ({"STATE_PREFIX": "/abs/"}, "STATE_PREFIX"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_bad_configuration_names_the_variable(override: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings({**TRIGGER_ENV, **override})


def test_handler_import_fails_on_missing_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in TRIGGER_ENV.items() if k != "PIPELINES"}
    with pytest.raises(ConfigError, match="PIPELINES"):
        fresh_import("trigger_handler", monkeypatch, env)


def test_defaults() -> None:
    settings = load_settings(TRIGGER_ENV)
    assert (settings.max_run_file_bytes, settings.runs_prefix, settings.quarantine_prefix,
            settings.state_prefix) == (65536, "runs/", "quarantine/", "trigger-state/")  # fmt: skip


# --- one execution of a run at a time ---------------------------------------------------


class StillRunning:
    """moto finishes every execution at once; this client reports them as still Executing."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def list_pipeline_executions(self, **kwargs: Any) -> Any:
        response = self.real.list_pipeline_executions(**kwargs)
        for summary in response["PipelineExecutionSummaries"]:
            summary["PipelineExecutionStatus"] = "Executing"
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_reupload_while_the_run_executes_starts_nothing_and_alerts(aws: dict[str, Any]) -> None:
    document = with_manifest(aws, DAILY)
    first = make_trigger(aws).handle(event(upload(aws, document)))
    assert first["started"] == 4
    assert sent_events() == []

    busy = make_trigger(aws, StillRunning(aws["sagemaker"]))
    summary = busy.handle(event(upload(aws, document)))  # a new version, same run id

    assert summary["started"] == 0
    outcome = summary["outcomes"][0]
    assert outcome["status"] == "concurrent"
    assert sorted(outcome["concurrent"]) == sorted(PACKAGE_TYPES)
    assert all_executions(aws["sagemaker"]) == 4  # no second execution of the run
    [sent] = sent_events()
    assert (sent["source"], sent["detail-type"]) == ("pkgml.trigger", "Run File Not Started")
    key = f"runs/inference-daily/{document['run_id']}.json"
    assert {k: v for k, v in sent["detail"].items() if k != "time"} == {
        "environment": "dev",
        "run_id": document["run_id"],
        "run_file": {"bucket": BUCKET, "key": key,
                     "version": aws["s3"].head_object(Bucket=BUCKET, Key=key)["VersionId"]},
        "running": {t: outcome["concurrent"][t] for t in sorted(PACKAGE_TYPES)},
    }  # fmt: skip
    assert all(arn.startswith("arn:aws:sagemaker:") for arn in outcome["concurrent"].values())
    # the claims were released: once the run finished, the same upload starts normally
    assert sorted(m["status"] for m in markers(aws)) == ["started"] * 4
    again = make_trigger(aws).handle(event(upload(aws, document)))
    assert again["started"] == 4


def test_finished_executions_of_the_run_do_not_block_a_rerun(aws: dict[str, Any]) -> None:
    document = with_manifest(aws, DAILY)
    make_trigger(aws).handle(event(upload(aws, document)))
    rerun = make_trigger(aws).handle(event(upload(aws, document)))
    assert rerun["started"] == 4  # moto: the first executions already Succeeded
