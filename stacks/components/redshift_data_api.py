"""Grant a role the Redshift Data API on the configured warehouse, and nothing more."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam

from stacks.components.access import acknowledge_wildcard_resource
from stacks.settings import RedshiftSettings


def warehouse_arn(stack: Stack, redshift: RedshiftSettings) -> str:
    """The cluster ARN, or this account's workgroups (their ARNs carry a generated id)."""
    if redshift.cluster_identifier:
        return stack.format_arn(
            service="redshift",
            resource="cluster",
            resource_name=redshift.cluster_identifier,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
    return stack.format_arn(service="redshift-serverless", resource="workgroup", resource_name="*")


def allow_data_api(
    role: iam.Role,
    redshift: RedshiftSettings,
    *,
    batch: bool = False,
    list_statements: bool = False,
) -> None:
    """Run statements (`batch`: also BatchExecuteStatement) and read their status and errors;
    `list_statements`: also find the role's own statements by name (ListStatements).

    Credentials follow the configured auth: the secret, temporary cluster
    credentials for `db_user`, or Serverless IAM credentials.
    """
    stack = Stack.of(role)
    target = warehouse_arn(stack, redshift)
    if not redshift.cluster_identifier:
        acknowledge_wildcard_resource(
            role,
            target,
            reason="Serverless workgroup ARNs contain a generated id unknown at synth; the "
            "workgroup is named in each statement and limited to this account and region.",
        )
    actions = ["redshift-data:ExecuteStatement"] + (
        ["redshift-data:BatchExecuteStatement"] if batch else []
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(sid="SubmitStatements", actions=actions, resources=[target])
    )
    if redshift.secret_arn:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadWarehouseSecret",
                actions=["secretsmanager:GetSecretValue"],
                resources=[redshift.secret_arn],
            )
        )
    elif redshift.cluster_identifier and redshift.db_user:
        cluster = redshift.cluster_identifier
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="TemporaryDatabaseCredentials",
                actions=["redshift:GetClusterCredentials"],
                resources=[
                    stack.format_arn(
                        service="redshift",
                        resource="dbuser",
                        resource_name=f"{cluster}/{redshift.db_user}",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    ),
                    stack.format_arn(
                        service="redshift",
                        resource="dbname",
                        resource_name=f"{cluster}/{redshift.database}",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    ),
                ],
            )
        )
    else:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ServerlessIamCredentials",
                actions=["redshift-serverless:GetCredentials"],
                resources=[target],
            )
        )
    # Status and errors: no resource-level permissions exist; the Data API itself only
    # shows a principal the statements it submitted (statement owner).
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="ReadOwnStatementStatus",
            # A loader cancels its own transaction when its deadline passes; the extract
            # runner's sweeper finds a statement whose start died before recording its id.
            actions=["redshift-data:DescribeStatement"]
            + (["redshift-data:CancelStatement"] if batch else [])
            + (["redshift-data:ListStatements"] if list_statements else []),
            resources=["*"],
        )
    )
    acknowledge_wildcard_resource(
        role,
        "*",
        reason="Actions without resource types (redshift-data:DescribeStatement and the "
        "like) are granted on '*'; each such grant is listed in this role's policy.",
    )
