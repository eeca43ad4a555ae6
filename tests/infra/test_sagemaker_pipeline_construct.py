"""SageMakerPipeline on its own: a minimal stack holding the construct and what it needs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Template

from pipeline_defs.placeholders import Placeholders, code_uri, placeholder_values
from stacks.components.execution_role import SageMakerExecutionRole
from stacks.components.sagemaker_pipeline import (
    PipelineResources,
    SageMakerPipeline,
    image_repository_arns,
)

ACCOUNT, REGION = "123456789012", "us-east-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
RESOLVE_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:t-dev-resolve"
REDSHIFT_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/t-dev-redshift"
SPLIT_DIGEST = "a" * 64
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
TOKEN = "TOKEN"


def definition(*, code: str = "split.py", image: str = SKLEARN) -> str:
    """A small definition naming every placeholder, as the builders emit them."""
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Steps": [
                {
                    "Name": "Resolve",
                    "Type": "Lambda",
                    "FunctionArn": Placeholders.RESOLVE_FUNCTION_ARN,
                },
                {
                    "Name": "Split",
                    "Type": "Processing",
                    "Arguments": {
                        "RoleArn": Placeholders.ROLE_ARN,
                        "AppSpecification": {"ImageUri": image},
                        "ProcessingInputs": [{"S3Input": {"S3Uri": code_uri(code)}}],
                        "ProcessingOutputConfig": {
                            "KmsKeyId": Placeholders.KMS_KEY_ARN,
                            "Outputs": [
                                {"S3Output": {"S3Uri": f"s3://{Placeholders.ARTIFACTS_BUCKET}/p/"}}
                            ],
                        },
                        "Environment": {"COPY_ROLE": Placeholders.REDSHIFT_ROLE_ARN},
                    },
                },
                {
                    "Name": "Predict",
                    "Type": "Transform",
                    "Arguments": {
                        "TransformOutput": {"S3OutputPath": f"s3://{Placeholders.DATA_BUCKET}/o/"}
                    },
                },
            ],
        }
    )


class Built:
    """A stack with the execution role, a group, a code deployment and the pipelines."""

    def __init__(self) -> None:
        context = {"@aws-cdk/aws-iam:minimizePolicies": True}  # as cdk.json sets it
        self.app = App(context=context, builtin_cloud_formation_validation=False)
        self.stack = Stack(self.app, "Test", env={"account": ACCOUNT, "region": REGION})
        key = kms.Key.from_key_arn(self.stack, "Key", KEY_ARN)
        self.execution = SageMakerExecutionRole(
            self.stack,
            "Execution",
            resource_prefix="t-dev",
            data_bucket_name="t-dev-data",
            artifacts_bucket_name="t-dev-artifacts",
            key=key,
            model_package_groups=["t-dev-mailer"],
        )
        self.group = sagemaker.CfnModelPackageGroup(
            self.stack, "Group", model_package_group_name="t-dev-mailer"
        )
        self.code = s3.CfnBucket(self.stack, "CodeUpload")  # stands in for StepCode's upload
        self.resources = PipelineResources(
            execution_role=self.execution,
            artifacts_bucket_name="t-dev-artifacts",
            data_bucket_name="t-dev-data",
            key_arn=key.key_arn,
            resolve_function_arn=RESOLVE_ARN,
            redshift_role_arn=REDSHIFT_ROLE_ARN,
            code_bundles={"split": SPLIT_DIGEST},
            code_deployment=self.code,
        )

    def pipeline(self, construct_id: str, text: str, **kwargs: Any) -> SageMakerPipeline:
        return SageMakerPipeline(
            self.stack,
            construct_id,
            pipeline_name=kwargs.pop("pipeline_name", "t-dev-mailer-training"),
            description="t-dev: training for package type 'mailer'",
            definition=text,
            resources=self.resources,
            model_package_group=kwargs.pop("model_package_group", self.group),
            **kwargs,
        )

    def template(self) -> Template:
        return Template.from_stack(self.stack)


def rendered(value: Any) -> str:
    """A CloudFormation string with each Fn::Join flattened, the partition as 'aws' and any
    other intrinsic as TOKEN."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(rendered(part) for part in parts)
    return "aws" if value == {"Ref": "AWS::Partition"} else TOKEN


def pipeline_resource(template: Template) -> tuple[str, dict[str, Any]]:
    (found,) = template.find_resources("AWS::SageMaker::Pipeline").items()
    return found


