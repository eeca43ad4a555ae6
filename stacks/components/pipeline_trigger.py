"""The run-file trigger: an S3 'Object Created' under runs/ starts the pipelines it names."""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from pkgml_contracts.notifications import detail_types, event_source
from stacks.components.access import (
    READ,
    READ_WRITE,
    allow_key,
    allow_listing,
    allow_objects,
    allow_put_events,
)
from stacks.components.function import PlatformFunction
from stacks.components.queues import dead_letter_queue
from stacks.naming import DataPrefixes


class PipelineTrigger(Construct):
    """Lambda `lambda_src/trigger` behind an EventBridge rule on the data bucket's run files.

    The function may read run files and manifests, write quarantine copies and
    de-duplication claims, start exactly `pipelines` (names), and put its own events
    (`<project>.trigger`) on the default bus for the notify function.
    Failed deliveries land in `rule_dead_letter_queue`; failed invocations in the
    function's own queue.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        environment_name: str,
        data_bucket: s3.IBucket,
        data_bucket_name: str,
        key: kms.IKey,
        pipelines: dict[str, dict[str, str]],
        architecture_pipelines: dict[str, dict[str, str]],
        architecture_catalog: str,
        package_types: tuple[str, ...],
        reserved_concurrency: int,
        max_run_file_bytes: int,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PlatformFunction(
            self,
            "Handler",
            folder="trigger",
            handler="trigger_handler.handler",
            description=f"{environment_name}: starts SageMaker pipelines from run files",
            encryption_key=key,
            removal_policy=removal_policy,
            reserved_concurrency=reserved_concurrency,
            timeout_seconds=120,
            environment={
                "ENVIRONMENT": environment_name,
                "PROJECT": project,
                "DATA_BUCKET": data_bucket_name,
                "PIPELINES": json.dumps(pipelines, sort_keys=True, separators=(",", ":")),
                "PACKAGE_TYPES": json.dumps(list(package_types), separators=(",", ":")),
                "MAX_RUN_FILE_BYTES": str(max_run_file_bytes),
                "RUNS_PREFIX": DataPrefixes.RUNS,
                "QUARANTINE_PREFIX": DataPrefixes.QUARANTINE,
                "STATE_PREFIX": DataPrefixes.TRIGGER_STATE,
                "ARCHITECTURE_PIPELINES": json.dumps(
                    architecture_pipelines, sort_keys=True, separators=(",", ":")
                ),
                # The configured architecture trains in the package type's own pipeline.
                "DEFAULT_ARCHITECTURES": json.dumps(
                    {
                        package_type: architecture
                        for package_type, by_arch in architecture_pipelines.items()
                        for architecture, name in by_arch.items()
                        if name == pipelines["training"][package_type]
                    },
                    sort_keys=True,
                    separators=(",", ":"),
                ),
            },
            # The deployed architectures' declarations: run files are checked against them.
            generated_files={"architectures.json": architecture_catalog},
        )
        role = self.handler.role
        for prefix, actions, why in (
            (
                DataPrefixes.RUNS,
                (*READ, "s3:GetObjectVersion"),
                "holds the run files it validates (read at the version the event names)",
            ),
            (DataPrefixes.UNLOAD, READ, "holds the manifests run files point to"),
            (
                DataPrefixes.QUARANTINE,
                READ_WRITE,
                "receives copies of rejected run files and their error reports",
            ),
            (
                DataPrefixes.TRIGGER_STATE,
                (*READ_WRITE, "s3:DeleteObject"),
                "holds its de-duplication claims (released when a start fails)",
            ),
        ):
            allow_objects(
                role, bucket_name=data_bucket_name, prefix=prefix, actions=actions, why=why
            )
        allow_listing(
            role,
            bucket_name=data_bucket_name,
            # trigger-state/ too: without ListBucket, S3 answers a missing claim with 403
            # (AccessDenied) instead of 404 (NoSuchKey).
            prefixes=[
                DataPrefixes.RUNS,
                DataPrefixes.UNLOAD,
                DataPrefixes.QUARANTINE,
                DataPrefixes.TRIGGER_STATE,
            ],
        )
        allow_key(role, key)  # the data bucket is SSE-KMS
        allow_put_events(
            role, source=event_source(project, "trigger"), detail_types=detail_types("trigger")
        )
        stack = Stack.of(self)
        pipeline_arns = sorted(
            stack.format_arn(service="sagemaker", resource="pipeline", resource_name=name)
            for name in {n for by_type in pipelines.values() for n in by_type.values()}
            | {n for by_arch in architecture_pipelines.values() for n in by_arch.values()}
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="StartOnlyThisEnvironmentsPipelines",
                actions=["sagemaker:StartPipelineExecution"],
                resources=sorted(set(pipeline_arns)),
            )
        )
        # Before starting, the trigger checks that no execution of the same run is running.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="SeeThisEnvironmentsExecutions",
                actions=["sagemaker:ListPipelineExecutions"],
                resources=sorted(set(pipeline_arns)),
            )
        )

        self.rule_dead_letter_queue = dead_letter_queue(
            self,
            "UndeliveredEvents",
            removal_policy=removal_policy,
            holds="run-file events EventBridge could not deliver to the trigger",
            key=key,
        )
        self.rule = events.Rule(
            self,
            "RunFileCreated",
            description=f"{environment_name}: a run file landed under {DataPrefixes.RUNS}",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [data_bucket_name]},
                    "object": {"key": [{"prefix": DataPrefixes.RUNS}]},
                },
            ),
            targets=[self.handler.rule_target(self.rule_dead_letter_queue)],
        )
