"""Dead-letter queues: where undeliverable events and failed invocations wait for a person."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def dead_letter_queue(
    scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy, holds: str
) -> sqs.Queue:
    """SSE-SQS encrypted, TLS-only queue keeping messages 14 days; `holds` says what lands here.

    SQS-managed encryption (not the customer key) because EventBridge and
    EventBridge Scheduler deliver to it directly, without a key grant to manage.
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        removal_policy=removal_policy,
    )
    Validations.of(queue).acknowledge(
        Acknowledgment(
            id="AwsSolutions-SQS3",
            reason=f"This queue is itself a dead-letter target: it holds {holds}.",
        )
    )
    return queue
