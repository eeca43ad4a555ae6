"""`ops models`, `approve`, `reject`, `rollback`: a package type's Model Registry group.

The champion, for the gate (compare.py) and for inference (the Resolve step), is the
most recently *created* Approved (Versioned) model package of the group: the CLI asks the
registry with the same query they use, `pkgml_contracts.registry.latest_approved`, so
the version it marks is the one inference serves. So:

- approving an old version does not make it champion while a newer one is Approved;
- a rollback REJECTS the current champion (with a reason), which makes the previous
  Approved version the newest Approved one; it refuses when there is none.

Every change prints the plan (status before -> after, champion before -> after), asks
for a typed 'y' unless --yes, re-reads the registry to be sure nothing moved meanwhile,
then calls UpdateModelPackage with an ApprovalDescription saying who and why.
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from ops.context import OpsContext
from ops.errors import OpsError, UsageError
from ops.formatting import Result, iso, shorten, table, to_utc
from pkgml_contracts import registry

APPROVED = "Approved"
REJECTED = "Rejected"
# CustomerMetadataProperties written by the training pipeline's register steps.
EVALUATION_URI_KEY = "evaluation_s3_uri"  # = pipeline_defs.steps.compare.EVALUATION_URI_KEY
DECISION_KEY = "gate_decision"
RUN_ID_KEY = "run_id"
DECISION_URI_KEY = "decision_s3_uri"
REPORT_URI_KEY = "report_s3_uri"
REPORT_CHARTS = "charts"  # the PNGs beside report.html (pipeline_defs/steps/model_report.py)
METRIC_COLUMNS = ("roc_auc", "pr_auc", "f1")
MAX_DESCRIPTION = 1024


@dataclass(frozen=True)
class ModelVersion:
    """One model package of a group, as the CLI shows it."""

    version: int
    arn: str
    status: str
    created: datetime
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] | None = None
    metrics_error: str | None = None

    @property
    def decision(self) -> str | None:
        """The gate's verdict recorded at registration (approve/reject), if any."""
        return self.metadata.get(DECISION_KEY)

    def to_dict(self, champion: ModelVersion | None) -> dict[str, Any]:
        """JSON-ready record."""
        return {
            "version": self.version,
            "arn": self.arn,
            "status": self.status,
            "created": iso(self.created),
            "champion": champion is not None and champion.arn == self.arn,
            "approval_description": self.description,
            "decision": self.decision,
            "run_id": self.metadata.get(RUN_ID_KEY),
            "metrics": self.metrics,
            "metrics_error": self.metrics_error,
            "customer_metadata": self.metadata,
        }


def champion_of(versions: Iterable[ModelVersion]) -> ModelVersion | None:
    """The newest Approved version by creation time (version number breaks ties).

    Only for predicting the champion of a planned state (after a change); the current
    champion is the registry's answer (`current_champion`).
    """
    approved = [v for v in versions if v.status == APPROVED]
    return max(approved, key=lambda v: (to_utc(v.created), v.version), default=None)


def previous_approved(
    versions: Iterable[ModelVersion], champion: ModelVersion | None
) -> ModelVersion | None:
    """The Approved version that becomes champion when `champion` is rejected."""
    return champion_of(v for v in versions if champion is None or v.arn != champion.arn)


def current_champion(
    ctx: OpsContext, package_type: str, versions: Sequence[ModelVersion]
) -> ModelVersion | None:
    """The group's champion as the registry reports it (pkgml_contracts.registry), or None."""
    summary = registry.latest_approved(ctx.client("sagemaker"), ctx.group_name(package_type))
    if summary is None:
        return None
    arn = summary["ModelPackageArn"]
    for version in versions:
        if version.arn == arn:
            return version if version.status == APPROVED else replace(version, status=APPROVED)
    return ModelVersion(  # registered after `versions` was read
        version=int(summary.get("ModelPackageVersion") or 0),
        arn=arn,
        status=APPROVED,
        created=summary["CreationTime"],
    )


# --- reading the registry ----------------------------------------------------------------


