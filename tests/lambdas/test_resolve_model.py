"""Resolve step: newest Approved version wins; Rejected/Pending ignored; none -> clear failure."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

SOURCE = Path(__file__).resolve().parents[2] / "lambda_src" / "resolve_model" / "resolve_handler.py"


@pytest.fixture
def resolve(monkeypatch):
    monkeypatch.setenv("ALLOWED_GROUPS", json.dumps(["pkgml-dev-mailer"]))
    with mock_aws():
        spec = importlib.util.spec_from_file_location("resolve_handler_under_test", SOURCE)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        yield module
        sys.modules.pop(spec.name, None)


def add_version(client, group: str, status: str) -> str:
    arn = client.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    time.sleep(0.01)  # distinct creation times
    return arn


def test_newest_approved_wins_over_newer_rejected_and_pending(resolve):
    client = resolve.SAGEMAKER
    client.create_model_package_group(ModelPackageGroupName="pkgml-dev-mailer")
    add_version(client, "pkgml-dev-mailer", "Approved")
    champion = add_version(client, "pkgml-dev-mailer", "Approved")
    add_version(client, "pkgml-dev-mailer", "Rejected")
    add_version(client, "pkgml-dev-mailer", "PendingManualApproval")
    result = resolve.handler({"model_package_group": "pkgml-dev-mailer"}, None)
    assert result["model_package_arn"] == champion
    assert result["model_package_version"] == "2"


def test_no_approved_version_fails_naming_the_group(resolve):
    client = resolve.SAGEMAKER
    client.create_model_package_group(ModelPackageGroupName="pkgml-dev-mailer")
    add_version(client, "pkgml-dev-mailer", "Rejected")
    with pytest.raises(resolve.NoApprovedModelError, match="'pkgml-dev-mailer' has no Approved"):
        resolve.handler({"model_package_group": "pkgml-dev-mailer"}, None)


@pytest.mark.parametrize(
    "event", [{}, {"model_package_group": ""}, {"model_package_group": "a b"}, ["x"]]
)
def test_malformed_events_are_rejected(resolve, event):
    with pytest.raises(resolve.BadRequestError):
        resolve.handler(event, None)


def test_groups_of_other_environments_are_refused(resolve):
    with pytest.raises(resolve.BadRequestError, match="not one of this environment's groups"):
        resolve.handler({"model_package_group": "pkgml-prod-mailer"}, None)


def test_the_query_is_the_registrys_versioned_champion_query(resolve) -> None:
    """Checked against botocore's model: moto lists Versioned packages of a group even
    without ModelPackageType, where SageMaker defaults to unversioned ones."""
    client = boto3.client("sagemaker", region_name="us-east-1")
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/pkgml-dev-mailer/7"
    with Stubber(client) as stubber:
        stubber.add_response(
            "list_model_packages",
            {
                "ModelPackageSummaryList": [
                    {
                        "ModelPackageArn": arn,
                        "ModelPackageVersion": 7,
                        "CreationTime": 1_700_000_000,
                        "ModelPackageStatus": "Completed",
                        "ModelApprovalStatus": "Approved",
                    }
                ]
            },
            {
                "ModelPackageGroupName": "pkgml-dev-mailer",
                "ModelApprovalStatus": "Approved",
                "ModelPackageType": "Versioned",
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 1,
            },
        )
        stubber.add_response(
            "describe_model_package",
            {
                "ModelPackageName": "pkgml-dev-mailer",
                "ModelPackageArn": arn,
                "CreationTime": 1_700_000_000,
                "ModelPackageStatus": "Completed",
                "ModelPackageStatusDetails": {"ValidationStatuses": []},
                "CustomerMetadataProperties": {
                    "architecture": "multimodal",
                    "architecture_inputs": "tabular,text",
                    "baseline_s3_uri": "s3://art/pipelines/p/r1/Split/baseline/baseline.json",
                    "score_baseline_s3_uri": "s3://art/p/r1/Evaluate/evaluation/score_baseline.json",
                },
            },
            {"ModelPackageName": arn},
        )
        result = resolve.latest_approved(client, "pkgml-dev-mailer")
        stubber.assert_no_pending_responses()
    assert result["model_package_arn"] == arn and result["model_package_version"] == "7"
    assert result["architecture"] == "multimodal" and result["with_text"] == "true"
    assert result["baseline_s3_uri"] == "s3://art/pipelines/p/r1/Split/baseline/baseline.json"
    assert (
        result["score_baseline_s3_uri"] == "s3://art/p/r1/Evaluate/evaluation/score_baseline.json"
    )


def test_the_query_comes_from_pkgml_contracts(resolve, monkeypatch) -> None:
    """One definition of the champion for Resolve, Compare and the ops CLI."""
    from pkgml_contracts import registry

    class Recorder:
        def __init__(self) -> None:
            self.requests: list[dict] = []

        def list_model_packages(self, **request):
            self.requests.append(request)
            return {"ModelPackageSummaryList": [{"ModelPackageArn": "arn:x/1"}]}

        def describe_model_package(self, **request):
            return {}  # a package registered before architectures were recorded

    monkeypatch.setattr(
        registry, "latest_approved_request", lambda group: {"Marker": f"contract:{group}"}
    )
    client = Recorder()
    result = resolve.latest_approved(client, "pkgml-dev-mailer")
    assert result["model_package_arn"] == "arn:x/1"
    assert (result["architecture"], result["with_text"]) == ("hgb", "false")
    # ...nor its training baseline: inference then measures no drift
    assert result["baseline_s3_uri"] == result["score_baseline_s3_uri"] == "none"
    assert client.requests == [{"Marker": "contract:pkgml-dev-mailer"}]


def test_training_asks_for_the_champion_or_none(resolve):
    """The training pipeline's ResolveChampion: no champion is an answer, not a failure,
    and the image to score in falls back to the one the event names."""
    client = resolve.SAGEMAKER
    client.create_model_package_group(ModelPackageGroupName="pkgml-dev-mailer")
    add_version(client, "pkgml-dev-mailer", "Rejected")
    event = {
        "model_package_group": "pkgml-dev-mailer",
        "allow_none": "true",
        "fallback_image": "processing-image:1",
    }
    result = resolve.handler(event, None)
    assert result["model_package_arn"] == resolve.NO_CHAMPION == "none"
    assert result["architecture"] == "none"
    assert result["with_text"] == "false"
    assert result["image"] == "processing-image:1"
    assert result["baseline_s3_uri"] == "none"
    # every output the pipeline declares is present either way
    champion = add_version(client, "pkgml-dev-mailer", "Approved")
    found = resolve.handler(event, None)
    assert found["model_package_arn"] == champion
    assert found["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"
    assert set(found) == set(result)


@pytest.mark.parametrize(
    "event",
    [
        {"model_package_group": "pkgml-dev-mailer", "allow_none": "yes"},
        {"model_package_group": "pkgml-dev-mailer", "allow_none": "true"},
        {"model_package_group": "pkgml-dev-mailer", "allow_none": "true", "fallback_image": ""},
    ],
)
def test_allow_none_needs_a_fallback_image_and_a_boolean(resolve, event):
    with pytest.raises(resolve.BadRequestError, match=r"allow_none|fallback_image"):
        resolve.handler(event, None)
