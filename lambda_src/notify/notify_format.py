"""Pure formatting: one EventBridge event -> one readable notification, or None (ignore).

    format_event(event, settings, lookup) -> Notification | None
    route(notification)                   -> "alerts" | "decisions"

Handled events (see EVENTS.md for shapes and the rules' patterns):

    aws.sagemaker  Pipeline Execution Status Change       Failed, Stopped  -> alerts
                                                          Succeeded (inference whose
                                                          batch drifted)   -> alerts
    aws.sagemaker  Pipeline Execution Step Status Change  Failed           -> alerts
                                                          (notify_pipelines)
    aws.sagemaker  Model Package State Change             Approved, Rejected -> decisions
                                                          (notify_models)
    aws.cloudwatch CloudWatch Alarm State Change          ALARM, OK        -> alerts
    <project>.trigger  Run File Quarantined, Run File Not Started          -> alerts
    <project>.extract  Extract Failed                                      -> alerts
                                                          (notify_platform)

Other statuses, and resources of other environments (names outside `<project>-<env>-`), give
None: rules may be broad. Anything malformed (not a dict, missing or mistyped fields, unknown
detail-type) gives a generic notification carrying the redacted, truncated raw event: this
function never raises, since a raise would only make Lambda retry the same bad event.
Every message has one shape (`notify_core.notification`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import notify_models
import notify_pipelines
import notify_platform
from notify_core import NO_LOOKUP, Lookup, Malformed, Notification, notification, required_text
from notify_settings import Settings, Topic

from pkgml_contracts.notifications import (
    EventShapeError,
    ExtractFailed,
    RunFileNotStarted,
    RunFileQuarantined,
    event_source,
)

EXECUTION_STATUS = "SageMaker Model Building Pipeline Execution Status Change"
STEP_STATUS = "SageMaker Model Building Pipeline Execution Step Status Change"
MODEL_PACKAGE_STATE = "SageMaker Model Package State Change"
ALARM_STATE = "CloudWatch Alarm State Change"

RAW_EVENT_MAX = 4000  # characters of raw event JSON in a generic notification
RAW_STRING_MAX = 500  # characters of any one string inside that raw event

_SECRET_KEY = re.compile(
    r"secret|passw|credential|authori[sz]ation|api[_-]?key|private[_-]?key|session[_-]?token"
    r"|access[_-]?key|cookie",
    re.IGNORECASE,
)

Handler = Callable[[Any, Any, Settings, Lookup], Notification | None]


def route(notification: Notification) -> Topic:
    """Model decisions go to the decisions topic; everything else is an alert."""
    return "decisions" if notification.kind in notify_models.DECISION_KINDS else "alerts"


def format_event(event: Any, settings: Settings, lookup: Lookup = NO_LOOKUP) -> Notification | None:
    """Render `event`, None to ignore it; malformed input gives a generic notification."""
    try:
        return _dispatch(event, settings, lookup)
    except EventShapeError as exc:  # Malformed included
        return generic_notification(event, settings, str(exc))
    except Exception as exc:  # a formatter bug must still tell someone, never loop retries
        return generic_notification(event, settings, f"formatter error ({type(exc).__name__})")


def _handlers(s: Settings) -> dict[tuple[str, str], Handler]:
    trigger, extract = event_source(s.project, "trigger"), event_source(s.project, "extract")
    return {
        ("aws.sagemaker", EXECUTION_STATUS): notify_pipelines.execution,
        ("aws.sagemaker", STEP_STATUS): notify_pipelines.step,
        ("aws.sagemaker", MODEL_PACKAGE_STATE): notify_models.model_package,
        ("aws.cloudwatch", ALARM_STATE): notify_platform.alarm,
        (trigger, RunFileQuarantined.DETAIL_TYPE): notify_platform.quarantined,
        (trigger, RunFileNotStarted.DETAIL_TYPE): notify_platform.not_started,
        (extract, ExtractFailed.DETAIL_TYPE): notify_platform.extract_failed,
    }


def _dispatch(event: Any, s: Settings, lookup: Lookup) -> Notification | None:
    if not isinstance(event, dict):
        raise Malformed(f"the event is a {type(event).__name__}, not a JSON object")
    source = required_text(event, "source", "event")
    detail_type = required_text(event, "detail-type", "event")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise Malformed("event.detail: missing or not an object")
    handle = _handlers(s).get((source, detail_type))
    if handle is None:
        raise Malformed(f"no format for source {source!r}, detail-type {detail_type!r}")
    return handle(event, detail, s, lookup)


# --- anything else -----------------------------------------------------------------------


def redact(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy: secret-looking keys' values replaced, long strings cut, depth-bounded."""
    if depth > 20:
        return "<nested too deep>"
    if isinstance(value, dict):
        return {
            str(k): "<redacted>" if _SECRET_KEY.search(str(k)) else redact(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, depth + 1) for v in value]
    if isinstance(value, str) and len(value) > RAW_STRING_MAX:  # keep the structure visible
        return value[:RAW_STRING_MAX] + f"...({len(value)} characters)"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)[:200]


def raw_event_text(event: Any, limit: int = RAW_EVENT_MAX) -> str:
    """The redacted event as indented JSON, cut at `limit` characters."""
    try:
        text = json.dumps(redact(event), indent=1, sort_keys=True, default=str)
    except Exception:  # e.g. NaN-free but still unserialisable: fall back to repr
        text = repr(type(event))
    if len(text) > limit:
        text = text[:limit] + f"\n... (truncated: {len(text)} characters in all)"
    return text


def generic_notification(event: Any, s: Settings, problem: str) -> Notification:
    """The safe fallback: what went wrong, and the raw event, redacted and truncated."""
    what = "non-object event"
    if isinstance(event, dict):
        detail_type = event.get("detail-type")
        what = detail_type if isinstance(detail_type, str) and detail_type else "event"
    rows: list[tuple[str, Any]] = [
        ("Problem", problem),
        ("Event id", event.get("id") if isinstance(event, dict) else None),
        ("Source", event.get("source") if isinstance(event, dict) else None),
    ]
    action = [
        "Check the EventBridge rules that target the notify function: their patterns should",
        "only let through the events listed in lambda_src/notify/EVENTS.md. If AWS changed an",
        "event's shape, extend the notify function's formatters and add the event as a test:",
        f"   aws events list-rules --name-prefix {s.prefix}-",
    ]
    return notification(
        s,
        "unrecognised_event",
        subject=f"unrecognised event: {what}",
        headline=f"The notify function received an event it could not format in {s.environment}.",
        rows=rows,
        action=action,
        appendix=[("Raw event (secrets redacted)", raw_event_text(event).split("\n"))],
    )
