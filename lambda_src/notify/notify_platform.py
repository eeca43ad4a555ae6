"""The platform's own news: CloudWatch alarms, and the trigger's and extract runner's events.

    aws.cloudwatch     CloudWatch Alarm State Change  ALARM, OK  -> alarm()
    <project>.trigger  Run File Quarantined                      -> quarantined()
    <project>.trigger  Run File Not Started                      -> not_started()
    <project>.extract  Extract Failed                            -> extract_failed()

The custom events' details are `pkgml_contracts.notifications`' classes, the same ones the
emitters build. Alarms of other environments, the notifier's own alarms (they have a
direct SNS action, `through_notify`) and custom events of other environments give None.

An alarm's next action follows from what it watches (the event's configuration.metrics):
a pipeline's executions -> `ops status`; the gate's metrics -> `ops models` / `ops report`;
drift -> `ops status` and `ops drift accept`; a function -> its log; a dead-letter queue ->
its messages; anything else -> the alarm's history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from notify_core import (
    Lookup,
    Malformed,
    Notification,
    console_host,
    execution_parts,
    notification,
    ops_command,
    optional_text,
    package_type_of,
    package_type_option,
    parse_pipeline_name,
    required_text,
    sh,
)
from notify_settings import Settings

from pkgml_contracts import metrics
from pkgml_contracts.notifications import (
    ExtractFailed,
    RunFileNotStarted,
    RunFileQuarantined,
    through_notify,
)

PIPELINE_NAMESPACE = metrics.PIPELINE_NAMESPACE
_DRIFT_METRICS = frozenset(
    {metrics.MAX_FEATURE_PSI, metrics.DRIFTED_FEATURES, metrics.SCORE_PSI, metrics.DRIFT_BLOCKED}
)


# --- alarms ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Watched:
    """One metric an alarm reads (configuration.metrics[].metricStat.metric)."""

    namespace: str
    name: str
    dimensions: Mapping[str, str]

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.dimensions.items()))
        return f"{self.namespace} {self.name}" + (f" ({shown})" if shown else "")


def _watched(configuration: Any) -> list[Watched]:
    """The metrics in the event's alarm configuration (metric math: each metric it reads)."""
    items = configuration.get("metrics") if isinstance(configuration, dict) else None
    found = []
    for item in items if isinstance(items, list) else []:
        stat = item.get("metricStat") if isinstance(item, dict) else None
        metric = stat.get("metric") if isinstance(stat, dict) else None
        if not isinstance(metric, dict):
            continue
        namespace, name = metric.get("namespace"), metric.get("name")
        dimensions = metric.get("dimensions")
        if isinstance(namespace, str) and isinstance(name, str):
            found.append(
                Watched(
                    namespace=namespace,
                    name=name,
                    dimensions={
                        str(k): str(v)
                        for k, v in (dimensions.items() if isinstance(dimensions, dict) else [])
                    },
                )
            )
    return found


def _package_type(watched: Watched, s: Settings) -> str | None:
    """The package type a metric is about: its PackageType dimension, or its pipeline's."""
    named = package_type_of(watched.dimensions.get(metrics.PACKAGE_TYPE, ""), s)
    pipeline = parse_pipeline_name(watched.dimensions.get("PipelineName", ""), s)
    return named or (pipeline.package_type if pipeline is not None else None)


def _pipeline_action(s: Settings, watched: Watched) -> list[str] | None:
    pipeline = parse_pipeline_name(watched.dimensions.get("PipelineName", ""), s)
    if pipeline is None:
        return None
    which = (*package_type_option(pipeline.package_type),
             *(("--pipeline", pipeline.kind) if pipeline.kind else ()))  # fmt: skip
    status = ops_command(s, "status", *which)
    if watched.name == "ExecutionSucceeded":
        return [
            f"1. See the latest {pipeline.who} executions and why none succeeded:",
            f"   {status}",
            "2. If none ran, look for the extract's or the run file's alert (EXTRACT FAILED,",
            "   run file QUARANTINED) on this topic; the model keeps ageing until one succeeds.",
        ]
    return [
        "1. The failed execution's own alert (failing step, reason) was sent when it failed.",
        "   The executions, the failing step and the command that retries it:",
        f"   {status}",
    ]


def _inference_action(s: Settings, watched: Watched, package_type: str | None) -> list[str]:
    status = ops_command(s, "status", *package_type_option(package_type), "--pipeline", "inference")
    if watched.name == metrics.DRIFT_BLOCKED:
        accept = ops_command(
            s, "drift", "accept", "--execution-arn", "'<execution ARN>'",
            "--reason", "'...'",
        )  # fmt: skip
        return [
            "1. Find the blocked run (its Load step failed: input drift blocked the load):",
            f"   {status}",
            "2. Review drift.json (the run's Load/drift output); if the batch is right, load it:",
            f"   {accept}",
        ]
    return [
        "1. The run's INPUT DRIFT alert names the features and how far they moved. The runs:",
        f"   {status}",
        "2. If the world changed, train on recent labels; the models and their scores:",
        f"   {ops_command(s, 'models', *package_type_option(package_type))}",
    ]


