"""Least-privilege grants with exact actions, and the cdk-nag acknowledgement each one needs.

The CDK's `grant_*` helpers add wildcard actions (`s3:GetObject*`, `kms:GenerateDataKey*`)
and whole-bucket listing. The platform grants exact actions on exact prefixes instead;
a prefix grant is necessarily `<bucket>/<prefix>*`, which cdk-nag reports as
AwsSolutions-IAM5, so each such grant acknowledges that one finding on that one role.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aws_cdk import Acknowledgment, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

READ = ("s3:GetObject",)
READ_WRITE = ("s3:GetObject", "s3:PutObject")


def service_of_this_account(scope: Stack, service: str) -> iam.ServicePrincipal:
    """`service` (e.g. 'sagemaker.amazonaws.com') as a role's trust principal, only when it
    acts for this stack's account (`aws:SourceAccount`: no confused deputy)."""
    return iam.ServicePrincipal(
        service, conditions={"StringEquals": {"aws:SourceAccount": scope.account}}
    )


def allow_objects(
    role: iam.Role, *, bucket_name: str, prefix: str, actions: Iterable[str], why: str
) -> None:
    """Allow exactly `actions` on objects under `bucket_name/prefix`; `why` explains the need."""
    partition = Stack.of(role).partition
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=sorted(set(actions)),
            resources=[f"arn:{partition}:s3:::{bucket_name}/{prefix}*"],
        )
    )
    acknowledge_wildcard_resource(
        role,
        f"arn:{partition}:s3:::{bucket_name}/{prefix}*",
        reason=f"Scoped to the {prefix} prefix, which {why}.",
    )


def acknowledge_wildcard_resource(role: iam.IRole, resource: str, *, reason: str) -> None:
    """Acknowledge cdk-nag's AwsSolutions-IAM5 for exactly one wildcard `resource` on `role`."""
    stack = Stack.of(role)
    if Token.is_unresolved(resource):
        rendered = stack.resolve(resource)
        if isinstance(rendered, dict) and "Fn::Join" in rendered:
            resource = "".join(_nag_text(part) for part in rendered["Fn::Join"][1])
        else:
            resource = _nag_text(rendered)
    Validations.of(role).acknowledge(
        Acknowledgment(id=f"AwsSolutions-IAM5[Resource::{resource}]", reason=reason)
    )


def _nag_text(part: object) -> str:
    """How cdk-nag prints one part of a resolved ARN: pseudo parameters and GetAtt Arns."""
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and "Ref" in part:
        return f"<{part['Ref']}>"
    if isinstance(part, dict) and "Fn::GetAtt" in part:
        logical_id, attribute = part["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    raise ValueError(f"cannot render {part!r} the way cdk-nag reports it")


def allow_listing(role: iam.Role, *, bucket_name: str, prefixes: Iterable[str]) -> None:
    """Allow ListBucket on `bucket_name`, but only below `prefixes`."""
    partition = Stack.of(role).partition
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[f"arn:{partition}:s3:::{bucket_name}"],
            conditions={"StringLike": {"s3:prefix": sorted(f"{p}*" for p in prefixes)}},
        )
    )


def allow_key(role: iam.Role, key: kms.IKey, *, encrypt: bool = True, decrypt: bool = True) -> None:
    """Allow data-key use of `key`: GenerateDataKey to write, Decrypt to read (exact actions)."""
    actions = (["kms:GenerateDataKey"] if encrypt else []) + (["kms:Decrypt"] if decrypt else [])
    role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[key.key_arn]))


def allow_publish(role: iam.Role, topic: sns.ITopic, key: kms.IKey) -> None:
    """Allow sns:Publish to one KMS-encrypted topic."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn])
    )
    allow_key(role, key, encrypt=True, decrypt=True)


def allow_put_events(role: iam.Role, *, source: str, detail_types: Sequence[str]) -> None:
    """Allow events:PutEvents on the account's default event bus (the `event-bus` resource
    type), for events of `source` with one of `detail_types` only (the `events:source` and
    `events:detail-type` condition keys): the role cannot speak for another emitter."""
    stack = Stack.of(role)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["events:PutEvents"],
            resources=[
                stack.format_arn(service="events", resource="event-bus", resource_name="default")
            ],
            conditions={
                "StringEquals": {
                    "events:source": source,
                    "events:detail-type": sorted(detail_types),
                }
            },
        )
    )
