"""Pure formatting: one EventBridge event -> one readable notification, or None (ignore).

    format_event(event, settings, lookup) -> Notification | None
    route(notification)                   -> "alerts" | "decisions"

Handled events (see EVENTS.md for shapes and the rules' patterns):

    aws.sagemaker  Pipeline Execution Status Change       Failed, Stopped  -> alerts
                                                          Succeeded (inference whose
                                                          batch drifted)   -> alerts
    aws.sagemaker  Pipeline Execution Step Status Change  Failed           -> alerts
    aws.sagemaker  Model Package State Change             Approved, Rejected -> decisions
    aws.cloudwatch CloudWatch Alarm State Change          ALARM, OK        -> alerts
    <project>.trigger  Run File Quarantined                                -> alerts
    <project>.extract  Extract Failed                                      -> alerts

Other statuses, and resources of other environments (names outside `<project>-<env>-`), give
None: rules may be broad. Anything malformed (not a dict, missing or mistyped fields, unknown
detail-type) gives a generic notification carrying the redacted, truncated raw event: this
function never raises, since a raise would only make Lambda retry the same bad event.

`lookup` adds what an event lacks (the failed step, the RunId parameter, the gate's
reasons); the default `NO_LOOKUP` does no I/O, so without it formatting is pure. A lookup
that raises or answers None is shown as "(not available)", never as an error.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from notify_settings import Settings, Topic

from pkgml_contracts.names import owned, parse_group_name
from pkgml_contracts.names import parse_pipeline_name as parse_name
from pkgml_contracts.notifications import sns_subject

EXECUTION_STATUS = "SageMaker Model Building Pipeline Execution Status Change"
STEP_STATUS = "SageMaker Model Building Pipeline Execution Step Status Change"
MODEL_PACKAGE_STATE = "SageMaker Model Package State Change"
ALARM_STATE = "CloudWatch Alarm State Change"
RUN_FILE_QUARANTINED = "Run File Quarantined"
EXTRACT_FAILED = "Extract Failed"

DECISION_KINDS = frozenset({"model_approved", "model_rejected"})
RAW_EVENT_MAX = 4000  # characters of raw event JSON in a generic notification
RAW_STRING_MAX = 500  # characters of any one string inside that raw event
VALUE_MAX = 2000  # characters of any one field shown in a body
BODY_MAX_BYTES = 200_000  # SNS allows 256 KiB per message, attributes included
REASONS_MAX = 12

_PIPELINE_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:\d{12}:pipeline/(?P<name>[^/\s]+)"
    r"(?:/execution/(?P<execution>[^/\s]+))?"
)
_PACKAGE_VERSION = re.compile(r".*/(\d+)")
_SECRET_KEY = re.compile(
    r"secret|passw|credential|authori[sz]ation|api[_-]?key|private[_-]?key|session[_-]?token"
    r"|access[_-]?key|cookie",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Malformed(ValueError):
    """The event lacks a field this formatter needs, or has it with the wrong type."""


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """A rendered message: `kind` decides the topic (see `route`)."""

    kind: str
    subject: str
    body: str
    attributes: Mapping[str, str] = field(default_factory=dict)


def route(notification: Notification) -> Topic:
    """Model decisions go to the decisions topic; everything else is an alert."""
    return "decisions" if notification.kind in DECISION_KINDS else "alerts"


# --- lookups: what the event does not carry ----------------------------------------------


@dataclass(frozen=True)
class StepFailure:
    """The failed step of an execution, as ListPipelineExecutionSteps reports it."""

    name: str
    step_type: str | None = None
    reason: str | None = None
    job_arn: str | None = None


@dataclass(frozen=True)
class GateDecision:
    """What decision.json says: "approve" | "reject", the reasons and the scores compared."""

    decision: str | None
    reasons: tuple[str, ...]
    scores: tuple[str, ...] = ()


def decision_scores(document: Mapping[str, Any]) -> tuple[str, ...]:
    """decision.json's scores as lines: both models on the same rows (when measured), the
    champion's stored score (its own validation set, for the trend) and the comparison the
    gate used. Empty for a document without scores."""

    def number(value: Any) -> float | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else None

    lines: list[str] = []
    same_data = document.get("same_data")
    if isinstance(same_data, Mapping) and isinstance(same_data.get("text"), str):
        lines.append(f"same rows: {same_data['text']}")
    challenger = number(document.get("challenger_score"))
    champion = number(document.get("champion_score"))
    if challenger is not None and champion is not None:
        lines.append(
            f"stored: challenger {challenger:.3f} on this week's rows vs the champion's "
            f"{champion:.3f} on its own week's"
        )
    comparison = document.get("comparison")
    if lines and isinstance(comparison, str) and comparison != "none":
        lines.append(f"the gate judged the drop on: {comparison.replace('_', '-')} scores")
    return tuple(lines)


@dataclass(frozen=True)
class DriftNews:
    """What a run's drift.json says (the Load step's judgement of the batch)."""

    verdict: str
    summary: str
    action: str
    loaded: bool
    uri: str


class Lookup(Protocol):
    """Best-effort enrichment; every method may return None (unknown, failed, disabled)."""

    def drift(self, pipeline_name: str, run_id: str) -> DriftNews | None: ...

    def failed_step(self, execution_arn: str) -> StepFailure | None: ...

    def run_id(self, execution_arn: str) -> str | None: ...

    def decision(self, s3_uri: str) -> GateDecision | None: ...

    def model_package_metadata(self, model_package_arn: str) -> Mapping[str, str] | None: ...


class NoLookup:
    """No I/O: every lookup answers None."""

    def failed_step(self, execution_arn: str) -> StepFailure | None:
        return None

    def run_id(self, execution_arn: str) -> str | None:
        return None

    def decision(self, s3_uri: str) -> GateDecision | None:
        return None

    def model_package_metadata(self, model_package_arn: str) -> Mapping[str, str] | None:
        return None

    def drift(self, pipeline_name: str, run_id: str) -> DriftNews | None:
        return None


NO_LOOKUP = NoLookup()
_T = TypeVar("_T")


def _ask(call: Callable[..., _T | None], *arguments: str) -> _T | None:
    """A lookup answer, or None if the lookup raised (it must never break formatting)."""
    try:
        return call(*arguments)
    except Exception:
        return None


# --- entry point -------------------------------------------------------------------------


def format_event(event: Any, settings: Settings, lookup: Lookup = NO_LOOKUP) -> Notification | None:
    """Render `event`, None to ignore it; malformed input gives a generic notification."""
    try:
        return _dispatch(event, settings, lookup)
    except Malformed as exc:
        return generic_notification(event, settings, str(exc))
    except Exception as exc:  # a formatter bug must still tell someone, never loop retries
        return generic_notification(event, settings, f"formatter error ({type(exc).__name__})")


def _dispatch(event: Any, s: Settings, lookup: Lookup) -> Notification | None:
    if not isinstance(event, dict):
        raise Malformed(f"the event is a {type(event).__name__}, not a JSON object")
    source = _text(event, "source", "event")
    detail_type = _text(event, "detail-type", "event")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise Malformed("event.detail: missing or not an object")
    handlers: dict[tuple[str, str], Callable[..., Notification | None]] = {
        ("aws.sagemaker", EXECUTION_STATUS): _execution,
        ("aws.sagemaker", STEP_STATUS): _step,
        ("aws.sagemaker", MODEL_PACKAGE_STATE): _model_package,
        ("aws.cloudwatch", ALARM_STATE): _alarm,
        (f"{s.project}.trigger", RUN_FILE_QUARANTINED): _quarantined,
        (f"{s.project}.extract", EXTRACT_FAILED): _extract_failed,
    }
    handle = handlers.get((source, detail_type))
    if handle is None:
        raise Malformed(f"no format for source {source!r}, detail-type {detail_type!r}")
    return handle(event, detail, s, lookup)


# --- field access ------------------------------------------------------------------------


def _text(holder: Mapping[str, Any], key: str, where: str) -> str:
    value = holder.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Malformed(f"{where}.{key}: missing, empty or not a string")
    return value


def _optional_text(holder: Mapping[str, Any], key: str, where: str) -> str | None:
    value = holder.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Malformed(f"{where}.{key}: not a string")
    return value


def _resources(event: Mapping[str, Any]) -> list[str]:
    resources = event.get("resources")
    return [r for r in resources if isinstance(r, str)] if isinstance(resources, list) else []


def _execution_arn(event: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    """detail.pipelineExecutionArn, else the execution ARN among the event's resources."""
    arn = _optional_text(detail, "pipelineExecutionArn", "detail")
    if arn is None:
        arn = next((r for r in _resources(event) if "/execution/" in r), None)
    if arn is None:
        raise Malformed("detail.pipelineExecutionArn: missing (and not in resources)")
    return arn


