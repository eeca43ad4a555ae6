"""Scheduled Redshift UNLOADs through the Data API, finished asynchronously by an event.

    start  (EventBridge Scheduler {"kind", optional "run_date"}):
        run_id = <kind>-<run_date>; skip if its run file exists or its claim is live
        claim extract-state/runs/<run_id>.json -> render SQL -> ExecuteStatement(WithEvent)
        -> pending record extract-state/<statement id>.json
    finish (EventBridge "Redshift Data Statement Status Change"):
        no pending record -> ignore; already settled -> ignore (duplicate event)
        FINISHED        -> manifest has entries -> runs/<kind>/<run_id>.json (If-None-Match)
        FAILED/ABORTED  -> DescribeStatement's Error -> alert; the claim is released
                           (marked failed) so a re-fired schedule can run it again

The SQL is rendered from a versioned template with validated values only: the run date,
the package types from configuration, the S3 prefix derived from them, the role ARN and
the file size from configuration. Nothing else from the event reaches the statement.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from extract_settings import ROLE_ARN, Settings
from pkgml_log import log_event

RUN_KINDS: tuple[str, ...] = ("training", "inference-daily", "inference-monthly")
UNLOAD_PREFIX = "unload/"
SQL_DIR = Path(__file__).resolve().parent / "sql"
TERMINAL_STATES = frozenset({"FINISHED", "FAILED", "ABORTED"})
EMPTY_IS_NORMAL = frozenset({"inference-daily"})  # a day without new products is not an alarm

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_S3_PREFIX = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/unload/[a-z-]+/[a-z0-9-]+/")
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_DENIED = frozenset({"AccessDenied", "403"})
_CONDITION_FAILED = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


class InputError(ValueError):
    """The schedule's input is invalid (names the field and the accepted form)."""


@dataclass(frozen=True)
class Clients:
    """The AWS clients the extract runner uses (module scope in the handler; fakes in tests)."""

    s3: Any
    redshift_data: Any
    sns: Any


@dataclass(frozen=True)
class ExtractRequest:
    """A validated start request."""

    kind: str
    run_date: date

    @property
    def run_id(self) -> str:
        """Deterministic per kind and date, so a re-fired schedule is the same run."""
        return f"{self.kind}-{self.run_date.isoformat()}"


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
    return ExtractRequest(kind=kind, run_date=run_date)


# --- SQL ---------------------------------------------------------------------------------


def load_templates(directory: Path = SQL_DIR) -> dict[str, str]:
    """The versioned query templates, by run kind (file name: kind with '_' for '-')."""
    return {
        kind: (directory / f"{kind.replace('-', '_')}.sql").read_text(encoding="utf-8")
        for kind in RUN_KINDS
    }


def render_query(template: str, *, run_date: date, package_types: tuple[str, ...]) -> str:
    """The SELECT: comment lines dropped, placeholders filled with validated values only."""
    body = "\n".join(
        line.rstrip() for line in template.splitlines() if not line.lstrip().startswith("--")
    ).strip()
    for value in package_types:
        if not re.fullmatch(r"[a-z0-9-]+", value):
            raise ValueError(f"package type {value!r} is not safe to render")
    query = string.Template(body).substitute(
        run_date=run_date.isoformat(),
        package_types=", ".join(f"'{p}'" for p in package_types),
    )
    if ";" in query or "\\" in query:
        raise ValueError("a query template must be one statement without ';' or backslashes")
    return query


def unload_statement(query: str, *, s3_prefix: str, role_arn: str, max_file_size_mb: int) -> str:
    """UNLOAD ('<query, quotes doubled>') TO '<prefix>' ... FORMAT PARQUET MANIFEST."""
    if not _S3_PREFIX.fullmatch(s3_prefix):
        raise ValueError(f"unsafe S3 prefix {s3_prefix!r}")
    if not ROLE_ARN.fullmatch(role_arn):
        raise ValueError(f"unsafe role ARN {role_arn!r}")
    if not 5 <= max_file_size_mb <= 6200:
        raise ValueError("MAXFILESIZE must be 5-6200 MB")
    escaped = query.replace("'", "''")
    return (
        f"UNLOAD ('{escaped}')\n"
        f"TO '{s3_prefix}'\n"
        f"IAM_ROLE '{role_arn}'\n"
        f"FORMAT PARQUET\n"
        f"MANIFEST\n"
        f"MAXFILESIZE {max_file_size_mb} MB\n"
        f"ALLOWOVERWRITE"
    )


