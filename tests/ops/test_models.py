"""`ops models/approve/reject/rollback` against moto's registry: state really changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from stacks.naming import bucket_name
from tests.ops.conftest import Clients, Names, Runner

MAILER = ("--package-type", "mailer")


def statuses(sagemaker: Any, arns: list[str]) -> list[str]:
    return [
        sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        for arn in arns
    ]


def description(sagemaker: Any, arn: str) -> str:
    return str(sagemaker.describe_model_package(ModelPackageName=arn).get("ApprovalDescription"))


def test_models_lists_versions_metrics_and_champion(
    cli: Runner, make_group: Callable[..., list[str]], names: Names
) -> None:
    make_group("Approved", "Approved", "Rejected", "PendingManualApproval")
    table = cli("models", *MAILER)
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0] == f"{names.group('mailer')}  champion: v2"
    champion_rows = [line for line in lines if line.startswith("*  ")]
    assert len(champion_rows) == 1
    assert champion_rows[0].split()[1:3] == ["2", "Approved"]
    assert "0.8200" in champion_rows[0]

    data = cli("--json", "models", *MAILER).json()
    (group,) = data["groups"]
    assert group["champion_version"] == 2
    assert [v["version"] for v in group["versions"]] == [4, 3, 2, 1]
    assert [v["champion"] for v in group["versions"]] == [False, False, True, False]
    assert group["versions"][0]["metrics"]["roc_auc"] == pytest.approx(0.84)
    assert group["versions"][1]["decision"] == "reject"


def test_models_without_a_group_and_limit(
    cli: Runner, make_group: Callable[..., list[str]]
) -> None:
    make_group("Approved", "Approved", "Approved")
    result = cli("models", "--package-type", "mailer", "--package-type", "box", "--limit", "1")
    assert result.code == 0, result.err
    assert "... 2 older" in result.out
    assert "(no versions)" in result.out  # box has no group in this account


def test_approve_after_confirmation_changes_champion(
    cli: Runner, make_group: Callable[..., list[str]], sagemaker: Any, names: Names
) -> None:
    arns = make_group("Approved", "PendingManualApproval")
    declined = cli("approve", "2", *MAILER, "--reason", "looks good", stdin="n\n")
    assert declined.code == 1
    assert "champion: v1 -> v2" in declined.out  # the plan comes before the question
    assert statuses(sagemaker, arns) == ["Approved", "PendingManualApproval"]

    accepted = cli("approve", "2", *MAILER, "--reason", "looks good", stdin="y\n")
    assert accepted.code == 0, accepted.err
    assert statuses(sagemaker, arns) == ["Approved", "Approved"]
    # who: the caller's AWS identity (STS; moto's user here), the local login beside it
    assert description(sagemaker, arns[1]).startswith(
        f"approved by arn:aws:sts::{names.env.account}:user/moto (local user "
    )
    assert description(sagemaker, arns[1]).endswith(") via ops CLI: looks good")
    assert "champion: v1 -> v2" in accepted.out


def test_approve_refusals(cli: Runner, make_group: Callable[..., list[str]]) -> None:
    make_group("Approved")
    assert cli("approve", "1", *MAILER, "--yes").code == 1  # already Approved
    assert cli("approve", "9", *MAILER, "--yes").code == 1  # no such version
    assert cli("approve", "1", "--yes").code == 2  # which group? four are configured
    assert cli("approve", "one", *MAILER).code == 2
    assert cli("approve", "1", "--package-type", "crate").code == 2


def test_approving_an_older_version_keeps_the_champion(
    cli: Runner, make_group: Callable[..., list[str]], sagemaker: Any
) -> None:
    arns = make_group("Rejected", "Approved")
    result = cli("--json", "approve", "1", *MAILER, "--yes")
    assert result.code == 0, result.err
    assert "not champion" in result.err  # the plan goes to stderr under --json
    assert result.json()["champion_after"] == 2
    assert statuses(sagemaker, arns) == ["Approved", "Approved"]


def test_reject_needs_a_reason_and_moves_the_champion(
    cli: Runner, make_group: Callable[..., list[str]], sagemaker: Any
) -> None:
    arns = make_group("Approved", "Approved")
    assert cli("reject", "2", *MAILER, "--yes").code == 2
    result = cli("--json", "reject", "2", *MAILER, "--reason", "drifted", "--yes")
    assert result.code == 0, result.err
    assert result.json()["champion_before"] == 2
    assert result.json()["champion_after"] == 1
    assert statuses(sagemaker, arns) == ["Approved", "Rejected"]
    assert "drifted" in description(sagemaker, arns[1])
    assert cli("reject", "2", *MAILER, "--reason", "again", "--yes").code == 1


def test_rejecting_the_last_approved_warns(
    cli: Runner, make_group: Callable[..., list[str]], sagemaker: Any
) -> None:
    arns = make_group("Approved")
    result = cli("reject", "1", *MAILER, "--reason", "broken", "--yes")
    assert result.code == 0
    assert "no Approved version will remain" in result.out
    assert statuses(sagemaker, arns) == ["Rejected"]


def test_rollback_rejects_the_champion_so_the_previous_approved_wins(
    cli: Runner, make_group: Callable[..., list[str]], sagemaker: Any
) -> None:
    arns = make_group("Approved", "Rejected", "Approved", "PendingManualApproval")
    assert cli("rollback", *MAILER, "--yes").code == 2  # a reason is required
    declined = cli("rollback", *MAILER, "--reason", "complaints")
    assert declined.code == 1  # no input: not confirmed
    assert statuses(sagemaker, arns)[2] == "Approved"

    result = cli("rollback", *MAILER, "--reason", "complaints", "--yes")
    assert result.code == 0, result.err
    assert "champion: v3 -> v1" in result.out
    assert statuses(sagemaker, arns) == [
        "Approved",
        "Rejected",
        "Rejected",
        "PendingManualApproval",
    ]
    assert "rolled back to v1" in description(sagemaker, arns[2])
    assert "complaints" in description(sagemaker, arns[2])
    assert description(sagemaker, arns[0]) in ("None", "")  # the new champion is untouched
    models = cli("--json", "models", *MAILER, "--no-metrics").json()
    assert models["groups"][0]["champion_version"] == 1


@pytest.mark.parametrize("existing", [("Approved", "Rejected"), ("Rejected",), ()])
def test_rollback_refused_without_a_previous_approved(
    cli: Runner,
    make_group: Callable[..., list[str]],
    sagemaker: Any,
    existing: tuple[str, ...],
) -> None:
    arns = make_group(*existing)
    result = cli("rollback", *MAILER, "--reason", "x", "--yes")
    assert result.code == 1
    assert "refused" in result.err
    assert statuses(sagemaker, arns) == list(existing)


# --- the registry as SageMaker answers it ---------------------------------------------------
# ListModelPackages lists only UNVERSIONED packages when ModelPackageType is absent
# (botocore's documentation of the member); a group's versions are all Versioned. moto
# answers with the group's versions regardless, so this wrapper restores the default.


class DocumentedDefaults:
    """A moto SageMaker client whose ListModelPackages honours the documented default."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.list_requests: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def list_model_packages(self, **request: Any) -> dict[str, Any]:
        self.list_requests.append(request)
        response = self.real.list_model_packages(**request)  # botocore validates it
        if request.get("ModelPackageType", "Unversioned") not in ("Versioned", "Both"):
            return {**response, "ModelPackageSummaryList": []}
        return dict(response)


