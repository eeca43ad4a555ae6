"""Model decisions: a version of this environment's group Approved or Rejected.

    aws.sagemaker  Model Package State Change  Approved, Rejected  -> model_package()

PendingManualApproval, a package still being created, and other environments' groups
give None. The next action is the ops CLI's (`approve`, `rollback`, `models show`); a raw
`aws sagemaker update-model-package` only where the ops CLI cannot name the version (a
group off the `<project>-<env>-<package type>` pattern, a version the event lacks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from notify_core import (
    Lookup,
    Malformed,
    Notification,
    ask,
    group_package_type,
    model_package_link,
    notification,
    ops_command,
    optional_text,
    required_text,
    resources,
    sh,
)
from notify_settings import Settings

from pkgml_contracts.names import owned

DECISION_KINDS = frozenset({"model_approved", "model_rejected"})
REASONS_MAX = 12
_PACKAGE_VERSION = re.compile(r".*/(\d+)")


def _metadata(
    detail: Mapping[str, Any], arn: str, lookup: Lookup
) -> tuple[Mapping[str, str], bool]:
    """CustomerMetadataProperties from the event, else from DescribeModelPackage."""
    raw = detail.get("CustomerMetadataProperties")
    if raw is not None and not isinstance(raw, dict):
        raise Malformed("detail.CustomerMetadataProperties: not an object")
    if raw is None:
        raw = ask(lookup.model_package_metadata, arn)
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


def _registry_command(arn: str, status: str, why: str) -> str:
    """The raw registry call, for a version the ops CLI cannot name."""
    return (
        f"aws sagemaker update-model-package --model-package-arn {sh(arn)} "
        f"--model-approval-status {status} --approval-description '{why}: <why>'"
    )


def model_package(
    event: Mapping[str, Any], detail: Mapping[str, Any], s: Settings, lookup: Lookup
) -> Notification | None:
    """A version Approved (the new champion) or Rejected (the champion stays)."""
    group = required_text(detail, "ModelPackageGroupName", "detail")
    status = required_text(detail, "ModelApprovalStatus", "detail")
    if not owned(group, s.prefix):
        return None
    package_status = optional_text(detail, "ModelPackageStatus", "detail")
    if status not in ("Approved", "Rejected") or package_status not in (None, "Completed"):
        return None  # PendingManualApproval, or still being created: not a decision yet
    arn = optional_text(detail, "ModelPackageArn", "detail") or next(
        (r for r in resources(event) if ":model-package/" in r), None
    )
    if arn is None:
        raise Malformed("detail.ModelPackageArn: missing (and not in resources)")
    version = _version(detail, arn)
    package_type = group_package_type(group, s)
    metadata, have_metadata = _metadata(detail, arn, lookup)
    gate = metadata.get("gate_decision")
    run_id = metadata.get("run_id")
    decision_uri = metadata.get("decision_s3_uri")
    report_uri = metadata.get("report_s3_uri")
    decision = ask(lookup.decision, decision_uri) if decision_uri else None
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
        subject = f"model {status.upper()} {by}: {label}{run}"
        headline = f"Model {label} was {status.upper()} {by} in {s.environment}."
    elif approved:
        subject = f"model APPROVED: {label}{run}"
        headline = f"Model {label} was APPROVED in {s.environment} and is now the champion."
    else:
        subject = f"model REJECTED: {label}, champion stays{run}"
        headline = f"Model {label} was REJECTED in {s.environment}; the champion stays in use."
    rows: list[tuple[str, Any]] = [
        ("Package type", package_type or "(unknown: group name off-pattern)"),
        ("Model group", group),
        ("Version", version),
        ("Status", status),
        ("Gate decision", gate or ("(not recorded)" if have_metadata else "(not available)")),
        ("Approval note", optional_text(detail, "ApprovalDescription", "detail")),
        ("Run id", run_id or "(not available)"),
        ("Model package", arn),
        ("Execution", metadata.get("pipeline_execution_arn")),
        ("Decision file", decision_uri),
        ("Model report", report_uri),
        ("Console", model_package_link(s, group, version)),
    ]
    named = package_type is not None and version is not None
    versioned = (sh(str(version)), "--package-type", sh(package_type or "")) if named else ()
    if approved:
        command = (
            ops_command(s, "rollback", "--package-type", sh(package_type), "--reason", "'<why>'")
            if package_type
            else _registry_command(arn, "Rejected", "rollback")
        )
        action = [
            f"Nothing required: the next {who} inference run resolves the newest Approved",
            f"version of {group}, which is this one. To roll back (the previous Approved",
            "version serves again):",
            f"   {command}",
        ]
    else:
        command = (
            ops_command(s, "approve", *versioned, "--reason", "'<why>'")
            if named
            else _registry_command(arn, "Approved", "override")
        )
        action = [
            "The champion (the newest Approved version) stays in use; nothing to do unless",
            "you disagree with the gate.",
        ]
        if named:
            action += [
                "The gate's reasons, checks and scores:",
                f"   {ops_command(s, 'models', 'show', *versioned)}",
            ]
        action += [
            "To override it and serve this version from the next inference run:",
            f"   {command}",
        ]
    if report_uri and named:
        action += [
            "The model report (the gate's checks, both models' metrics, the confusion matrix):",
            f"   {ops_command(s, 'models', 'show', *versioned, '--report')}",
        ]
    kind = "model_approved" if approved else "model_rejected"
    return notification(
        s,
        kind,
        subject=subject,
        headline=headline,
        rows=rows,
        sections=[
            ("Gate reasons", reasons),
            ("Scores", list(decision.scores) if decision else []),
        ],
        action=action,
        package_type=package_type,
    )
