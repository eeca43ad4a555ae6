"""Scheduled Redshift UNLOADs: three schedules, the function that runs and finishes them, and
the hourly sweep that settles what a lost status event left behind."""

from __future__ import annotations

import json

from aws_cdk import (
    Duration,
    RemovalPolicy,
    Stack,
    TimeZone,
)
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from constructs import Construct

from pkgml_contracts.notifications import detail_types, event_source
from pkgml_contracts.runs import RUN_KINDS, setting_key
from stacks.components.access import (
    READ,
    READ_WRITE,
    acknowledge_wildcard_resource,
    allow_key,
    allow_listing,
    allow_objects,
    allow_put_events,
    service_of_this_account,
)
from stacks.components.function import PlatformFunction
from stacks.components.queues import dead_letter_queue
from stacks.components.redshift_data_api import allow_data_api
from stacks.naming import DataPrefixes
from stacks.settings import RedshiftSettings, Schedule, SchedulesSettings

# Schedule setting name -> run kind (the run file's `kind`).
SCHEDULED_KINDS = {setting_key(kind): kind for kind in RUN_KINDS}


class ScheduledExtract(Construct):
    """UNLOAD through the Redshift Data API on a schedule; a run file when it finishes.

    `runner` renders the versioned SQL for a run kind and submits it with
    `WithEvent=True`, encrypted with `key` (SSE-KMS); the Data API's "statement status
    change" event invokes the same function again, which writes
    `runs/<kind>/<run_id>.json` on success, and on failure puts an "Extract Failed" event
    (`<project>.extract`) on the default bus for the notify function. Nothing waits on
    Redshift. Those events are best-effort, so `sweep_schedule` (default hourly,
    `sweep_expression`) invokes the function with {"action": "sweep"}: statements
    submitted more than `sweep_after_minutes` (default 15) ago are settled through
    DescribeStatement, and starts that died before recording their statement through
    ListStatements.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        statement_prefix: str,
        environment_name: str,
        package_types: tuple[str, ...],
        redshift: RedshiftSettings,
        schedules: SchedulesSettings,
        unload_role: iam.IRole,
        data_bucket_name: str,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
        sweep_expression: str = "rate(1 hour)",
        sweep_after_minutes: int = 15,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= sweep_after_minutes <= 1440:
            raise ValueError("sweep_after_minutes must be 1-1440")
        stack = Stack.of(self)
        connection = {"REDSHIFT_DATABASE": redshift.database}
        if redshift.cluster_identifier:
            connection["REDSHIFT_CLUSTER_ID"] = redshift.cluster_identifier
        if redshift.workgroup:
            connection["REDSHIFT_WORKGROUP"] = redshift.workgroup
        if redshift.secret_arn:
            connection["REDSHIFT_SECRET_ARN"] = redshift.secret_arn
        if redshift.db_user:
            connection["REDSHIFT_DB_USER"] = redshift.db_user
        # One function submits and finishes: the Data API lets only the principal that
        # submitted a statement describe it (statement owner = role session).
        self.runner = PlatformFunction(
            self,
            "Runner",
            folder="extract",
            handler="extract_handler.handler",
            description=f"{environment_name}: submits scheduled UNLOADs, writes run files",
            encryption_key=key,
            removal_policy=removal_policy,
            environment={
                "ENVIRONMENT": environment_name,
                "PROJECT": project,
                "DATA_BUCKET": data_bucket_name,
                "STATEMENT_PREFIX": statement_prefix,
                "PACKAGE_TYPES": json.dumps(list(package_types), separators=(",", ":")),
                **connection,
                "REDSHIFT_UNLOAD_ROLE_ARN": unload_role.role_arn,
                # UNLOAD ... ENCRYPTED KMS_KEY_ID: without it Redshift writes SSE-S3
                "UNLOAD_KMS_KEY_ARN": key.key_arn,
                "UNLOAD_MAX_FILE_SIZE_MB": str(redshift.unload_max_file_size_mb),
                "SWEEP_AFTER_SECONDS": str(sweep_after_minutes * 60),
            },
        )
        allow_data_api(self.runner.role, redshift, list_statements=True)
        role = self.runner.role
        for prefix, actions, why in (
            (
                DataPrefixes.EXTRACT_STATE,
                (*READ_WRITE, "s3:DeleteObject"),
                "tracks its in-flight UNLOAD statements (claims released on failure)",
            ),
            (DataPrefixes.UNLOAD, READ, "holds the manifests it checks before writing a run"),
            (DataPrefixes.RUNS, READ_WRITE, "is where it writes run files"),
        ):
            allow_objects(
                role, bucket_name=data_bucket_name, prefix=prefix, actions=actions, why=why
            )
        allow_listing(
            role,
            bucket_name=data_bucket_name,
            prefixes=[DataPrefixes.EXTRACT_STATE, DataPrefixes.RUNS, DataPrefixes.UNLOAD],
        )
        allow_key(role, key)  # the data bucket is SSE-KMS
        allow_put_events(
            role, source=event_source(project, "extract"), detail_types=detail_types("extract")
        )

        self.statement_events_dead_letter_queue = dead_letter_queue(
            self,
            "UndeliveredStatementEvents",
            removal_policy=removal_policy,
            holds="UNLOAD status events EventBridge could not deliver",
            key=key,
        )
        self.finished_rule = events.Rule(
            self,
            "StatementFinished",
            description=f"{environment_name}: an extract's UNLOAD statement ended",
            event_pattern=events.EventPattern(
                source=["aws.redshift-data"],
                detail_type=["Redshift Data Statement Status Change"],
                detail={
                    "statementName": [{"prefix": statement_prefix}],
                    "state": ["FINISHED", "FAILED", "ABORTED"],
                },
            ),
            targets=[self.runner.rule_target(self.statement_events_dead_letter_queue)],
        )

        self.schedule_dead_letter_queue = dead_letter_queue(
            self,
            "UndeliveredSchedules",
            removal_policy=removal_policy,
            holds="schedule firings EventBridge Scheduler could not deliver",
            key=key,
        )
        # Scheduler may invoke the runner (the CDK grant adds the function's versions, `:*`).
        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=service_of_this_account(stack, "scheduler.amazonaws.com"),
            description=f"{environment_name}: EventBridge Scheduler invokes the extract runner",
        )
        # The CDK's dead-letter grant is sqs:SendMessage only; the queue is SSE-KMS.
        allow_key(self.scheduler_role, key)
        acknowledge_wildcard_resource(
            self.scheduler_role,
            f"{self.runner.function.function_arn}:*",
            reason="The CDK's invoke grant also covers the runner's versions and aliases.",
        )
        self.schedules: dict[str, scheduler.Schedule] = {}
        for setting_name, kind in SCHEDULED_KINDS.items():
            schedule: Schedule = getattr(schedules, setting_name)
            self.schedules[kind] = scheduler.Schedule(
                self,
                f"Schedule-{kind}",
                description=f"{environment_name}: {kind} extract ({schedule.expression})",
                schedule=scheduler.ScheduleExpression.expression(
                    schedule.expression, time_zone=TimeZone.of(schedules.timezone)
                ),
                enabled=schedule.enabled,
                time_window=(
                    scheduler.TimeWindow.flexible(
                        Duration.minutes(schedules.flexible_window_minutes)
                    )
                    if schedules.flexible_window_minutes
                    else scheduler.TimeWindow.off()
                ),
                target=scheduler_targets.LambdaInvoke(
                    self.runner.function,
                    # The scheduled (not actual) time names the run, so a late retry
                    # of the same firing still resolves to the same run id.
                    input=scheduler.ScheduleTargetInput.from_object(
                        {"kind": kind, "scheduled_time": scheduler.ContextAttribute.scheduled_time}
                    ),
                    dead_letter_queue=self.schedule_dead_letter_queue,
                    role=self.scheduler_role,
                    retry_attempts=3,
                    max_event_age=Duration.hours(2),
                ),
            )
        # Status events are best-effort: settle what a lost one (or a crashed start) left.
        self.sweep_schedule = scheduler.Schedule(
            self,
            "Schedule-sweep",
            description=f"{environment_name}: settle extracts whose status event was lost "
            f"({sweep_expression})",
            schedule=scheduler.ScheduleExpression.expression(
                sweep_expression, time_zone=TimeZone.of(schedules.timezone)
            ),
            time_window=scheduler.TimeWindow.off(),
            target=scheduler_targets.LambdaInvoke(
                self.runner.function,
                input=scheduler.ScheduleTargetInput.from_object({"action": "sweep"}),
                dead_letter_queue=self.schedule_dead_letter_queue,
                role=self.scheduler_role,
                retry_attempts=3,
                max_event_age=Duration.hours(1),  # the next sweep replaces a later one
            ),
        )
