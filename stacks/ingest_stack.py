"""Ingest and triggers of one environment: extract schedules, the Redshift role, the trigger."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.components.pipeline_trigger import PipelineTrigger
from stacks.components.redshift_access import RedshiftAccessRole
from stacks.components.scheduled_extract import ScheduledExtract
from stacks.naming import DataPrefixes, pipelines_by_run_kind, resource_prefix
from stacks.settings import EnvironmentSettings


class IngestStack(Stack):
    """Schedules -> UNLOAD -> run file -> trigger -> pipelines.

    Exposes `redshift_role`, `extract` and `trigger` for monitoring.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        package_types: tuple[str, ...],
        environment: EnvironmentSettings,
        data_bucket: s3.IBucket,
        data_bucket_name: str,
        key: kms.IKey,
        alerts_topic: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = (
            RemovalPolicy.DESTROY
            if environment.removal_policy == "destroy"
            else RemovalPolicy.RETAIN
        )
        self.redshift_role = RedshiftAccessRole(
            self,
            "RedshiftAccess",
            bucket_name=data_bucket_name,
            key=key,
            unload_prefix=DataPrefixes.UNLOAD,
            copy_prefix=DataPrefixes.PREDICTIONS,
        ).role
        CfnOutput(
            self,
            "RedshiftRoleArn",
            value=self.redshift_role.role_arn,
            description="Associate this role with the Redshift cluster / namespace (README)",
        )
        self.extract = ScheduledExtract(
            self,
            "Extract",
            statement_prefix=f"{resource_prefix(project, environment.name)}-",
            environment_name=environment.name,
            package_types=package_types,
            redshift=environment.redshift,
            schedules=environment.schedules,
            unload_role=self.redshift_role,
            data_bucket_name=data_bucket_name,
            key=key,
            alerts_topic=alerts_topic,
            removal_policy=removal,
        )
        self.trigger = PipelineTrigger(
            self,
            "Trigger",
            environment_name=environment.name,
            data_bucket=data_bucket,
            key=key,
            alerts_topic=alerts_topic,
            data_bucket_name=data_bucket_name,
            pipelines=pipelines_by_run_kind(project, environment.name, package_types),
            package_types=package_types,
            reserved_concurrency=environment.trigger.reserved_concurrency,
            max_run_file_bytes=environment.trigger.max_run_file_bytes,
            removal_policy=removal,
        )
