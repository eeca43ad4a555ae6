"""The sweeper: settles what a lost status event or a crashed start left behind.

EventBridge delivers the Data API's status events best-effort, and a start can die
between ExecuteStatement and its pending record. Hourly (EventBridge Scheduler, input
{"action": "sweep"}) the same function, under the same role (the Data API describes a
statement only to the role that ran it), looks at every claim written in the last
SWEEP_LOOKBACK_SECONDS:

    submitted, for SWEEP_AFTER_SECONDS -> DescribeStatement
        FINISHED / FAILED / ABORTED      -> settled as the status event would have ("finished",
                                            "empty", "failed", ...)
        still running                    -> left alone ("running")
        unknown after the 24 h retention -> event, claim "failed" ("lost")
        pending record already settled   -> the claim catches up ("repaired")
    starting, for CLAIM_LEASE_SECONDS  -> ListStatements by the claim's statement name
        found                            -> linked, settled if it has ended ("adopted")
        none                             -> the start resumes with the claim's ClientToken
                                            ("restarted")
    anything else                      -> "settled"; younger than its bound -> "young"

A claim that cannot be swept is logged and the others still are; then the sweep raises,
so the failed-invocations queue and the function's error alarm see it.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date
from typing import Any

from botocore.exceptions import ClientError
from extract_service import (
    DATA_API_RETENTION_SECONDS,
    TERMINAL_STATES,
    Extractor,
    ExtractRequest,
    InputError,
    epoch,
)
from extract_store import error_code
from pkgml_log import log_event

SWEEP_EVENT = {"action": "sweep"}
# Older claims were settled by earlier sweeps, or any new run takes them over (24 h).
SWEEP_LOOKBACK_SECONDS = 3 * 24 * 3600
LIST_PAGES = 5  # one statement name is one attempt: more than a page is not expected


class SweepError(RuntimeError):
    """Some claims could not be swept (each is logged with its error)."""


class Sweeper:
    """Settles submitted and starting claims through the Data API, with `extractor`'s state."""

    def __init__(self, extractor: Extractor) -> None:
        self.extractor = extractor

    def sweep(self, event: Any) -> dict[str, Any]:
        """Sweep every recent claim; {"status": "swept", "outcomes": {outcome: count}}."""
        if event != SWEEP_EVENT:
            raise InputError('event: the sweep input is exactly {"action": "sweep"}')
        x = self.extractor
        now = x.clock()
        outcomes: Counter[str] = Counter()
        failed: list[str] = []
        for key in x.store.keys(x.claims_prefix, modified_since=now - SWEEP_LOOKBACK_SECONDS):
            try:
                outcomes[self._sweep(key, now)] += 1
            except Exception as exc:  # one bad claim must not keep the others unsettled
                failed.append(key)
                log_event(x.logger, "extract.sweep_failed", logging.ERROR, claim=key,
                          error=f"{type(exc).__name__}: {exc}")  # fmt: skip
        log_event(x.logger, "extract.swept", outcomes=dict(outcomes), failed=failed)
        if failed:
            raise SweepError(f"{len(failed)} claim(s) could not be swept: {', '.join(failed)}")
        return {"status": "swept", "outcomes": dict(outcomes)}

    def _sweep(self, key: str, now: float) -> str:
        found = self.extractor.store.get(key)
        if found is None:
            return "gone"
        claim, etag = found
        if claim.get("status") == "submitted":
            return self._submitted(claim, etag, now)
        if claim.get("status") == "starting":
            return self._starting(claim, etag, now)
        return "settled"

    def _submitted(self, claim: dict[str, Any], etag: str, now: float) -> str:
        x = self.extractor
        age = now - epoch(claim.get("submitted_at_epoch"), epoch(claim.get("claimed_at_epoch")))
        if age < x.settings.sweep_after_seconds:
            return "young"
        statement_id = str(claim["statement_id"])
        found = x.store.get(x.pending_key(statement_id))
        pending = found[0] if found is not None else x.pending_record(claim, statement_id)
        if pending.get("status") != "submitted":
            # A settlement cut short between the pending record and the claim.
            caught_up = {**claim, "status": pending.get("status")}
            x.store.put_if(x.claim_key(str(claim["run_id"])), caught_up, IfMatch=etag)
            return "repaired"
        try:
            described = dict(x.clients.redshift_data.describe_statement(Id=statement_id))
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException" and (
                age >= DATA_API_RETENTION_SECONDS
            ):
                return str(x.lost(pending)["status"])
            raise
        state = str(described.get("Status", ""))
        if state not in TERMINAL_STATES:
            return "running"
        log_event(x.logger, "extract.swept_statement", run_id=claim.get("run_id"),
                  statement_id=statement_id, state=state)  # fmt: skip
        return str(x.settle(pending, state, described)["status"])

    def _starting(self, claim: dict[str, Any], etag: str, now: float) -> str:
        x = self.extractor
        if now - epoch(claim.get("claimed_at_epoch")) < x.settings.claim_lease_seconds:
            return "young"
        name = claim.get("statement_name")
        statement = self._statement_named(name) if isinstance(name, str) else None
        if statement is None:
            # ExecuteStatement never got through: start again, with the same ClientToken.
            run_id = str(claim["run_id"])
            run_date = str(claim.get("run_date") or run_id[-len("YYYY-MM-DD") :])
            request = ExtractRequest(kind=str(claim["kind"]), run_date=date.fromisoformat(run_date))
            result = x.run(request)
            return "restarted" if result["status"] == "submitted" else str(result["reason"])
        pending = x.link(claim, etag, str(statement["Id"]))
        state = str(statement.get("Status", ""))
        if pending.get("status") == "submitted" and state in TERMINAL_STATES:
            x.settle(pending, state)
        log_event(x.logger, "extract.adopted", run_id=claim.get("run_id"),
                  statement_id=statement["Id"], state=state)  # fmt: skip
        return "adopted"

    def _statement_named(self, name: str) -> dict[str, Any] | None:
        """This role's statement called exactly `name` (ListStatements matches a prefix)."""
        token: str | None = None
        for _ in range(LIST_PAGES):
            params: dict[str, Any] = {"StatementName": name, "Status": "ALL", "RoleLevel": True,
                                      "MaxResults": 100}  # fmt: skip
            if token:
                params["NextToken"] = token
            page = self.extractor.clients.redshift_data.list_statements(**params)
            for statement in page.get("Statements", []):
                if statement.get("StatementName") == name:
                    return dict(statement)
            token = page.get("NextToken")
            if not token:
                return None
        return None
