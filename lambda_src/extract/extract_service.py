"""Scheduled Redshift UNLOADs through the Data API, finished asynchronously by an event.

    start  (EventBridge Scheduler {"kind", "scheduled_time"}; a person {"kind", "run_date"}):
        run_id = <kind>-<run_date>; skip if its run file exists or its claim is held
        claim extract-state/runs/<run_id>.json (this attempt's ClientToken and statement
        name) -> ExecuteStatement(WithEvent) -> pending record extract-state/<statement
        id>.json -> claim "submitted"
    finish (EventBridge "Redshift Data Statement Status Change"):
        no pending record -> the statement name leads to the claim: a start that died after
                           ExecuteStatement is linked now; an older attempt is ignored;
                           no claim at all -> StateError (failed-invocations queue)
        already settled -> ignore (duplicate event)
        FINISHED        -> manifest has entries -> runs/<kind>/<run_id>.json (If-None-Match)
                           no rows (empty manifest, or none and ResultRows == 0) -> "empty":
                           quiet for inference-daily, an event for the other kinds
        FAILED/ABORTED  -> DescribeStatement's Error -> event; claim "failed"
    sweep  (hourly; extract_sweep.py) settles what a lost event or a crashed start left.

A claim (starting -> submitted -> finished | empty | failed) may be taken over, see
`takeover`: a start that died, after CLAIM_LEASE_SECONDS, with the same ClientToken (the
Data API returns the statement it may already have started, never a second UNLOAD over
the same prefix); a failed run by any start; a statement older than the Data API's 24 h
retention by any start; an empty or finished day only by an explicit re-run
({"kind", "run_date"}). Every claim write is conditional: two writers never both win.

An extract that writes no run file (failed, lost, or empty where rows are expected) puts
an "Extract Failed" event on the default bus (`pkgml_contracts.notifications`); the notify
function words the alert. The event goes out before the claim settles: if EventBridge does
not take it, the settlement raises and is retried.

Values rendered into the SQL are validated (extract_sql.py); nothing from an event is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import ClientError
from extract_settings import Settings
from extract_sql import load_templates, render_query, unload_statement
from extract_store import Store, error_code
from pkgml_log import log_event

from pkgml_contracts.names import DataPrefixes
from pkgml_contracts.notifications import ExtractFailed, ExtractOutcome, put_event
from pkgml_contracts.runs import RUN_KINDS, SCHEDULED_RUN_ID, scheduled_run_id

UNLOAD_PREFIX = DataPrefixes.UNLOAD
TERMINAL_STATES = frozenset({"FINISHED", "FAILED", "ABORTED"})
EMPTY_IS_NORMAL = frozenset({"inference-daily"})  # a day without new products is not an alarm
LIVE = frozenset({"starting", "submitted"})
# DescribeStatement and ListStatements know a statement for 24 hours after it ran.
DATA_API_RETENTION_SECONDS = 24 * 3600
ATTEMPT_CHARS = 12  # of the ClientToken, in the statement name

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RUN_ID = SCHEDULED_RUN_ID.pattern


class InputError(ValueError):
    """The schedule's input is invalid (names the field and the accepted form)."""


class StateError(RuntimeError):
    """A status event of this runner's statement that no record explains."""


@dataclass(frozen=True)
class Clients:
    """The AWS clients the extract runner uses (module scope in the handler; fakes in tests)."""

    s3: Any
    redshift_data: Any
    events: Any  # EventBridge: extracts that wrote no run file, for the notify function


@dataclass(frozen=True)
class ExtractRequest:
    """A validated start request; `explicit`: a person named the date (a re-run)."""

    kind: str
    run_date: date
    explicit: bool = False

    @property
    def run_id(self) -> str:
        """Deterministic per kind and date, so a re-fired schedule is the same run."""
        return scheduled_run_id(self.kind, self.run_date)