@pytest.fixture
def documented(
    names: Names,
    aws: None,
    clients: Clients,
    make_runner: Callable[[Callable[[str, str], Any]], Runner],
) -> tuple[Runner, DocumentedDefaults]:
    """The CLI against moto, with SageMaker's default for ModelPackageType."""
    registry = DocumentedDefaults(clients("sagemaker", names.env.region))

    def factory(service: str, region: str) -> Any:
        return registry if service == "sagemaker" else clients(service, region)

    return make_runner(factory), registry


CHAMPION_QUERY = {
    "ModelApprovalStatus": "Approved",
    "ModelPackageType": "Versioned",
    "SortBy": "CreationTime",
    "SortOrder": "Descending",
    "MaxResults": 1,
}


def test_models_finds_the_groups_versions_and_champion_with_the_documented_default(
    documented: tuple[Runner, DocumentedDefaults],
    make_group: Callable[..., list[str]],
    names: Names,
) -> None:
    cli, registry = documented
    make_group("Approved", "Approved", "Rejected")
    data = cli("--json", "models", *MAILER, "--no-metrics").json()
    (group,) = data["groups"]
    assert [v["version"] for v in group["versions"]] == [3, 2, 1]
    assert group["champion_version"] == 2
    assert {"ModelPackageGroupName": names.group("mailer"), **CHAMPION_QUERY} in (
        registry.list_requests
    )
    assert all(r.get("ModelPackageType") == "Versioned" for r in registry.list_requests)


