"""An S3 bucket with the platform's safe defaults."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

# Every bucket: no public access, no ACLs (the owner owns every object), TLS 1.2 or later
# only, and versioned (an overwrite or delete stays recoverable).
_EVERY_BUCKET: Final[dict[str, Any]] = {
    "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
    "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    "enforce_ssl": True,
    "minimum_tls_version": 1.2,
    "versioned": True,
}


class SecureBucket(Construct):
    """Versioned, KMS-encrypted, TLS-only, private bucket that logs its access.

    Defaults: incomplete multipart uploads aborted after 7 days, non-current
    versions expire after `noncurrent_version_expiry_days`, RETAIN unless
    `removal_policy` is DESTROY (then objects are emptied on delete).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str | None,
        encryption_key: kms.IKey,
        access_logs_bucket: s3.IBucket,
        removal_policy: RemovalPolicy,
        noncurrent_version_expiry_days: int,
        extra_lifecycle_rules: Sequence[s3.LifecycleRule] = (),
        event_bridge_enabled: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            **_EVERY_BUCKET,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix=f"{construct_id.lower()}/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(noncurrent_version_expiry_days),
                    expired_object_delete_marker=True,
                ),
                *extra_lifecycle_rules,
            ],
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy == RemovalPolicy.DESTROY,
        )
        if event_bridge_enabled:
            # Set natively on the bucket: the CDK's `event_bridge_enabled` would add a
            # custom-resource Lambda for what CloudFormation supports itself.
            cfn_bucket = self.bucket.node.default_child
            assert isinstance(cfn_bucket, s3.CfnBucket)
            cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
                event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                    event_bridge_enabled=True
                )
            )


class AccessLogsBucket(Construct):
    """Target of S3 server access logs: SSE-S3 (S3 logging cannot write with a KMS key).

    TLS-only, private, versioned; logs (and their replaced versions) expire after
    `expiry_days`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str | None,
        removal_policy: RemovalPolicy,
        expiry_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            # Versioned, so a deleted or overwritten log stays recoverable for a while.
            **_EVERY_BUCKET,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(expiry_days),
                    noncurrent_version_expiration=Duration.days(expiry_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy == RemovalPolicy.DESTROY,
        )
