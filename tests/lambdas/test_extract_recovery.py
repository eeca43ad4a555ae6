"""Extract runner recovery: lost status events (the sweeper), starts that crashed between
ExecuteStatement and the pending record, claim takeovers and the idempotency token.

The Data API here is `FakeDataApi`: moto keeps statements STARTED forever, ignores
ClientToken and has no ListStatements. The fake validates every request against botocore's
model of the service and implements the documented behaviour the runner relies on.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.validate import validate_parameters
from extract_service import InputError, StateError, takeover
from extract_sweep import Sweeper, SweepError

from tests.lambdas.conftest import (
    BUCKET,
    REGION,
    fresh_import,
    keys,
    notified,
    put_manifest,
    sent_events,
)
from tests.lambdas.test_extract import (
    ENV,
    NOW,
    claim_of,
    make_extractor,
    read_json,
    status_event,
)

MINUTE, HOUR = 60, 3600
PENDING_KEY = r"extract-state/[0-9a-f-]{36}\.json"
DAILY = {"kind": "inference-daily", "scheduled_time": "2026-11-23T05:00:00Z"}
DAILY_RERUN = {"kind": "inference-daily", "run_date": "2026-11-23"}
TRAINING = {"kind": "training", "run_date": "2026-11-23"}


class FakeDataApi:
    """The Data API as documented, in memory; a test moves statements on with `end`."""

    def __init__(self) -> None:
        self.model = boto3.client("redshift-data", region_name=REGION).meta.service_model
        self.statements: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.unreachable = False  # ExecuteStatement times out before reaching the service
        self.response_lost = False  # ... or after the statement was created
        self.failing_describe: set[str] = set()

    def _called(self, operation: str, params: dict[str, Any]) -> None:
        self.calls.append((operation, params))
        validate_parameters(params, self.model.operation_model(operation).input_shape)

    def called(self, operation: str) -> list[dict[str, Any]]:
        return [params for op, params in self.calls if op == operation]

    def execute_statement(self, **params: Any) -> dict[str, Any]:
        self._called("ExecuteStatement", params)
        if self.unreachable:
            raise ReadTimeoutError(endpoint_url="https://redshift-data.us-east-1.amazonaws.com")
        token = params["ClientToken"]
        if token not in self.tokens:  # the same token returns the same statement
            statement_id = str(uuid.uuid4())
            self.tokens[token] = statement_id
            self.statements[statement_id] = {
                "Id": statement_id,
                "StatementName": params.get("StatementName", ""),
                "QueryString": params["Sql"],
                "Status": "STARTED",
                "CreatedAt": datetime.now(UTC),
                "ResultRows": -1,
            }
        if self.response_lost:
            raise ReadTimeoutError(endpoint_url="https://redshift-data.us-east-1.amazonaws.com")
        return {"Id": self.tokens[token], "Status": "STARTED"}

    def end(self, statement_id: str, status: str = "FINISHED", **fields: Any) -> None:
        self.statements[statement_id].update(Status=status, **fields)

    def forget(self, statement_id: str) -> None:
        """The Data API keeps statements 24 hours."""
        del self.statements[statement_id]

    def describe_statement(self, **params: Any) -> dict[str, Any]:
        self._called("DescribeStatement", params)
        statement_id = params["Id"]
        if statement_id in self.failing_describe:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}},
                              "DescribeStatement")  # fmt: skip
        if statement_id not in self.statements:
            error = {"Code": "ResourceNotFoundException", "Message": f"{statement_id} not found"}
            raise ClientError({"Error": error}, "DescribeStatement")
        return dict(self.statements[statement_id])

    def list_statements(self, **params: Any) -> dict[str, Any]:
        self._called("ListStatements", params)
        prefix, status = params.get("StatementName", ""), params.get("Status", "FINISHED")
        return {
            "Statements": [
                {k: s[k] for k in ("Id", "StatementName", "Status", "QueryString", "CreatedAt")}
                for s in self.statements.values()
                if s["StatementName"].startswith(prefix) and status in ("ALL", s["Status"])
            ]
        }


class InterruptedS3:
    """S3 where the first put_object to a key matching `key` runs `before` first, and then
    raises if `crash` (the Lambda timed out there) or goes ahead."""

    def __init__(self, real: Any, key: str, *, crash: bool = True,
                 before: Callable[[], Any] | None = None) -> None:  # fmt: skip
        self.real, self.key, self.crash, self.before = real, key, crash, before
        self.armed = True

    def put_object(self, **params: Any) -> Any:
        if self.armed and re.fullmatch(self.key, params["Key"]):
            self.armed = False
            if self.before:
                self.before()
            if self.crash:
                raise TimeoutError("Task timed out after 60.00 seconds")
        return self.real.put_object(**params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def at(seconds: float) -> Callable[[], float]:
    return lambda: NOW + seconds


def sweep(aws: dict[str, Any], fake: FakeDataApi, seconds: float) -> dict[str, Any]:
    return Sweeper(make_extractor(aws, fake, clock=at(seconds))).sweep({"action": "sweep"})


def only_statement(fake: FakeDataApi) -> dict[str, Any]:
    [statement] = fake.statements.values()
    return statement


# --- takeover rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "age", "explicit", "expected"),
    [
        ("starting", 60, False, None),  # a start may still be running
        ("starting", 900, False, "resume"),  # crashed: same token, same statement name
        ("starting", 900, True, "resume"),
        ("submitted", 23 * HOUR, True, None),  # its status event or the sweeper settles it
        ("submitted", 24 * HOUR, False, "new"),  # the Data API no longer knows it
        ("failed", 0, False, "new"),
        ("empty", 0, False, None),  # a re-fired schedule is not a re-run
        ("empty", 0, True, "new"),  # the documented retry
        ("finished", 0, True, "new"),  # (only reached when the run file is gone)
        ("finished", 0, False, None),
        ("corrupt", 0, True, None),
    ],
)
def test_takeover_rules(status: str, age: int, explicit: bool, expected: str | None) -> None:
    claim = {"status": status, "claimed_at_epoch": NOW - age, "submitted_at_epoch": NOW - age}
    assert takeover(claim, now=NOW, explicit=explicit, lease_seconds=900) == expected


# --- idempotency token ----------------------------------------------------------------------


def test_a_retried_start_never_starts_a_second_unload(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    crashing = InterruptedS3(aws["s3"], PENDING_KEY)
    with pytest.raises(TimeoutError):
        make_extractor(aws, fake, s3=crashing).start(TRAINING)
    claim = claim_of(aws, "training-2026-11-23")
    assert claim["status"] == "starting" and re.fullmatch(r"[0-9a-f]{64}", claim["client_token"])

    soon = make_extractor(aws, fake, clock=at(MINUTE)).start(TRAINING)
    assert soon["status"] == "skipped" and soon["reason"] == "already_running"
    later = make_extractor(aws, fake, clock=at(15 * MINUTE)).start(TRAINING)

    assert later["status"] == "submitted"
    first, second = fake.called("ExecuteStatement")
    assert first["ClientToken"] == second["ClientToken"] == claim["client_token"]
    assert first["StatementName"] == second["StatementName"]
    assert later["statement_id"] == only_statement(fake)["Id"]


def test_a_rerun_after_a_failure_is_a_new_statement(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    first = make_extractor(aws, fake).start(TRAINING)
    fake.end(first["statement_id"], "FAILED", Error="ERROR: disk full")
    make_extractor(aws, fake).finish(status_event(first["statement_id"], "FAILED"))
    rerun = make_extractor(aws, fake, clock=at(HOUR)).start(TRAINING)
    assert rerun["status"] == "submitted" and rerun["statement_id"] != first["statement_id"]
    tokens = {call["ClientToken"] for call in fake.called("ExecuteStatement")}
    assert len(tokens) == 2 and len(fake.statements) == 2


# --- documented retry of empty / failed days --------------------------------------------------


def test_the_documented_rerun_takes_over_an_empty_day(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    first = make_extractor(aws, fake).start(DAILY)
    fake.end(first["statement_id"], ResultRows=0)
    assert (
        make_extractor(aws, fake).finish(status_event(first["statement_id"], "FINISHED"))["status"]
        == "empty"
    )

    refired = make_extractor(aws, fake, clock=at(HOUR)).start(DAILY)
    assert refired["status"] == "skipped" and refired["reason"] == "already_settled"
    # what the README / an alert tells an operator to invoke
    rerun = make_extractor(aws, fake, clock=at(2 * HOUR)).start(DAILY_RERUN)
    assert rerun["status"] == "submitted" and len(fake.statements) == 2
    assert claim_of(aws, "inference-daily-2026-11-23")["status"] == "submitted"


def test_a_claim_older_than_the_data_api_retention_is_taken_over(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    make_extractor(aws, fake).start(DAILY)  # its event is lost and nothing settles it
    assert make_extractor(aws, fake, clock=at(23 * HOUR)).start(DAILY_RERUN)["status"] == "skipped"
    later = make_extractor(aws, fake, clock=at(24 * HOUR)).start(DAILY)
    assert later["status"] == "submitted" and len(fake.statements) == 2


# --- sweeper: lost events -------------------------------------------------------------------


def test_the_sweeper_settles_a_statement_whose_event_was_lost(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    started = make_extractor(aws, fake).start(TRAINING)
    statement_id = started["statement_id"]
    fake.end(statement_id, ResultRows=1000)
    put_manifest(aws["s3"], f"s3://{BUCKET}/unload/training/training-2026-11-23/manifest")

    young = sweep(aws, fake, 5 * MINUTE)
    assert young["outcomes"] == {"young": 1} and fake.called("DescribeStatement") == []

    settled = sweep(aws, fake, 16 * MINUTE)
    assert settled["outcomes"] == {"finished": 1}
    assert fake.called("DescribeStatement") == [{"Id": statement_id}]
    assert keys(aws["s3"], "runs/") == ["runs/training/training-2026-11-23.json"]
    assert claim_of(aws, "training-2026-11-23")["status"] == "finished" and sent_events() == []

    assert sweep(aws, fake, HOUR)["outcomes"] == {"settled": 1}
    late = make_extractor(aws, fake).finish(status_event(statement_id, "FINISHED"))
    assert late["reason"] == "already_settled"
    assert len(fake.called("DescribeStatement")) == 1


def test_the_sweeper_leaves_running_statements_and_settles_failed_ones(
    aws: dict[str, Any],
) -> None:
    fake = FakeDataApi()
    make_extractor(aws, fake).start(TRAINING)  # still running
    daily = make_extractor(aws, fake).start(DAILY)
    fake.end(daily["statement_id"], "FAILED", Error="ERROR: permission denied for relation p")

    assert sweep(aws, fake, 20 * MINUTE)["outcomes"] == {"running": 1, "failed": 1}

    assert claim_of(aws, "training-2026-11-23")["status"] == "submitted"
    assert claim_of(aws, "inference-daily-2026-11-23")["status"] == "failed"
    [sent] = sent_events()
    assert sent["detail"]["run_id"] == "inference-daily-2026-11-23"
    assert "permission denied" in sent["detail"]["problem"]


def test_the_sweeper_settles_an_empty_day_quietly(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    daily = make_extractor(aws, fake).start(DAILY)
    fake.end(daily["statement_id"], ResultRows=0)  # and Redshift wrote no manifest
    assert sweep(aws, fake, 20 * MINUTE)["outcomes"] == {"empty": 1}
    assert claim_of(aws, "inference-daily-2026-11-23")["status"] == "empty" and sent_events() == []


def test_a_statement_the_data_api_no_longer_has_is_failed_after_a_day(
    aws: dict[str, Any],
) -> None:
    fake = FakeDataApi()
    started = make_extractor(aws, fake).start(TRAINING)
    fake.forget(started["statement_id"])
    with pytest.raises(SweepError, match="training-2026-11-23"):
        sweep(aws, fake, 20 * MINUTE)  # within the retention: unexpected, so it is loud
    assert sent_events() == []

    assert sweep(aws, fake, 24 * HOUR)["outcomes"] == {"lost": 1}
    assert claim_of(aws, "training-2026-11-23")["status"] == "failed"
    [sent] = sent_events()
    assert "no longer" in sent["detail"]["problem"] and sent["detail"]["run_date"] == "2026-11-23"
    # the alert gives the re-run command for that date
    assert '{"kind": "training", "run_date": "2026-11-23"}' in notified(sent).body


def test_the_sweeper_completes_a_settlement_cut_short(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    started = make_extractor(aws, fake).start(DAILY)
    fake.end(started["statement_id"], ResultRows=0)
    make_extractor(aws, fake).finish(status_event(started["statement_id"], "FINISHED"))
    # the settlement wrote the pending record, then the function died before the claim
    claim = claim_of(aws, "inference-daily-2026-11-23")
    cut_short = {**claim, "status": "submitted"}
    aws["s3"].put_object(Bucket=BUCKET, Key="extract-state/runs/inference-daily-2026-11-23.json",
                         Body=json.dumps(cut_short).encode())  # fmt: skip
    described = len(fake.called("DescribeStatement"))

    assert sweep(aws, fake, 20 * MINUTE)["outcomes"] == {"repaired": 1}
    assert claim_of(aws, "inference-daily-2026-11-23")["status"] == claim["status"] == "empty"
    assert len(fake.called("DescribeStatement")) == described and sent_events() == []


def test_one_bad_claim_does_not_stop_the_sweep_but_fails_it(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    training = make_extractor(aws, fake).start(TRAINING)
    daily = make_extractor(aws, fake).start(DAILY)
    fake.end(daily["statement_id"], ResultRows=0)
    fake.failing_describe.add(training["statement_id"])
    with pytest.raises(SweepError, match="training-2026-11-23"):
        sweep(aws, fake, 20 * MINUTE)
    assert claim_of(aws, "inference-daily-2026-11-23")["status"] == "empty"


def test_the_sweeper_reads_only_recently_changed_claims(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    make_extractor(aws, fake).start(TRAINING)
    ten_years = 10 * 365 * 24 * HOUR  # the claim's LastModified is long past
    assert sweep(aws, fake, ten_years)["outcomes"] == {}
    assert fake.called("DescribeStatement") == []


@pytest.mark.parametrize("event", [{"action": "sweep", "kind": "training"}, {"action": "purge"}])
def test_sweep_input_is_validated(aws: dict[str, Any], event: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        Sweeper(make_extractor(aws, FakeDataApi())).sweep(event)


# --- crash between ExecuteStatement and the pending record ----------------------------------


def test_the_status_event_recovers_a_start_that_crashed(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    with pytest.raises(TimeoutError):
        make_extractor(aws, fake, s3=InterruptedS3(aws["s3"], PENDING_KEY)).start(TRAINING)
    statement = only_statement(fake)
    fake.end(statement["Id"])
    put_manifest(aws["s3"], f"s3://{BUCKET}/unload/training/training-2026-11-23/manifest")

    event = status_event(statement["Id"], "FINISHED", statement["StatementName"])
    result = make_extractor(aws, fake, clock=at(MINUTE)).finish(event)

    assert result["status"] == "finished"
    assert keys(aws["s3"], "runs/") == ["runs/training/training-2026-11-23.json"]
    claim = claim_of(aws, "training-2026-11-23")
    assert claim["status"] == "finished" and claim["statement_id"] == statement["Id"]
    assert read_json(aws["s3"], f"extract-state/{statement['Id']}.json")["status"] == "finished"


def test_an_event_of_a_superseded_attempt_is_ignored(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    make_extractor(aws, fake).start(TRAINING)
    stale = status_event(str(uuid.uuid4()), "FINISHED",
                         "pkgml-dev-extract-training-2026-11-23.0123456789ab")  # fmt: skip
    result = make_extractor(aws, fake).finish(stale)
    assert result["status"] == "ignored" and result["reason"] == "superseded_statement"
    assert keys(aws["s3"], "runs/") == [] and sent_events() == []


def test_an_event_of_ours_without_any_state_raises(aws: dict[str, Any]) -> None:
    # Raising sends the event to the failed-invocations queue, whose alarm a person sees.
    orphan = status_event(str(uuid.uuid4()), "FINISHED",
                          "pkgml-dev-extract-training-2026-11-23.0123456789ab")  # fmt: skip
    with pytest.raises(StateError, match="training-2026-11-23"):
        make_extractor(aws, FakeDataApi()).finish(orphan)


def test_the_sweeper_adopts_a_crashed_start_through_list_statements(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    with pytest.raises(TimeoutError):
        make_extractor(aws, fake, s3=InterruptedS3(aws["s3"], PENDING_KEY)).start(TRAINING)
    statement = only_statement(fake)
    fake.end(statement["Id"], ResultRows=10)
    put_manifest(aws["s3"], f"s3://{BUCKET}/unload/training/training-2026-11-23/manifest")

    assert sweep(aws, fake, 10 * MINUTE)["outcomes"] == {"young": 1}  # within the lease
    assert sweep(aws, fake, 16 * MINUTE)["outcomes"] == {"adopted": 1}

    [listed] = fake.called("ListStatements")
    assert listed["StatementName"] == statement["StatementName"] and listed["Status"] == "ALL"
    assert keys(aws["s3"], "runs/") == ["runs/training/training-2026-11-23.json"]
    assert claim_of(aws, "training-2026-11-23")["status"] == "finished"
    assert len(fake.called("ExecuteStatement")) == 1


@pytest.mark.parametrize("reached", [False, True])
def test_the_sweeper_resumes_a_start_whose_submit_timed_out(
    aws: dict[str, Any], reached: bool
) -> None:
    fake = FakeDataApi()
    fake.unreachable, fake.response_lost = not reached, reached
    with pytest.raises(ReadTimeoutError):
        make_extractor(aws, fake).start(TRAINING)
    assert claim_of(aws, "training-2026-11-23")["status"] == "starting"
    fake.unreachable = fake.response_lost = False

    outcome = "adopted" if reached else "restarted"
    assert sweep(aws, fake, 16 * MINUTE)["outcomes"] == {outcome: 1}

    claim = claim_of(aws, "training-2026-11-23")
    assert claim["status"] == "submitted"
    assert claim["statement_id"] == only_statement(fake)["Id"]
    assert {call["ClientToken"] for call in fake.called("ExecuteStatement")} == {
        claim["client_token"]
    }


def test_a_start_and_its_own_early_event_settle_once(aws: dict[str, Any]) -> None:
    fake = FakeDataApi()
    holder: dict[str, Any] = {}

    def event_arrives_first() -> None:
        statement = only_statement(fake)
        fake.end(statement["Id"], "FAILED", Error="ERROR: relation does not exist")
        event = status_event(statement["Id"], "FAILED", statement["StatementName"])
        holder["finish"] = make_extractor(aws, fake).finish(event)

    racing = InterruptedS3(aws["s3"], PENDING_KEY, crash=False, before=event_arrives_first)
    make_extractor(aws, fake, s3=racing).start(TRAINING)

    assert holder["finish"]["status"] == "failed"
    assert claim_of(aws, "training-2026-11-23")["status"] == "failed"
    statement_id = only_statement(fake)["Id"]
    assert read_json(aws["s3"], f"extract-state/{statement_id}.json")["status"] == "failed"
    assert sweep(aws, fake, HOUR)["outcomes"] == {"settled": 1}
    assert len(sent_events()) == 1


# --- handler ------------------------------------------------------------------------------


def test_the_handler_routes_the_sweep_schedule(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = fresh_import("extract_handler", monkeypatch, ENV)
    assert module.handler({"action": "sweep"}, None) == {"status": "swept", "outcomes": {}}
