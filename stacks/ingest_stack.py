"""Ingest and triggers of one environment: extract schedules, the Redshift role, the trigger."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from pipeline_defs.architectures import architectures
from pkgml_contracts.architectures import catalog_json
from stacks.components.lifecycle import removal_policy
from stacks.components.pipeline_trigger import PipelineTrigger
from stacks.components.scheduled_extract import ScheduledExtract
from stacks.naming import architecture_pipelines, pipelines_by_run_kind, resource_prefix
from stacks.settings import EnvironmentSettings


class IngestStack(Stack):
    """Schedules -> UNLOAD -> run file -> trigger -> pipelines.

    `redshift_role` (from the data stack) is the role the UNLOAD names. Exposes
    `extract` and `trigger` for monitoring.
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
        redshift_role: iam.IRole,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = removal_policy(environment)
        self.extract = ScheduledExtract(
            self,
            "Extract",
            project=project,
            statement_prefix=f"{resource_prefix(project, environment.name)}-",
            environment_name=environment.name,
            package_types=package_types,
            redshift=environment.redshift,
            schedules=environment.schedules,
            unload_role=redshift_role,
            data_bucket_name=data_bucket_name,
            key=key,
            removal_policy=removal,
        )
        known = architectures()
        deployed = {t: environment.deployed_architectures(t) for t in package_types}
        self.trigger = PipelineTrigger(
            self,
            "Trigger",
            project=project,
            environment_name=environment.name,
            data_bucket=data_bucket,
            key=key,
            data_bucket_name=data_bucket_name,
            pipelines=pipelines_by_run_kind(project, environment.name, package_types),
            architecture_pipelines=architecture_pipelines(project, environment.name, deployed),
            architecture_catalog=catalog_json(
                {name: known[name] for names in deployed.values() for name in names}
            ),
            package_types=package_types,
            reserved_concurrency=environment.trigger.reserved_concurrency,
            max_run_file_bytes=environment.trigger.max_run_file_bytes,
            removal_policy=removal,
        )
        self.functions = [self.trigger.handler, self.extract.runner]
        self.dead_letter_queues = {
            "trigger-failed-invocations": self.trigger.handler.dead_letter_queue,
            "trigger-undelivered-events": self.trigger.rule_dead_letter_queue,
            "extract-failed-invocations": self.extract.runner.dead_letter_queue,
            "extract-undelivered-events": self.extract.statement_events_dead_letter_queue,
            "extract-undelivered-schedules": self.extract.schedule_dead_letter_queue,
        }
