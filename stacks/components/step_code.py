"""Step scripts shipped to S3 at a content-addressed prefix: `code/<sha256 of the folder>/`."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from stacks.components.access import acknowledge_wildcard_resource, allow_key, allow_objects
from stacks.naming import ArtifactPrefixes

STEP_CODE_DIR = Path(__file__).resolve().parents[2] / "pipeline_defs" / "steps"
_IGNORED = ("__pycache__", ".pyc", ".md")


def step_code_files(folder: Path = STEP_CODE_DIR) -> list[Path]:
    """The files that ship: every file under `folder` but caches and docs, sorted."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.endswith(_IGNORED) for part in p.parts)
    )


def step_code_hash(folder: Path = STEP_CODE_DIR) -> str:
    """sha256 over relative paths and contents: changes exactly when a shipped file changes."""
    digest = hashlib.sha256()
    for path in step_code_files(folder):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class StepCode(Construct):
    """Uploads `pipeline_defs/steps/` to `s3://<bucket>/code/<hash>/` at deploy time.

    The pipeline definitions point at that prefix, so the SageMaker step cache
    survives redeploys without code changes and misses exactly when code changed.
    Old prefixes are kept (a running pipeline may still use them); the bucket's
    lifecycle rules handle clean-up.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        bucket_name: str,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.code_hash = step_code_hash()
        self.key_prefix = f"{ArtifactPrefixes.CODE}{self.code_hash}/"
        self.s3_prefix_uri = f"s3://{bucket_name}/{self.key_prefix}"
        role = iam.Role(
            self,
            "DeployRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Copies pipeline step code into the artifacts bucket",
        )
        allow_objects(
            role,
            bucket_name=bucket_name,
            prefix=ArtifactPrefixes.CODE,
            actions=("s3:GetObject", "s3:PutObject"),
            why="holds content-addressed step code",
        )
        allow_key(role, key)
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Upload",
            destination_bucket=bucket,
            destination_key_prefix=self.key_prefix,
            sources=[
                s3deploy.Source.asset(str(STEP_CODE_DIR), exclude=["__pycache__", "*.pyc", "*.md"])
            ],
            prune=False,
            retain_on_delete=True,
            role=role,
            server_side_encryption=s3deploy.ServerSideEncryption.AWS_KMS,
            server_side_encryption_aws_kms_key_id=key.key_arn,
            memory_limit=256,
        )
        self.role = role
        _acknowledge_cdk_deployment_function(self, role)


def _acknowledge_cdk_deployment_function(scope: Construct, role: iam.Role) -> None:
    """The upload function is the CDK's own (BucketDeployment); acknowledge what it needs."""
    Validations.of(role).acknowledge(
        Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            reason="The CDK's BucketDeployment function logs with the basic execution policy.",
        )
    )
    acknowledge_wildcard_resource(
        role,
        "*",
        reason="BucketDeployment reads its source asset from the CDK bootstrap bucket.",
    )
