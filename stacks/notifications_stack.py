"""Notification topics of one environment: alerts (failures) and model decisions.

The notify function writes every message; CloudWatch publishes to the alerts topic only
for the alarms that watch the notifier itself (a broken notifier cannot report itself)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.naming import resource_prefix
from stacks.settings import NotificationSettings


class NotificationsStack(Stack):
    """`alerts_topic` and `decisions_topic`: KMS-encrypted, TLS-only, subscribers from config."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        environment_name: str,
        settings: NotificationSettings,
        encryption_key: kms.IKey,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix = resource_prefix(project, environment_name)
        self.alerts_topic = self._topic(
            "Alerts",
            f"{prefix}-alerts",
            f"{prefix}: failures, quarantined run files, missing runs",
            encryption_key,
            settings.alert_emails,
            settings.https_endpoint,
            alarms_publish=True,
        )
        self.decisions_topic = self._topic(
            "Decisions",
            f"{prefix}-model-decisions",
            f"{prefix}: model approved / rejected by the gate",
            encryption_key,
            settings.decision_emails,
            settings.https_endpoint,
            alarms_publish=False,
        )

    def _topic(
        self,
        construct_id: str,
        name: str,
        display_name: str,
        key: kms.IKey,
        emails: tuple[str, ...],
        https_endpoint: str | None,
        *,
        alarms_publish: bool,
    ) -> sns.Topic:
        topic = sns.Topic(
            self,
            construct_id,
            topic_name=name,
            display_name=display_name[:100],
            master_key=key,
            enforce_ssl=True,
        )
        for address in emails:
            topic.add_subscription(subscriptions.EmailSubscription(address))
        if https_endpoint:
            topic.add_subscription(subscriptions.UrlSubscription(https_endpoint))
        # The notify function publishes (its role's grant); CloudWatch only for the alarms
        # that watch the notifier itself (pkgml_contracts.notifications), on the alerts topic.
        if alarms_publish:
            topic.grant_publish(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        return topic
