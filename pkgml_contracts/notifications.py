"""Notifications: who tells the notify function what happened, and SNS's rules for its text.

Only the notify function (`lambda_src/notify`) writes text for people. Everything else
tells it what happened through EventBridge's default bus:

- the trigger and the extract runner put the custom events below (source
  `<project>.trigger` / `<project>.extract`); the emitter builds the detail with these
  classes and `put_event`, notify reads it back with the same classes' `from_detail`;
- every CloudWatch alarm of an environment reaches notify through its "CloudWatch Alarm
  State Change" event, except the alarms that watch the notifier itself: their names start
  with `notifier_alarm_prefix(...)` (`<project>-<environment>-notifier-`) and they keep a
  direct SNS action, because a broken notifier cannot report its own failure.
  `through_notify(alarm_name, ...)` is that rule: the monitoring stack gives an SNS action
  exactly to the alarms it is False for, the rule routes exactly the others, and notify
  ignores the notifier's own.

SNS accepts a `Subject` of fewer than 100 characters, printable ASCII on one line, and a
message body that encodes as UTF-8 (a lone surrogate such as "\\udc80", valid in JSON,
does not, and makes the publish raise).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

from pkgml_contracts.names import resource_prefix

SUBJECT_MAX: Final = 99
_NOT_PRINTABLE: Final = re.compile(r"[^ -~]")


def sns_subject(text: str) -> str:
    """`text` as a valid SNS subject: unprintable characters as '?', cut to 99 with '...'."""
    subject = _NOT_PRINTABLE.sub("?", " ".join(text.split()))
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 3] + "..."
    return subject or "(no subject)"


def encodable(text: str) -> str:
    """`text` with every character UTF-8 cannot encode (lone surrogates) escaped visibly."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# --- alarms ----------------------------------------------------------------------------

NOTIFIER: Final = "notifier"


def alarm_prefix(project: str, environment: str) -> str:
    """Every alarm of an environment is named '<project>-<environment>-...'."""
    return f"{resource_prefix(project, environment)}-"


def notifier_alarm_prefix(project: str, environment: str) -> str:
    """The alarms that watch the notify function itself (its errors and throttles, its
    failed invocations and undelivered events): '<project>-<environment>-notifier-'."""
    return f"{alarm_prefix(project, environment)}{NOTIFIER}-"


def through_notify(alarm_name: str, project: str, environment: str) -> bool:
    """True if the alarm reaches people through notify (its state-change event), False if
    it is another environment's or watches the notifier (then it has a direct SNS action)."""
    return alarm_name.startswith(alarm_prefix(project, environment)) and not (
        alarm_name.startswith(notifier_alarm_prefix(project, environment))
    )


# --- custom events -----------------------------------------------------------------------

Emitter = Literal["trigger", "extract"]
TEXT_MAX: Final = 4000  # characters of one free-text field (an event entry is at most 256 KiB)


def event_source(project: str, emitter: Emitter) -> str:
    """The `source` of an emitter's events, e.g. 'pkgml.trigger'."""
    return f"{project}.{emitter}"


class EventShapeError(ValueError):
    """An event's detail lacks a field its class needs, or has it with the wrong type."""


class EventNotSent(RuntimeError):
    """EventBridge did not take the event (PutEvents answers 200 with FailedEntryCount)."""


def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = encodable(value)
        return value if len(value) <= TEXT_MAX else value[: TEXT_MAX - 3] + "..."
    return value


def required_text(holder: Mapping[str, Any], key: str, where: str = "detail") -> str:
    """A non-empty string field, else EventShapeError naming it (`<where>.<key>`)."""
    value = holder.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EventShapeError(f"{where}.{key}: missing, empty or not a string")
    return value


def optional_text(holder: Mapping[str, Any], key: str, where: str = "detail") -> str | None:
    """A string field, None when absent or empty, else EventShapeError naming it."""
    value = holder.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EventShapeError(f"{where}.{key}: not a string")
    return value


def _object(holder: Mapping[str, Any], key: str, where: str = "detail") -> Mapping[str, Any]:
    value = holder.get(key)
    if not isinstance(value, dict):
        raise EventShapeError(f"{where}.{key}: missing or not an object")
    return value


@dataclass(frozen=True)
class RunFileQuarantined:
    """The trigger rejected a run file: copied to quarantine, nothing started. The detail
    is the quarantine report the trigger writes beside the copy (`<copy>.error.json`)."""

    EMITTER: ClassVar[Emitter] = "trigger"
    DETAIL_TYPE: ClassVar[str] = "Run File Quarantined"

    environment: str
    reason: str
    message: str
    bucket: str
    key: str
    version: str | None = None
    etag: str | None = None
    field: str | None = None  # None: the whole file
    quarantined_copy: str | None = None  # None: too large to copy
    report: str | None = None
    time: str | None = None

    def detail(self) -> dict[str, Any]:
        """The event's detail (and the report's JSON): the shape EVENTS.md documents."""
        return {
            "environment": self.environment,
            "reason": self.reason,
            "field": _text(self.field or ""),
            "message": _text(self.message),
            "original": {
                "bucket": self.bucket,
                "key": _text(self.key),
                "version": self.version,
                "etag": self.etag,
            },
            "quarantined_copy": self.quarantined_copy,
            "report": self.report,
            "time": self.time,
        }

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> RunFileQuarantined:
        """The event from its detail; EventShapeError names a missing or mistyped field."""
        original = _object(detail, "original")
        where = "detail.original"
        return cls(
            environment=required_text(detail, "environment"),
            reason=required_text(detail, "reason"),
            message=required_text(detail, "message"),
            bucket=required_text(original, "bucket", where),
            key=required_text(original, "key", where),
            version=optional_text(original, "version", where),
            etag=optional_text(original, "etag", where),
            field=optional_text(detail, "field"),
            quarantined_copy=optional_text(detail, "quarantined_copy"),
            report=optional_text(detail, "report"),
            time=optional_text(detail, "time"),
        )