def parse_start_event(event: Any, today: date) -> ExtractRequest:
    """Validate {"kind", optional "run_date" | "scheduled_time"}; default run date: today UTC."""
    if not isinstance(event, dict):
        raise InputError("event: must be a JSON object with 'kind'")
    unknown = sorted(set(event) - {"kind", "run_date", "scheduled_time"})
    if unknown:
        raise InputError(f"{unknown[0]}: unknown key; accepted: kind, run_date, scheduled_time")
    kind = event.get("kind")
    if kind not in RUN_KINDS:
        raise InputError(f"kind: must be one of {', '.join(RUN_KINDS)}")
    raw_date = event.get("run_date")
    explicit = raw_date is not None
    if raw_date is None and isinstance(event.get("scheduled_time"), str):
        # EventBridge Scheduler's <aws.scheduler.scheduled-time>, e.g. 2026-11-23T03:00:00Z
        raw_date = event["scheduled_time"][:10]
    if raw_date is None:
        return ExtractRequest(kind=kind, run_date=today)
    if not isinstance(raw_date, str) or not _DATE.fullmatch(raw_date):
        raise InputError("run_date: must be a date YYYY-MM-DD")
    try:
        run_date = date.fromisoformat(raw_date)
    except ValueError:
        raise InputError(f"run_date: {raw_date!r} is not a calendar date") from None
    return ExtractRequest(kind=kind, run_date=run_date, explicit=explicit)


def epoch(value: object, default: float = 0.0) -> float:
    """A recorded epoch time, or `default` when the record lacks it."""
    return float(value) if isinstance(value, int | float) else default


