"""Monitoring of one environment: readable notifications, alarms, and a dashboard.

- EventBridge rules send pipeline failures, failed steps, model decisions, the trigger's
  and the extract runner's events (`<project>.trigger`, `<project>.extract`) and the
  state changes of this environment's alarms to the notify Lambda, which publishes a
  readable message (what broke, where, why, what to do next) to the alerts or decisions
  topic. Notify is the only writer of those messages.
- The alarms: pipeline execution failures, each Lambda's errors and throttles, every
  dead-letter queue not empty, scheduler target errors, no successful training for N
  days, gate deviations beyond bounds, rejections in a row, input drift. They reach people
  through notify (the alarm rule), except the alarms that watch the notifier itself
  (`<prefix>-notifier-...`): those keep a direct SNS action on the alerts topic, so a
  broken notifier cannot silence its own alarm. `pkgml_contracts.notifications.
  through_notify` decides both, from the alarm's name.
- A dashboard (cdk-monitoring-constructs): per package type a row of what the gate
  measured (both scores, each deviation with its alarm bound, the decisions), the
  SageMaker pipelines' executions and durations, each Lambda function, and one compact
  row for every dead-letter queue.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import cdk_monitoring_constructs as monitoring
import jsii
from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from pkgml_contracts import metrics as gate_metrics
from pkgml_contracts.notifications import (
    NOTIFIER,
    alarm_prefix,
    detail_types,
    event_source,
    notifier_alarm_prefix,
    through_notify,
)
from pkgml_contracts.runs import INFERENCE_KINDS, PIPELINE_KINDS
from stacks.components.access import (
    READ,
    acknowledge_wildcard_resource,
    allow_key,
    allow_objects,
    allow_publish,
)
from stacks.components.function import PlatformFunction
from stacks.components.lifecycle import removal_policy
from stacks.components.queues import dead_letter_queue
from stacks.naming import (
    ArtifactPrefixes,
    model_package_group_name,
    pipeline_name,
    resource_prefix,
)
from stacks.settings import EnvironmentSettings

PIPELINE_NAMESPACE = gate_metrics.PIPELINE_NAMESPACE
INFERENCE_RUN_KINDS = tuple(sorted(INFERENCE_KINDS))
SCHEDULER_NAMESPACE = "AWS/Scheduler"


def _pipeline_metric(
    pipeline: str, metric_name: str, *, statistic: str, period: Duration, label: str | None = None
) -> cloudwatch.Metric:
    """A SageMaker Pipelines metric of one pipeline (`PipelineName` dimension)."""
    return cloudwatch.Metric(
        namespace=PIPELINE_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"PipelineName": pipeline},
        statistic=statistic,
        period=period,
        label=label,
    )


def _gate_metric(
    metric_name: str, dimensions: Mapping[str, str], *, statistic: str, label: str | None = None
) -> cloudwatch.Metric:
    """A daily gate metric of one model group (the gate publishes once per training run)."""
    return cloudwatch.Metric(
        namespace=gate_metrics.GATE_NAMESPACE,
        metric_name=metric_name,
        dimensions_map=dict(dimensions),
        statistic=statistic,
        period=Duration.days(1),
        label=label,
    )


@jsii.implements(monitoring.IAlarmConsumer)
class _Collect:
    """Keeps the alarms a cdk-monitoring-constructs monitor created."""

    def __init__(self, into: list[cloudwatch.IAlarm]) -> None:
        self.into = into

    def consume(self, alarms: Sequence[monitoring.AlarmWithAnnotation | dict[str, Any]]) -> None:
        self.into.extend(
            alarm.alarm if isinstance(alarm, monitoring.AlarmWithAnnotation) else alarm["alarm"]
            for alarm in alarms
        )


class MonitoringStack(Stack):
    """Rules -> notify Lambda -> topics (alarms too, but the notifier's own, which act on
    the alerts topic directly); one dashboard.

    Exposes `notifier`, `alarms` ({name: alarm}), `rules` and `dashboard` (or None).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        package_types: tuple[str, ...],
        environment: EnvironmentSettings,
        key: kms.IKey,
        artifacts_bucket_name: str,
        alerts_topic: sns.ITopic,
        decisions_topic: sns.ITopic,
        functions: Sequence[PlatformFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        env_name = environment.name
        self.project, self.environment_name = project, env_name
        self.prefix = resource_prefix(project, env_name)
        self.settings = environment.monitoring
        removal = self.removal = removal_policy(environment)
        self.key = key
        self.alarm_action = cloudwatch_actions.SnsAction(alerts_topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        self.notifier = self._notifier(
            project,
            package_types,
            env_name,
            key,
            artifacts_bucket_name,
            alerts_topic,
            decisions_topic,
            removal,
        )
        self._rules(self.notifier, project, env_name)

        pipelines: dict[tuple[str, str], str] = {
            (package_type, kind): pipeline_name(project, env_name, kind, package_type)
            for package_type in package_types
            for kind in PIPELINE_KINDS
        }
        groups = {p: model_package_group_name(project, env_name, p) for p in package_types}
        self._pipeline_alarms(pipelines)
        self._gate_alarms(groups)
        self._drift_alarms(groups)
        self._scheduler_alarms()

        facade = monitoring.MonitoringFacade(
            self,
            "Facade",
            # No action by default: `_alarm_actions` gives the notifier's own alarms theirs.
            alarm_factory_defaults=monitoring.AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=self.prefix,
            ),
            metric_factory_defaults=monitoring.MetricFactoryDefaults(),
            dashboard_factory=(
                monitoring.DefaultDashboardFactory(
                    self,
                    "Dashboards",
                    dashboard_name_prefix=self.prefix,
                    create_dashboard=True,
                    create_summary_dashboard=False,
                    create_alarm_dashboard=False,
                )
                if self.settings.dashboard
                else None
            ),
        )
        facade.add_large_header(f"{self.prefix}: packaging ML platform")
        self._model_widgets(facade, groups, environment)
        self._pipeline_widgets(facade, pipelines)
        for function in [*functions, self.notifier]:
            # e.g. "Ingest-Trigger-Handler": unique, and readable in the alarm name
            friendly = "-".join(function.node.path.split("/")[1:])
            own = function is self.notifier
            facade.monitor_lambda_function(
                lambda_function=function.function,
                # the notifier's own alarms are named under `<prefix>-notifier-`
                alarm_friendly_name=NOTIFIER if own else friendly,
                human_readable_name=f"{self.prefix} {friendly}",
                add_fault_count_alarm={
                    "Errors": monitoring.ErrorCountThreshold(
                        max_error_count=0,
                        alarm_description_override=(
                            self._notifier_runbook("Errors") if own else None
                        ),
                    )
                },
                add_throttles_count_alarm={
                    "Throttles": monitoring.ErrorCountThreshold(
                        max_error_count=0,
                        alarm_description_override=(
                            self._notifier_runbook("Throttles") if own else None
                        ),
                    )
                },
            )
        own_queues = {
            "notify-failed-invocations": self.notifier.dead_letter_queue,
            "notify-undelivered-events": self.rule_dead_letter_queue,
        }
        queues = {**dead_letter_queues, **own_queues}
        queue_alarms: list[cloudwatch.IAlarm] = []
        for name, queue in sorted(queues.items()):
            own = name in own_queues
            # The alarms as the library makes them; on the dashboard, one compact row.
            facade.monitor_sqs_queue(
                queue=queue,
                human_readable_name=f"{self.prefix} {name}",
                alarm_friendly_name=name.replace("notify-", f"{NOTIFIER}-") if own else name,
                add_queue_max_size_alarm={
                    "NotEmpty": monitoring.MaxMessageCountThreshold(
                        max_message_count=0,
                        alarm_description_override=(
                            self._notifier_queue_runbook(queue) if own else None
                        ),
                    )
                },
                add_to_detail_dashboard=False,
                use_created_alarms=_Collect(queue_alarms),
            )
        self._health_row(facade, queues, queue_alarms)
        self.dashboard = facade.created_dashboard() if self.settings.dashboard else None
        self._alarm_actions(project, env_name)

    # ------------------------------------------------------------------ notifications

    def _notifier(
        self,
        project: str,
        package_types: tuple[str, ...],
        env_name: str,
        key: kms.IKey,
        artifacts_bucket_name: str,
        alerts_topic: sns.ITopic,
        decisions_topic: sns.ITopic,
        removal: RemovalPolicy,
    ) -> PlatformFunction:
        notifier = PlatformFunction(
            self,
            "Notify",
            folder="notify",
            handler="notify_handler.handler",
            description=f"{env_name}: the platform's readable notifications (events, alarms)",
            encryption_key=key,
            removal_policy=removal,
            timeout_seconds=30,
            environment={
                "ENVIRONMENT": env_name,
                "PROJECT": project,
                "ALERTS_TOPIC_ARN": alerts_topic.topic_arn,
                "DECISIONS_TOPIC_ARN": decisions_topic.topic_arn,
                "REGION": self.region,
                "PACKAGE_TYPES": json.dumps(list(package_types), separators=(",", ":")),
                "LOOKUPS": "true",
                # a succeeded inference run's drift.json (news when its batch drifted)
                "ARTIFACTS_BUCKET": artifacts_bucket_name,
            },
        )
        allow_publish(notifier.role, alerts_topic, key)
        allow_publish(notifier.role, decisions_topic, key)
        # Lookups fill in what an event lacks: the failed step, RunId, decision reasons.
        executions = self.format_arn(
            service="sagemaker",
            resource="pipeline",
            resource_name=f"{self.prefix}-*/execution/*",
        )
        packages = self.format_arn(
            service="sagemaker", resource="model-package", resource_name=f"{self.prefix}-*/*"
        )
        notifier.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadExecutionDetails",
                actions=[
                    "sagemaker:ListPipelineExecutionSteps",
                    "sagemaker:ListPipelineParametersForExecution",
                ],
                resources=[executions],
            )
        )
        notifier.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadModelVersions",
                actions=["sagemaker:DescribeModelPackage"],
                resources=[packages],
            )
        )
        # A failed processing step's ExitMessage: why our step script stopped (a failed
        # data-quality check, a blocked load). Pipelines name their jobs "pipelines-...".
        processing_jobs = self.format_arn(
            service="sagemaker", resource="processing-job", resource_name="pipelines-*"
        )
        notifier.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadFailedJobMessages",
                actions=["sagemaker:DescribeProcessingJob"],
                resources=[processing_jobs],
            )
        )
        for resource in (executions, packages, processing_jobs):
            acknowledge_wildcard_resource(
                notifier.role,
                resource,
                reason="Read-only, limited to this environment's pipelines and groups "
                "(execution ids, version numbers and pipeline job names are generated).",
            )
        allow_objects(
            notifier.role,
            bucket_name=artifacts_bucket_name,
            prefix=ArtifactPrefixes.PIPELINES,
            actions=READ,
            why="holds the gate's decision.json and the runs' drift.json, which the "
            "notifications quote",
        )
        allow_key(notifier.role, key, encrypt=False)
        return notifier

    def _notifier_runbook(self, metric: str) -> str:
        """What to do when the notifier itself fails: its alarms reach people as CloudWatch's
        own e-mail (the notifier cannot word them), so their description says it."""
        what = {
            "Errors": "The notify function failed: notifications may be missing",
            "Throttles": "The notify function was throttled: notifications are late",
        }[metric]
        return (
            f"{what} ({self.prefix}). Read its log: aws logs tail "
            f"{self.notifier.log_group.log_group_name} --since 1h . Events it could not "
            "handle wait in its failed-invocations queue (alarm "
            f"{notifier_alarm_prefix(self.project, self.environment_name)}failed-invocations"
            "-...); the pipelines and models are not affected."
        )

    def _notifier_queue_runbook(self, queue: sqs.IQueue) -> str:
        """What to do when events wait in one of the notifier's dead-letter queues."""
        return (
            f"Events the notify function ({self.prefix}) could not handle or receive wait in "
            "this queue (14 days): their notifications were NOT sent. Read them: aws sqs "
            f"receive-message --queue-url {queue.queue_url} --max-number-of-messages 10 "
            "--visibility-timeout 0 . Each message is an event whose notification is missing; "
            "fix the notifier (its Errors alarm, its log) and read what each event says."
        )

    def _rules(self, notifier: PlatformFunction, project: str, env_name: str) -> None:
        pipeline_arn_prefix = self.format_arn(
            service="sagemaker", resource="pipeline", resource_name=f"{self.prefix}-"
        )
        alarm_arn_prefix = self.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=alarm_prefix(project, env_name),
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.rule_dead_letter_queue = dead_letter_queue(
            self,
            "UndeliveredEvents",
            removal_policy=self.removal,
            holds="the events EventBridge could not deliver to the notifier",
            key=self.key,
        )

        def pipeline_event(change: str, statuses: list[str]) -> events.EventPattern:
            """This environment's pipelines' execution ("Status") or step ("Step Status")
            change events with one of `statuses`."""
            status_key = (
                "currentStepStatus"
                if change == "Step Status"
                else ("currentPipelineExecutionStatus")
            )
            return events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[f"SageMaker Model Building Pipeline Execution {change} Change"],
                detail={status_key: statuses, "pipelineArn": [{"prefix": pipeline_arn_prefix}]},
            )

        patterns = {
            "PipelineExecutionFailed": pipeline_event("Status", ["Failed", "Stopped"]),
            # notify reads the run's drift.json: news only when the batch drifted
            "PipelineExecutionSucceeded": pipeline_event("Status", ["Succeeded"]),
            "PipelineStepFailed": pipeline_event("Step Status", ["Failed"]),
            "ModelDecision": events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={
                    "ModelPackageGroupName": [{"prefix": f"{self.prefix}-"}],
                    "ModelApprovalStatus": ["Approved", "Rejected"],
                },
            ),
            # pkgml_contracts.notifications: the trigger's and the extract runner's events
            "TriggerEvents": events.EventPattern(
                source=[event_source(project, "trigger")],
                detail_type=list(detail_types("trigger")),
                detail={"environment": [env_name]},
            ),
            "ExtractEvents": events.EventPattern(
                source=[event_source(project, "extract")],
                detail_type=list(detail_types("extract")),
                detail={"environment": [env_name]},
            ),
            # This environment's alarms (their ARN: this account, region and name prefix),
            # but the notifier's own: those act on the alerts topic (`through_notify`).
            "AlarmStateChange": events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                resources=events.Match.prefix(alarm_arn_prefix),
                detail={
                    "alarmName": [
                        {"anything-but": {"prefix": notifier_alarm_prefix(project, env_name)}}
                    ],
                    "state": {"value": ["ALARM", "OK"]},
                },
            ),
        }
        self.rules = {
            name: events.Rule(
                self,
                name,
                description=f"{self.prefix}: {name} -> readable notification",
                event_pattern=pattern,
                targets=[notifier.rule_target(self.rule_dead_letter_queue)],
            )
            for name, pattern in patterns.items()
        }

    # ------------------------------------------------------------------ alarms

    def _alarm(self, construct_id: str, **props: Any) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self, construct_id, alarm_name=f"{self.prefix}-{construct_id}", **props
        )
        self.alarms[construct_id] = alarm
        return alarm

    def _alarm_actions(self, project: str, env_name: str) -> None:
        """An SNS action on the alerts topic for exactly the alarms that do not reach people
        through notify (`through_notify`: the notifier's own); every other alarm of this
        stack is this environment's and its state changes go to notify through the rule."""
        for construct in self.node.find_all():
            if not isinstance(construct, cloudwatch.Alarm):
                continue
            name = typing.cast(cloudwatch.CfnAlarm, construct.node.default_child).alarm_name
            if not isinstance(name, str) or not name.startswith(alarm_prefix(project, env_name)):
                raise ValueError(f"alarm {construct.node.path}: named {name!r}, outside the rule")
            if not through_notify(name, project, env_name):
                construct.add_alarm_action(self.alarm_action)

    def _pipeline_alarms(self, pipelines: Mapping[tuple[str, str], str]) -> None:
        days = self.settings.missing_training_days
        for (package_type, kind), name in sorted(pipelines.items()):
            self._alarm(
                f"{package_type}-{kind}-execution-failed",
                alarm_description=(
                    f"A {kind} execution of {name} failed. The notification with the failing "
                    "step and the retry command went to the alerts topic."
                ),
                metric=_pipeline_metric(
                    name, "ExecutionFailed", statistic="Sum", period=Duration.minutes(5)
                ),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            if kind == "training":
                self._alarm(
                    f"{package_type}-no-successful-training",
                    alarm_description=(
                        f"No successful execution of {name} in {days} day(s): the "
                        f"'{package_type}' model is getting stale. Check the extract "
                        "schedule, the run files, and failed executions."
                    ),
                    metric=_pipeline_metric(
                        name, "ExecutionSucceeded", statistic="Sum", period=Duration.days(1)
                    ),
                    threshold=1,
                    comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                    evaluation_periods=days,
                    datapoints_to_alarm=days,
                    treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
                )

    def _gate_alarms(self, groups: Mapping[str, str]) -> None:
        """Per package type ({package type: its model package group}): the gate's metrics
        (`pkgml_contracts.metrics`) beyond bounds, and rejections in a row."""
        bounds = self.settings.deviation_alarms
        # One alarm per deviation the gate publishes (settings key = the deviation's name).
        limits = {
            metric: getattr(bounds, deviation)
            for deviation, metric in gate_metrics.DEVIATION_METRICS.items()
        }
        for package_type, group in groups.items():
            dimensions = gate_metrics.dimensions(package_type, group)
            for metric_name, limit in limits.items():
                self._alarm(
                    f"{package_type}-gate-{metric_name}",
                    alarm_description=(
                        f"The '{package_type}' gate measured {metric_name} above {limit} "
                        "against the champion: the data or the model moved a lot."
                    ),
                    metric=_gate_metric(metric_name, dimensions, statistic="Maximum"),
                    threshold=limit,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            count = self.settings.max_consecutive_rejections
            self._alarm(
                f"{package_type}-rejections-in-a-row",
                alarm_description=(
                    f"{count} or more '{package_type}' models in a row were rejected: the "
                    "champion keeps serving, but someone should look at the data and the "
                    "decision reasons."
                ),
                metric=_gate_metric(
                    gate_metrics.CONSECUTIVE_REJECTIONS, dimensions, statistic="Maximum"
                ),
                threshold=count,
                comparison_operator=(
                    cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
                ),
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

    def _drift_metric(self, package_type: str, metric_name: str, statistic: str) -> Any:
        """One drift metric of a package type over both inference run kinds (the largest
        of them per day): the Load step publishes per run kind."""
        using = {
            f"{metric_name.lower()}{index}": cloudwatch.Metric(
                namespace=gate_metrics.INFERENCE_NAMESPACE,
                metric_name=metric_name,
                dimensions_map=gate_metrics.inference_dimensions(package_type, run_kind),
                statistic=statistic,
                period=Duration.days(1),
            )
            for index, run_kind in enumerate(INFERENCE_RUN_KINDS)
        }
        return cloudwatch.MathExpression(
            expression=f"MAX([{', '.join(using)}])",
            using_metrics=using,
            label=metric_name,
            period=Duration.days(1),
        )

    def _drift_alarms(self, groups: Mapping[str, str]) -> None:
        """Per package type: an inference batch drifted beyond the PSI limit, and a batch
        the `block` policy kept out of the table (`pkgml_contracts.metrics`)."""
        for package_type in groups:
            policy = self.settings.drift.for_package_type(package_type)
            limit = policy["psi_limit"]
            self._alarm(
                f"{package_type}-input-drift",
                alarm_description=(
                    f"A '{package_type}' inference batch drifted from the champion's training "
                    f"data: a feature's PSI is above {limit} (policy: {policy['action']}). "
                    "drift.json in the run's Load/drift output names the features; a new "
                    "training run on recent labels usually follows."
                ),
                metric=self._drift_metric(package_type, gate_metrics.MAX_FEATURE_PSI, "Maximum"),
                threshold=limit,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            self._alarm(
                f"{package_type}-drift-blocked",
                alarm_description=(
                    f"A drifted '{package_type}' batch was NOT loaded (drift action block): "
                    "the table keeps the previous predictions until someone reviews the "
                    "batch's drift.json and loads it."
                ),
                metric=self._drift_metric(package_type, gate_metrics.DRIFT_BLOCKED, "Maximum"),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

    def _scheduler_alarms(self) -> None:
        for metric_name, what in (
            ("TargetErrorCount", "the extract runner rejected a schedule's invocation"),
            ("InvocationDroppedCount", "a schedule's invocation was dropped after retries"),
        ):
            self._alarm(
                f"scheduler-{metric_name}",
                alarm_description=f"EventBridge Scheduler: {what}.",
                metric=cloudwatch.Metric(
                    namespace=SCHEDULER_NAMESPACE,
                    metric_name=metric_name,
                    dimensions_map={"ScheduleGroup": "default"},
                    statistic="Sum",
                    period=Duration.minutes(5),
                ),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

    # ------------------------------------------------------------------ dashboard

    def _model_widgets(
        self,
        facade: monitoring.MonitoringFacade,
        groups: Mapping[str, str],
        environment: EnvironmentSettings,
    ) -> None:
        """Per package type, one row of what the gate measured (`pkgml_contracts.metrics`):
        both scores with the score floor, each deviation with its alarm bound, and the
        decisions (approved / rejected per day, rejections in a row with its bound)."""
        bounds = self.settings.deviation_alarms
        for package_type, group in groups.items():
            dimensions = gate_metrics.dimensions(package_type, group)

            def gate_metric(
                name: str, label: str, statistic: str = "Maximum", dimensions=dimensions
            ) -> cloudwatch.Metric:
                return _gate_metric(name, dimensions, statistic=statistic, label=label)

            floor = environment.gate.for_package_type(package_type)["min_score"]
            drift_limit = self.settings.drift.for_package_type(package_type)["psi_limit"]
            deviations = [
                (deviation, metric, getattr(bounds, deviation))
                for deviation, metric in gate_metrics.DEVIATION_METRICS.items()
            ]
            decided = gate_metric(gate_metrics.APPROVED, "decisions", "SampleCount")
            approved = gate_metric(gate_metrics.APPROVED, "approved", "Sum")
            facade.monitor_custom(
                alarm_friendly_name=f"Models-{package_type}",
                human_readable_name=f"Models: {package_type} ({group})",
                metric_groups=[
                    monitoring.CustomMetricGroup(
                        title="Score: challenger and champion (ROC AUC)",
                        metrics=[
                            gate_metric(gate_metrics.CHALLENGER_SCORE, "challenger"),
                            gate_metric(gate_metrics.CHAMPION_SCORE, "champion"),
                        ],
                        horizontal_annotations=[
                            cloudwatch.HorizontalAnnotation(
                                value=floor, label=f"gate floor {floor}"
                            )
                        ],
                    ),
                    monitoring.CustomMetricGroup(
                        title="Deviations from the champion (alarm bounds)",
                        metrics=[
                            gate_metric(metric, deviation.replace("_", " "))
                            for deviation, metric, _ in deviations
                        ],
                        horizontal_annotations=[
                            cloudwatch.HorizontalAnnotation(
                                value=limit, label=f"{deviation.replace('_', ' ')} alarm {limit}"
                            )
                            for deviation, _, limit in deviations
                        ],
                    ),
                    monitoring.CustomMetricGroup(
                        title="Decisions per day",
                        metrics=[
                            approved,
                            cloudwatch.MathExpression(
                                expression="decided - approved",
                                using_metrics={"decided": decided, "approved": approved},
                                label="rejected",
                                period=Duration.days(1),
                            ),
                        ],
                        graph_widget_type=monitoring.GraphWidgetType.STACKED_AREA,
                    ),
                    monitoring.CustomMetricGroup(
                        title="Predictions loaded per day",
                        metrics=[
                            cloudwatch.Metric(
                                namespace=gate_metrics.INFERENCE_NAMESPACE,
                                metric_name=gate_metrics.PREDICTIONS_LOADED,
                                dimensions_map=gate_metrics.inference_dimensions(
                                    package_type, run_kind
                                ),
                                statistic="Sum",
                                period=Duration.days(1),
                                label=run_kind,
                            )
                            for run_kind in INFERENCE_RUN_KINDS
                        ],
                    ),
                    monitoring.CustomMetricGroup(
                        title="Input drift: largest feature PSI per day (limit)",
                        metrics=[
                            self._drift_metric(
                                package_type, gate_metrics.MAX_FEATURE_PSI, "Maximum"
                            ),
                            self._drift_metric(
                                package_type, gate_metrics.DRIFTED_FEATURES, "Maximum"
                            ),
                            self._drift_metric(package_type, gate_metrics.SCORE_PSI, "Maximum"),
                        ],
                        horizontal_annotations=[
                            cloudwatch.HorizontalAnnotation(
                                value=drift_limit, label=f"PSI limit {drift_limit}"
                            )
                        ],
                    ),
                    monitoring.CustomMetricGroup(
                        title="Rejections in a row",
                        metrics=[
                            gate_metric(gate_metrics.CONSECUTIVE_REJECTIONS, "in a row"),
                        ],
                        horizontal_annotations=[
                            cloudwatch.HorizontalAnnotation(
                                value=self.settings.max_consecutive_rejections,
                                label=f"alarm {self.settings.max_consecutive_rejections}",
                            )
                        ],
                    ),
                ],
            )

    def _health_row(
        self,
        facade: monitoring.MonitoringFacade,
        queues: Mapping[str, sqs.IQueue],
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        """Every dead-letter queue in one row: their alarms' states and their depth."""
        if not self.settings.dashboard:
            return
        facade.add_medium_header("Health: dead-letter queues (each alarms when not empty)")
        status = cloudwatch.AlarmStatusWidget(
            alarms=list(alarms), title="Dead-letter queue alarms", width=8, height=6
        )
        depth = cloudwatch.GraphWidget(
            title="Messages waiting in dead-letter queues",
            left=[
                queue.metric_approximate_number_of_messages_visible(
                    statistic="Maximum", period=Duration.minutes(5), label=name
                )
                for name, queue in sorted(queues.items())
            ],
            width=16,
            height=6,
        )
        # one row: the facade starts a new row per widget it is given
        facade.add_widget(typing.cast(cloudwatch.IWidget, cloudwatch.Row(status, depth)))

    def _pipeline_widgets(
        self,
        facade: monitoring.MonitoringFacade,
        pipelines: Mapping[tuple[str, str], str],
    ) -> None:
        """SageMaker pipelines: executions succeeded/failed and durations (not in the library)."""

        def metric(name: str, metric_name: str, statistic: str) -> cloudwatch.Metric:
            return _pipeline_metric(
                name, metric_name, statistic=statistic, period=Duration.hours(1), label=name
            )

        ordered = sorted(pipelines.values())
        facade.monitor_custom(
            alarm_friendly_name="SageMakerPipelines",
            human_readable_name="SageMaker pipelines",
            metric_groups=[
                monitoring.CustomMetricGroup(
                    title="Executions succeeded",
                    metrics=[metric(n, "ExecutionSucceeded", "Sum") for n in ordered],
                ),
                monitoring.CustomMetricGroup(
                    title="Executions failed",
                    metrics=[metric(n, "ExecutionFailed", "Sum") for n in ordered],
                ),
                monitoring.CustomMetricGroup(
                    title="Execution duration (ms)",
                    metrics=[metric(n, "ExecutionDuration", "Average") for n in ordered],
                ),
            ],
        )
