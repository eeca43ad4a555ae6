"""compare: the gate's decision table, evidence errors, and main() end to end with moto."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from pipeline_defs.steps import compare
from pipeline_defs.steps.compare import Criteria, Evidence, EvidenceError, decide

CRITERIA = Criteria(
    max_score_drop=0.02,
    min_score=0.7,
    max_label_shift=0.05,
    max_label_count_change=0.5,
    max_input_size_change=1.0,
)
CHAMPION = Evidence(
    metrics={"roc_auc": 0.85},
    label_counts={"0": 8_000, "1": 2_000},
    input_bytes=1_000_000,
    model_package_arn="arn:champion/3",
)


def challenger(
    score: float | None = 0.86,
    counts: tuple[int, int] = (8_000, 2_000),
    input_bytes: int | None = 1_000_000,
) -> Evidence:
    """A challenger that passes every CRITERIA check against CHAMPION unless overridden."""
    return Evidence(
        metrics={"roc_auc": score},
        label_counts={"0": counts[0], "1": counts[1]},
        input_bytes=input_bytes,
    )


def _failed(decision: compare.Decision) -> set[str]:
    """Names of the checks that failed."""
    return {c.name for c in decision.checks if not c.passed and not c.skipped}


def test_all_within_bounds_approves() -> None:
    decision = decide(challenger(), CHAMPION, CRITERIA)
    assert decision.decision == "approve" and _failed(decision) == set()
    assert len(decision.checks) == 5 and not any(c.skipped for c in decision.checks)
    assert decision.champion_model_package_arn == "arn:champion/3"


@pytest.mark.parametrize(
    ("candidate", "failing", "deviation", "value"),
    [
        (challenger(score=0.82), "max_score_drop", "score_drop", 0.03),
        (challenger(score=0.69), "min_score", None, None),
        (challenger(counts=(7_000, 3_000)), "max_label_shift", "label_shift", 0.1),
        (
            challenger(counts=(3_200, 800), input_bytes=1_000_000),
            "max_label_count_change",
            "label_count_change",
            -0.6,
        ),
        (challenger(input_bytes=2_500_000), "max_input_size_change", "input_size_change", 1.5),
        (
            challenger(input_bytes=None, counts=(24_000, 6_000)),
            "max_label_count_change",
            "input_size_change",
            2.0,
        ),
    ],
)
def test_each_criterion_alone_rejects(
    candidate: Evidence, failing: str, deviation: str | None, value: float | None
) -> None:
    decision = decide(candidate, CHAMPION, CRITERIA)
    assert decision.decision == "reject"
    assert failing in _failed(decision)
    if failing != "min_score" and candidate.label_count == CHAMPION.label_count:
        assert _failed(decision) == {failing}
    if deviation:
        assert decision.deviations[deviation] == pytest.approx(value)
    failed_check = next(c for c in decision.checks if c.name == failing)
    assert failed_check.message in decision.reasons


def test_min_score_reject_alone() -> None:
    lenient = Criteria(min_score=0.9, max_score_drop=0.5)
    decision = decide(challenger(score=0.86), CHAMPION, lenient)
    assert _failed(decision) == {"min_score"}


def test_boundaries_are_inclusive() -> None:
    decision = decide(
        challenger(score=0.83, input_bytes=2_000_000),
        CHAMPION,
        Criteria(max_score_drop=0.02, max_input_size_change=1.0),
    )
    assert decision.decision == "approve"


# ---- the decision table at, just inside and just outside every limit ----
# A deviation exactly at its limit passes. The values are what the evidence documents
# say (scores, counts, bytes); their float arithmetic lands a hair off the limit
# (0.90 - 0.88 = 0.020000000000000018), which the gate's tolerance absorbs.


def _side(
    score: float, counts: tuple[int, int], size: int | None, arn: str | None = None
) -> Evidence:
    return Evidence(
        metrics={"roc_auc": score},
        label_counts={"0": counts[0], "1": counts[1]},
        input_bytes=size,
        model_package_arn=arn,
    )


LENIENT = {
    "max_score_drop": 1.0,
    "min_score": 0.0,
    "max_label_shift": 1.0,
    "max_label_count_change": 100.0,
    "max_input_size_change": 100.0,
}
BASE = _side(0.90, (8_000_000, 2_000_000), 1_000_000, arn="arn:champion/1")

DECISION_TABLE = [
    # (check, its limit, challenger, champion, passes)
    ("max_score_drop", 0.02, _side(0.88, (8_000_000, 2_000_000), 1_000_000), BASE, True),
    ("max_score_drop", 0.02, _side(0.880001, (8_000_000, 2_000_000), 1_000_000), BASE, True),
    ("max_score_drop", 0.02, _side(0.879999, (8_000_000, 2_000_000), 1_000_000), BASE, False),
    ("max_score_drop", 0.02, _side(0.87999999, (8_000_000, 2_000_000), 1_000_000), BASE, False),
    ("min_score", 0.7, _side(0.7, (8_000_000, 2_000_000), 1_000_000), None, True),
    ("min_score", 0.7, _side(0.6999999999999999, (8, 2), 1), None, True),  # 1 ulp below
    ("min_score", 0.7, _side(0.700001, (8_000_000, 2_000_000), 1_000_000), None, True),
    ("min_score", 0.7, _side(0.699999, (8_000_000, 2_000_000), 1_000_000), None, False),
    ("min_score", 0.7, _side(0.69999999, (8_000_000, 2_000_000), 1_000_000), None, False),
    ("max_label_shift", 0.05, _side(0.9, (7_500_000, 2_500_000), 1_000_000), BASE, True),
    ("max_label_shift", 0.05, _side(0.9, (7_500_001, 2_499_999), 1_000_000), BASE, True),
    ("max_label_shift", 0.05, _side(0.9, (7_499_999, 2_500_001), 1_000_000), BASE, False),
    ("max_label_shift", 0.05, _side(0.9, (8_500_000, 1_500_000), 1_000_000), BASE, True),
    ("max_label_shift", 0.05, _side(0.9, (8_500_001, 1_499_999), 1_000_000), BASE, False),
    ("max_label_count_change", 0.1, _side(0.9, (8_800_000, 2_200_000), 1_000_000), BASE, True),
    ("max_label_count_change", 0.1, _side(0.9, (8_799_999, 2_200_000), 1_000_000), BASE, True),
    ("max_label_count_change", 0.1, _side(0.9, (8_800_001, 2_200_000), 1_000_000), BASE, False),
    ("max_label_count_change", 0.1, _side(0.9, (7_200_000, 1_800_000), 1_000_000), BASE, True),
    ("max_label_count_change", 0.1, _side(0.9, (7_200_001, 1_800_000), 1_000_000), BASE, True),
    ("max_label_count_change", 0.1, _side(0.9, (7_199_999, 1_800_000), 1_000_000), BASE, False),
    ("max_input_size_change", 0.1, _side(0.9, (8_000_000, 2_000_000), 1_100_000), BASE, True),
    ("max_input_size_change", 0.1, _side(0.9, (8_000_000, 2_000_000), 1_099_999), BASE, True),
    ("max_input_size_change", 0.1, _side(0.9, (8_000_000, 2_000_000), 1_100_001), BASE, False),
    ("max_input_size_change", 0.1, _side(0.9, (8_000_000, 2_000_000), 900_000), BASE, True),
    ("max_input_size_change", 0.1, _side(0.9, (8_000_000, 2_000_000), 899_999), BASE, False),
    # rows stand in for bytes when a side lacks input_bytes: 11 rows against 10
    ("max_input_size_change", 0.1, _side(0.9, (88, 22), None), _side(0.9, (80, 20), None), True),
    ("max_input_size_change", 0.1, _side(0.9, (89, 22), None), _side(0.9, (80, 20), None), False),
]


@pytest.mark.parametrize(
    ("check", "limit", "candidate", "champion", "passes"),
    DECISION_TABLE,
    ids=[f"{row[0]}-{i}" for i, row in enumerate(DECISION_TABLE)],
)
def test_decision_table_at_inside_and_outside_each_limit(
    check: str, limit: float, candidate: Evidence, champion: Evidence | None, passes: bool
) -> None:
    criteria = Criteria(**{**LENIENT, check: limit})
    decision = decide(candidate, champion, criteria)
    outcome = next(c for c in decision.checks if c.name == check)
    assert not outcome.skipped
    assert outcome.passed is passes
    assert _failed(decision) == (set() if passes else {check})
    assert decision.decision == ("approve" if passes else "reject")


def test_the_drop_from_the_issue_passes_at_the_default_limit() -> None:
    champion = _side(0.90, (800, 200), 10_000, arn="arn:champion/7")
    decision = decide(_side(0.88, (800, 200), 10_000), champion, Criteria())
    assert Criteria().max_score_drop == 0.02
    assert decision.decision == "approve", decision.reasons


def test_the_tolerance_is_documented_in_the_decision() -> None:
    document = decide(challenger(), CHAMPION, CRITERIA).to_dict()
    assert document["tolerance"] == 1e-9
    assert compare.TOLERANCE == 1e-9
    assert "1e-9" in (compare.__doc__ or "")
    json.dumps(document)  # stays JSON-ready


@pytest.mark.parametrize(
    ("score", "verdict"), [(0.71, "approve"), (0.69, "reject"), (None, "reject")]
)
def test_first_model_is_judged_on_the_floor_only(score: float | None, verdict: str) -> None:
    decision = decide(challenger(score=score, counts=(1, 99_999)), None, CRITERIA)
    assert decision.decision == verdict
    skipped = [c for c in decision.checks if c.skipped]
    assert len(skipped) == 4 and all(c.message == "skipped: no champion" for c in skipped)
    assert decision.champion_model_package_arn is None
    assert set(decision.deviations.values()) == {None}


def test_configurable_primary_metric() -> None:
    champion = Evidence(metrics={"pr_auc": 0.6}, label_counts={"0": 5, "1": 5})
    candidate = Evidence(metrics={"pr_auc": 0.5, "roc_auc": 0.99}, label_counts={"0": 5, "1": 5})
    decision = decide(candidate, champion, Criteria(primary_metric="pr_auc", min_score=0.1))
    assert _failed(decision) == {"max_score_drop"}


@pytest.mark.parametrize(
    "champion",
    [
        Evidence(metrics={}, label_counts={"0": 1, "1": 1}, model_package_arn="arn:c"),
        Evidence(metrics={"roc_auc": None}, label_counts={"0": 1}, model_package_arn="arn:c"),
        Evidence(metrics={"roc_auc": "high"}, label_counts={"0": 1}, model_package_arn="arn:c"),  # type: ignore[dict-item]
        Evidence(
            metrics={"roc_auc": float("nan")}, label_counts={"0": 1}, model_package_arn="arn:c"
        ),
    ],
)
def test_missing_or_corrupt_champion_metrics_raise(champion: Evidence) -> None:
    with pytest.raises(EvidenceError, match="arn:c"):
        decide(challenger(), champion, CRITERIA)


@pytest.mark.parametrize(
    ("evaluation", "statistics", "message"),
    [
        ({}, {"label_counts": {"0": 1}}, "'metrics'"),
        ({"metrics": {}}, {}, "'label_counts'"),
        ({"metrics": {}}, {"label_counts": {"0": -1}}, "label count"),
        ({"metrics": {}}, {"label_counts": {"0": 0, "1": 0}}, "zero labelled rows"),
        ({"metrics": {}}, {"label_counts": {"0": 1}, "input_bytes": "big"}, "input_bytes"),
        ([], {}, "'metrics'"),
    ],
)
def test_malformed_documents_raise(evaluation: Any, statistics: Any, message: str) -> None:
    with pytest.raises(EvidenceError, match=message):
        Evidence.from_documents(evaluation, statistics, source="champion X")


def test_criteria_validation() -> None:
    with pytest.raises(ValueError, match="max_label_shift"):
        Criteria(max_label_shift=-0.1)


# ---- main() end to end against moto: S3, SageMaker model registry, CloudWatch ----

GROUP = "packaging-mailer"
BUCKET = "ml-artifacts"


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto-backed clients with an artifacts bucket and a model package group."""
    with mock_aws():
        clients = {
            s: boto3.client(s, region_name="us-east-1") for s in ("s3", "sagemaker", "cloudwatch")
        }
        clients["s3"].create_bucket(Bucket=BUCKET)
        clients["sagemaker"].create_model_package_group(ModelPackageGroupName=GROUP)
        yield clients


