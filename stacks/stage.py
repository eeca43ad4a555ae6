"""One deployable environment (an AWS account + region): all stacks of the platform."""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from stacks.data_stack import DataStack
from stacks.ingest_stack import IngestStack
from stacks.ml_stack import MlStack
from stacks.monitoring_stack import MonitoringStack
from stacks.naming import resource_prefix
from stacks.notifications_stack import NotificationsStack
from stacks.settings import AppSettings, EnvironmentSettings


class PlatformStage(Stage):
    """Every stack of one environment, grouped by lifecycle (data first)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: AppSettings,
        environment: EnvironmentSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=environment.account, region=environment.region),
            **kwargs,
        )
        prefix = resource_prefix(settings.project, environment.name)
        Tags.of(self).add("project", settings.project)
        Tags.of(self).add("environment", environment.name)

        self.data = DataStack(
            self,
            "Data",
            stack_name=f"{prefix}-data",
            description=f"{settings.project} {environment.name}: KMS key and S3 buckets",
            project=settings.project,
            environment=environment,
            termination_protection=environment.is_production,
        )
        self.notifications = NotificationsStack(
            self,
            "Notifications",
            stack_name=f"{prefix}-notifications",
            description=f"{settings.project} {environment.name}: alert and decision topics",
            project=settings.project,
            environment_name=environment.name,
            settings=environment.notifications,
            encryption_key=self.data.key,
        )
        self.ml = MlStack(
            self,
            "Ml",
            stack_name=f"{prefix}-ml",
            description=f"{settings.project} {environment.name}: SageMaker pipelines and registry",
            project=settings.project,
            package_types=settings.package_types,
            environment=environment,
            data_bucket_name=self.data.data_bucket_name,
            artifacts_bucket=self.data.artifacts_bucket,
            artifacts_bucket_name=self.data.artifacts_bucket_name,
            key=self.data.key,
            redshift_role=self.data.redshift_role,
        )
        self.ingest = IngestStack(
            self,
            "Ingest",
            stack_name=f"{prefix}-ingest",
            description=f"{settings.project} {environment.name}: extract schedules and trigger",
            project=settings.project,
            package_types=settings.package_types,
            environment=environment,
            data_bucket=self.data.data_bucket,
            data_bucket_name=self.data.data_bucket_name,
            key=self.data.key,
            redshift_role=self.data.redshift_role,
        )
        # Pipelines exist before anything can start them.
        self.ingest.add_stack_dependency(self.ml)
        self.monitoring = MonitoringStack(
            self,
            "Monitoring",
            stack_name=f"{prefix}-monitoring",
            description=f"{settings.project} {environment.name}: notifications, alarms, dashboard",
            project=settings.project,
            package_types=settings.package_types,
            environment=environment,
            key=self.data.key,
            artifacts_bucket_name=self.data.artifacts_bucket_name,
            alerts_topic=self.notifications.alerts_topic,
            decisions_topic=self.notifications.decisions_topic,
            functions=[*self.ml.functions, *self.ingest.functions],
            dead_letter_queues={**self.ml.dead_letter_queues, **self.ingest.dead_letter_queues},
        )
