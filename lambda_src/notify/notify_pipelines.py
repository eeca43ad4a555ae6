"""Pipeline executions and steps: failed, stopped, a failed step, a loaded batch that drifted.

    aws.sagemaker  Pipeline Execution Status Change       Failed, Stopped  -> execution()
                                                          Succeeded (inference whose
                                                          batch drifted)   -> execution()
    aws.sagemaker  Pipeline Execution Step Status Change  Failed           -> step()

Other statuses and other environments' pipelines give None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from notify_core import (
    Lookup,
    Notification,
    Pipeline,
    StepFailure,
    ask,
    execution_arn_of,
    execution_link,
    execution_parts,
    notification,
    ops_command,
    optional_text,
    package_type_option,
    parse_pipeline_name,
    required_text,
    run_id_of,
    sh,
)
from notify_settings import Settings

DATA_QUALITY_FAILED = "Data quality check failed"
DRIFT_BLOCKED = "Input drift blocked the load"


def _retry_lines(
    s: Settings, pipeline: Pipeline, execution_arn: str, logs: str | None = None
) -> list[str]:
    lines = []
    if logs:
        lines += ["1. Read the failed job's log:", f"   {logs}"]
    else:
        lines += [
            "1. See which step failed and why:",
            f"   {ops_command(s, 'status', *package_type_option(pipeline.package_type))}",
        ]
    lines += [
        "2. Fix the cause (data, code, quota, permissions), then retry THIS execution:",
        f"   {ops_command(s, 'retry', '--execution-arn', sh(execution_arn))}",
        "   Retry resumes the execution from the failed step with the same parameters (run",
        "   id, input manifest): steps that already succeeded are not run again. Starting a",
        "   fresh run instead (upload the run file again under runs/<kind>/) repeats every",
        "   step, but steps with caching on (Split, Train, Evaluate) reuse cached results.",
        "   Running the same retry command twice retries once.",
    ]
    return lines


def _drift_warning(
    detail: Mapping[str, Any],
    s: Settings,
    lookup: Lookup,
    pipeline: Pipeline,
    execution_arn: str,
) -> Notification | None:
    """A succeeded inference run whose batch drifted (drift action warn: it was loaded);
    None when it did not drift, or drift.json cannot be read."""
    display_name = optional_text(detail, "pipelineExecutionDisplayName", "detail")
    run_id = run_id_of(display_name, pipeline, execution_arn, lookup)
    news = ask(lookup.drift, pipeline.name, run_id) if run_id else None
    if news is None or news.verdict != "drift":
        return None
    _, execution_id = execution_parts(execution_arn)
    rows: list[tuple[str, Any]] = [
        ("Package type", pipeline.package_type),
        ("Pipeline", f"{pipeline.name} ({pipeline.kind})"),
        ("Run id", run_id),
        ("Drifted", news.summary),
        ("Loaded", "yes (drift action warn)"),
        ("Report", news.uri),
        ("Execution", execution_arn),
        ("Console", execution_link(s, pipeline.name, execution_id)),
    ]
    action = [
        "1. The batch was scored and loaded, but its inputs moved away from what the",
        "   champion was trained on (the Drifted row; every feature in the report).",
        "2. If the world changed, train on recent labels; the next champion's baseline",
        "   follows the new data. The recent runs and models:",
        f"   {ops_command(s, 'models', *package_type_option(pipeline.package_type))}",
        "3. To keep such batches out of the table until someone reviews them, set",
        "   monitoring.drift.action=block for this package type (README: Data quality",
        "   and drift).",
    ]
    return notification(
        s,
        "input_drift",
        subject=f"INPUT DRIFT in {pipeline.who} run {run_id} (loaded)",
        headline=f"The {pipeline.who} batch of run {run_id} in {s.environment} DRIFTED from "
        "the champion's training data.",
        rows=rows,
        action=action,
        package_type=pipeline.package_type,
    )


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
            s, "drift", "accept", "--execution-arn", sh(execution_arn), "--reason", "'...'"
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


def _job_log_command(
    s: Settings, execution_arn: str, step_name: str, job_arn: str | None
) -> str | None:
    """`ops logs` of a failed step that ran a processing, training or transform job (the
    CLI finds the job and its log group); None for a step without a job log."""
    if not job_arn or not re.search(r":(processing|training|transform)-job/", job_arn):
        return None
    return ops_command(s, "logs", "--execution-arn", sh(execution_arn), "--step", sh(step_name))


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


def _pipeline_row(pipeline: Pipeline) -> tuple[str, str]:
    return ("Pipeline", pipeline.name + (f" ({pipeline.kind})" if pipeline.kind else ""))


def _package_type_row(pipeline: Pipeline) -> tuple[str, str]:
    return ("Package type", pipeline.package_type or "(unknown: pipeline name off-pattern)")


def execution(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    """A failed or stopped execution; a succeeded inference run whose batch drifted."""
    status = required_text(detail, "currentPipelineExecutionStatus", "detail")
    execution_arn = execution_arn_of(event, detail)
    name, execution_id = execution_parts(execution_arn)
    pipeline = parse_pipeline_name(name, s)
    if pipeline is not None and status == "Succeeded" and pipeline.kind == "inference":
        return _drift_warning(detail, s, lookup, pipeline, execution_arn)
    if pipeline is None or status not in ("Failed", "Stopped"):
        return None
    display_name = optional_text(detail, "pipelineExecutionDisplayName", "detail")
    run_id = run_id_of(display_name, pipeline, execution_arn, lookup)
    failure = ask(lookup.failed_step, execution_arn) if status == "Failed" else None
    previous = optional_text(detail, "previousPipelineExecutionStatus", "detail")
    rows: list[tuple[str, Any]] = [
        _package_type_row(pipeline),
        _pipeline_row(pipeline),
        ("Run id", run_id or "(not available)"),
        ("Display name", display_name if display_name and not run_id else None),
        ("Status", status + (f" (was {previous})" if previous else "")),
        ("Started", optional_text(detail, "executionStartTime", "detail")),
        ("Ended", optional_text(detail, "executionEndTime", "detail")),
        ("Description", optional_text(detail, "pipelineExecutionDescription", "detail")),
        ("Execution", execution_arn),
    ]
    run = f", run {run_id}" if run_id else ""
    if status == "Failed":
        rows += [
            ("Failed step", failure.name if failure else "(not available; see step 1 below)"),
            ("Reason", (failure.reason or "(none reported)") if failure else None),
        ]
        at = f" at {failure.name}" if failure else ""
        subject = f"FAILED {pipeline.who} pipeline{at}{run}"
        headline = f"A {pipeline.who} pipeline execution FAILED in {s.environment}."
        logs = (
            _job_log_command(s, execution_arn, failure.name, failure.job_arn) if failure else None
        )
        action = _data_lines(s, execution_arn, failure) or _retry_lines(
            s, pipeline, execution_arn, logs
        )
        kind = "execution_failed"
    else:
        rows.append(
            ("Reason", "someone (or an automation) called StopPipelineExecution; nothing ran "
                       "after that")
        )  # fmt: skip
        subject = f"STOPPED {pipeline.who} pipeline{run}"
        headline = f"A {pipeline.who} pipeline execution was STOPPED in {s.environment}."
        action = [
            "If the stop was intended, nothing to do. Otherwise retry it (it resumes from the",
            "steps that had not finished):",
            f"   {ops_command(s, 'retry', '--execution-arn', sh(execution_arn))}",
            "or, if SageMaker refuses the retry, start a fresh run by uploading the run file",
            "again under runs/<kind>/.",
        ]
        kind = "execution_stopped"
    rows.append(("Console", execution_link(s, pipeline.name, execution_id)))
    return notification(
        s,
        kind,
        subject=subject,
        headline=headline,
        rows=rows,
        action=action,
        package_type=pipeline.package_type,
    )


def step(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    """A failed step (its execution's own alert follows separately)."""
    status = required_text(detail, "currentStepStatus", "detail")
    step_name = required_text(detail, "stepName", "detail")
    execution_arn = execution_arn_of(event, detail)
    name, execution_id = execution_parts(execution_arn)
    pipeline = parse_pipeline_name(name, s)
    if pipeline is None or status != "Failed":
        return None
    reason = optional_text(detail, "failureReason", "detail")
    step_type = optional_text(detail, "stepType", "detail")
    job_arn = _metadata_arn(detail.get("metadata"))
    run_id = run_id_of(None, pipeline, execution_arn, lookup)
    rows: list[tuple[str, Any]] = [
        _package_type_row(pipeline),
        _pipeline_row(pipeline),
        ("Run id", run_id or "(not available)"),
        ("Failed step", step_name + (f" ({step_type})" if step_type else "")),
        ("Reason", reason or "(none reported)"),
        ("Job", job_arn),
        ("Started", optional_text(detail, "stepStartTime", "detail")),
        ("Ended", optional_text(detail, "stepEndTime", "detail")),
        ("Execution", execution_arn),
        ("Console", execution_link(s, pipeline.name, execution_id)),
    ]
    run = f", run {run_id}" if run_id else ""
    return notification(
        s,
        "step_failed",
        subject=f"STEP {step_name} FAILED in {pipeline.who}{run}",
        headline=(
            f"Step {step_name} FAILED in a {pipeline.who} pipeline execution in "
            f"{s.environment}; the execution fails with it (its own execution alert is sent "
            "separately)."
        ),
        rows=rows,
        action=_retry_lines(
            s, pipeline, execution_arn, _job_log_command(s, execution_arn, step_name, job_arn)
        ),
        package_type=pipeline.package_type,
    )