def _evidence_docs(score: float, positives: int, total: int, size: int) -> tuple[dict, dict]:
    """An evaluation.json and statistics.json pair."""
    return (
        {"metrics": {"roc_auc": score}},
        {
            "label_counts": {"0": total - positives, "1": positives},
            "row_count": total,
            "input_bytes": size,
        },
    )


def _register(
    aws: dict[str, Any],
    status: str,
    docs: tuple[dict, dict] | None,
    metadata: dict[str, str] | None = None,
) -> str:
    """Create a model package with its evidence in S3; returns its ARN."""
    version = (
        len(
            aws["sagemaker"].list_model_packages(ModelPackageGroupName=GROUP)[
                "ModelPackageSummaryList"
            ]
        )
        + 1
    )
    if metadata is None:
        metadata = {}
        for name, doc in zip(("evaluation", "statistics"), docs or (), strict=False):
            key = f"v{version}/{name}.json"
            aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=json.dumps(doc).encode())
            metadata[f"{name}_s3_uri"] = f"s3://{BUCKET}/{key}"
    arn = aws["sagemaker"].create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        CustomerMetadataProperties=metadata,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/sk:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    time.sleep(0.002)
    return str(arn)


def _run(aws: dict[str, Any], tmp_path: Path, docs: tuple[dict, dict], *extra: str) -> dict:
    """Write the challenger's files, run main(), return decision.json."""
    (tmp_path / "evaluation.json").write_text(json.dumps(docs[0]))
    (tmp_path / "statistics").mkdir(exist_ok=True)
    (tmp_path / "statistics" / "statistics.json").write_text(json.dumps(docs[1]))
    compare.main(
        [
            "--package-type",
            "mailer",
            "--model-package-group",
            GROUP,
            "--evaluation-path",
            str(tmp_path / "evaluation.json"),
            "--statistics-path",
            str(tmp_path / "statistics"),
            "--output-dir",
            str(tmp_path / "out"),
            *extra,
        ],
        clients=compare.AwsClients(
            sagemaker=aws["sagemaker"], s3=aws["s3"], cloudwatch=aws["cloudwatch"]
        ),
    )
    return json.loads((tmp_path / "out" / "decision.json").read_text())


