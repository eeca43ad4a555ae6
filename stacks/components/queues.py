"""Dead-letter queues: where undeliverable events and failed invocations wait for a person."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def dead_letter_queue(
    scope: Construct,
    construct_id: str,
    *,
    removal_policy: RemovalPolicy,
    holds: str,
    key: kms.IKey,
) -> sqs.Queue:
    """TLS-only queue keeping messages 14 days, encrypted with the environment's `key`.

    `holds` says what lands here. Senders need the key: a Lambda's on-failure
    destination and a schedule's role get it from the CDK's send grants; EventBridge
    rules through the key policy (the data stack allows events.amazonaws.com).
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
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