def test_rollback_with_the_documented_default(
    documented: tuple[Runner, DocumentedDefaults],
    make_group: Callable[..., list[str]],
    sagemaker: Any,
) -> None:
    cli, _ = documented
    arns = make_group("Approved", "Approved")
    result = cli("rollback", *MAILER, "--reason", "complaints", "--yes")
    assert result.code == 0, result.err
    assert "champion: v2 -> v1" in result.out
    assert statuses(sagemaker, arns) == ["Approved", "Rejected"]


def test_the_champion_is_what_the_registry_query_returns(
    cli: Runner, make_group: Callable[..., list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's champion is pkgml_contracts.registry's, not a rule of its own."""
    from pkgml_contracts import registry

    arns = make_group("Approved", "Approved", "Approved")
    monkeypatch.setattr(
        registry, "latest_approved", lambda client, group: {"ModelPackageArn": arns[0]}
    )
    data = cli("--json", "models", *MAILER, "--no-metrics").json()
    assert data["groups"][0]["champion_version"] == 1


CREATED = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # what botocore parses a timestamp into


def test_registry_requests_are_valid_for_the_service_model(
    names: Names, make_runner: Callable[[Callable[[str, str], Any]], Runner]
) -> None:
    group = names.group("mailer")
    arn = f"arn:aws:sagemaker:{names.env.region}:{names.env.account}:model-package/{group}/1"
    client = boto3.client(
        "sagemaker",
        region_name=names.env.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    summary = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": 1,
        "ModelPackageArn": arn,
        "CreationTime": CREATED,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": "Approved",
    }
    with Stubber(client) as stubber:
        stubber.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": [summary]},
            {
                "ModelPackageGroupName": group,
                "ModelPackageType": "Versioned",
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 100,
            },
        )
        stubber.add_response(
            "describe_model_package",
            {
                "ModelPackageName": group,
                "ModelPackageArn": arn,
                "ModelPackageVersion": 1,
                "CreationTime": CREATED,
                "ModelPackageStatus": "Completed",
                "ModelApprovalStatus": "Approved",
                "ModelPackageStatusDetails": {"ValidationStatuses": []},
            },
            {"ModelPackageName": arn},
        )
        stubber.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": [summary]},
            {"ModelPackageGroupName": group, **CHAMPION_QUERY},
        )
        cli = make_runner(lambda service, region: client)
        result = cli("--json", "models", *MAILER, "--no-metrics")
        assert result.code == 0, result.err
        stubber.assert_no_pending_responses()
    assert result.json()["groups"][0]["champion_version"] == 1


def test_an_identity_sts_cannot_name_is_still_recorded() -> None:
    from botocore.exceptions import NoCredentialsError

    from ops.commands.models import _description

    class NoSts:
        def client(self, service: str) -> Any:
            class Sts:
                def get_caller_identity(self) -> dict[str, str]:
                    raise NoCredentialsError()

            return Sts()

    text = _description(NoSts(), "approved", "  two   spaces ")  # type: ignore[arg-type]
    assert text.startswith("approved by an AWS identity STS did not name (NoCredentialsError)")
    assert text.endswith("via ops CLI: two spaces")


def _put(clients: Clients, names: Names, key: str, document: Any) -> str:
    artifacts = bucket_name(
        names.settings.project, "dev", "artifacts", names.env.account, names.env.region
    )
    clients("s3", names.env.region).put_object(Bucket=artifacts, Key=key, Body=json.dumps(document))
    return f"s3://{artifacts}/{key}"


def test_models_show_explains_the_gate_and_compares_with_the_champion(
    cli: Runner,
    make_group: Callable[..., list[str]],
    sagemaker: Any,
    clients: Clients,
    names: Names,
) -> None:
    (champion,) = make_group("Approved")
    decision = {
        "decision": "reject",
        "comparison": "same_data",
        "reasons": ["roc_auc dropped 0.050 below the champion's on the same rows"],
        "checks": [
            {"name": "min_score", "observed": 0.81, "limit": 0.7, "passed": True,
             "skipped": False},
            {"name": "max_score_drop", "observed": 0.05, "limit": 0.02, "passed": False,
             "skipped": False},
        ],
    }  # fmt: skip
    evaluation = {
        "metrics": {
            "roc_auc": 0.81, "pr_auc": 0.5, "precision": 0.6, "recall": 0.7, "f1": 0.646,
            "accuracy": 0.8, "threshold": 0.5, "row_count": 600,
            "confusion_matrix": {"tn": 400, "fp": 50, "fn": 45, "tp": 105},
        },
        "champion": {
            "model_package_arn": champion,
            "metrics": {"roc_auc": 0.86, "pr_auc": 0.55, "f1": 0.7},
        },
    }  # fmt: skip
    sagemaker.create_model_package(  # version 2, as the register step writes it
        ModelPackageGroupName=names.group("mailer"),
        ModelApprovalStatus="Rejected",
        InferenceSpecification={
            "Containers": [{"Image": "example.invalid/sklearn:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={
            "run_id": "r-2",
            "gate_decision": "reject",
            "decision_s3_uri": _put(clients, names, "d/decision.json", decision),
            "evaluation_s3_uri": _put(clients, names, "d/evaluation.json", evaluation),
        },
    )
    result = cli("models", "show", "2", *MAILER)
    assert result.code == 0, result.err
    out = result.out.splitlines()
    assert out[0].startswith(f"{names.group('mailer')} v2: Rejected, created ")
    assert out[0].endswith(", run r-2")
    assert "Gate: reject (score compared: same_data)" in out
    assert "  - roc_auc dropped 0.050 below the champion's on the same rows" in out
    assert any(line.split() == ["max_score_drop", "0.0500", "0.0200", "FAIL"] for line in out)
    assert any(line.split() == ["min_score", "0.8100", "0.7000", "pass"] for line in out)
    assert "Challenger vs champion on the same 600 validation rows (champion 1):" in out
    assert any(line.split() == ["roc_auc", "0.8100", "0.8600"] for line in out)
    assert any(line.split() == ["precision", "0.6000", "-"] for line in out)
    assert "Confusion matrix at the operating threshold 0.5:" in out
    assert any(line.split() == ["actual", "0", "400", "50"] for line in out)
    assert any(line.split() == ["actual", "1", "45", "105"] for line in out)

    as_json = cli("--json", "models", "show", "2", *MAILER).json()
    assert as_json["decision"]["decision"] == "reject"
    assert as_json["evaluation"]["metrics"]["row_count"] == 600


def test_models_show_says_what_is_missing(
    cli: Runner, make_group: Callable[..., list[str]]
) -> None:
    make_group("Approved")
    result = cli("models", "show", "1", *MAILER)
    assert result.code == 0, result.err
    assert "Gate: no decision recorded on the model package" in result.out
    assert "Metrics (no champion was scored on these rows):" in result.out
    assert cli("models", "show", *MAILER).code == 2
    assert cli("models", "7", *MAILER).code == 2
    missing = cli("models", "show", "9", *MAILER)
    assert missing.code != 0 and "9" in missing.err


def test_models_show_report_downloads_the_page_and_its_charts(
    cli: Runner,
    make_group: Callable[..., list[str]],
    sagemaker: Any,
    clients: Clients,
    names: Names,
    tmp_path: Path,
) -> None:
    make_group()  # the bucket and the group, no versions yet
    page = _put(clients, names, "run-9/Compare/decision/report.html", "<html>r</html>")
    _put(clients, names, "run-9/Compare/decision/charts/roc.png", "png")
    _put(clients, names, "run-9/Compare/decision/charts/lift.png", "png")
    _put(clients, names, "run-9/Compare/decision/decision.json", {"decision": "approve"})
    sagemaker.create_model_package(
        ModelPackageGroupName=names.group("mailer"),
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "example.invalid/sklearn:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={"run_id": "r-9", "report_s3_uri": page},
    )
    listed = cli("models", "show", "1", *MAILER)
    assert f"Model report: {page} (add --report to download it)" in listed.out

    result = cli("models", "show", "1", *MAILER, "--report", "--out", str(tmp_path))
    assert result.code == 0, result.err
    folder = tmp_path / f"{names.group('mailer')}-v1"
    assert f"Model report: {folder / 'report.html'} (open it in a browser)" in result.out
    assert (folder / "report.html").read_text() == '"<html>r</html>"'  # _put writes JSON
    assert sorted(p.name for p in (folder / "charts").iterdir()) == ["lift.png", "roc.png"]
    assert not (folder / "decision.json").exists()


def test_models_show_report_without_a_recorded_report_fails_and_says_why(
    cli: Runner, make_group: Callable[..., list[str]], tmp_path: Path
) -> None:
    make_group("Approved")
    result = cli("models", "show", "1", *MAILER, "--report", "--out", str(tmp_path))
    assert result.code == 1
    assert "no report_s3_uri on the model package" in result.err
    assert cli("models", *MAILER, "--report").code == 2
    ignored = cli("models", "show", "1", *MAILER, "--out", str(tmp_path))
    assert ignored.code == 2 and "--out goes with --report" in ignored.err
    assert not any(tmp_path.iterdir())