def _metrics(aws: dict[str, Any]) -> dict[str, float]:
    """Gate metrics published to CloudWatch, by name (latest value)."""
    listed = aws["cloudwatch"].list_metrics(Namespace=compare.METRIC_NAMESPACE)["Metrics"]
    names = {m["MetricName"] for m in listed}
    values = {}
    for name in names:
        stats = aws["cloudwatch"].get_metric_statistics(
            Namespace=compare.METRIC_NAMESPACE,
            MetricName=name,
            Dimensions=[
                {"Name": "PackageType", "Value": "mailer"},
                {"Name": "ModelPackageGroup", "Value": GROUP},
            ],
            StartTime=time.time() - 600,
            EndTime=time.time() + 600,
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        values[name] = stats[0]["Maximum"]
    return values


def test_main_picks_latest_approved_champion(aws: dict[str, Any], tmp_path: Path) -> None:
    _register(aws, "Approved", _evidence_docs(0.70, 200, 1_000, 10_000))
    latest_approved = _register(aws, "Approved", _evidence_docs(0.90, 200, 1_000, 10_000))
    _register(aws, "Rejected", _evidence_docs(0.99, 200, 1_000, 10_000))
    _register(aws, "PendingManualApproval", _evidence_docs(0.99, 200, 1_000, 10_000))
    decision = _run(aws, tmp_path, _evidence_docs(0.85, 220, 1_100, 11_000))
    assert decision["champion_model_package_arn"] == latest_approved
    assert decision["decision"] == "reject"
    assert decision["deviations"]["score_drop"] == pytest.approx(0.05)
    assert decision["deviations"]["input_size_change"] == pytest.approx(0.1)
    assert isinstance(decision["decision"], str)
    published = _metrics(aws)
    assert published["Approved"] == 0.0 and published["ScoreDrop"] == pytest.approx(0.05)
    assert published["ChallengerScore"] == pytest.approx(0.85)
    # one Rejected after the champion (the pending one does not count) + this rejection
    assert published["ConsecutiveRejections"] == 2.0


def test_rejections_since_last_approval_counts_newest_first(aws: dict[str, Any]) -> None:
    assert compare.rejections_since_last_approval(aws["sagemaker"], GROUP) == 0
    _register(aws, "Rejected", None, metadata={})
    _register(aws, "Approved", None, metadata={})
    assert compare.rejections_since_last_approval(aws["sagemaker"], GROUP) == 0
    _register(aws, "Rejected", None, metadata={})
    _register(aws, "PendingManualApproval", None, metadata={})
    _register(aws, "Rejected", None, metadata={})
    assert compare.rejections_since_last_approval(aws["sagemaker"], GROUP) == 2


# ---- the registry requests, validated against botocore's SageMaker model ----
# ListModelPackages lists UNVERSIONED packages when ModelPackageType is absent (botocore's
# documentation of the member); a group's versions are Versioned. moto ignores the
# default, so the requests themselves are checked here.


ARN_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012:model-package"


def _summary(version: int, status: str) -> dict[str, Any]:
    return {
        "ModelPackageGroupName": GROUP,
        "ModelPackageVersion": version,
        "ModelPackageArn": f"{ARN_PREFIX}/{GROUP}/{version}",
        "CreationTime": 1_700_000_000 + version,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": status,
    }


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    """A real SageMaker client whose calls are checked against the service model."""
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_champion_lookup_asks_for_the_newest_approved_versioned_package(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "list_model_packages",
        {"ModelPackageSummaryList": [_summary(4, "Approved")]},
        {
            "ModelPackageGroupName": GROUP,
            "ModelApprovalStatus": "Approved",
            "ModelPackageType": "Versioned",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 1,
        },
    )
    assert compare.find_champion_arn(client, GROUP) == _summary(4, "x")["ModelPackageArn"]


def test_champion_lookup_without_an_approved_version(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("list_model_packages", {"ModelPackageSummaryList": []})
    assert compare.find_champion_arn(client, GROUP) is None


def test_rejection_count_lists_versioned_packages_page_by_page(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    request = {
        "ModelPackageGroupName": GROUP,
        "ModelPackageType": "Versioned",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
    }
    stubber.add_response(
        "list_model_packages",
        {
            "ModelPackageSummaryList": [
                _summary(6, "Rejected"),
                _summary(5, "PendingManualApproval"),
            ],
            "NextToken": "page-2",
        },
        request,
    )
    stubber.add_response(
        "list_model_packages",
        {"ModelPackageSummaryList": [_summary(4, "Rejected"), _summary(3, "Approved")]},
        {**request, "NextToken": "page-2"},
    )
    assert compare.rejections_since_last_approval(client, GROUP) == 2


def test_an_approval_resets_consecutive_rejections(aws: dict[str, Any], tmp_path: Path) -> None:
    _register(aws, "Approved", _evidence_docs(0.86, 200, 1_000, 10_000))
    _register(aws, "Rejected", _evidence_docs(0.50, 200, 1_000, 10_000))
    assert _run(aws, tmp_path, _evidence_docs(0.86, 200, 1_000, 10_000))["decision"] == "approve"
    assert _metrics(aws)["ConsecutiveRejections"] == 0.0


def test_main_approves_and_criteria_override(aws: dict[str, Any], tmp_path: Path) -> None:
    _register(aws, "Approved", _evidence_docs(0.86, 200, 1_000, 10_000))
    docs = _evidence_docs(0.85, 200, 1_000, 10_000)
    assert _run(aws, tmp_path, docs, "--max-score-drop", "")["decision"] == "approve"
    strict = _run(aws, tmp_path, docs, "--max-score-drop", "0.001", "--no-metrics")
    assert strict["decision"] == "reject"
    assert strict["criteria"]["max_score_drop"] == 0.001


def test_main_first_model(aws: dict[str, Any], tmp_path: Path) -> None:
    _register(aws, "Rejected", _evidence_docs(0.99, 1, 10, 10))
    decision = _run(aws, tmp_path, _evidence_docs(0.75, 200, 1_000, 10_000))
    assert decision["decision"] == "approve" and decision["champion_model_package_arn"] is None
    assert "ScoreDrop" not in _metrics(aws) and _metrics(aws)["Approved"] == 1.0


@pytest.mark.parametrize(
    ("metadata", "s3_body", "message"),
    [
        ({}, None, "lacks CustomerMetadataProperties"),
        (
            {
                "evaluation_s3_uri": f"s3://{BUCKET}/nope.json",
                "statistics_s3_uri": f"s3://{BUCKET}/nope.json",
            },
            None,
            "cannot read",
        ),
        (
            {
                "evaluation_s3_uri": f"s3://{BUCKET}/bad.json",
                "statistics_s3_uri": f"s3://{BUCKET}/bad.json",
            },
            b"{not json",
            "not valid JSON",
        ),
        (
            {
                "evaluation_s3_uri": f"s3://{BUCKET}/empty.json",
                "statistics_s3_uri": f"s3://{BUCKET}/empty.json",
            },
            b"{}",
            "'metrics'",
        ),
    ],
)
def test_main_refuses_without_champion_evidence(
    aws: dict[str, Any],
    tmp_path: Path,
    metadata: dict[str, str],
    s3_body: bytes | None,
    message: str,
) -> None:
    if s3_body is not None:
        aws["s3"].put_object(
            Bucket=BUCKET, Key=metadata["evaluation_s3_uri"].rsplit("/", 1)[1], Body=s3_body
        )
    _register(aws, "Approved", None, metadata=metadata)
    with pytest.raises(EvidenceError, match=message):
        _run(aws, tmp_path, _evidence_docs(0.9, 200, 1_000, 10_000))
    assert not (tmp_path / "out" / "decision.json").exists()


def test_bad_criterion_argument_is_named(aws: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--min-score"):
        _run(aws, tmp_path, _evidence_docs(0.9, 1, 10, 10), "--min-score", "high")


def test_runs_in_the_processing_job_layout(tmp_path: Path) -> None:
    """The entry script alone in input/code/, its bundle (with pkgml_contracts/) at the
    lib folder on PYTHONPATH, as pipeline_defs.step_builders.processing_step_args mounts them."""
    from pipeline_defs.step_builders import LIB_DIR
    from stacks.components.step_code import bundle_name, code_bundles

    code, lib = tmp_path / "code", tmp_path / Path(LIB_DIR).relative_to("/")
    code.mkdir()
    shutil.copy(Path(compare.__file__), code / "compare.py")
    for path in code_bundles()["compare"]:
        (lib / bundle_name(path)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, lib / bundle_name(path))

    def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        # -S: no site-packages, so the checkout's editable install cannot stand in for
        # the bundle (compare.py imports boto3 only when it talks to AWS)
        return subprocess.run(  # noqa: S603 (fixed command)
            [sys.executable, "-S", str(code / "compare.py"), "--help"],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            check=False,
        )

    result = run({"PYTHONPATH": str(lib)})
    assert result.returncode == 0, result.stderr
    assert "--max-score-drop" in result.stdout
    without_lib = run({})
    assert "No module named 'pkgml_contracts'" in without_lib.stderr


# --- same-data comparison (the champion scored on the challenger's validation rows) -------


def same_data(
    challenger_auc: float,
    champion_auc: float,
    interval: tuple[float, float],
    *,
    arn: str = "arn:champion/3",
    rows: int = 48_210,
) -> compare.SameData:
    return compare.SameData.from_evaluation(
        {
            "champion": {"model_package_arn": arn, "architecture": "xgboost"},
            "paired": {
                "method": "delong",
                "rows": rows,
                "challenger_auc": challenger_auc,
                "champion_auc": champion_auc,
                "difference": challenger_auc - champion_auc,
                "confidence": 0.95,
                "interval": list(interval),
            },
        }
    )


def test_a_harder_week_rejected_on_stored_scores_is_approved_on_the_same_rows() -> None:
    """The champion scored 0.90 on its own week; this week is harder for both models."""
    champion = Evidence(
        metrics={"roc_auc": 0.90},
        label_counts={"0": 8_000, "1": 2_000},
        model_package_arn="arn:champion/3",
    )
    candidate = challenger(score=0.86)
    harder = same_data(0.86, 0.84, (0.012, 0.028))
    stored = decide(candidate, champion, Criteria(comparison="stored"), same_data=harder)
    fair = decide(candidate, champion, Criteria(comparison="same_data"), same_data=harder)
    assert stored.decision == "reject" and _failed(stored) == {"max_score_drop"}
    assert fair.decision == "approve", fair.reasons
    assert fair.comparison == "same_data" and stored.comparison == "stored"
    assert fair.deviations["score_drop"] == pytest.approx(-0.02)
    check = next(c for c in fair.checks if c.name == "max_score_drop")
    assert "challenger 0.860 vs champion 0.840 on the same 48,210 rows" in check.message
    assert "95 % interval [+0.012, +0.028]" in check.message
    # both numbers stay in the decision for the trend
    assert fair.champion_score == 0.90
    assert fair.same_data is not None and fair.same_data["champion_score"] == 0.84


def test_an_easier_week_approved_on_stored_scores_is_rejected_on_the_same_rows() -> None:
    champion = Evidence(
        metrics={"roc_auc": 0.85},
        label_counts={"0": 8_000, "1": 2_000},
        model_package_arn="arn:champion/3",
    )
    candidate = challenger(score=0.87)
    easier = same_data(0.87, 0.91, (-0.05, -0.03))
    assert decide(candidate, champion, Criteria(comparison="stored"), same_data=easier).approved
    fair = decide(candidate, champion, CRITERIA, same_data=easier)
    assert fair.decision == "reject" and _failed(fair) == {"max_score_drop"}
    assert "difference -0.040" in fair.reasons[0]


def test_a_drop_beyond_the_limit_that_noise_explains_passes_and_says_so() -> None:
    noisy = same_data(0.80, 0.83, (-0.07, 0.01), rows=400)
    decision = decide(challenger(score=0.80), CHAMPION, CRITERIA, same_data=noisy)
    check = next(c for c in decision.checks if c.name == "max_score_drop")
    assert check.passed
    assert "within noise" in check.message


def test_same_data_scores_of_another_champion_fall_back_to_stored_scores() -> None:
    """The champion changed (approved by hand) between ScoreChampion and Compare."""
    stale = same_data(0.86, 0.80, (0.05, 0.07), arn="arn:champion/2")
    decision = decide(challenger(score=0.80), CHAMPION, CRITERIA, same_data=stale)
    assert decision.comparison == "stored"
    assert decision.decision == "reject"
    check = next(c for c in decision.checks if c.name == "max_score_drop")
    assert "arn:champion/2" in check.message and "stored" in check.message


def test_without_same_data_scores_the_stored_comparison_is_used_with_the_reason() -> None:
    decision = decide(
        challenger(score=0.86), CHAMPION, CRITERIA, same_data_unavailable="single class"
    )
    assert decision.comparison == "stored" and decision.approved
    check = next(c for c in decision.checks if c.name == "max_score_drop")
    assert "single class" in check.message


def test_the_first_model_ignores_the_comparison() -> None:
    decision = decide(challenger(score=0.86), None, CRITERIA, same_data_unavailable="no champion")
    assert decision.approved and decision.comparison == "none"


def test_comparison_must_be_known() -> None:
    with pytest.raises(ValueError, match="comparison must be one of same_data, stored"):
        Criteria(comparison="median")


def test_same_data_evidence_is_read_from_the_evaluation_document() -> None:
    assert compare.SameData.from_evaluation({"metrics": {}}) is None
    assert compare.SameData.from_evaluation({"paired": None, "champion": None}) is None
    with pytest.raises(EvidenceError, match="paired comparison has no 'champion_auc'"):
        compare.SameData.from_evaluation(
            {"champion": {"model_package_arn": "a"}, "paired": {"challenger_auc": 0.8}}
        )


@pytest.mark.parametrize(
    ("comparison", "verdict"), [("same_data", "approve"), ("stored", "reject")]
)
def test_main_judges_the_same_rows_unless_told_stored(
    aws: dict[str, Any], tmp_path: Path, comparison: str, verdict: str
) -> None:
    champion = _register(aws, "Approved", _evidence_docs(0.90, 200, 1_000, 10_000))
    evaluation, statistics = _evidence_docs(0.86, 200, 1_000, 10_000)
    evaluation |= {
        "champion": {"model_package_arn": champion, "architecture": "hgb"},
        "paired": {
            "rows": 1_000,
            "challenger_auc": 0.86,
            "champion_auc": 0.84,
            "confidence": 0.95,
            "interval": [0.004, 0.036],
        },
    }
    decision = _run(aws, tmp_path, (evaluation, statistics), "--comparison", comparison)
    assert decision["decision"] == verdict
    assert decision["comparison"] == comparison
    assert decision["champion_score"] == 0.90  # the stored score stays for the trend
    assert decision["same_data"]["champion_score"] == 0.84
    assert _metrics(aws)["ScoreDrop"] == pytest.approx(-0.02 if comparison == "same_data" else 0.04)


# --- the model report beside decision.json ------------------------------------------------


def test_the_report_shows_the_groups_history_and_this_run(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    _register(aws, "Approved", _evidence_docs(0.81, 200, 1_000, 10_000))
    _register(aws, "Rejected", _evidence_docs(0.64, 200, 1_000, 10_000))
    _register(aws, "Approved", _evidence_docs(0.83, 200, 1_000, 10_000))
    decision = _run(aws, tmp_path, _evidence_docs(0.84, 200, 1_000, 10_000))
    assert decision["decision"] == "approve"
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<td>v1</td><td>Approved</td>" in page
    assert "<td>v2</td><td>Rejected</td>" in page
    assert "<td>v3 (champion)</td><td>Approved</td>" in page
    assert "<td>this run</td><td>gate: approve</td>" in page
    assert "<td>0.6400</td>" in page and "<td>0.8400</td>" in page
    # no curves.json beside this evaluation: the page says so, the history is still drawn
    assert "No curves: this run's Evaluate wrote no curves.json." in page
    assert page.count("<svg") == 1
    assert (tmp_path / "out" / "charts" / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_version_whose_evaluation_cannot_be_read_is_named_not_fatal(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    _register(aws, "Rejected", None, metadata={"evaluation_s3_uri": f"s3://{BUCKET}/gone.json"})
    _run(aws, tmp_path, _evidence_docs(0.84, 200, 1_000, 10_000))
    page = (tmp_path / "out" / "report.html").read_text()
    assert f"Not read: v1: cannot read s3://{BUCKET}/gone.json" in page
    assert "<td>v1</td><td>Rejected</td>" in page


def test_a_report_that_fails_to_draw_leaves_the_decision_and_says_why(
    aws: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Path:
        raise RuntimeError("no ink")

    monkeypatch.setattr(compare.model_report, "write_report", broken)
    decision = _run(aws, tmp_path, _evidence_docs(0.84, 200, 1_000, 10_000))
    assert decision["decision"] == "approve"
    page = (tmp_path / "out" / "report.html").read_text()
    assert "The model report could not be drawn" in page
    assert "RuntimeError: no ink" in page