def takeover(
    claim: Mapping[str, Any], *, now: float, explicit: bool, lease_seconds: int
) -> str | None:
    """May a start take `claim` over? "resume" (same ClientToken), "new" (a new attempt)
    or None (the claim stands)."""
    status = claim.get("status")
    claimed = epoch(claim.get("claimed_at_epoch"))
    if status == "starting":
        return "resume" if now - claimed >= lease_seconds else None
    if status == "submitted":
        submitted = epoch(claim.get("submitted_at_epoch"), claimed)
        return "new" if now - submitted >= DATA_API_RETENTION_SECONDS else None
    if status == "failed":
        return "new"
    if status in ("empty", "finished"):
        return "new" if explicit else None
    return None


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Extractor:
    """Starts and finishes extracts with injected settings, clients, templates and clock."""

    def __init__(
        self,
        settings: Settings,
        clients: Clients,
        logger: logging.Logger,
        templates: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.logger = logger
        self.templates = dict(templates) if templates is not None else load_templates()
        self.clock = clock
        self.store = Store(clients.s3, settings.data_bucket)
        self._statement_name = re.compile(
            re.escape(settings.statement_prefix)
            + rf"extract-(?P<run_id>{_RUN_ID})\.[0-9a-f]{{{ATTEMPT_CHARS}}}"
        )

    # --- names ---------------------------------------------------------------------------

    def run_file_key(self, kind: str, run_id: str) -> str:
        """runs/<kind>/<run_id>.json."""
        return f"{self.settings.runs_prefix}{kind}/{run_id}.json"

    @property
    def claims_prefix(self) -> str:
        """extract-state/runs/: one claim per run id."""
        return f"{self.settings.state_prefix}runs/"

    def claim_key(self, run_id: str) -> str:
        """extract-state/runs/<run_id>.json: one live UNLOAD per run id."""
        return f"{self.claims_prefix}{run_id}.json"

    def pending_key(self, statement_id: str) -> str:
        """extract-state/<statement id>.json: what a finished statement was for."""
        return f"{self.settings.state_prefix}{statement_id}.json"

    def manifest_uri(self, kind: str, run_id: str) -> str:
        """s3://<data bucket>/unload/<kind>/<run_id>/manifest."""
        return f"s3://{self.settings.data_bucket}/{UNLOAD_PREFIX}{kind}/{run_id}/manifest"

    def run_id_of(self, statement_name: object) -> str | None:
        """The run id in one of this runner's statement names, else None."""
        if not isinstance(statement_name, str):
            return None
        match = self._statement_name.fullmatch(statement_name)
        return match["run_id"] if match else None

    # --- start ---------------------------------------------------------------------------

    def start(self, event: Any) -> dict[str, Any]:
        """Submit the UNLOAD for one scheduled or explicit extract (or skip a duplicate)."""
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        return self.run(parse_start_event(event, today))

    def run(self, request: ExtractRequest) -> dict[str, Any]:
        """Claim the run, submit its UNLOAD, record the statement."""
        s = self.settings
        now = self.clock()
        run_id, kind = request.run_id, request.kind
        fields = {"kind": kind, "run_id": run_id}
        if self.store.exists(self.run_file_key(kind, run_id)):
            log_event(self.logger, "extract.skipped", reason="run_file_exists", **fields)
            return {"status": "skipped", "reason": "run_file_exists", **fields}
        claimed = self._claim(request, now)
        if isinstance(claimed, str):
            log_event(self.logger, "extract.skipped", reason=claimed, **fields)
            return {"status": "skipped", "reason": claimed, **fields}
        claim, etag = claimed

        sql = unload_statement(
            render_query(
                self.templates[kind], run_date=request.run_date, package_types=s.package_types
            ),
            s3_prefix=f"s3://{s.data_bucket}/{UNLOAD_PREFIX}{kind}/{run_id}/",
            role_arn=s.unload_role_arn,
            kms_key_arn=s.kms_key_arn,
            max_file_size_mb=s.max_file_size_mb,
        )
        try:
            response = self.clients.redshift_data.execute_statement(
                Database=s.database,
                Sql=sql,
                StatementName=claim["statement_name"],
                WithEvent=True,
                ClientToken=claim["client_token"],
                **self._target(),
            )
        except ClientError as exc:
            # Refused: no statement exists, so any start may claim the run again. Anything
            # else (a timeout) leaves the claim "starting": the status event or the sweeper
            # links the statement, or resumes the start with the same ClientToken.
            released = {
                **claim,
                "status": "failed",
                "error": f"ExecuteStatement: {error_code(exc)}",
            }
            self.store.put_if(self.claim_key(run_id), released, IfMatch=etag)
            raise
        statement_id = str(response["Id"])
        self.link(claim, etag, statement_id)
        log_event(self.logger, "extract.submitted", **fields, statement_id=statement_id,
                  statement_name=claim["statement_name"], manifest=claim["manifest"])  # fmt: skip
        return {"status": "submitted", "statement_id": statement_id, **fields}

    def _target(self) -> dict[str, str]:
        s = self.settings
        target = (
            {"ClusterIdentifier": s.cluster_id}
            if s.cluster_id
            else {"WorkgroupName": str(s.workgroup)}
        )
        if s.secret_arn:
            target["SecretArn"] = s.secret_arn
        if s.db_user:
            target["DbUser"] = s.db_user
        return target

    def _new_claim(self, request: ExtractRequest, now: float) -> dict[str, Any]:
        run_id = request.run_id
        token = hashlib.sha256(f"{run_id}\n{now!r}".encode()).hexdigest()  # 64 = the maximum
        return {"status": "starting", "kind": request.kind, "run_id": run_id,
                "run_date": request.run_date.isoformat(), "explicit": request.explicit,
                "claimed_at_epoch": now, "claimed_at": _iso(now), "client_token": token,
                "statement_name": self.settings.statement_name(run_id, token[:ATTEMPT_CHARS]),
                "manifest": self.manifest_uri(request.kind, run_id)}  # fmt: skip

    def _claim(self, request: ExtractRequest, now: float) -> tuple[dict[str, Any], str] | str:
        """(claim, ETag) once this start holds the run's claim, else why not."""
        key = self.claim_key(request.run_id)
        claim = self._new_claim(request, now)
        etag = self.store.put_if(key, claim, IfNoneMatch="*")
        if etag is not None:
            return claim, etag
        found = self.store.get(key)
        if found is None:
            return "already_running"  # released concurrently; the next start picks it up
        existing, current = found
        decision = takeover(existing, now=now, explicit=request.explicit,
                            lease_seconds=self.settings.claim_lease_seconds)  # fmt: skip
        if decision is None:
            return "already_running" if existing.get("status") in LIVE else "already_settled"
        if decision == "resume" and existing.get("client_token") and existing.get("statement_name"):
            claim = {**claim, "client_token": existing["client_token"],
                     "statement_name": existing["statement_name"]}  # fmt: skip
        etag = self.store.put_if(key, claim, IfMatch=current)
        if etag is None:
            return "already_running"
        log_event(self.logger, "extract.taken_over", run_id=request.run_id, decision=decision,
                  previous_status=existing.get("status"))  # fmt: skip
        return claim, etag

    def pending_record(self, claim: Mapping[str, Any], statement_id: str) -> dict[str, Any]:
        """The pending record of `claim`'s statement."""
        kind, run_id = str(claim["kind"]), str(claim["run_id"])
        return {"kind": kind, "run_id": run_id,
                "run_date": claim.get("run_date") or run_id[-len("YYYY-MM-DD"):],
                "manifest": claim.get("manifest") or self.manifest_uri(kind, run_id),
                "statement_id": statement_id, "statement_name": claim.get("statement_name"),
                "started_at": claim.get("claimed_at"), "status": "submitted"}  # fmt: skip

    def link(self, claim: Mapping[str, Any], etag: str, statement_id: str) -> dict[str, Any]:
        """Record that `claim`'s UNLOAD is `statement_id`: the pending record unless one
        exists (a racing status event wrote it), then the claim unless it changed since
        `etag`. Returns the pending record."""
        pending_key = self.pending_key(statement_id)
        pending = self.pending_record(claim, statement_id)
        if self.store.put_if(pending_key, pending, IfNoneMatch="*") is None:
            found = self.store.get(pending_key)
            pending = found[0] if found is not None else pending
        linked = {
            **claim,
            "status": pending.get("status", "submitted"),
            "statement_id": statement_id,
            "submitted_at_epoch": epoch(claim.get("claimed_at_epoch"), self.clock()),
        }
        self.store.put_if(self.claim_key(str(claim["run_id"])), linked, IfMatch=etag)
        return pending

    # --- finish --------------------------------------------------------------------------

    def finish(self, event: Any) -> dict[str, Any]:
        """Settle one statement status change: write the run file, or put an event."""
        detail = event.get("detail") if isinstance(event, dict) else None
        if not isinstance(detail, dict) or not isinstance(detail.get("statementId"), str):
            raise InputError("detail.statementId: a Redshift Data Statement Status Change event")
        statement_id, state = detail["statementId"], str(detail.get("state", ""))
        found = self.store.get(self.pending_key(statement_id))
        if found is not None:
            pending = found[0]
        else:
            recovered = self._recover(statement_id, detail.get("statementName"), state)
            if isinstance(recovered, str):
                return {"status": "ignored", "reason": recovered, "statement_id": statement_id}
            pending = recovered
        fields = self._fields(pending, state)
        if pending.get("status") != "submitted":
            log_event(self.logger, "extract.duplicate_event", **fields)
            return {"status": "ignored", "reason": "already_settled", **fields}
        if state not in TERMINAL_STATES:
            log_event(self.logger, "extract.unexpected_state", logging.WARNING, **fields)
            return {"status": "ignored", "reason": "not_terminal", **fields}
        return self.settle(pending, state)

    def _recover(self, statement_id: str, name: object, state: str) -> dict[str, Any] | str:
        """The pending record of a statement whose start died before writing it, or why not."""
        fields = {"statement_id": statement_id, "statement_name": name, "state": state}
        run_id = self.run_id_of(name)
        if run_id is None:
            log_event(self.logger, "extract.unknown_statement", logging.WARNING, **fields)
            return "unknown_statement"
        found = self.store.get(self.claim_key(run_id))
        if found is None:
            raise StateError(f"statement {statement_id} ({name}) of run {run_id} has neither "
                             "a pending record nor a claim")  # fmt: skip
        claim, etag = found
        if claim.get("statement_name") != name:
            log_event(self.logger, "extract.superseded_statement", logging.WARNING, **fields,
                      current=claim.get("statement_name"))  # fmt: skip
            return "superseded_statement"
        if claim.get("status") != "starting":
            raise StateError(f"statement {statement_id} ({name}) has no pending record, but "
                             f"its claim {run_id} is {claim.get('status')!r}")  # fmt: skip
        log_event(self.logger, "extract.recovered", **fields, run_id=run_id)
        return self.link(claim, etag, statement_id)

    @staticmethod
    def _fields(pending: Mapping[str, Any], state: str) -> dict[str, Any]:
        return {"kind": pending["kind"], "run_id": pending["run_id"],
                "statement_id": pending["statement_id"], "state": state}  # fmt: skip

    def settle(
        self, pending: dict[str, Any], state: str, described: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Settle a statement that ended in `state` (DescribeStatement's answer, if known)."""
        fields = self._fields(pending, state)
        if state == "FINISHED":
            return self._finished(pending, fields, described)
        return self._failed(pending, fields, described)

    def lost(self, pending: dict[str, Any]) -> dict[str, Any]:
        """Settle a statement the Data API no longer knows (past its 24 h retention)."""
        fields = self._fields(pending, "UNKNOWN")
        problem = ("its outcome is unknown: no status event arrived and the Data API no "
                   "longer has the statement (it keeps statements 24 hours)")  # fmt: skip
        self._no_run_file(pending, problem)
        self._settle(pending, "failed", error=problem)
        log_event(self.logger, "extract.lost", logging.ERROR, **fields)
        return {"status": "lost", **fields}

    def _describe(self, statement_id: str) -> tuple[dict[str, Any], str | None]:
        try:
            return dict(self.clients.redshift_data.describe_statement(Id=statement_id)), None
        except ClientError as exc:
            return {}, f"(DescribeStatement failed: {error_code(exc)})"

    def _settle(self, pending: dict[str, Any], status: str, **extra: Any) -> None:
        statement_id = pending["statement_id"]
        settled = {**pending, "status": status, "settled_at": _iso(self.clock()), **extra}
        self.store.put(self.pending_key(statement_id), settled)
        claim_key = self.claim_key(pending["run_id"])
        found = self.store.get(claim_key)
        if found is not None and found[0].get("statement_id") == statement_id:
            self.store.put_if(claim_key, {**found[0], "status": status, **extra}, IfMatch=found[1])

    def _manifest_entries(self, uri: str) -> int | None:
        bucket, _, key = uri[len("s3://") :].partition("/")
        body = self.store.read(key, bucket)
        try:
            entries = None if body is None else json.loads(body).get("entries")
        except (ValueError, AttributeError):
            return None
        return len(entries) if isinstance(entries, list) else None

    def _finished(
        self, pending: dict[str, Any], fields: dict[str, Any], described: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        kind, run_id, manifest = pending["kind"], pending["run_id"], pending["manifest"]
        entries = self._manifest_entries(manifest)
        if not entries:
            # Redshift may write no manifest for 0 rows: DescribeStatement says how many.
            if described is None:
                described, _ = self._describe(pending["statement_id"])
            rows = described.get("ResultRows")
            rows = rows if isinstance(rows, int) and rows >= 0 else None
            if entries == 0 or rows == 0:
                return self._empty(pending, fields)
            unloaded = "an unknown number of rows" if rows is None else f"{rows} rows"
            self._no_run_file(
                pending,
                f"finished ({unloaded} unloaded) but its manifest {manifest} is missing or invalid",
            )
            self._settle(pending, "failed", error="manifest missing or invalid", rows=rows)
            log_event(self.logger, "extract.failed", logging.ERROR, **fields, rows=rows,
                      error="manifest missing or invalid")  # fmt: skip
            return {"status": "failed", "reason": "manifest_missing", **fields}

        run_key = self.run_file_key(kind, run_id)
        run_file = {"schema_version": 1, "kind": kind, "run_id": run_id,
                    "data": {"manifest": manifest}}  # fmt: skip
        # None: a duplicate event, or a run file dropped by hand: keep it
        written = self.store.put_if(run_key, run_file, IfNoneMatch="*") is not None
        self._settle(pending, "finished")
        log_event(self.logger, "extract.finished", **fields, run_file=run_key,
                  written=written, files=entries)  # fmt: skip
        return {"status": "finished" if written else "run_file_exists", "run_file": run_key,
                **fields}  # fmt: skip

    def _empty(self, pending: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        if pending["kind"] in EMPTY_IS_NORMAL:
            log_event(self.logger, "extract.empty", **fields)
        else:
            self._no_run_file(
                pending, "finished but unloaded no rows; no run file was written", "empty"
            )
            log_event(self.logger, "extract.empty", logging.WARNING, **fields)
        self._settle(pending, "empty")
        return {"status": "empty", **fields}

    def _failed(
        self, pending: dict[str, Any], fields: dict[str, Any], described: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        problem = None
        if described is None:
            described, problem = self._describe(pending["statement_id"])
        error = str(described.get("Error") or problem or "(Redshift reported no error text)")
        self._no_run_file(pending, f"{fields['state']}: {error}")
        self._settle(pending, "failed", error=error)
        log_event(self.logger, "extract.failed", logging.ERROR, **fields, error=error)
        return {"status": "failed", "error": error, **fields}

    def _no_run_file(
        self, pending: dict[str, Any], problem: str, outcome: ExtractOutcome = "failed"
    ) -> None:
        """Tell people (an "Extract Failed" event for notify) that no run file was written."""
        s = self.settings
        event = ExtractFailed(
            environment=s.environment,
            kind=str(pending["kind"]),
            run_id=str(pending["run_id"]),
            problem=problem,
            outcome=outcome,
            run_date=pending.get("run_date"),
            statement_id=pending.get("statement_id"),
            statement_name=pending.get("statement_name"),
            started_at=pending.get("started_at"),
            function_name=s.function_name,
        )
        put_event(self.clients.events, s.project, event)