def test_the_logical_id_is_the_construct_id_as_a_top_level_cfn_pipeline_would_have():
    built = Built()
    construct = built.pipeline("Pipeline-mailer-training", definition())
    logical_id, resource = pipeline_resource(built.template())
    assert logical_id == "Pipelinemailertraining"
    assert construct.node.default_child is construct.pipeline
    props = resource["Properties"]
    assert props["PipelineName"] == props["PipelineDisplayName"] == "t-dev-mailer-training"
    assert props["PipelineDescription"] == "t-dev: training for package type 'mailer'"
    assert construct.pipeline_name == "t-dev-mailer-training"


def test_every_placeholder_becomes_its_deployed_value():
    built = Built()
    built.pipeline("Pipeline", definition())
    template = built.template()
    _, resource = pipeline_resource(template)
    raw = resource["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    body = rendered(raw)
    for placeholder in placeholder_values().values():
        assert placeholder not in body
    assert "pkgml-placeholder" not in body
    steps = {step["Name"]: step for step in json.loads(body)["Steps"]}
    split = steps["Split"]["Arguments"]
    assert split["RoleArn"] == TOKEN  # the execution role's ARN
    (role_id,) = template.find_resources("AWS::IAM::Role")
    assert {"Fn::GetAtt": [role_id, "Arn"]} in raw["Fn::Join"][1]
    assert split["ProcessingInputs"][0]["S3Input"]["S3Uri"] == (
        f"s3://t-dev-artifacts/code/{SPLIT_DIGEST}/split.py"
    )
    assert split["ProcessingOutputConfig"]["KmsKeyId"] == KEY_ARN
    assert split["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == (
        "s3://t-dev-artifacts/p/"
    )
    assert split["Environment"]["COPY_ROLE"] == REDSHIFT_ROLE_ARN
    assert steps["Resolve"]["FunctionArn"] == RESOLVE_ARN
    assert steps["Predict"]["Arguments"]["TransformOutput"]["S3OutputPath"] == "s3://t-dev-data/o/"


def test_it_runs_as_the_execution_role_after_the_step_code_and_the_group():
    built = Built()
    built.pipeline("Pipeline", definition())
    template = built.template()
    _, resource = pipeline_resource(template)
    (role_id,) = template.find_resources("AWS::IAM::Role")
    assert resource["Properties"]["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    (group_id,) = template.find_resources("AWS::SageMaker::ModelPackageGroup")
    (code_id,) = template.find_resources("AWS::S3::Bucket")
    assert sorted(resource["DependsOn"]) == sorted([group_id, code_id])


def image_statements(template: Template) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "PullFrameworkImages"
    ]


def test_the_role_may_pull_exactly_the_images_the_definitions_name_in_one_statement():
    built = Built()
    built.pipeline("Training", definition(image=SKLEARN))
    built.pipeline("Other", definition(image=XGBOOST), pipeline_name="t-dev-mailer-training-x")
    built.pipeline("Again", definition(image=SKLEARN), pipeline_name="t-dev-mailer-inference")
    (statement,) = image_statements(built.template())
    assert [rendered(resource) for resource in statement["Resource"]] == [
        "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-scikit-learn",
        "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost",
    ]
    assert sorted(statement["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]


def test_image_repository_arns_reads_every_ecr_image():
    text = json.dumps([SKLEARN, XGBOOST, "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/x/y:1"])
    assert image_repository_arns(text, "aws") == {
        "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-scikit-learn",
        "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost",
        "arn:aws:ecr:cn-north-1:123456789012:repository/x/y",
    }


def test_a_step_code_bundle_that_is_not_shipped_fails_synth():
    built = Built()
    with pytest.raises(ValueError, match=r"t-dev-mailer-training: .*CODE_PREFIX.*evaluate"):
        built.pipeline("Pipeline", definition(code="evaluate.py"))


def test_a_placeholder_without_a_value_fails_synth(monkeypatch):
    built = Built()
    monkeypatch.setattr(
        PipelineResources,
        "replacements",
        lambda self: {Placeholders.ROLE_ARN: "arn:aws:iam::123456789012:role/r"},
    )
    with pytest.raises(ValueError, match=r"placeholders without a value: .*KMS_KEY_ARN"):
        built.pipeline("Pipeline", definition())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not a JSON object"),
        ("[]", "not a JSON object"),
        (json.dumps({"Steps": [], "Padding": "x" * 1_048_576}), "at most 1048576"),
    ],
)
def test_a_definition_that_createpipeline_would_refuse_fails_synth(text, message):
    built = Built()
    with pytest.raises(ValueError, match=message):
        built.pipeline("Pipeline", text)
