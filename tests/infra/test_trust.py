"""Every role is trusted by exactly the service that assumes it (no more, no less).

What assumes a role is read from the template itself: the Lambda function, the SageMaker
pipeline, the schedule that names it. The Redshift role's principals follow AWS's
rule for the configured Redshift kind ("Granting permissions to Amazon Redshift
Serverless": a Serverless namespace needs both principals).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# Literal, from the AWS documentation (not from the code under test).
REDSHIFT_PRINCIPALS = {
    "cluster": {"redshift.amazonaws.com"},
    "serverless": {"redshift.amazonaws.com", "redshift-serverless.amazonaws.com"},
}
# Who uses a role, by the property that names it.
USERS = {
    ("AWS::Lambda::Function", "Role"): "lambda.amazonaws.com",
    ("AWS::SageMaker::Pipeline", "RoleArn"): "sagemaker.amazonaws.com",
    ("AWS::Scheduler::Schedule", "Target.RoleArn"): "scheduler.amazonaws.com",
}


def trusted_services(role: dict[str, Any]) -> set[str]:
    services: set[str] = set()
    for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
        service = statement.get("Principal", {}).get("Service", [])
        services |= set(service if isinstance(service, list) else [service])
    return services


def _role_id(reference: Any) -> str | None:
    if isinstance(reference, dict) and "Fn::GetAtt" in reference:
        return str(reference["Fn::GetAtt"][0])
    return None


def _get(properties: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        properties = properties.get(part, {}) if isinstance(properties, dict) else {}
    return properties


def stage_templates(synthesized, env: str) -> dict[str, dict[str, Any]]:
    outdir = Path(synthesized.stages[env].outdir)
    return {p.name: json.loads(p.read_text()) for p in sorted(outdir.glob("*.template.json"))}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_role_is_trusted_by_the_service_that_uses_it(synthesized, env):
    checked = 0
    for name, template in stage_templates(synthesized, env).items():
        resources = template["Resources"]
        for resource in resources.values():
            for (kind, prop), service in USERS.items():
                if resource["Type"] != kind:
                    continue
                role_id = _role_id(_get(resource["Properties"], prop))
                if role_id is None or role_id not in resources:
                    continue  # a role of another stack: checked where it is defined
                assert trusted_services(resources[role_id]) == {service}, (name, role_id)
                checked += 1
    assert checked >= 5


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_redshift_role_trusts_the_configured_redshift_kind(synthesized, env):
    redshift = synthesized.settings.environment(env).redshift
    kind = "serverless" if redshift.workgroup else "cluster"
    data = synthesized.stages[env].data
    template = stage_templates(synthesized, env)[f"{data.artifact_id}.template.json"]
    roles = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and logical_id.startswith("RedshiftAccess")
    }
    assert len(roles) == 1
    (role,) = roles.values()
    assert trusted_services(role) == REDSHIFT_PRINCIPALS[kind]


def test_both_redshift_kinds_are_configured_somewhere(synthesized):
    """The check above covers a cluster and a Serverless workgroup with the default config."""
    kinds = {
        "serverless" if synthesized.settings.environment(env).redshift.workgroup else "cluster"
        for env in ("dev", "prod")
    }
    assert kinds == {"cluster", "serverless"}
