"""Issue 12: every bad input is quarantined (copy + report + event for the notify function,
nothing started), and nothing about the input can make the trigger crash-loop or
half-quarantine a file."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError
from runfile import Reason
from trigger_service import BatchError, Clients, Trigger
from trigger_settings import load_settings

from pkgml_contracts.notifications import SUBJECT_MAX, EventNotSent
from tests.lambdas.conftest import (
    BUCKET,
    TRIGGER_ENV,
    all_executions,
    example,
    keys,
    notified,
    put_manifest,
    sent_events,
)
from tests.lambdas.test_trigger import (
    Recorder,
    StillRunning,
    event,
    make_trigger,
    upload,
    with_manifest,
)

TRAINING = example("training-2026-11-23-deeper-trees.json")
DAILY = example("inference-daily-2026-11-24.json")
S3_KEY_LIMIT = 1024


def run_key(document: dict[str, Any]) -> str:
    return f"runs/{document['kind']}/{document['run_id']}.json"


def with_literal(document: dict[str, Any], path: str, literal: str) -> bytes:
    """The document as JSON with `path` set to a raw JSON literal (e.g. 10**400 spelled out)."""
    marker = "__LITERAL__"
    changed = copy.deepcopy(document)
    *parents, last = path.split(".")
    node = changed
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = marker
    return json.dumps(changed).replace(json.dumps(marker), literal).encode()


def report_for(aws: dict[str, Any], original_key: str) -> tuple[str, dict[str, Any]]:
    """(copy key, report) of the one quarantined file; checks the copy/report layout."""
    reports = [k for k in keys(aws["s3"], "quarantine/") if k.endswith(".error.json")]
    [report_key] = reports
    report = json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=report_key)["Body"].read())
    copy_key = report_key[: -len(".error.json")]
    assert report["quarantined_copy"] == f"s3://{BUCKET}/{copy_key}"
    assert report["original"]["key"] == original_key
    assert sorted(keys(aws["s3"], "quarantine/")) == sorted([copy_key, report_key])
    return copy_key, report


def assert_quarantined(
    aws: dict[str, Any], summary: dict[str, Any], original_key: str, reason: str
) -> dict[str, Any]:
    """One file quarantined for `reason`: copy = original bytes, report, one event whose
    detail is the report, and the notify function's alert from it has a valid subject."""
    assert summary["quarantined"] == 1 and summary["started"] == 0 and summary["failed"] == 0
    assert summary["outcomes"][0]["reason"] == reason
    assert all_executions(aws["sagemaker"]) == 0
    copy_key, report = report_for(aws, original_key)
    assert report["reason"] == reason
    original = aws["s3"].get_object(Bucket=BUCKET, Key=original_key)["Body"].read()
    assert aws["s3"].get_object(Bucket=BUCKET, Key=copy_key)["Body"].read() == original
    [sent] = sent_events()
    assert sent["detail-type"] == "Run File Quarantined" and sent["detail"] == report
    subject = notified(sent).subject
    assert len(subject) <= SUBJECT_MAX and subject.isprintable()
    assert subject.isascii() and reason in subject
    return report


# --- 1. integers beyond the float range --------------------------------------------------


@pytest.mark.parametrize(
    ("path", "literal"),
    [
        ("parameters.validation_ratio", str(10**400)),
        ("parameters.hyperparameters.learning_rate", str(-(10**400))),
        ("parameters.thresholds.max_label_count_change", "9" * 5000),
        ("parameters.training_instance_count", str(10**400)),
    ],
)
def test_integer_beyond_float_range_is_quarantined_out_of_range(
    aws: dict[str, Any], path: str, literal: str
) -> None:
    document = with_manifest(aws, TRAINING)
    rec = upload(aws, with_literal(document, path, literal), run_key(document))
    summary = make_trigger(aws).handle(event(rec))
    report = assert_quarantined(aws, summary, run_key(document), Reason.OUT_OF_RANGE)
    assert report["field"] == path


@pytest.mark.parametrize("literal", [str(10**400), "9" * 5000])
def test_model_hyperparameter_beyond_float_range_is_quarantined_out_of_range(
    aws: dict[str, Any], literal: str
) -> None:
    document = copy.deepcopy(with_manifest(aws, TRAINING))
    del document["parameters"]["hyperparameters"]  # given in model.hyperparameters instead
    document["model"] = {"architecture": "hgb"}
    path = "model.hyperparameters.max_depth"
    rec = upload(aws, with_literal(document, path, literal), run_key(document))
    summary = make_trigger(aws).handle(event(rec))
    report = assert_quarantined(aws, summary, run_key(document), Reason.OUT_OF_RANGE)
    assert report["field"] == path
    assert "an integer from 1 to 32" in report["message"] and len(report["message"]) < 200


