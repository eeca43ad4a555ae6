"""One deployable environment (an AWS account + region): all stacks of the platform."""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from stacks.data_stack import DataStack
from stacks.naming import resource_prefix
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
