"""Security defaults every resource of its kind must have, asserted over every template.

- every SQS queue is encrypted with its environment's customer-managed key;
- every Lambda function has a reserved-concurrency ceiling and an on-failure destination;
- every log group is KMS-encrypted and has a retention;
- every access-log bucket is versioned and has a lifecycle.

CDK-internal custom-resource handlers are named below with the reason each is exempt from
a rule; nothing else is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.iam_contract import listed

# CloudFormation invokes these synchronously during deploys (an on-failure destination
# applies to asynchronous invocations only); their code and log group are the CDK's own.
CDK_DEPLOY_HANDLERS = {
    "CustomCDKBucketDeployment": "BucketDeployment's uploader (step code), deploy-time only",
    "CustomS3AutoDeleteObjectsCustomResourceProvider": (
        "empties dev buckets on stack deletion; a CDK custom-resource provider"
    ),
}


def _exempt(logical_id: str) -> bool:
    return any(logical_id.startswith(prefix) for prefix in CDK_DEPLOY_HANDLERS)


def all_templates(outdir: Path) -> dict[str, dict[str, Any]]:
    return {
        str(p.relative_to(outdir)): json.loads(p.read_text())
        for p in sorted(outdir.rglob("*.template.json"))
    }


def resources_of(templates, kind: str):
    for name, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == kind:
                yield name, logical_id, resource.get("Properties", {}), template


@pytest.fixture(scope="module")
def templates(synthesized) -> dict[str, dict[str, Any]]:
    found = all_templates(synthesized.outdir)
    assert len(found) >= 11
    return found


def test_every_queue_is_encrypted_with_the_environment_key(templates):
    queues = list(resources_of(templates, "AWS::SQS::Queue"))
    assert len(queues) >= 10
    for name, logical_id, props, _ in queues:
        key = props.get("KmsMasterKeyId")
        assert key, f"{name}/{logical_id} is not encrypted with a customer-managed key"
        rendered = json.dumps(key)
        assert "DataKey" in rendered or "ArtifactKey" in rendered, (name, logical_id, key)
        assert "alias/aws/sqs" not in rendered


def _has_on_failure_destination(template, logical_id: str) -> bool:
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Lambda::EventInvokeConfig":
            continue
        props = resource["Properties"]
        if props.get("FunctionName") == {"Ref": logical_id}:
            return bool(props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
    return False


def test_every_function_has_a_concurrency_ceiling_and_an_on_failure_destination(templates):
    functions = list(resources_of(templates, "AWS::Lambda::Function"))
    checked = 0
    for name, logical_id, props, template in functions:
        if _exempt(logical_id):
            continue
        assert props.get("ReservedConcurrentExecutions", 0) >= 1, (name, logical_id)
        assert _has_on_failure_destination(template, logical_id), (name, logical_id)
        checked += 1
    assert checked >= 8  # 4 functions in each of two environments


def test_every_log_group_is_encrypted_and_expires(templates):
    groups = list(resources_of(templates, "AWS::Logs::LogGroup"))
    assert len(groups) >= 8
    for name, logical_id, props, _ in groups:
        assert props.get("KmsKeyId"), (name, logical_id)
        assert props.get("RetentionInDays"), (name, logical_id)


def test_every_function_logs_to_a_group_of_its_own_stack(templates):
    """No function falls back to a Lambda-created group (unencrypted, kept forever)."""
    for name, logical_id, props, template in resources_of(templates, "AWS::Lambda::Function"):
        if logical_id.startswith("CustomS3AutoDeleteObjectsCustomResourceProvider"):
            continue  # a CDK provider without a LoggingConfig property (exempt above)
        group = props.get("LoggingConfig", {}).get("LogGroup", {})
        assert isinstance(group, dict) and "Ref" in group, (name, logical_id)
        assert template["Resources"][group["Ref"]]["Type"] == "AWS::Logs::LogGroup"


def test_every_access_log_bucket_is_versioned_with_a_lifecycle(templates):
    buckets = [
        (name, logical_id, props)
        for name, logical_id, props, _ in resources_of(templates, "AWS::S3::Bucket")
        if "AccessLogs" in logical_id
    ]
    assert len(buckets) >= 3  # two environments and the CI/CD artifact store
    for name, logical_id, props in buckets:
        assert props.get("VersioningConfiguration", {}).get("Status") == "Enabled", (
            name,
            logical_id,
        )
        rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
        assert any(r.get("ExpirationInDays") for r in rules), (name, logical_id)
        assert any(r.get("NoncurrentVersionExpiration") for r in rules), (name, logical_id)


def test_control_an_unencrypted_queue_and_a_bare_function_are_caught():
    """The checks above fail on the defaults AWS would give."""
    template = {
        "Resources": {
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": True}},
            "F": {"Type": "AWS::Lambda::Function", "Properties": {}},
        }
    }
    with pytest.raises(AssertionError):
        test_every_queue_is_encrypted_with_the_environment_key({"t": template} | _padding(10))
    with pytest.raises(AssertionError):
        test_every_function_has_a_concurrency_ceiling_and_an_on_failure_destination({"t": template})


def _padding(count: int) -> dict[str, Any]:
    """Queues that pass, so the control fails on the bad one and not on the count."""
    good = {"Type": "AWS::SQS::Queue", "Properties": {"KmsMasterKeyId": {"Ref": "DataKey1"}}}
    return {f"pad{i}": {"Resources": {f"Q{i}": good}} for i in range(count)}


def test_every_sender_to_an_encrypted_queue_may_use_its_key(templates):
    """sqs:SendMessage to an SSE-KMS queue fails without kms:GenerateDataKey on its key.

    Checked for every identity policy that sends to a queue of its own template; the
    CDK's scheduler-target grant, for one, gives sqs:SendMessage alone.
    """
    checked = 0
    for name, _, props, template in resources_of(templates, "AWS::IAM::Policy"):
        statements = props["PolicyDocument"]["Statement"]
        key_resources = [
            json.dumps(resource, sort_keys=True)
            for s in statements
            if "kms:GenerateDataKey" in listed(s["Action"])
            for resource in listed(s["Resource"])
        ]
        for statement in statements:
            if "sqs:SendMessage" not in listed(statement["Action"]):
                continue
            for resource in listed(statement["Resource"]):
                queue_id = (
                    resource.get("Fn::GetAtt", [None])[0] if isinstance(resource, dict) else None
                )
                queue = template["Resources"].get(queue_id or "", {})
                if queue.get("Type") != "AWS::SQS::Queue":
                    continue
                key = queue["Properties"].get("KmsMasterKeyId")
                assert json.dumps(key, sort_keys=True) in key_resources, (name, queue_id)
                checked += 1
    assert checked >= 8  # every Lambda's on-failure queue and the schedules' queue, per env
