"""Data layer of one environment: the KMS key and the three buckets."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.components.lifecycle import removal_policy
from stacks.components.redshift_access import RedshiftAccessRole
from stacks.components.secure_bucket import AccessLogsBucket, SecureBucket
from stacks.naming import DataPrefixes, bucket_name, resource_prefix
from stacks.settings import EnvironmentSettings


class DataStack(Stack):
    """KMS key (rotation on), data, artifacts and access-logs buckets, Redshift's S3 role.

    Exposes `key`, `data_bucket`, `artifacts_bucket`, `access_logs_bucket` (and
    the buckets' names as plain strings) for the other stacks of the stage, and
    `redshift_role`, which Redshift assumes to UNLOAD extracts and COPY predictions.
    RETAIN in prod; DESTROY only where the environment's `removal_policy` says so.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        environment: EnvironmentSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = removal_policy(environment)
        prefix = resource_prefix(project, environment.name)

        def name_for(purpose: str) -> str:
            return bucket_name(
                project, environment.name, purpose, environment.account, environment.region
            )

        # Plain strings (not tokens): other stacks scope IAM policies to exact prefixes.
        self.data_bucket_name = name_for("data")
        self.artifacts_bucket_name = name_for("artifacts")

        self.key = kms.Key(
            self,
            "DataKey",
            alias=f"alias/{prefix}-data",
            description=f"Encrypts {prefix} data, artifacts, pipeline volumes and topics",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=Duration.days(30),
        )
        self._allow_services_to_use_key()

        logs = AccessLogsBucket(
            self,
            "AccessLogs",
            bucket_name=name_for("access-logs"),
            removal_policy=removal,
            expiry_days=environment.data.access_log_expiry_days,
        )
        self.access_logs_bucket = logs.bucket
        Validations.of(logs.bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the server access log target; logging it into itself would loop.",
            )
        )

        self.data_bucket = SecureBucket(
            self,
            "Data",
            bucket_name=self.data_bucket_name,
            encryption_key=self.key,
            access_logs_bucket=self.access_logs_bucket,
            removal_policy=removal,
            noncurrent_version_expiry_days=environment.data.noncurrent_version_expiry_days,
            event_bridge_enabled=True,  # run files trigger pipelines through EventBridge
            extra_lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-raw-unloads",
                    prefix=DataPrefixes.UNLOAD,
                    expiration=Duration.days(environment.data.raw_unload_expiry_days),
                )
            ],
        ).bucket

        self.artifacts_bucket = SecureBucket(
            self,
            "Artifacts",
            bucket_name=self.artifacts_bucket_name,
            encryption_key=self.key,
            access_logs_bucket=self.access_logs_bucket,
            removal_policy=removal,
            noncurrent_version_expiry_days=environment.data.noncurrent_version_expiry_days,
        ).bucket

        self.redshift_role = RedshiftAccessRole(
            self,
            "RedshiftAccess",
            bucket_name=self.data_bucket_name,
            key=self.key,
            unload_prefix=DataPrefixes.UNLOAD,
            copy_prefix=DataPrefixes.PREDICTIONS,
            serverless=environment.redshift.workgroup is not None,
        ).role
        CfnOutput(
            self,
            "RedshiftRoleArn",
            value=self.redshift_role.role_arn,
            description="Associate this role with the Redshift cluster / namespace (README)",
        )

    def _allow_services_to_use_key(self) -> None:
        """Key policy for the services that encrypt with the key on this account's behalf."""
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsEncryptLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:DescribeKey",
                ],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:*"
                        )
                    }
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsAndRulesPublishToEncryptedTopicsAndQueues",
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
