"""A Lambda function with the platform's defaults: own role, log group, DLQ, newest runtime."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.components.queues import dead_letter_queue
from stacks.components.staging import stage

LAMBDA_SOURCE = Path(__file__).resolve().parents[2] / "lambda_src"
SHARED_SOURCE = LAMBDA_SOURCE / "shared"
CONTRACTS_SOURCE = Path(__file__).resolve().parents[2] / "pkgml_contracts"
RUNTIME = lambda_.Runtime.PYTHON_3_14


GENERATED_ROOT = Path(__file__).resolve().parents[2] / ".cache" / "generated"


def _generated_files(generated: Mapping[str, str]) -> dict[str, Path]:
    """{name: path} of files whose content is made at synth (written once per content)."""
    paths = {}
    for name, content in sorted(generated.items()):
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        path = GENERATED_ROOT / digest / name
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(content, encoding="utf-8")
            os.replace(temporary, path)
        paths[name] = path
    return paths


def lambda_asset_dir(folder: str, generated: Mapping[str, str] | None = None) -> Path:
    """`lambda_src/<folder>`, the modules in `lambda_src/shared` and the `pkgml_contracts`
    package, staged as one asset.

    Shared modules (the JSON logger) are copied beside the function's own modules,
    so the deployed code imports them as top-level modules; the contracts stay a
    package (`from pkgml_contracts import registry`), as everywhere else; no layer is needed.
    """
    source = LAMBDA_SOURCE / folder
    if not source.is_dir():
        raise ValueError(f"no Lambda source folder {source}")
    files = {p.name: p for p in sorted(SHARED_SOURCE.glob("*.py"))}
    files |= {f"{CONTRACTS_SOURCE.name}/{p.name}": p for p in sorted(CONTRACTS_SOURCE.glob("*.py"))}
    own = {
        p.relative_to(source).as_posix(): p
        for p in sorted(source.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".md")
    }
    made = _generated_files(generated or {})
    clashes = sorted((set(files) & set(own)) | (set(made) & (set(files) | set(own))))
    if clashes:
        raise ValueError(f"{source} shadows shared or generated file(s) {', '.join(clashes)}")
    return stage({**files, **own, **made})


@jsii.implements(lambda_.IDestination)
class EncryptedQueueDestination:
    """On-failure destination: an SQS queue encrypted with `key`, granted exactly.

    The CDK's SqsDestination grants `kms:GenerateDataKey*` and `kms:ReEncrypt*`; sending to
    an SSE-KMS queue needs only sqs:SendMessage, kms:GenerateDataKey and kms:Decrypt.
    """

    def __init__(self, queue: sqs.IQueue, key: kms.IKey) -> None:
        self.queue = queue
        self.key = key

    # jsii passes the options struct positionally; the interface declares it keyword-only.
    def bind(
        self, scope: Construct, fn: lambda_.IFunction, *_options: Any, **_keywords: Any
    ) -> lambda_.DestinationConfig:
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.queue.queue_arn])
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self.key.key_arn]
            )
        )
        return lambda_.DestinationConfig(destination=self.queue.queue_arn)


class PlatformFunction(Construct):
    """Python Lambda from `lambda_src/<folder>` + `lambda_src/shared` (standard library + boto3).

    Defaults: Python 3.14 on arm64, 256 MB, 60 s, at most `reserved_concurrency` (5)
    concurrent executions (a runaway loop cannot starve the account), JSON logs kept
    `log_retention`,
    a role that may write only its own log group (no managed policies), and an
    SQS queue that receives failed asynchronous invocations after
    `retry_attempts` retries (exposed as `dead_letter_queue`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        folder: str,
        handler: str,
        description: str,
        environment: Mapping[str, str],
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
        timeout_seconds: int = 60,
        memory_size: int = 256,
        reserved_concurrency: int = 5,
        retry_attempts: int = 2,
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
        generated_files: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        asset = lambda_asset_dir(folder, generated_files)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} (Lambda execution role)",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.dead_letter_queue = dead_letter_queue(
            self,
            "FailedInvocations",
            removal_policy=removal_policy,
            holds=f"failed invocations of: {description}",
            key=encryption_key,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(asset)),
            handler=handler,
            description=description,
            environment=dict(environment),
            timeout=Duration.seconds(timeout_seconds),
            memory_size=memory_size,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            reserved_concurrent_executions=reserved_concurrency,
            on_failure=EncryptedQueueDestination(self.dead_letter_queue, encryption_key),
            retry_attempts=retry_attempts,
        )

    def rule_target(self, dead_letter_queue: sqs.IQueue) -> targets.LambdaFunction:
        """EventBridge target for this function: 8 retries over up to 6 hours, then the queue."""
        return targets.LambdaFunction(
            self.function,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=8,
            max_event_age=Duration.hours(6),
        )
