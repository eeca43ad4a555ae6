"""Post-deploy check against moto: present, missing, and configuration errors."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tools import check_deployment

DEFINITION = '{"Version": "2020-12-01", "Steps": []}'
ROLE = "arn:aws:iam::222222222222:role/x"


@pytest.fixture
def sagemaker():
    with mock_aws():
        yield boto3.client("sagemaker", region_name="us-east-1")


# dev deploys two extra architectures for every package type (cdk.json)
EXTRA = ("xgboost", "multimodal")


def deploy(client, package_types=("mailer", "bag", "box", "sioc"), skip=()):
    extra = {t: {a: f"pkgml-dev-{t}-training-{a}" for a in EXTRA} for t in package_types}
    for name_kind, name in check_deployment.expected_resources(
        "pkgml", "dev", package_types, extra
    ):
        if name in skip:
            continue
        if name_kind == "pipeline":
            client.create_pipeline(PipelineName=name, PipelineDefinition=DEFINITION, RoleArn=ROLE)
        else:
            client.create_model_package_group(ModelPackageGroupName=name)


def test_everything_present_passes(sagemaker, capsys):
    deploy(sagemaker)
    assert check_deployment.main(["--env", "dev"], client=sagemaker) == 0
    assert "20/20 present in dev" in capsys.readouterr().out


def test_a_missing_pipeline_fails_and_is_named(sagemaker, capsys):
    deploy(sagemaker, skip={"pkgml-dev-box-inference"})
    assert check_deployment.main(["--env", "dev"], client=sagemaker) == 1
    out = capsys.readouterr().out
    assert "pkgml-dev-box-inference" in out and "missing" in out
    assert "19/20 present" in out


def test_package_types_come_from_configuration(sagemaker, capsys):
    deploy(sagemaker, package_types=("mailer",))
    code = check_deployment.main(
        ["--env", "dev", "-c", 'package_types=["mailer"]'], client=sagemaker
    )
    assert code == 0
    assert "5/5 present" in capsys.readouterr().out


def test_unknown_environment_is_a_clear_error(sagemaker, capsys):
    assert check_deployment.main(["--env", "qa"], client=sagemaker) == 1
    assert "unknown environment 'qa'" in capsys.readouterr().err