# --- helpers -----------------------------------------------------------------------------


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is(exc: BaseException, codes: frozenset[str]) -> bool:
    if not isinstance(exc, ClientError):
        return False
    status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return _code(exc) in codes or status in codes


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_SUBJECT_CHARS = re.compile(r"[^ -~]")


def _subject(text: str) -> str:
    text = _SUBJECT_CHARS.sub("?", text)
    return text if len(text) <= 100 else text[:97] + "..."


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

    # --- S3 state ------------------------------------------------------------------------

    def _absent(self, exc: ClientError, bucket: str, key: str) -> bool:
        """True if `exc` means the object does not exist (S3 says 403 for a missing key
        without s3:ListBucket; a listing scoped to the key tells the two apart)."""
        if _is(exc, _NOT_FOUND):
            return True
        if not _is(exc, _DENIED):
            return False
        listed = self.clients.s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        return not any(item.get("Key") == key for item in listed.get("Contents", []))

    def _get_json(self, key: str) -> tuple[dict[str, Any], str] | None:
        try:
            response = self.clients.s3.get_object(Bucket=self.settings.data_bucket, Key=key)
        except ClientError as exc:
            if self._absent(exc, self.settings.data_bucket, key):
                return None
            raise
        return json.loads(response["Body"].read()), str(response.get("ETag", ""))

    def _put_json(self, key: str, body: dict[str, Any], **condition: str) -> None:
        self.clients.s3.put_object(
            Bucket=self.settings.data_bucket,
            Key=key,
            Body=json.dumps(body, indent=2).encode("utf-8"),
            ContentType="application/json",
            **condition,
        )

    def _exists(self, key: str) -> bool:
        try:
            self.clients.s3.head_object(Bucket=self.settings.data_bucket, Key=key)
        except ClientError as exc:
            if self._absent(exc, self.settings.data_bucket, key):
                return False
            raise
        return True

    def run_file_key(self, kind: str, run_id: str) -> str:
        """runs/<kind>/<run_id>.json."""
        return f"{self.settings.runs_prefix}{kind}/{run_id}.json"

    def claim_key(self, run_id: str) -> str:
        """extract-state/runs/<run_id>.json: one live UNLOAD per run id."""
        return f"{self.settings.state_prefix}runs/{run_id}.json"

    def pending_key(self, statement_id: str) -> str:
        """extract-state/<statement id>.json: what a finished statement was for."""
        return f"{self.settings.state_prefix}{statement_id}.json"

    def _claim(self, key: str, claim: dict[str, Any]) -> bool:
        """Create the run claim, or take over a failed or stale one; False = run is live."""
        try:
            self._put_json(key, claim, IfNoneMatch="*")
            return True
        except ClientError as exc:
            if not _is(exc, _CONDITION_FAILED):
                raise
        existing = self._get_json(key)
        if existing is None:
            return False  # released concurrently; the next schedule or a retry picks it up
        marker, etag = existing
        age = self.clock() - float(marker.get("claimed_at_epoch", 0))
        stale_start = (
            marker.get("status") == "starting" and age >= self.settings.claim_lease_seconds
        )
        if marker.get("status") != "failed" and not stale_start:
            return False
        try:
            self._put_json(key, claim, IfMatch=etag)
        except ClientError as exc:
            if _is(exc, _CONDITION_FAILED):
                return False
            raise
        return True

    # --- start ---------------------------------------------------------------------------

    def start(self, event: Any) -> dict[str, Any]:
        """Submit the UNLOAD for one scheduled extract (or skip a duplicate)."""
        s = self.settings
        now = self.clock()
        request = parse_start_event(event, datetime.fromtimestamp(now, UTC).date())
        run_id, kind = request.run_id, request.kind
        fields = {"kind": kind, "run_id": run_id}
        if self._exists(self.run_file_key(kind, run_id)):
            log_event(self.logger, "extract.skipped", reason="run_file_exists", **fields)
            return {"status": "skipped", "reason": "run_file_exists", **fields}

        claim_key = self.claim_key(run_id)
        claim = {"status": "starting", "kind": kind, "run_id": run_id,
                 "claimed_at_epoch": now, "claimed_at": _iso(now)}  # fmt: skip
        if not self._claim(claim_key, claim):
            log_event(self.logger, "extract.skipped", reason="already_running", **fields)
            return {"status": "skipped", "reason": "already_running", **fields}

        s3_prefix = f"s3://{s.data_bucket}/{UNLOAD_PREFIX}{kind}/{run_id}/"
        sql = unload_statement(
            render_query(
                self.templates[kind], run_date=request.run_date, package_types=s.package_types
            ),
            s3_prefix=s3_prefix,
            role_arn=s.unload_role_arn,
            max_file_size_mb=s.max_file_size_mb,
        )
        statement_name = s.statement_name(run_id)
        target: dict[str, str] = (
            {"ClusterIdentifier": s.cluster_id}
            if s.cluster_id
            else {"WorkgroupName": str(s.workgroup)}
        )
        if s.secret_arn:
            target["SecretArn"] = s.secret_arn
        if s.db_user:
            target["DbUser"] = s.db_user
        # Same claim -> same token: a retried start returns the same statement on AWS.
        token = hashlib.sha256(f"{run_id}\n{now}".encode()).hexdigest()[:64]
        try:
            response = self.clients.redshift_data.execute_statement(
                Database=s.database,
                Sql=sql,
                StatementName=statement_name,
                WithEvent=True,
                ClientToken=token,
                **target,
            )
        except Exception:
            self.clients.s3.delete_object(Bucket=s.data_bucket, Key=claim_key)
            raise
        statement_id = str(response["Id"])
        manifest = f"{s3_prefix}manifest"
        pending = {"kind": kind, "run_id": run_id, "run_date": request.run_date.isoformat(),
                   "manifest": manifest, "statement_id": statement_id,
                   "statement_name": statement_name, "started_at": _iso(now),
                   "status": "submitted"}  # fmt: skip
        self._put_json(self.pending_key(statement_id), pending)
        self._put_json(claim_key, {**claim, "status": "submitted", "statement_id": statement_id})
        log_event(self.logger, "extract.submitted", **fields, statement_id=statement_id,
                  statement_name=statement_name, manifest=manifest)  # fmt: skip
        return {"status": "submitted", "statement_id": statement_id, **fields}

    # --- finish --------------------------------------------------------------------------

    def dispatch(self, event: Any) -> dict[str, Any]:
        """One entry point for both: Data API status events finish, anything else starts."""
        if isinstance(event, dict) and event.get("source") == "aws.redshift-data":
            return self.finish(event)
        return self.start(event)

    def finish(self, event: Any) -> dict[str, Any]:
        """Settle one statement status change: write the run file, or alert."""
        detail = event.get("detail") if isinstance(event, dict) else None
        if not isinstance(detail, dict) or not isinstance(detail.get("statementId"), str):
            raise InputError("detail.statementId: a Redshift Data Statement Status Change event")
        statement_id, state = detail["statementId"], str(detail.get("state", ""))
        found = self._get_json(self.pending_key(statement_id))
        if found is None:
            log_event(self.logger, "extract.unknown_statement", logging.WARNING,
                      statement_id=statement_id, state=state,
                      statement_name=detail.get("statementName"))  # fmt: skip
            return {
                "status": "ignored",
                "reason": "unknown_statement",
                "statement_id": statement_id,
            }
        pending, _ = found
        fields = {"kind": pending["kind"], "run_id": pending["run_id"],
                  "statement_id": statement_id, "state": state}  # fmt: skip
        if pending.get("status") != "submitted":
            log_event(self.logger, "extract.duplicate_event", **fields)
            return {"status": "ignored", "reason": "already_settled", **fields}
        if state == "FINISHED":
            return self._finished(pending, fields)
        if state in ("FAILED", "ABORTED"):
            return self._failed(pending, fields)
        log_event(self.logger, "extract.unexpected_state", logging.WARNING, **fields)
        return {"status": "ignored", "reason": "not_terminal", **fields}

    def _settle(self, pending: dict[str, Any], status: str, **extra: Any) -> None:
        statement_id = pending["statement_id"]
        self._put_json(self.pending_key(statement_id), {**pending, "status": status, **extra})
        claim_key = self.claim_key(pending["run_id"])
        claim = self._get_json(claim_key)
        if claim is not None and claim[0].get("statement_id") == statement_id:
            self._put_json(claim_key, {**claim[0], "status": status})

    def _manifest_entries(self, uri: str) -> int | None:
        bucket, _, key = uri[len("s3://") :].partition("/")
        try:
            body = self.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if self._absent(exc, bucket, key):
                return None
            raise
        try:
            entries = json.loads(body).get("entries")
        except (ValueError, AttributeError):
            return None
        return len(entries) if isinstance(entries, list) else None

    def _finished(self, pending: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        kind, run_id, manifest = pending["kind"], pending["run_id"], pending["manifest"]
        entries = self._manifest_entries(manifest)
        if entries is None:
            self._alert(pending, f"finished but its manifest {manifest} is missing or invalid")
            self._settle(pending, "failed", error="manifest missing or invalid")
            return {"status": "failed", "reason": "manifest_missing", **fields}
        if entries == 0:
            if kind not in EMPTY_IS_NORMAL:
                self._alert(pending, "finished but unloaded no rows; no run file was written")
            log_event(self.logger, "extract.empty", logging.WARNING, **fields)
            self._settle(pending, "empty")
            return {"status": "empty", **fields}

        run_key = self.run_file_key(kind, run_id)
        run_file = {"schema_version": 1, "kind": kind, "run_id": run_id,
                    "data": {"manifest": manifest}}  # fmt: skip
        try:
            self._put_json(run_key, run_file, IfNoneMatch="*")
            written = True
        except ClientError as exc:
            if not _is(exc, _CONDITION_FAILED):
                raise
            written = False  # a duplicate event, or a run file dropped by hand: keep it
        self._settle(pending, "finished")
        log_event(self.logger, "extract.finished", **fields, run_file=run_key,
                  written=written, files=entries)  # fmt: skip
        return {"status": "finished" if written else "run_file_exists", "run_file": run_key,
                **fields}  # fmt: skip

    def _failed(self, pending: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        try:
            described = self.clients.redshift_data.describe_statement(Id=pending["statement_id"])
            error = str(described.get("Error") or "(Redshift reported no error text)")
        except ClientError as exc:
            error = f"(DescribeStatement failed: {_code(exc)})"
        self._alert(pending, f"{fields['state']}: {error}")
        self._settle(pending, "failed", error=error)
        log_event(self.logger, "extract.failed", logging.ERROR, **fields, error=error)
        return {"status": "failed", "error": error, **fields}

    def _alert(self, pending: dict[str, Any], problem: str) -> None:
        s = self.settings
        kind, run_id = pending["kind"], pending["run_id"]
        message = "\n".join(
            [
                f"The {kind} extract {run_id} in {s.environment} did not produce a run file.",
                "",
                f"Kind:       {kind}",
                f"Run id:     {run_id}",
                f"Run date:   {pending.get('run_date')}",
                f"Statement:  {pending['statement_id']} ({pending.get('statement_name')})",
                f"Started at: {pending.get('started_at')}",
                f"Problem:    {problem}",
                "",
                "No pipeline was started. To retry, invoke the extract start function with",
                f'{{"kind": "{kind}", "run_date": "{pending.get("run_date")}"}}.',
            ]
        )
        self.clients.sns.publish(
            TopicArn=s.alert_topic_arn,
            Subject=_subject(f"[{s.environment}] extract failed: {kind} {run_id}"),
            Message=message,
        )