# --- 2. nesting deeper than the parser's recursion ---------------------------------------


def test_deeply_nested_run_file_is_quarantined_not_json(aws: dict[str, Any]) -> None:
    key = run_key(TRAINING)
    rec = upload(aws, b"[" * 50000, key)
    summary = make_trigger(aws).handle(event(rec))
    assert_quarantined(aws, summary, key, Reason.NOT_JSON)


def test_deeply_nested_manifest_is_quarantined_manifest_invalid(aws: dict[str, Any]) -> None:
    manifest_key = TRAINING["data"]["manifest"].split("/", 3)[3]
    aws["s3"].put_object(Bucket=BUCKET, Key=manifest_key, Body=b"[" * 50000)
    summary = make_trigger(aws).handle(event(upload(aws, TRAINING)))
    report = assert_quarantined(aws, summary, run_key(TRAINING), Reason.MANIFEST_INVALID)
    assert report["field"] == "data.manifest"


# --- 3. strings UTF-8 cannot encode (lone surrogates, valid in JSON) ---------------------


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("\udc80", 1, Reason.SCHEMA_VIOLATION),
        ("parameters.x\udc80", 1, Reason.SCHEMA_VIOLATION),
        ("package_types", ["\udc80"], Reason.UNKNOWN_PACKAGE_TYPE),
        ("parameters.training_instance_type", "ml.\udc80.xlarge", Reason.SCHEMA_VIOLATION),
    ],
)
def test_unencodable_strings_still_give_a_report_and_an_alert(
    aws: dict[str, Any], path: str, value: Any, reason: str
) -> None:
    document = copy.deepcopy(with_manifest(aws, TRAINING))
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node[part]
    node[last] = value
    body = json.dumps(document).encode()  # ASCII JSON: the surrogate is a \udc80 escape
    rec = upload(aws, body, run_key(document))

    summary = make_trigger(aws).handle(event(rec))

    report = assert_quarantined(aws, summary, run_key(document), reason)
    [sent] = sent_events()
    message = notified(sent).body
    text = json.dumps(report, ensure_ascii=False)
    assert text.encode("utf-8") and message.encode("utf-8")  # both encodable
    if "\udc80" in path:
        assert report["field"] == path.replace("\udc80", "\\udc80")
        assert report["field"] in message


# --- 4. empty training-only groups in an inference run -----------------------------------


@pytest.mark.parametrize("group", ["hyperparameters", "thresholds"])
def test_empty_training_group_in_inference_run_starts_nothing(
    aws: dict[str, Any], group: str
) -> None:
    document = copy.deepcopy(with_manifest(aws, DAILY))
    document["parameters"][group] = {}
    sagemaker = Recorder(aws["sagemaker"])
    summary = make_trigger(aws, sagemaker).handle(event(upload(aws, document)))
    report = assert_quarantined(aws, summary, run_key(document), Reason.NOT_FOR_KIND)
    assert report["field"] == f"parameters.{group}"
    assert sagemaker.calls == []


# --- 5. keys ending in "/" ---------------------------------------------------------------


@pytest.mark.parametrize("key", ["runs/training/", "runs/", "runs/training/sub/"])
def test_non_empty_object_under_a_folder_key_is_a_bad_key(aws: dict[str, Any], key: str) -> None:
    rec = upload(aws, json.dumps(TRAINING).encode(), key)
    summary = make_trigger(aws).handle(event(rec))
    assert_quarantined(aws, summary, key, Reason.BAD_KEY)


def test_zero_byte_folder_marker_is_ignored(aws: dict[str, Any]) -> None:
    rec = upload(aws, b"", "runs/training/")
    summary = make_trigger(aws).handle(event(rec))
    assert summary["ignored"] == 1 and summary["outcomes"][0]["reason"] == "folder_marker"
    assert keys(aws["s3"], "quarantine/") == [] and sent_events() == []


# --- 6. keys near S3's 1,024-byte limit --------------------------------------------------


