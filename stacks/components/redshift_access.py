"""The IAM role Redshift assumes to UNLOAD into and COPY from the data bucket."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.components.access import READ, READ_WRITE, allow_key, allow_listing, allow_objects


def redshift_service_principals(*, serverless: bool) -> tuple[str, ...]:
    """The services that assume the UNLOAD/COPY role: a Serverless namespace needs both.

    AWS: "Granting permissions to Amazon Redshift Serverless": a role used by a
    Serverless workgroup must trust redshift.amazonaws.com and
    redshift-serverless.amazonaws.com; a provisioned cluster assumes it as redshift.
    """
    if serverless:
        return ("redshift-serverless.amazonaws.com", "redshift.amazonaws.com")
    return ("redshift.amazonaws.com",)


class RedshiftAccessRole(Construct):
    """Role for `UNLOAD ... IAM_ROLE` / `COPY ... IAM_ROLE`, scoped to exact prefixes.

    Redshift may write (and read back) objects under `unload_prefix`, read
    objects under `copy_prefix`, list only those two prefixes, and use `key` for
    SSE-KMS. Trusted by the services of the configured Redshift kind
    (`serverless`: a workgroup; else a provisioned cluster). Associate `role` with
    the cluster or namespace (see the README).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        key: kms.IKey,
        unload_prefix: str,
        copy_prefix: str,
        serverless: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.CompositePrincipal(
                *(
                    iam.ServicePrincipal(service)
                    for service in redshift_service_principals(serverless=serverless)
                )
            ),
            description="Assumed by Redshift to UNLOAD extracts and COPY predictions",
        )
        allow_objects(
            self.role,
            bucket_name=bucket_name,
            prefix=unload_prefix,
            actions=READ_WRITE,
            why="is where UNLOAD writes extracts and their manifests",
        )
        allow_objects(
            self.role,
            bucket_name=bucket_name,
            prefix=copy_prefix,
            actions=READ,
            why="holds the predictions COPY loads into Redshift",
        )
        allow_listing(self.role, bucket_name=bucket_name, prefixes=[unload_prefix, copy_prefix])
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation"],
                resources=[f"arn:{self.role.stack.partition}:s3:::{bucket_name}"],
            )
        )
        allow_key(self.role, key)