# --- names -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    """A pipeline name of this environment; package type, kind and architecture None if
    off-pattern (architecture also None for the configured one's pipeline and inference)."""

    name: str
    package_type: str | None
    kind: str | None
    architecture: str | None = None


def _own(name: str, s: Settings) -> bool:
    # ARNs carry pipeline names lowercased; configured names are lowercase already.
    return owned(name, s.prefix)


def parse_pipeline_name(name: str, s: Settings) -> Pipeline | None:
    """`<project>-<env>-<package type>-training[-<architecture>]|inference`
    (`pkgml_contracts.names`); None if another environment's."""
    if not _own(name, s):
        return None
    parts = parse_name(name, s.prefix)
    if parts is None or (s.package_types and parts.package_type not in s.package_types):
        return Pipeline(name=name, package_type=None, kind=None)
    return Pipeline(
        name=name,
        package_type=parts.package_type,
        kind=parts.kind,
        architecture=parts.architecture,
    )


def _group_package_type(group: str, s: Settings) -> str | None:
    package_type = parse_group_name(group, s.prefix)
    if package_type is None or (s.package_types and package_type not in s.package_types):
        return None
    return package_type


def _execution_parts(arn: str) -> tuple[str, str]:
    match = _PIPELINE_ARN.fullmatch(arn)
    if match is None or match["execution"] is None:
        raise Malformed(f"pipelineExecutionArn: not a pipeline execution ARN: {arn[:200]!r}")
    return match["name"], match["execution"]


def _run_id(
    display_name: str | None, pipeline: Pipeline, execution_arn: str, lookup: Lookup
) -> str | None:
    """The trigger names executions '<run_id>-<package_type>'; else the RunId parameter."""
    suffix = f"-{pipeline.package_type}" if pipeline.package_type else None
    if display_name and suffix and display_name.endswith(suffix) and display_name != suffix:
        return display_name[: -len(suffix)]
    return _ask(lookup.run_id, execution_arn)


# --- text helpers ------------------------------------------------------------------------


def clean_subject(text: Any) -> str:
    """One line of printable ASCII, fewer than 100 characters, never empty (SNS's rule)."""
    return sns_subject(str(text))


def _value(value: Any, limit: int = VALUE_MAX) -> str:
    """A body value: valid UTF-8, no control characters but newlines and tabs, bounded."""
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub("?", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _rows(rows: list[tuple[str, Any]]) -> list[str]:
    """'Label:   value' lines, aligned; None values skipped; continuation lines indented."""
    shown = [(label, value) for label, value in rows if value is not None]
    width = max((len(label) for label, _ in shown), default=0) + 2
    lines = []
    for label, value in shown:
        first, *rest = _value(value).split("\n")
        lines.append(f"{label + ':':<{width}}{first}")
        lines.extend(" " * width + line for line in rest)
    return lines


def _body(headline: str, rows: list[tuple[str, Any]], *sections: tuple[str, list[str]]) -> str:
    parts = [_value(headline), "", *_rows(rows)]
    for title, lines in sections:
        if lines:
            parts += ["", title, *(f"  {_value(line)}" for line in lines)]
    body = "\n".join(parts) + "\n"
    encoded = body.encode("utf-8")
    if len(encoded) > BODY_MAX_BYTES:
        body = encoded[:BODY_MAX_BYTES].decode("utf-8", "ignore") + "\n... (truncated)\n"
    return body


def _attributes(s: Settings, kind: str, package_type: str | None = None) -> dict[str, str]:
    """SNS message attributes, for subscription filter policies (e.g. one package type)."""
    attributes = {"environment": s.environment, "kind": kind}
    if package_type:
        attributes["package_type"] = package_type
    return attributes


def _sh(value: str) -> str:
    return shlex.quote(value)


def _console_host(region: str) -> str:
    if region.startswith("cn-"):
        return f"https://{region}.console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "https://console.amazonaws-us-gov.com"
    return f"https://{region}.console.aws.amazon.com"


def execution_link(s: Settings, pipeline: str, execution_id: str) -> str:
    """Studio page of the execution if CONSOLE_BASE is set, else the SageMaker console."""
    if s.console_base:
        return f"{s.console_base}/pipelines/{quote(pipeline)}/executions/{quote(execution_id)}"
    return f"{_console_host(s.region)}/sagemaker/home?region={s.region}"


def model_package_link(s: Settings, group: str, version: int | None) -> str:
    """Studio page of the model version if CONSOLE_BASE is set, else the SageMaker console."""
    if s.console_base:
        tail = f"/versions/{version}" if version is not None else ""
        return f"{s.console_base}/models/registered-models/{quote(group)}{tail}"
    return f"{_console_host(s.region)}/sagemaker/home?region={s.region}"


def ops_command(s: Settings, *arguments: str) -> str:
    """The operator CLI command (`python -m ops`, README "Operations guide") for this
    environment: it checks what the raw AWS call would not (the execution is this
    environment's and retryable; a registry change re-reads the group and says what
    happens to the champion) and records who acted."""
    return " ".join(("python -m ops --env", _sh(s.environment), *arguments))


def _who(pipeline: Pipeline) -> str:
    if pipeline.package_type and pipeline.kind:
        return f"{pipeline.package_type} {pipeline.kind}"
    return pipeline.name


# --- pipeline executions and steps -------------------------------------------------------


def _retry_lines(
    s: Settings, pipeline: Pipeline, execution_arn: str, logs: str | None = None
) -> list[str]:
    lines = []
    if logs:
        lines += ["1. Read the failed job's log:", f"   {logs}"]
    else:
        which = ("--package-type", _sh(pipeline.package_type)) if pipeline.package_type else ()
        lines += [
            "1. See which step failed and why:",
            f"   {ops_command(s, 'status', *which)}",
        ]
    lines += [
        "2. Fix the cause (data, code, quota, permissions), then retry THIS execution:",
        f"   {ops_command(s, 'retry', '--execution-arn', _sh(execution_arn))}",
        "   Retry resumes the execution from the failed step with the same parameters (run",
        "   id, input manifest): steps that already succeeded are not run again. Starting a",
        "   fresh run instead (upload the run file again under runs/<kind>/) repeats every",
        "   step, but steps with caching on (Split, Train, Evaluate) reuse cached results.",
        "   Running the same retry command twice retries once.",
    ]
    return lines


def _drift_warning(
    event: Mapping[str, Any],
    detail: Mapping[str, Any],
    s: Settings,
    lookup: Lookup,
    pipeline: Pipeline,
    execution_arn: str,
) -> Notification | None:
    """A succeeded inference run whose batch drifted (drift action warn: it was loaded);
    None when it did not drift, or drift.json cannot be read."""
    display_name = _optional_text(detail, "pipelineExecutionDisplayName", "detail")
    run_id = _run_id(display_name, pipeline, execution_arn, lookup)
    news = _ask(lookup.drift, pipeline.name, run_id) if run_id else None
    if news is None or news.verdict != "drift":
        return None
    _, execution_id = _execution_parts(execution_arn)
    rows: list[tuple[str, Any]] = [
        ("Environment", s.environment),
        ("Package type", pipeline.package_type),
        ("Pipeline", f"{pipeline.name} ({pipeline.kind})"),
        ("Run id", run_id),
        ("Drifted", news.summary),
        ("Loaded", "yes (drift action warn)" if news.loaded else "no"),
        ("Report", news.uri),
        ("Execution", execution_arn),
        ("Console", execution_link(s, pipeline.name, execution_id)),
    ]
    which = ("--package-type", _sh(pipeline.package_type)) if pipeline.package_type else ()
    action = [
        "1. The batch was scored and loaded, but its inputs moved away from what the",
        "   champion was trained on (the Drifted row; every feature in the report).",
        "2. If the world changed, train on recent labels; the next champion's baseline",
        "   follows the new data. The recent runs and models:",
        f"   {ops_command(s, 'models', *which)}",
        "3. To keep such batches out of the table until someone reviews them, set",
        "   monitoring.drift.action=block for this package type (README: Data quality",
        "   and drift).",
    ]
    subject = f"[{s.environment}] INPUT DRIFT in {_who(pipeline)} run {run_id} (loaded)"
    return Notification(
        kind="input_drift",
        subject=clean_subject(subject),
        body=_body(
            f"An {_who(pipeline)} batch in {s.environment} DRIFTED from the champion's "
            "training data.",
            rows,
            ("NEXT ACTION", action),
        ),
        attributes=_attributes(s, "input_drift", pipeline.package_type),
    )


DATA_QUALITY_FAILED = "Data quality check failed"
DRIFT_BLOCKED = "Input drift blocked the load"


def _data_lines(s: Settings, execution_arn: str, failure: StepFailure | None) -> list[str]:
    """The next action when the data stopped the run (a retry would stop the same way):
    a failed quality check (Split's Fail step, or Prepare's reason) or a blocked load."""
    reason = (failure.reason or "") if failure else ""
    if failure is not None and (
        failure.name == "DataQualityFailed" or DATA_QUALITY_FAILED in reason
    ):
        return [
            "1. The extract failed a data-quality check (the Reason above names the column,",
            "   the observed value and the bound); nothing was trained or scored.",
            "2. Fix the data at its source and start a new run (upload the run file again",
            "   under runs/<kind>/); retrying THIS execution reads the same extract.",
            "3. If the bound is wrong for this package type, change data_quality.* in",
            "   cdk.json (README: Data quality and drift) and deploy.",
        ]
    if DRIFT_BLOCKED in reason:
        accept = ops_command(
            s, "drift", "accept", "--execution-arn", _sh(execution_arn), "--reason", "'...'"
        )
        return [
            "1. The batch drifted from the champion's training data and the drift policy is",
            "   block: NOTHING was loaded; the table keeps the previous predictions.",
            "2. Review the drifted features (the Reason above; drift.json in the run's",
            "   Load/drift output). If the batch is right, load it anyway:",
            f"   {accept}",
            "3. If the world changed, train on recent labels; the next champion's baseline",
            "   follows the new data.",
        ]
    return []


def _job_log_command(job_arn: str | None) -> str | None:
    """`aws logs tail` for a processing, training or transform job ARN."""
    if not job_arn:
        return None
    groups = {
        "processing-job": "/aws/sagemaker/ProcessingJobs",
        "training-job": "/aws/sagemaker/TrainingJobs",
        "transform-job": "/aws/sagemaker/TransformJobs",
    }
    match = re.fullmatch(r"arn:aws[a-z-]*:sagemaker:[^:]*:\d{12}:([a-z-]+)/(.+)", job_arn)
    if match is None or match[1] not in groups:
        return None
    return f"aws logs tail {groups[match[1]]} --log-stream-name-prefix {_sh(match[2])} --since 1d"


def _metadata_arn(metadata: Any) -> str | None:
    """The job/model ARN in step metadata ({"trainingJob": {"arn": ...}} or PascalCase)."""
    if not isinstance(metadata, dict):
        return None
    for value in metadata.values():
        if isinstance(value, dict):
            arn = value.get("arn", value.get("Arn"))
            if isinstance(arn, str) and arn.startswith("arn:"):
                return arn
    return None


def _execution(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    status = _text(detail, "currentPipelineExecutionStatus", "detail")
    execution_arn = _execution_arn(event, detail)
    name, execution_id = _execution_parts(execution_arn)
    pipeline = parse_pipeline_name(name, s)
    if pipeline is not None and status == "Succeeded" and pipeline.kind == "inference":
        return _drift_warning(event, detail, s, lookup, pipeline, execution_arn)
    if pipeline is None or status not in ("Failed", "Stopped"):
        return None
    display_name = _optional_text(detail, "pipelineExecutionDisplayName", "detail")
    run_id = _run_id(display_name, pipeline, execution_arn, lookup)
    failure = _ask(lookup.failed_step, execution_arn) if status == "Failed" else None
    previous = _optional_text(detail, "previousPipelineExecutionStatus", "detail")
    rows: list[tuple[str, Any]] = [
        ("Environment", s.environment),
        ("Package type", pipeline.package_type or "(unknown: pipeline name off-pattern)"),
        ("Pipeline", pipeline.name + (f" ({pipeline.kind})" if pipeline.kind else "")),
        ("Run id", run_id or "(not available)"),
        ("Display name", display_name if display_name and not run_id else None),
        ("Status", status + (f" (was {previous})" if previous else "")),
        ("Started", _optional_text(detail, "executionStartTime", "detail")),
        ("Ended", _optional_text(detail, "executionEndTime", "detail")),
        ("Description", _optional_text(detail, "pipelineExecutionDescription", "detail")),
        ("Execution", execution_arn),
    ]
    run = f", run {run_id}" if run_id else ""
    if status == "Failed":
        rows += [
            ("Failed step", failure.name if failure else "(not available; see step 1 below)"),
            ("Reason", (failure.reason or "(none reported)") if failure else None),
        ]
        rows.append(("Console", execution_link(s, pipeline.name, execution_id)))
        at = f" at {failure.name}" if failure else ""
        subject = f"[{s.environment}] FAILED {_who(pipeline)} pipeline{at}{run}"
        headline = f"A {_who(pipeline)} pipeline execution FAILED in {s.environment}."
        logs = _job_log_command(failure.job_arn) if failure else None
        action = _data_lines(s, execution_arn, failure) or _retry_lines(
            s, pipeline, execution_arn, logs
        )
        kind = "execution_failed"
    else:
        rows.append(("Console", execution_link(s, pipeline.name, execution_id)))
        subject = f"[{s.environment}] STOPPED {_who(pipeline)} pipeline{run}"
        headline = f"A {_who(pipeline)} pipeline execution was STOPPED in {s.environment}."
        action = [
            "Someone (or an automation) called StopPipelineExecution; nothing ran after that.",
            "If that was intended, nothing to do. Otherwise retry it (it resumes from the",
            "steps that had not finished):",
            f"   {ops_command(s, 'retry', '--execution-arn', _sh(execution_arn))}",
            "or, if SageMaker refuses the retry, start a fresh run by uploading the run file",
            "again under runs/<kind>/.",
        ]
        kind = "execution_stopped"
    return Notification(
        kind=kind,
        subject=clean_subject(subject),
        body=_body(headline, rows, ("NEXT ACTION", action)),
        attributes=_attributes(s, kind, pipeline.package_type),
    )


def _step(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    status = _text(detail, "currentStepStatus", "detail")
    step_name = _text(detail, "stepName", "detail")
    execution_arn = _execution_arn(event, detail)
    name, execution_id = _execution_parts(execution_arn)
    pipeline = parse_pipeline_name(name, s)
    if pipeline is None or status != "Failed":
        return None
    reason = _optional_text(detail, "failureReason", "detail")
    step_type = _optional_text(detail, "stepType", "detail")
    job_arn = _metadata_arn(detail.get("metadata"))
    run_id = _run_id(None, pipeline, execution_arn, lookup)
    rows: list[tuple[str, Any]] = [
        ("Environment", s.environment),
        ("Package type", pipeline.package_type or "(unknown: pipeline name off-pattern)"),
        ("Pipeline", pipeline.name + (f" ({pipeline.kind})" if pipeline.kind else "")),
        ("Run id", run_id or "(not available)"),
        ("Failed step", step_name + (f" ({step_type})" if step_type else "")),
        ("Reason", reason or "(none reported)"),
        ("Job", job_arn),
        ("Started", _optional_text(detail, "stepStartTime", "detail")),
        ("Ended", _optional_text(detail, "stepEndTime", "detail")),
        ("Execution", execution_arn),
        ("Console", execution_link(s, pipeline.name, execution_id)),
    ]
    run = f", run {run_id}" if run_id else ""
    subject = f"[{s.environment}] STEP {step_name} FAILED in {_who(pipeline)}{run}"
    headline = (
        f"Step {step_name} FAILED in a {_who(pipeline)} pipeline execution in {s.environment}; "
        "the execution fails with it (its own execution alert is sent separately)."
    )
    action = _retry_lines(s, pipeline, execution_arn, _job_log_command(job_arn))
    return Notification(
        kind="step_failed",
        subject=clean_subject(subject),
        body=_body(headline, rows, ("NEXT ACTION", action)),
        attributes=_attributes(s, "step_failed", pipeline.package_type),
    )


# --- model decisions ---------------------------------------------------------------------


def _metadata(
    detail: Mapping[str, Any], arn: str, lookup: Lookup
) -> tuple[Mapping[str, str], bool]:
    """CustomerMetadataProperties from the event, else from DescribeModelPackage."""
    raw = detail.get("CustomerMetadataProperties")
    if raw is not None and not isinstance(raw, dict):
        raise Malformed("detail.CustomerMetadataProperties: not an object")
    if raw is None:
        raw = _ask(lookup.model_package_metadata, arn)
        if raw is None:
            return {}, False
    return {str(k): v for k, v in raw.items() if isinstance(v, str)}, True


def _version(detail: Mapping[str, Any], arn: str) -> int | None:
    value = detail.get("ModelPackageVersion")
    if isinstance(value, bool):
        raise Malformed("detail.ModelPackageVersion: not an integer")
    if isinstance(value, int):
        return value
    if value is not None:
        raise Malformed("detail.ModelPackageVersion: not an integer")
    match = _PACKAGE_VERSION.fullmatch(arn)
    return int(match[1]) if match else None


def _model_package(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    group = _text(detail, "ModelPackageGroupName", "detail")
    status = _text(detail, "ModelApprovalStatus", "detail")
    if not _own(group, s):
        return None
    package_status = _optional_text(detail, "ModelPackageStatus", "detail")
    if status not in ("Approved", "Rejected") or package_status not in (None, "Completed"):
        return None  # PendingManualApproval, or still being created: not a decision yet
    arn = _optional_text(detail, "ModelPackageArn", "detail") or next(
        (r for r in _resources(event) if ":model-package/" in r), None
    )
    if arn is None:
        raise Malformed("detail.ModelPackageArn: missing (and not in resources)")
    version = _version(detail, arn)
    package_type = _group_package_type(group, s)
    metadata, have_metadata = _metadata(detail, arn, lookup)
    gate = metadata.get("gate_decision")
    run_id = metadata.get("run_id")
    decision_uri = metadata.get("decision_s3_uri")
    decision = _ask(lookup.decision, decision_uri) if decision_uri else None
    reasons = list(decision.reasons[:REASONS_MAX]) if decision else []
    if decision and len(decision.reasons) > REASONS_MAX:
        reasons.append(f"... and {len(decision.reasons) - REASONS_MAX} more in the decision file")
    if decision_uri and decision is None:
        reasons = [f"(not fetched; read {decision_uri})"]
    approved = status == "Approved"
    gate_word = {"approve": "approved", "reject": "rejected"}.get(gate or "")
    overridden = gate_word is not None and gate_word != status.lower()
    who = package_type or group
    label = f"{who} v{version}" if version is not None else who
    run = f" (run {run_id})" if run_id else ""
    if overridden:
        by = f"manually (gate said {gate})"
        subject = f"[{s.environment}] model {status.upper()} {by}: {label}{run}"
        headline = f"Model {label} was {status.upper()} {by} in {s.environment}."
    elif approved:
        subject = f"[{s.environment}] model APPROVED: {label}{run}"
        headline = f"Model {label} was APPROVED in {s.environment} and is now the champion."
    else:
        subject = f"[{s.environment}] model REJECTED: {label}, champion stays{run}"
        headline = f"Model {label} was REJECTED in {s.environment}; the champion stays in use."
    rows: list[tuple[str, Any]] = [
        ("Environment", s.environment),
        ("Package type", package_type or "(unknown: group name off-pattern)"),
        ("Model group", group),
        ("Version", version),
        ("Status", status),
        ("Gate decision", gate or ("(not recorded)" if have_metadata else "(not available)")),
        ("Approval note", _optional_text(detail, "ApprovalDescription", "detail")),
        ("Run id", run_id or "(not available)"),
        ("Model package", arn),
        ("Execution", metadata.get("pipeline_execution_arn")),
        ("Decision file", decision_uri),
        ("Console", model_package_link(s, group, version)),
    ]
    if approved:
        command = (
            ops_command(s, "rollback", "--package-type", _sh(package_type), "--reason", "'<why>'")
            if package_type
            else f"aws sagemaker update-model-package --model-package-arn {_sh(arn)} "
            "--model-approval-status Rejected --approval-description 'rollback: <why>'"
        )
        action = [
            f"Nothing required: the next {who} inference run resolves the newest Approved",
            f"version of {group}, which is this one. To roll back (the previous Approved",
            "version serves again):",
            f"   {command}",
        ]
    else:
        command = (
            ops_command(
                s,
                "approve",
                _sh(str(version)),
                "--package-type",
                _sh(package_type),
                "--reason",
                "'<why>'",
            )
            if package_type and version is not None
            else f"aws sagemaker update-model-package --model-package-arn {_sh(arn)} "
            "--model-approval-status Approved --approval-description 'override: <why>'"
        )
        action = [
            "The champion (the newest Approved version) stays in use; nothing to do unless",
            "you disagree with the gate. To override it and serve this version from the next",
            "inference run (`python -m ops models show` first: the gate's reasons):",
            f"   {command}",
        ]
    kind = "model_approved" if approved else "model_rejected"
    return Notification(
        kind=kind,
        subject=clean_subject(subject),
        body=_body(
            headline,
            rows,
            ("Gate reasons", reasons),
            ("Scores", list(decision.scores) if decision else []),
            ("NEXT ACTION", action),
        ),
        attributes=_attributes(s, kind, package_type),
    )


# --- alarms ------------------------------------------------------------------------------


def _alarm(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    name = _text(detail, "alarmName", "detail")
    state = detail.get("state")
    if not isinstance(state, dict):
        raise Malformed("detail.state: missing or not an object")
    value = _text(state, "value", "detail.state")
    if not _own(name, s) or value not in ("ALARM", "OK"):
        return None
    previous = detail.get("previousState")
    previous_value = previous.get("value") if isinstance(previous, dict) else None
    configuration = detail.get("configuration")
    description = (
        _optional_text(configuration, "description", "detail.configuration")
        if isinstance(configuration, dict)
        else None
    )
    link = f"{_console_host(s.region)}/cloudwatch/home?region={s.region}#alarmsV2:alarm/"
    rows: list[tuple[str, Any]] = [
        ("Environment", s.environment),
        ("Alarm", name),
        ("State", value + (f" (was {previous_value})" if isinstance(previous_value, str) else "")),
        ("Reason", _optional_text(state, "reason", "detail.state")),
        ("Since", _optional_text(state, "timestamp", "detail.state")),
        ("Console", link + quote(name)),
    ]
    if value == "ALARM":
        kind, subject = "alarm", f"[{s.environment}] ALARM {name}"
        headline = f"Alarm {name} is in ALARM in {s.environment}."
        action = [description or "(the alarm has no description: add its runbook there)"]
    else:
        kind, subject = "alarm_ok", f"[{s.environment}] OK {name}"
        headline = f"Alarm {name} is back to OK in {s.environment}."
        action = ["Nothing: the condition cleared."]
    return Notification(
        kind=kind,
        subject=clean_subject(subject),
        body=_body(headline, rows, ("NEXT ACTION", action)),
        attributes=_attributes(s, kind),
    )


# --- the platform's own events -----------------------------------------------------------


def _environment_matches(detail: Mapping[str, Any], s: Settings) -> bool:
    return _text(detail, "environment", "detail") == s.environment


def _quarantined(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    if not _environment_matches(detail, s):
        return None
    reason = _text(detail, "reason", "detail")
    message = _text(detail, "message", "detail")
    original = detail.get("original")
    if not isinstance(original, dict):
        raise Malformed("detail.original: missing or not an object")
    bucket = _text(original, "bucket", "detail.original")
    key = _text(original, "key", "detail.original")
    copy = _optional_text(detail, "quarantined_copy", "detail")
    rows: list[tuple[str, Any]] = [
        ("Environment", s.environment),
        ("File", f"s3://{bucket}/{key}"),
        ("Version", _optional_text(original, "version", "detail.original")),
        ("Reason", reason),
        ("Field", _optional_text(detail, "field", "detail") or "(whole file)"),
        ("Problem", message),
        ("Copy", copy or "(not copied: too large to copy)"),
        ("Report", _optional_text(detail, "report", "detail")),
        ("Time", _optional_text(detail, "time", "detail")),
    ]
    action = [
        "Fix the run file (schema: lambda_src/trigger/RUN_FILE.md) and upload it again to",
        "the same key; the new S3 version is processed afresh:",
        f"   aws s3 cp <fixed file> {_sh(f's3://{bucket}/{key}')}",
        "The original is kept; nothing was started for this version.",
    ]
    return Notification(
        kind="run_file_quarantined",
        subject=clean_subject(f"[{s.environment}] run file QUARANTINED ({reason}): {key}"),
        body=_body(
            f"A run file was quarantined in {s.environment}; no pipeline was started.",
            rows,
            ("NEXT ACTION", action),
        ),
        attributes=_attributes(s, "run_file_quarantined"),
    )


def _extract_failed(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    if not _environment_matches(detail, s):
        return None
    kind = _text(detail, "kind", "detail")
    run_id = _text(detail, "run_id", "detail")
    problem = _text(detail, "problem", "detail")
    run_date = _optional_text(detail, "run_date", "detail")
    function = _optional_text(detail, "function_name", "detail") or "<extract function>"
    statement = _optional_text(detail, "statement_id", "detail")
    statement_name = _optional_text(detail, "statement_name", "detail")
    rows: list[tuple[str, Any]] = [
        ("Environment", s.environment),
        ("Kind", kind),
        ("Run id", run_id),
        ("Run date", run_date),
        ("Statement", statement and statement + (f" ({statement_name})" if statement_name else "")),
        ("Started", _optional_text(detail, "started_at", "detail")),
        ("Problem", problem),
    ]
    payload = json.dumps({"kind": kind, **({"run_date": run_date} if run_date else {})})
    action = [
        "No run file was written, so no pipeline started. Fix the cause (see Problem), then",
        "run the extract again:",
        f"   aws lambda invoke --function-name {_sh(function)} "
        f"--cli-binary-format raw-in-base64-out --payload {_sh(payload)} /dev/stdout",
    ]
    return Notification(
        kind="extract_failed",
        subject=clean_subject(f"[{s.environment}] EXTRACT FAILED: {kind} {run_id}"),
        body=_body(
            f"The {kind} extract {run_id} in {s.environment} did not produce a run file.",
            rows,
            ("NEXT ACTION", action),
        ),
        attributes=_attributes(s, "extract_failed"),
    )


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
        ("Environment", s.environment),
        ("Problem", problem),
        ("Event id", event.get("id") if isinstance(event, dict) else None),
        ("Source", event.get("source") if isinstance(event, dict) else None),
    ]
    action = [
        "Check the EventBridge rules that target the notify function: their patterns should",
        "only let through the events listed in lambda_src/notify/EVENTS.md. If AWS changed an",
        "event's shape, extend lambda_src/notify/notify_format.py and add the event as a test.",
    ]
    return Notification(
        kind="unrecognised_event",
        subject=clean_subject(f"[{s.environment}] unrecognised event: {what}"),
        body=_body(
            f"The notify function received an event it could not format in {s.environment}.",
            rows,
            ("NEXT ACTION", action),
            ("Raw event (secrets redacted)", raw_event_text(event).split("\n")),
        ),
        attributes=_attributes(s, "unrecognised_event"),
    )