def load_versions(
    ctx: OpsContext, package_type: str, *, with_metrics: bool = False
) -> list[ModelVersion]:
    """Every version of the package type's group, newest first (empty if no group yet).

    Versioned packages: without ModelPackageType, ListModelPackages lists unversioned ones.
    """
    sagemaker = ctx.client("sagemaker")
    group = ctx.group_name(package_type)
    summaries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "ModelPackageType": "Versioned",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 100,
    }
    while True:
        page = sagemaker.list_model_packages(**kwargs)
        summaries.extend(page.get("ModelPackageSummaryList", []))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    versions = []
    for summary in summaries:
        described = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        version = ModelVersion(
            version=int(described.get("ModelPackageVersion") or summary["ModelPackageVersion"]),
            arn=summary["ModelPackageArn"],
            status=described.get("ModelApprovalStatus") or summary.get("ModelApprovalStatus", ""),
            created=described.get("CreationTime") or summary["CreationTime"],
            description=described.get("ApprovalDescription"),
            metadata=dict(described.get("CustomerMetadataProperties") or {}),
        )
        if with_metrics:
            version = _with_metrics(ctx, version)
        versions.append(version)
    versions.sort(key=lambda v: (to_utc(v.created), v.version), reverse=True)
    return versions


def _with_metrics(ctx: OpsContext, version: ModelVersion) -> ModelVersion:
    """Attach evaluation.json's `metrics` (from the evaluation_s3_uri property), or why not."""
    uri = version.metadata.get(EVALUATION_URI_KEY)
    if not uri:
        return replace(version, metrics_error=f"no {EVALUATION_URI_KEY} property")
    parsed = urlparse(uri)
    try:
        body = (
            ctx.client("s3")
            .get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"]
            .read()
        )
        metrics = json.loads(body)["metrics"]
    except ClientError as exc:
        return replace(version, metrics_error=f"cannot read {uri}: {exc}")
    except (ValueError, KeyError, TypeError):
        return replace(version, metrics_error=f"{uri} has no 'metrics' object")
    if not isinstance(metrics, dict):
        return replace(version, metrics_error=f"{uri} has no 'metrics' object")
    return replace(version, metrics=metrics)


def _find(versions: Sequence[ModelVersion], number: int, group: str) -> ModelVersion:
    for version in versions:
        if version.version == number:
            return version
    known = ", ".join(str(v.version) for v in sorted(versions, key=lambda v: v.version))
    raise OpsError(f"{group} has no version {number}; versions: {known or '(none)'}")


# --- commands ------------------------------------------------------------------------------