@dataclass(frozen=True)
class RunFileNotStarted:
    """The trigger did not start a valid run file for some package types because an
    execution of the same run is still running (two would write the same output folders)."""

    EMITTER: ClassVar[Emitter] = "trigger"
    DETAIL_TYPE: ClassVar[str] = "Run File Not Started"

    environment: str
    run_id: str
    bucket: str
    key: str
    running: Mapping[str, str]  # package type -> the running execution's ARN
    version: str | None = None
    time: str | None = None

    def detail(self) -> dict[str, Any]:
        """The event's detail: the shape EVENTS.md documents."""
        return {
            "environment": self.environment,
            "run_id": self.run_id,
            "run_file": {"bucket": self.bucket, "key": _text(self.key), "version": self.version},
            "running": dict(sorted(self.running.items())),
            "time": self.time,
        }

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> RunFileNotStarted:
        """The event from its detail; EventShapeError names a missing or mistyped field."""
        run_file = _object(detail, "run_file")
        running = _object(detail, "running")
        if not running or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in running.items()
        ):
            raise EventShapeError("detail.running: not an object of package type -> ARN")
        where = "detail.run_file"
        return cls(
            environment=required_text(detail, "environment"),
            run_id=required_text(detail, "run_id"),
            bucket=required_text(run_file, "bucket", where),
            key=required_text(run_file, "key", where),
            running=dict(running),
            version=optional_text(run_file, "version", where),
            time=optional_text(detail, "time"),
        )


ExtractOutcome = Literal["failed", "empty"]


@dataclass(frozen=True)
class ExtractFailed:
    """A scheduled or re-run extract wrote no run file: its UNLOAD failed, was aborted or
    was lost ("failed"), or found no rows where rows are expected ("empty")."""

    EMITTER: ClassVar[Emitter] = "extract"
    DETAIL_TYPE: ClassVar[str] = "Extract Failed"

    environment: str
    kind: str
    run_id: str
    problem: str
    outcome: ExtractOutcome = "failed"
    run_date: str | None = None
    statement_id: str | None = None
    statement_name: str | None = None
    started_at: str | None = None
    function_name: str | None = None  # the extract runner, for the re-run command

    def detail(self) -> dict[str, Any]:
        """The event's detail: the shape EVENTS.md documents."""
        return {
            "environment": self.environment,
            "kind": self.kind,
            "run_id": self.run_id,
            "outcome": self.outcome,
            "problem": _text(self.problem),
            "run_date": self.run_date,
            "statement_id": self.statement_id,
            "statement_name": self.statement_name,
            "started_at": self.started_at,
            "function_name": self.function_name,
        }

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> ExtractFailed:
        """The event from its detail; EventShapeError names a missing or mistyped field."""
        outcome = optional_text(detail, "outcome") or "failed"
        if outcome not in ("failed", "empty"):
            raise EventShapeError("detail.outcome: must be 'failed' or 'empty'")
        return cls(
            environment=required_text(detail, "environment"),
            kind=required_text(detail, "kind"),
            run_id=required_text(detail, "run_id"),
            problem=required_text(detail, "problem"),
            outcome="empty" if outcome == "empty" else "failed",
            run_date=optional_text(detail, "run_date"),
            statement_id=optional_text(detail, "statement_id"),
            statement_name=optional_text(detail, "statement_name"),
            started_at=optional_text(detail, "started_at"),
            function_name=optional_text(detail, "function_name"),
        )


PlatformEvent = RunFileQuarantined | RunFileNotStarted | ExtractFailed
EVENT_CLASSES: Final[tuple[type[PlatformEvent], ...]] = (
    RunFileQuarantined,
    RunFileNotStarted,
    ExtractFailed,
)


def detail_types(emitter: Emitter) -> tuple[str, ...]:
    """The detail-types one emitter puts (the notify rule for its source lists them)."""
    return tuple(c.DETAIL_TYPE for c in EVENT_CLASSES if emitter == c.EMITTER)


def put_event(events: Any, project: str, event: PlatformEvent) -> str:
    """PutEvents of one platform event on the default bus, with an `events` client; the
    event's id.

    Raises EventNotSent when EventBridge did not take it: PutEvents answers HTTP 200 with
    FailedEntryCount > 0 for a refused entry, so the response is checked, never assumed.
    Client errors (throttling, access) propagate as they are.
    """
    entry = {
        "Source": event_source(project, event.EMITTER),
        "DetailType": event.DETAIL_TYPE,
        "Detail": json.dumps(event.detail(), ensure_ascii=False, sort_keys=True),
    }
    response = events.put_events(Entries=[entry])
    results = response.get("Entries") or [{}]
    event_id = results[0].get("EventId")
    if response.get("FailedEntryCount", 0) or not event_id:
        raise EventNotSent(
            f"EventBridge did not take the {event.DETAIL_TYPE!r} event of "
            f"{entry['Source']}: {results[0].get('ErrorCode', 'no event id')}: "
            f"{results[0].get('ErrorMessage', '')}"
        )
    return str(event_id)