def _alarm_action(s: Settings, name: str, watched: list[Watched]) -> list[str]:
    """What to do about an alarm in ALARM, from what it watches."""
    first = watched[0] if watched else Watched("", "", {})
    dimensions = first.dimensions
    package_type = _package_type(first, s)
    if first.namespace == PIPELINE_NAMESPACE:
        action = _pipeline_action(s, first)
        if action is not None:
            return action
    if first.namespace == metrics.GATE_NAMESPACE and package_type:
        return [
            "1. The gate's recent decisions, their reasons and the champion:",
            f"   {ops_command(s, 'models', *package_type_option(package_type))}",
            "2. The metric history over the versions (one HTML page):",
            f"   {ops_command(s, 'report', *package_type_option(package_type))}",
        ]
    if first.namespace == metrics.INFERENCE_NAMESPACE and first.name in _DRIFT_METRICS:
        return _inference_action(s, first, package_type)
    if first.namespace == "AWS/Lambda" and "FunctionName" in dimensions:
        function = sh(dimensions["FunctionName"])
        log_group = (
            f'"$(aws lambda get-function-configuration --function-name {function} '
            '--query LoggingConfig.LogGroup --output text)"'
        )
        return [
            "1. Read the function's log (errors are logged with the event that caused them):",
            f"   aws logs tail {log_group} --since 1h",
            "2. Failed asynchronous invocations wait in the function's failed-invocations",
            "   queue (its own alarm); fix the cause, then replay them from there.",
        ]
    if first.namespace == "AWS/SQS" and "QueueName" in dimensions:
        queue = sh(dimensions["QueueName"])
        return [
            "1. Read what waits there (kept 14 days; the messages stay in the queue):",
            f'   aws sqs receive-message --queue-url "$(aws sqs get-queue-url --queue-name {queue}'
            ' --query QueueUrl --output text)" --max-number-of-messages 10 --visibility-timeout 0'
            " --attribute-names All --message-attribute-names All",
            "2. Fix the cause (the receiving function's log), then replay or delete them.",
        ]
    return [
        "1. The alarm's recent state changes and their reasons:",
        f"   aws cloudwatch describe-alarm-history --alarm-name {sh(name)} "
        "--history-item-type StateUpdate --max-items 5",
        "2. Then follow the alarm's description (the Means row).",
    ]