def add_parsers(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `models`, `approve`, `reject` and `rollback`."""
    models = subparsers.add_parser(
        "models",
        parents=parents,
        help="version history of the package types' model groups; marks the champion",
        description="Versions newest first: status, created, metrics, the gate's decision.",
    )
    models.add_argument(
        "action",
        nargs="?",
        choices=["show"],
        help="`show VERSION`: one version in detail (the gate's checks and reasons, "
        "challenger vs champion on the same rows, the confusion matrix)",
    )
    models.add_argument("version", nargs="?", type=int, help="the version to show")
    models.add_argument("--limit", type=int, default=20, metavar="N", help="versions shown (20)")
    models.add_argument(
        "--no-metrics", action="store_true", help="skip reading evaluation.json from S3"
    )
    models.add_argument(
        "--report",
        action="store_true",
        help="with show: download the version's model report (ROC, PR, calibration, lift, "
        "gate checks, history) to --out/<group>-v<VERSION>/report.html",
    )
    models.add_argument(
        "--out", type=Path, help="with --report: the folder to download into (default reports/)"
    )
    models.set_defaults(handler=models_command)

    approve = subparsers.add_parser(
        "approve",
        parents=parents,
        help="approve a model version (one --package-type)",
        description="Set a version's status to Approved. The champion is the newest Approved.",
    )
    approve.add_argument("version", type=int)
    approve.add_argument("--reason", default="", help="recorded in ApprovalDescription")
    approve.set_defaults(handler=approve_command)

    reject = subparsers.add_parser(
        "reject",
        parents=parents,
        help="reject a model version (one --package-type)",
        description="Set a version's status to Rejected, with a reason.",
    )
    reject.add_argument("version", type=int)
    reject.add_argument("--reason", required=True, help="recorded in ApprovalDescription")
    reject.set_defaults(handler=reject_command)

    rollback = subparsers.add_parser(
        "rollback",
        parents=parents,
        help="make the previous Approved version champion again (one --package-type)",
        description=(
            "Reject the current champion (newest Approved) with a reason, so the previous "
            "Approved version becomes the newest Approved one. Refused without one."
        ),
    )
    rollback.add_argument("--reason", required=True, help="why the champion is rolled back")
    rollback.set_defaults(handler=rollback_command)


def models_command(ctx: OpsContext, args: argparse.Namespace) -> Result:
    """The version history of each selected package type (or `show VERSION`)."""
    if args.out is not None and not args.report:
        raise UsageError("--out goes with --report (`models show VERSION --report --out DIR`)")
    if args.action == "show":
        if args.version is None:
            raise UsageError(
                "models show needs a VERSION, e.g. `models show 7 --package-type mailer`"
            )
        report_to = (args.out or Path("reports")) if args.report else None
        return show_command(ctx, args.version, report_to=report_to)
    if args.report:
        raise UsageError("--report goes with `models show VERSION`")
    if args.version is not None:
        raise UsageError(f"did you mean `models show {args.version}`?")
    groups: list[dict[str, Any]] = []
    sections: list[str] = []
    for package_type in ctx.package_types:
        group = ctx.group_name(package_type)
        versions = load_versions(ctx, package_type, with_metrics=not args.no_metrics)
        champion = current_champion(ctx, package_type, versions)
        shown = versions[: max(args.limit, 0)]
        groups.append(
            {
                "package_type": package_type,
                "group": group,
                "champion_version": champion.version if champion else None,
                "versions": [v.to_dict(champion) for v in shown],
            }
        )
        header = f"{group}  champion: " + (f"v{champion.version}" if champion else "(none)")
        rows = [
            (
                # a blank (not '-') beside the others keeps the one '*' easy to spot
                "*" if champion is not None and v.arn == champion.arn else " ",
                v.version,
                v.status,
                v.created,
                *(_metric(v, name) for name in METRIC_COLUMNS),
                v.decision,
                v.metadata.get(RUN_ID_KEY),
                shorten(v.description or v.metrics_error, 50),
            )
            for v in shown
        ]
        headers = ["", "version", "status", "created", *METRIC_COLUMNS]
        headers += ["gate", "run id", "note"]
        body = table(headers, rows) if rows else "(no versions)"
        if len(versions) > len(shown):
            body += f"\n... {len(versions) - len(shown)} older (use --limit)"
        sections.append(f"{header}\n{body}")
    text = "\n\n".join(sections) + "\n\n* champion = newest Approved version (used by inference)"
    return Result(data={"environment": ctx.env_name, "groups": groups}, text=text)


SHOWN_METRICS = ("roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy")


def _read_json(ctx: OpsContext, uri: str | None, what: str) -> tuple[Any, str | None]:
    """(document, None) from an s3:// URI, or (None, why not)."""
    if not uri:
        return None, f"no {what} recorded on the model package"
    parsed = urlparse(uri)
    try:
        body = ctx.client("s3").get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
        return json.loads(body["Body"].read()), None
    except ClientError as exc:
        return None, f"cannot read {uri}: {exc}"
    except ValueError:
        return None, f"{uri} is not JSON"


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def download_report(ctx: OpsContext, uri: str | None, folder: Path) -> tuple[Path | None, str]:
    """Copy the model report (report.html and the charts/ beside it) from S3 into folder:
    (the local report.html, '') or (None, why not)."""
    if not uri:
        return None, "no report_s3_uri on the model package (registered before reports existed)"
    parsed = urlparse(uri)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    prefix = key.rsplit("/", 1)[0] + "/" + REPORT_CHARTS + "/"
    s3 = ctx.client("s3")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        page = folder / key.rsplit("/", 1)[-1]
        s3.download_file(bucket, key, str(page))
        for listed in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in listed.get("Contents", []):
                name = item["Key"][len(prefix) :]
                if name and "/" not in name:
                    (folder / REPORT_CHARTS).mkdir(exist_ok=True)
                    s3.download_file(bucket, item["Key"], str(folder / REPORT_CHARTS / name))
    except ClientError as exc:
        return None, f"cannot download {uri}: {exc}"
    return page, ""


def show_command(ctx: OpsContext, number: int, *, report_to: Path | None = None) -> Result:
    """One version: its gate decision (checks, reasons), its metrics next to the
    champion's on the same validation rows, and its confusion matrix; with report_to,
    its model report downloaded there."""
    package_type = ctx.single_package_type()
    group = ctx.group_name(package_type)
    versions = load_versions(ctx, package_type)
    target = _find(versions, number, group)
    champion = current_champion(ctx, package_type, versions)
    decision, decision_error = _read_json(ctx, target.metadata.get(DECISION_URI_KEY), "decision")
    evaluation, evaluation_error = _read_json(
        ctx, target.metadata.get(EVALUATION_URI_KEY), "evaluation"
    )
    is_champion = champion is not None and champion.arn == target.arn
    lines = [
        f"{group} v{target.version}: {target.status}"
        + (" (champion)" if is_champion else "")
        + f", created {iso(target.created)}, run {target.metadata.get(RUN_ID_KEY) or '-'}",
    ]
    if target.description:
        lines.append(f"note: {target.description}")
    lines.append("")
    if isinstance(decision, dict):
        comparison = decision.get("comparison", "-")
        lines.append(f"Gate: {decision.get('decision', '-')} (score compared: {comparison})")
        lines += [f"  - {reason}" for reason in decision.get("reasons") or []]
        checks = [c for c in decision.get("checks") or [] if isinstance(c, dict)]
        if checks:
            rows = [
                (
                    c.get("name"),
                    _number(c.get("observed")),
                    _number(c.get("limit")),
                    "skipped" if c.get("skipped") else ("pass" if c.get("passed") else "FAIL"),
                )
                for c in checks
            ]
            lines += ["", table(["check", "observed", "limit", "result"], rows)]
    else:
        lines.append(f"Gate: {decision_error}")
    lines.append("")
    if isinstance(evaluation, dict) and isinstance(evaluation.get("metrics"), dict):
        metrics = evaluation["metrics"]
        theirs = (evaluation.get("champion") or {}).get("metrics") or {}
        champion_arn = (evaluation.get("champion") or {}).get("model_package_arn")
        title = (
            f"Challenger vs champion on the same {metrics.get('row_count', '?')} validation rows"
            f" (champion {champion_arn.rsplit('/', 1)[-1] if champion_arn else '-'}):"
            if theirs
            else "Metrics (no champion was scored on these rows):"
        )
        compared = [
            (name, _number(metrics.get(name)), _number(theirs.get(name))) for name in SHOWN_METRICS
        ]
        lines += [title, table(["metric", "this version", "champion"], compared)]
        matrix = metrics.get("confusion_matrix")
        if isinstance(matrix, dict):
            lines += [
                "",
                f"Confusion matrix at the operating threshold {metrics.get('threshold', '-')}:",
                table(
                    ["", "predicted 0", "predicted 1"],
                    [
                        ("actual 0", matrix.get("tn"), matrix.get("fp")),
                        ("actual 1", matrix.get("fn"), matrix.get("tp")),
                    ],
                ),
            ]
    else:
        lines.append(f"Metrics: {evaluation_error or 'evaluation.json has no metrics object'}")
    report_uri = target.metadata.get(REPORT_URI_KEY)
    data = {
        "environment": ctx.env_name,
        "group": group,
        "version": target.to_dict(champion),
        "decision": decision,
        "decision_error": decision_error,
        "evaluation": evaluation,
        "evaluation_error": evaluation_error,
        "report_s3_uri": report_uri,
    }
    lines.append("")
    if report_to is None:
        lines.append(
            f"Model report: {report_uri} (add --report to download it)"
            if report_uri
            else "Model report: none recorded (registered before reports existed)"
        )
    else:
        page, why = download_report(ctx, report_uri, report_to / f"{group}-v{target.version}")
        if page is None:
            raise OpsError(f"model report of {group} v{target.version}: {why}")
        data["report_path"] = str(page)
        lines.append(f"Model report: {page} (open it in a browser)")
    return Result(data=data, text="\n".join(lines))


def _metric(version: ModelVersion, name: str) -> Any:
    value = (version.metrics or {}).get(name)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def approve_command(ctx: OpsContext, args: argparse.Namespace) -> Result:
    """Approve one version; tell whether it becomes champion."""
    package_type = ctx.single_package_type()
    versions = load_versions(ctx, package_type)
    target = _find(versions, args.version, ctx.group_name(package_type))
    if target.status == APPROVED:
        raise OpsError(f"refused: version {target.version} is already Approved; nothing to change")
    notes = []
    if target.decision == "reject":
        notes.append(
            f"the gate rejected version {target.version} at registration "
            f"(see {target.metadata.get(DECISION_URI_KEY, 'its decision.json')}); "
            "approving overrides the gate"
        )
    description = _description(ctx, "approved", args.reason)
    return _apply(ctx, package_type, versions, [(target, APPROVED, description)], notes)


def reject_command(ctx: OpsContext, args: argparse.Namespace) -> Result:
    """Reject one version; if it is the champion the previous Approved one takes over."""
    package_type = ctx.single_package_type()
    versions = load_versions(ctx, package_type)
    target = _find(versions, args.version, ctx.group_name(package_type))
    if target.status == REJECTED:
        raise OpsError(f"refused: version {target.version} is already Rejected; nothing to change")
    notes = []
    champion = current_champion(ctx, package_type, versions)
    if (
        champion is not None
        and champion.arn == target.arn
        and previous_approved(versions, champion) is None
    ):
        notes.append(
            "no Approved version will remain: inference runs fail at their Resolve step "
            "until a version is approved"
        )
    description = _description(ctx, "rejected", args.reason)
    return _apply(ctx, package_type, versions, [(target, REJECTED, description)], notes)


def rollback_command(ctx: OpsContext, args: argparse.Namespace) -> Result:
    """Reject the champion so the previous Approved version is the newest Approved again."""
    package_type = ctx.single_package_type()
    group = ctx.group_name(package_type)
    versions = load_versions(ctx, package_type)
    champion = current_champion(ctx, package_type, versions)
    if champion is None:
        raise OpsError(f"refused: {group} has no Approved version, so nothing to roll back")
    previous = previous_approved(versions, champion)
    if previous is None:
        raise OpsError(
            f"refused: {group} has no Approved version older than the champion "
            f"v{champion.version} to roll back to (approve one first, or use `reject` to "
            "leave the group without a champion)"
        )
    description = _description(ctx, f"rolled back to v{previous.version}", args.reason)
    return _apply(ctx, package_type, versions, [(champion, REJECTED, description)], [])


# --- planning and applying -----------------------------------------------------------------

Change = tuple[ModelVersion, str, str]  # (version, new status, ApprovalDescription)


def _description(ctx: OpsContext, action: str, reason: str) -> str:
    """ApprovalDescription: what, by which AWS identity (STS; the local login beside it),
    and why."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = "unknown user"
    try:
        identity = str(ctx.client("sts").get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError) as exc:
        identity = f"an AWS identity STS did not name ({type(exc).__name__})"
    text = f"{action} by {identity} (local user {user}) via ops CLI"
    if reason.strip():
        text += f": {' '.join(reason.split())}"
    return text[:MAX_DESCRIPTION]


def _after(versions: Sequence[ModelVersion], changes: Sequence[Change]) -> list[ModelVersion]:
    new_status = {version.arn: status for version, status, _ in changes}
    return [replace(v, status=new_status.get(v.arn, v.status)) for v in versions]


def _champion_line(before: ModelVersion | None, after: ModelVersion | None) -> str:
    def name(v: ModelVersion | None) -> str:
        return f"v{v.version}" if v else "(none)"

    if (before and before.arn) == (after and after.arn):
        return f"champion: stays {name(before)}"
    return f"champion: {name(before)} -> {name(after)}"


def _apply(
    ctx: OpsContext,
    package_type: str,
    versions: list[ModelVersion],
    changes: list[Change],
    notes: list[str],
) -> Result:
    group = ctx.group_name(package_type)
    before = current_champion(ctx, package_type, versions)
    after = champion_of(_after(versions, changes))  # the registry's rule, on the plan
    ctx.say(f"{group} ({ctx.env_name}, {ctx.region}):")
    ctx.say(
        table(
            ["version", "status", "->", "new status", "created", "approval description"],
            [
                (v.version, v.status, "->", status, v.created, description)
                for v, status, description in changes
            ],
        )
    )
    ctx.say(_champion_line(before, after))
    for version, status, _ in changes:
        if status == APPROVED and (after is None or after.arn != version.arn):
            ctx.say(
                f"note: v{version.version} is older than v{after.version if after else '?'}: "
                "it will be Approved but not champion (the champion is the newest Approved)"
            )
    for note in notes:
        ctx.say(f"warning: {note}")
    if not ctx.confirm("Apply this change?"):
        raise OpsError("not confirmed; nothing changed")

    # The registry may have moved while the operator read the plan.
    current = {v.arn: v.status for v in load_versions(ctx, package_type)}
    moved = [v for v in versions if current.get(v.arn) != v.status]
    if moved:
        raise OpsError(
            "refused: the group changed since the plan was made (versions "
            f"{', '.join(str(v.version) for v in moved)}); nothing changed, run the command again"
        )
    sagemaker = ctx.client("sagemaker")
    for version, status, description in changes:
        sagemaker.update_model_package(
            ModelPackageArn=version.arn,
            ModelApprovalStatus=status,
            ApprovalDescription=description,
        )
    final = load_versions(ctx, package_type)
    champion = current_champion(ctx, package_type, final)
    data = {
        "group": group,
        "package_type": package_type,
        "changes": [
            {
                "version": v.version,
                "arn": v.arn,
                "from": v.status,
                "to": status,
                "approval_description": description,
            }
            for v, status, description in changes
        ],
        "champion_before": before.version if before else None,
        "champion_after": champion.version if champion else None,
    }
    changed = ", ".join(f"v{v.version} {v.status} -> {status}" for v, status, _ in changes)
    return Result(data=data, text=f"Done: {changed}; {_champion_line(before, champion)}")