class KeyLimitS3:
    """S3 as AWS runs it: keys longer than 1,024 UTF-8 bytes are refused (moto accepts them)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.written: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        if name not in ("put_object", "copy_object", "head_object", "get_object"):
            return attribute

        def call(**kwargs: Any) -> Any:
            if len(kwargs["Key"].encode("utf-8")) > S3_KEY_LIMIT:
                error = {"Error": {"Code": "KeyTooLongError", "Message": "Your key is too long"},
                         "ResponseMetadata": {"HTTPStatusCode": 400}}  # fmt: skip
                raise ClientError(error, name)
            if name in ("put_object", "copy_object"):
                self.written.append(kwargs["Key"])
            return attribute(**kwargs)

        return call


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a" * (S3_KEY_LIMIT - len("runs/training/.json")), id="ascii"),
        pytest.param("é" * ((S3_KEY_LIMIT - len("runs/training/.json")) // 2), id="two-byte"),
        pytest.param("x" * 400 + "/" + "b" * 600, id="with-folders"),
    ],
)
def test_key_near_the_s3_limit_is_quarantined_under_a_key_that_fits(
    aws: dict[str, Any], name: str
) -> None:
    key = f"runs/training/{name}.json"
    assert S3_KEY_LIMIT - 10 < len(key.encode("utf-8")) <= S3_KEY_LIMIT
    rec = upload(aws, json.dumps(TRAINING).encode(), key)
    s3 = KeyLimitS3(aws["s3"])

    summary = make_trigger(aws, s3=s3).handle(event(rec))

    report = assert_quarantined(aws, summary, key, Reason.BAD_KEY)
    copy_key, _ = report_for(aws, key)
    assert copy_key.startswith(f"quarantine/{hashlib.sha256(key.encode()).hexdigest()}/")
    tail = copy_key.rsplit("/", 1)[1]
    assert tail and key.endswith(tail)  # a readable end of the original key
    assert all(len(k.encode("utf-8")) <= S3_KEY_LIMIT for k in s3.written)
    assert report["original"]["key"] == key
    [sent] = sent_events()
    assert key in notified(sent).body


def test_quarantine_key_is_the_same_for_every_version_and_distinct_per_key(
    aws: dict[str, Any],
) -> None:
    trigger = make_trigger(aws)
    trigger.handle(event(upload(aws, b"not json", "runs/training/t-1.json")))
    trigger.handle(event(upload(aws, b"still not json", "runs/training/t-1.json")))
    trigger.handle(event(upload(aws, b"not json", "runs/training/t-2.json")))
    folders = {k.split("/")[1] for k in keys(aws["s3"], "quarantine/")}
    assert folders == {
        hashlib.sha256(k.encode()).hexdigest()
        for k in ("runs/training/t-1.json", "runs/training/t-2.json")
    }
    assert len(sent_events()) == 3


# --- 7. URL-encoded keys in EventBridge events -------------------------------------------


def eventbridge(key: str, version_id: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": key}
    if version_id:
        obj["version-id"] = version_id
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": BUCKET}, "object": obj},
    }


@pytest.mark.parametrize("with_version", [True, False])
def test_eventbridge_key_is_decoded_when_only_the_decoded_key_exists(
    aws: dict[str, Any], with_version: bool
) -> None:
    document = with_manifest(aws, DAILY)
    rec = upload(aws, document)
    encoded = run_key(document).replace("-", "%2D")
    version = rec["s3"]["object"]["versionId"] if with_version else None

    summary = make_trigger(aws).handle(eventbridge(encoded, version))

    assert summary["started"] == 4
    assert summary["outcomes"][0]["key"] == run_key(document)


def test_eventbridge_key_decoded_form_of_a_bad_file_is_quarantined(aws: dict[str, Any]) -> None:
    upload(aws, b"{}", "runs/training/my run.json")
    summary = make_trigger(aws).handle(eventbridge("runs/training/my+run.json"))
    assert_quarantined(aws, summary, "runs/training/my run.json", Reason.BAD_KEY)


def test_eventbridge_key_as_given_wins_when_it_exists(aws: dict[str, Any]) -> None:
    upload(aws, b"{}", "runs/training/a b.json")
    upload(aws, b"not json", "runs/training/a+b.json")
    summary = make_trigger(aws).handle(eventbridge("runs/training/a+b.json"))
    assert_quarantined(aws, summary, "runs/training/a+b.json", Reason.BAD_KEY)


def test_eventbridge_key_that_exists_in_neither_form_is_gone(aws: dict[str, Any]) -> None:
    summary = make_trigger(aws).handle(eventbridge("runs/training/t%2D1.json"))
    assert summary["outcomes"][0]["reason"] == "gone" and sent_events() == []


# --- 8. instance types -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (DAILY, "parameters.transform_instance_type"),
        (TRAINING, "parameters.training_instance_type"),
        (TRAINING, "parameters.transform_instance_type"),
    ],
)
def test_instance_type_with_local_storage_is_quarantined_naming_the_family(
    aws: dict[str, Any], document: dict[str, Any], field: str
) -> None:
    changed = copy.deepcopy(with_manifest(aws, document))
    changed["parameters"][field.split(".")[1]] = "ml.m5d.xlarge"
    summary = make_trigger(aws).handle(event(upload(aws, changed)))
    report = assert_quarantined(aws, summary, run_key(changed), Reason.OUT_OF_RANGE)
    assert report["field"] == field
    assert "ml.m5d" in report["message"] and "local instance storage" in report["message"]


# --- 9. failures: raise for retry; never half-done ---------------------------------------


class FailingEvents:
    """An EventBridge client whose first `failures` PutEvents fail: throttled (a client
    error), or answered 200 with the entry refused (FailedEntryCount 1)."""

    def __init__(self, real: Any, failures: int = 1, refused: bool = False) -> None:
        self.real, self.failures, self.refused = real, failures, refused

    def put_events(self, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            if self.refused:
                return {"FailedEntryCount": 1, "Entries": [
                    {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]}  # fmt: skip
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}},
                              "PutEvents")  # fmt: skip
        return self.real.put_events(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.mark.parametrize(
    ("refused", "cause"), [(False, ClientError), (True, EventNotSent)], ids=["throttled", "refused"]
)
def test_event_failure_is_retried_without_a_second_copy(
    aws: dict[str, Any], refused: bool, cause: type[Exception]
) -> None:
    """Nothing is lost silently: an event EventBridge did not take fails the record, so
    Lambda retries it; the retry puts the event without copying the file again."""
    key = "runs/training/t-1.json"
    rec = upload(aws, b"not json", key)
    events = FailingEvents(aws["events"], refused=refused)
    clients = Clients(s3=aws["s3"], sagemaker=aws["sagemaker"], events=events)
    failing = Trigger(load_settings(TRIGGER_ENV), clients, logging.getLogger("test.trigger"))

    with pytest.raises(BatchError) as caught:
        failing.handle(event(rec))
    assert isinstance(caught.value.__cause__, cause)
    assert sent_events() == []
    copies = keys(aws["s3"], "quarantine/")
    assert len(copies) == 1 and not copies[0].endswith(".error.json")  # no report yet

    summary = make_trigger(aws).handle(event(rec))  # Lambda's retry

    report = assert_quarantined(aws, summary, key, Reason.NOT_JSON)
    copy_key, _ = report_for(aws, key)
    assert copy_key == copies[0]
    versions = aws["s3"].list_object_versions(Bucket=BUCKET, Prefix=copy_key)["Versions"]
    copied = [v for v in versions if v["Key"] == copy_key]
    assert len(copied) == 1  # copied once, not again on the retry
    assert report["original"]["version"] == rec["s3"]["object"]["versionId"]

    make_trigger(aws).handle(event(rec))  # a later duplicate delivery: reported already
    assert len(sent_events()) == 1


def test_unexpected_error_while_validating_raises_and_quarantines_nothing(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import trigger_service

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("a bug, not bad input")

    monkeypatch.setattr(trigger_service, "parse_run_file", broken)
    rec = upload(aws, with_manifest(aws, DAILY))
    with pytest.raises(BatchError) as caught:
        make_trigger(aws).handle(event(rec))
    assert isinstance(caught.value.__cause__, TypeError)
    assert keys(aws["s3"], "quarantine/") == [] and sent_events() == []


def test_copy_failure_raises_before_any_alert(aws: dict[str, Any]) -> None:
    class DeniedCopy:
        def __init__(self, real: Any) -> None:
            self.real = real

        def copy_object(self, **kwargs: Any) -> Any:
            error = {"Error": {"Code": "AccessDenied", "Message": "denied"},
                     "ResponseMetadata": {"HTTPStatusCode": 403}}  # fmt: skip
            raise ClientError(error, "CopyObject")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

    rec = upload(aws, b"not json", "runs/training/t-1.json")
    with pytest.raises(BatchError):
        make_trigger(aws, s3=DeniedCopy(aws["s3"])).handle(event(rec))
    assert sent_events() == [] and keys(aws["s3"], "quarantine/") == []


# --- subjects SNS accepts ----------------------------------------------------------------


def test_every_alert_subject_is_shorter_than_100_characters(aws: dict[str, Any]) -> None:
    """The longest run id, in both of the trigger's events: the notify function's subjects
    from them stay within SNS's limit."""
    long_id = "d" + "-x" * 31  # 63 characters, the longest run id
    document = copy.deepcopy(DAILY)
    document["run_id"] = long_id
    put_manifest(aws["s3"], document["data"]["manifest"])
    make_trigger(aws).handle(event(upload(aws, document)))
    busy = make_trigger(aws, StillRunning(aws["sagemaker"]))
    busy.handle(event(upload(aws, document)))  # "Run File Not Started"
    make_trigger(aws).handle(event(upload(aws, b"{", f"runs/inference-daily/{long_id}.json")))

    sent = sent_events()
    assert [e["detail-type"] for e in sent] == ["Run File Not Started", "Run File Quarantined"]
    subjects = [notified(e).subject for e in sent]
    assert all(len(s) <= SUBJECT_MAX and s.isascii() for s in subjects)
    assert subjects[0].startswith("[dev] run file NOT STARTED (run in progress): runs/")