def alarm(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    """An alarm of this environment entering ALARM or back to OK."""
    name = required_text(detail, "alarmName", "detail")
    state = detail.get("state")
    if not isinstance(state, dict):
        raise Malformed("detail.state: missing or not an object")
    value = required_text(state, "value", "detail.state")
    if not through_notify(name, s.project, s.environment) or value not in ("ALARM", "OK"):
        return None
    previous = detail.get("previousState")
    previous_value = previous.get("value") if isinstance(previous, dict) else None
    configuration = detail.get("configuration")
    description = (
        optional_text(configuration, "description", "detail.configuration")
        if isinstance(configuration, dict)
        else None
    )
    watched = _watched(configuration)
    package_type = next(filter(None, (_package_type(w, s) for w in watched)), None)
    link = f"{console_host(s.region)}/cloudwatch/home?region={s.region}#alarmsV2:alarm/"
    rows: list[tuple[str, Any]] = [
        ("Alarm", name),
        ("Package type", package_type),
        ("Watches", "\n".join(dict.fromkeys(str(w) for w in watched)) or None),
        ("State", value + (f" (was {previous_value})" if isinstance(previous_value, str) else "")),
        ("Reason", optional_text(state, "reason", "detail.state")),
        ("Means", description),
        ("Since", optional_text(state, "timestamp", "detail.state")),
        ("Console", link + quote(name)),
    ]
    if value == "ALARM":
        kind, subject = "alarm", f"ALARM {name}"
        headline = f"Alarm {name} is in ALARM in {s.environment}."
        action = _alarm_action(s, name, watched)
    else:
        kind, subject = "alarm_ok", f"OK {name}"
        headline = f"Alarm {name} is back to OK in {s.environment}."
        action = ["Nothing: the condition cleared."]
    return notification(
        s,
        kind,
        subject=subject,
        headline=headline,
        rows=rows,
        action=action,
        package_type=package_type,
    )


# --- the trigger's and the extract runner's events ---------------------------------------


def quarantined(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    """The trigger quarantined a run file: nothing started."""
    q = RunFileQuarantined.from_detail(detail)
    if q.environment != s.environment:
        return None
    location = f"s3://{q.bucket}/{q.key}"
    rows: list[tuple[str, Any]] = [
        ("File", location),
        ("Version", q.version),
        ("Reason", q.reason),
        ("Field", q.field or "(whole file)"),
        ("Problem", q.message),
        ("Copy", q.quarantined_copy or "(not copied: too large to copy)"),
        ("Report", q.report),
        ("Time", q.time),
    ]
    fix = "Fix the run file (schema: lambda_src/trigger/RUN_FILE.md) and upload it to the same"
    action = (
        ["1. Read the report:", f"   aws s3 cp {sh(q.report)} -", f"2. {fix}"]
        if q.report
        else [f"1. {fix}"]
    )
    action += [
        "   key; the new S3 version is processed afresh:",
        f"   aws s3 cp <fixed file> {sh(location)}",
        "The original is kept; nothing was started for this version.",
    ]
    return notification(
        s,
        "run_file_quarantined",
        subject=f"run file QUARANTINED ({q.reason}): {q.key}",
        headline=f"A run file was quarantined in {s.environment}; no pipeline was started.",
        rows=rows,
        action=action,
    )


def _pipeline_kind(execution_arn: str, s: Settings) -> str | None:
    """'training' | 'inference' of an execution ARN of this environment, else None."""
    try:
        name, _ = execution_parts(execution_arn)
    except Malformed:
        return None
    pipeline = parse_pipeline_name(name, s)
    return pipeline.kind if pipeline is not None else None


def not_started(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    """The trigger did not start a run file beside the same run's running execution."""
    n = RunFileNotStarted.from_detail(detail)
    if n.environment != s.environment:
        return None
    location = f"s3://{n.bucket}/{n.key}"
    types = sorted(n.running)
    rows: list[tuple[str, Any]] = [
        ("File", location),
        ("Version", n.version),
        ("Run id", n.run_id),
        ("Not started", ", ".join(types)),
        ("Reason", "the same run is still executing (two would write the same output folders)"),
        ("Running", "\n".join(f"{t}: {n.running[t]}" for t in types)),
        ("Time", n.time),
    ]
    kinds = sorted({k for k in (_pipeline_kind(n.running[t], s) for t in types) if k})
    which = [
        *(o for t in types for o in package_type_option(package_type_of(t, s))),
        *(("--pipeline", kinds[0]) if len(kinds) == 1 else ()),
    ]
    only = package_type_of(types[0], s) if len(types) == 1 else None
    action = [
        "1. Follow the running execution(s) until they end (or stop them):",
        f"   {ops_command(s, 'status', *which, '--watch')}",
        "2. Then upload the run file again (a new version starts afresh), e.g. copied onto",
        "   itself:",
        f"   aws s3 cp {sh(location)} {sh(location)} --metadata-directive REPLACE",
    ]
    return notification(
        s,
        "run_file_not_started",
        subject=f"run file NOT STARTED (run in progress): {n.key}",
        headline=f"A run file was NOT started in {s.environment} for {', '.join(types)}: "
        "the same run is still executing.",
        rows=rows,
        action=action,
        package_type=only,
    )


def extract_failed(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    """An extract wrote no run file: failed, lost, or empty where rows are expected."""
    x = ExtractFailed.from_detail(detail)
    if x.environment != s.environment:
        return None
    statement = x.statement_id and x.statement_id + (
        f" ({x.statement_name})" if x.statement_name else ""
    )
    rows: list[tuple[str, Any]] = [
        ("Kind", x.kind),
        ("Run id", x.run_id),
        ("Run date", x.run_date),
        ("Statement", statement),
        ("Started", x.started_at),
        ("Problem", x.problem),
    ]
    payload = json.dumps({"kind": x.kind, **({"run_date": x.run_date} if x.run_date else {})})
    invoke = (
        f"aws lambda invoke --function-name {sh(x.function_name or '<extract function>')} "
        f"--cli-binary-format raw-in-base64-out --payload {sh(payload)} /dev/stdout"
    )
    kind = "extract_failed"
    if x.outcome == "empty":
        kind = "extract_empty"
        subject, cause = f"EXTRACT EMPTY: {x.kind} {x.run_id}", "found no rows"
        first = "1. Check that the warehouse has this date's rows (the extract's query:"
        second = "   lambda_src/extract/sql/); when they are there, run it again:"
    else:
        subject, cause = f"EXTRACT FAILED: {x.kind} {x.run_id}", "failed"
        first = "1. Fix the cause (the Problem row: permissions, the warehouse, the query),"
        second = "   then run the extract again for the same date:"
    action = [
        first,
        second,
        f"   {invoke}",
        "No run file was written, so no pipeline started. An explicit run_date re-runs a",
        "failed or empty day; the run file then starts the pipelines as scheduled.",
    ]
    return notification(
        s,
        kind,
        subject=subject,
        headline=f"The {x.kind} extract {x.run_id} in {s.environment} {cause}: it wrote no run "
        "file.",
        rows=rows,
        action=action,
    )
