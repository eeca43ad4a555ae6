"""Data layer: the key and every bucket carry their safety properties."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template


@pytest.fixture(scope="module")
def dev(synthesized) -> Template:
    return Template.from_stack(synthesized.stages["dev"].data)


@pytest.fixture(scope="module")
def prod(synthesized) -> Template:
    return Template.from_stack(synthesized.stages["prod"].data)


def kms_buckets(template: Template) -> dict:
    return template.find_resources(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        Match.object_like(
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
                        )
                    ]
                }
            }
        },
    )


# Logical IDs of stateful resources: a change here replaces data in a deployed account.
STATEFUL_LOGICAL_IDS = {
    "AWS::KMS::Key": ["DataKey17AFBB84"],
    "AWS::S3::Bucket": [
        "AccessLogsBucketCD784A59",
        "DataBucketE6B0FAA8",
        "ArtifactsBucket88671897",
    ],
}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_stateful_logical_ids_are_stable(synthesized, env):
    template = Template.from_stack(synthesized.stages[env].data)
    for resource_type, expected in STATEFUL_LOGICAL_IDS.items():
        assert sorted(template.find_resources(resource_type)) == sorted(expected)


def test_key_rotates_and_is_retained_in_prod(prod):
    prod.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": Match.object_like({"EnableKeyRotation": True}),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    prod.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/pkgml-prod-data"})


def test_dev_may_be_destroyed_as_configured(dev):
    dev.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Delete"})
    for bucket in dev.find_resources("AWS::S3::Bucket").values():
        assert bucket["DeletionPolicy"] == "Delete"
    dev.resource_count_is("Custom::S3AutoDeleteObjects", 3)


def test_prod_retains_every_bucket_and_never_auto_deletes(prod):
    for bucket in prod.find_resources("AWS::S3::Bucket").values():
        assert bucket["DeletionPolicy"] == "Retain"
        assert bucket["UpdateReplacePolicy"] == "Retain"
    prod.resource_count_is("Custom::S3AutoDeleteObjects", 0)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_data_and_artifacts_buckets_use_the_customer_key(synthesized, env):
    template = Template.from_stack(synthesized.stages[env].data)
    key_id = next(iter(template.find_resources("AWS::KMS::Key")))
    buckets = kms_buckets(template)
    assert sorted(buckets) == ["ArtifactsBucket88671897", "DataBucketE6B0FAA8"]
    for bucket in buckets.values():
        rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
            "Fn::GetAtt": [key_id, "Arn"]
        }
        assert rule["BucketKeyEnabled"] is True


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_bucket_blocks_public_access_and_owner_enforced(synthesized, env):
    template = Template.from_stack(synthesized.stages[env].data)
    buckets = template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 3
    for bucket in buckets.values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert bucket["Properties"]["OwnershipControls"] == {
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
        }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_bucket_policy_denies_plain_http_and_old_tls(synthesized, env):
    template = Template.from_stack(synthesized.stages[env].data)
    buckets = set(template.find_resources("AWS::S3::Bucket"))
    policies = template.find_resources("AWS::S3::BucketPolicy")
    covered = set()
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        denies = [s for s in statements if s["Effect"] == "Deny"]
        conditions = [s["Condition"] for s in denies]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions
        covered.add(policy["Properties"]["Bucket"]["Ref"])
    assert covered == buckets


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_data_and_artifacts_are_versioned_and_log_to_the_log_bucket(synthesized, env):
    template = Template.from_stack(synthesized.stages[env].data)
    for logical_id in ("DataBucketE6B0FAA8", "ArtifactsBucket88671897"):
        props = template.find_resources("AWS::S3::Bucket")[logical_id]["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["LoggingConfiguration"]["DestinationBucketName"] == {
            "Ref": "AccessLogsBucketCD784A59"
        }


def test_access_log_bucket_uses_s3_managed_keys(prod):
    props = prod.find_resources("AWS::S3::Bucket")["AccessLogsBucketCD784A59"]["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365


def rules_of(template: Template, logical_id: str) -> dict[str, dict]:
    props = template.find_resources("AWS::S3::Bucket")[logical_id]["Properties"]
    return {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}


@pytest.mark.parametrize("logical_id", ["DataBucketE6B0FAA8", "ArtifactsBucket88671897"])
def test_lifecycle_aborts_uploads_and_expires_old_versions(prod, logical_id):
    rules = rules_of(prod, logical_id)
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 90
    }


def test_raw_unloads_expire_after_the_configured_days(prod):
    rule = rules_of(prod, "DataBucketE6B0FAA8")["expire-raw-unloads"]
    assert rule == {
        "Id": "expire-raw-unloads",
        "Prefix": "unload/",
        "ExpirationInDays": 30,
        "Status": "Enabled",
    }
    assert "expire-raw-unloads" not in rules_of(prod, "ArtifactsBucket88671897")


def test_stacks_target_each_environments_account_and_region(synthesized):
    data = {name: stage.data for name, stage in synthesized.stages.items()}
    assert (data["dev"].account, data["dev"].region) == ("222222222222", "us-east-1")
    assert (data["prod"].account, data["prod"].region) == ("333333333333", "us-west-2")
    assert data["prod"].termination_protection is True
    assert data["dev"].stack_name == "pkgml-dev-data"
