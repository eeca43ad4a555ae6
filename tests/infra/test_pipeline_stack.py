"""CI/CD: stage order dev -> approval -> prod, tested synth, cross-account keys, checks."""

from __future__ import annotations

import copy
import json

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from stacks.app_factory import build_app
from stacks.settings import ConfigError
from tests.conftest import synthesize


@pytest.fixture(scope="module")
def delivery(synthesized) -> Template:
    return Template.from_stack(synthesized.app.node.find_child("Delivery"))


def pipeline_stages(template: Template) -> list[dict]:
    pipelines = template.find_resources("AWS::CodePipeline::Pipeline")
    assert len(pipelines) == 1
    return next(iter(pipelines.values()))["Properties"]["Stages"]


def test_stage_order_is_dev_then_approval_then_prod(delivery):
    names = [stage["Name"] for stage in pipeline_stages(delivery)]
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", "Dev", "Prod"]
    prod = next(s for s in pipeline_stages(delivery) if s["Name"] == "Prod")
    first = min(prod["Actions"], key=lambda a: a["RunOrder"])
    assert first["Name"] == "PromoteToProd"
    assert first["ActionTypeId"]["Category"] == "Approval"
    deploys = [a for a in prod["Actions"] if a["ActionTypeId"]["Category"] == "Deploy"]
    assert deploys and all(a["RunOrder"] > first["RunOrder"] for a in deploys)
    dev = next(s for s in pipeline_stages(delivery) if s["Name"] == "Dev")
    assert all(a["ActionTypeId"]["Category"] != "Approval" for a in dev["Actions"])


def test_each_stage_deploys_into_its_own_account(delivery):
    for stage_name, account in (("Dev", "222222222222"), ("Prod", "333333333333")):
        stage = next(s for s in pipeline_stages(delivery) if s["Name"] == stage_name)
        deploys = [a for a in stage["Actions"] if a["ActionTypeId"]["Category"] == "Deploy"]
        assert len(deploys) >= 10  # prepare + deploy change set for each of five stacks
        for action in deploys:
            assert f":{account}:" in json.dumps(action["RoleArn"])


def test_stages_deploy_stacks_in_dependency_order(delivery):
    prod = next(s for s in pipeline_stages(delivery) if s["Name"] == "Prod")
    order = {
        a["Configuration"]["StackName"]: a["RunOrder"]
        for a in prod["Actions"]
        if a["ActionTypeId"]["Category"] == "Deploy" and a["Name"].endswith("Deploy")
    }
    assert order["pkgml-prod-data"] < order["pkgml-prod-ml"] < order["pkgml-prod-ingest"]
    assert order["pkgml-prod-ingest"] < order["pkgml-prod-monitoring"]


def test_synth_step_runs_the_readme_commands(delivery):
    projects = delivery.find_resources("AWS::CodeBuild::Project")
    specs = [json.loads(p["Properties"]["Source"]["BuildSpec"]) for p in projects.values()]
    synth = [s for s in specs if "make synth" in json.dumps(s)]
    assert len(synth) == 1
    commands = synth[0]["phases"]["build"]["commands"]
    assert commands == ["make test", "make synth"]


def test_post_deploy_checks_assume_the_target_lookup_role(delivery):
    projects = delivery.find_resources("AWS::CodeBuild::Project")
    specs = [json.dumps(p["Properties"]["Source"]["BuildSpec"]) for p in projects.values()]
    checks = [s for s in specs if "check_deployment.py" in s]
    assert len(checks) == 2
    assert any(
        "--env dev --role-arn arn:aws:iam::222222222222:role/cdk-hnb659fds-lookup-role-"
        "222222222222-us-east-1" in s
        for s in checks
    )


def test_artifacts_are_encrypted_with_a_rotating_key_shared_cross_account(delivery):
    delivery.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    pipeline = next(iter(delivery.find_resources("AWS::CodePipeline::Pipeline").values()))
    stores = pipeline["Properties"].get("ArtifactStores") or [
        {"ArtifactStore": pipeline["Properties"]["ArtifactStore"]}
    ]
    for store in stores:
        assert store["ArtifactStore"]["EncryptionKey"]["Type"] == "KMS"


def test_pipeline_lives_in_the_tooling_account(synthesized):
    stack = synthesized.app.node.find_child("Delivery")
    assert isinstance(stack, Stack)
    assert (stack.account, stack.region) == ("111111111111", "us-east-1")


def test_self_mutation_is_on(delivery):
    names = [stage["Name"] for stage in pipeline_stages(delivery)]
    assert "UpdatePipeline" in names


def test_disabling_cicd_gives_top_level_stages(base_context):
    context = copy.deepcopy(base_context)
    context["cicd.enabled"] = "false"
    app, _, stages = build_app(context=context, validation=False, nag=False)
    assert app.node.try_find_child("Delivery") is None
    assert stages["dev"].node.path == "Dev"


def test_invalid_cicd_settings_name_the_key(base_context):
    context = copy.deepcopy(base_context)
    context["cicd.connection_arn"] = "arn:aws:codestar:us-east-1:1:x"
    with pytest.raises(ConfigError, match=r"cicd\.connection_arn"):
        build_app(context=context, validation=False, nag=False)


# --------------------------------------------------------------- documented -c examples


def changed_resources(before, after) -> dict[str, set[str]]:
    """{stack template: {logical ids whose definition differs}}."""
    result = {}
    for path in sorted(before.outdir.rglob("*.template.json")):
        other = after.outdir / path.relative_to(before.outdir)
        a, b = json.loads(path.read_text()), json.loads(other.read_text())
        ids = {lid for lid in a["Resources"] if a["Resources"][lid] != b["Resources"].get(lid)}
        ids |= set(b["Resources"]) - set(a["Resources"])
        if ids:
            result[path.name] = ids
    return result


@pytest.mark.parametrize(
    ("override", "expected_stack", "expected_type"),
    [
        (
            {"environments.prod.schedules.training.expression": "cron(0 3 ? * SUN *)"},
            "ProdIngest",
            "AWS::Scheduler::Schedule",
        ),
        (
            {"environments.dev.schedules.inference_daily.enabled": "false"},
            "DevIngest",
            "AWS::Scheduler::Schedule",
        ),
        (
            {"environments.prod.gate.by_package_type.box.max_score_drop": "0.01"},
            "ProdMl",
            "AWS::SageMaker::Pipeline",
        ),
    ],
)
def test_documented_overrides_change_exactly_one_resource(
    synthesized, base_context, tmp_path, override, expected_stack, expected_type
):
    context = copy.deepcopy(base_context)
    context.update(override)
    after = synthesize(context, tmp_path / "after")
    changes = changed_resources(synthesized, after)
    assert len(changes) == 1, changes
    ((template_name, ids),) = changes.items()
    assert template_name.startswith(f"Delivery{expected_stack}")
    assert len(ids) == 1
    template = json.loads(next(after.outdir.rglob(template_name)).read_text())
    assert template["Resources"][next(iter(ids))]["Type"] == expected_type


# --------------------------------------------------------------- CodeConnections ARN forms


def _use_connection_grants(template: dict) -> list[tuple[str, str]]:
    return [
        (statement["Action"], statement["Resource"])
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if str(statement["Action"]).endswith(":UseConnection")
    ]


def test_a_codeconnections_arn_is_used_with_the_codeconnections_action(synthesized):
    """The console's ARN form since 2024: the action prefix must match the resource's."""
    template = json.loads((synthesized.outdir / "Delivery.template.json").read_text())
    arn = synthesized.settings.cicd.connection_arn
    assert arn.startswith("arn:aws:codeconnections:")
    assert _use_connection_grants(template) == [("codeconnections:UseConnection", arn)]


def test_a_codestar_connections_arn_keeps_the_codestar_connections_action(base_context, tmp_path):
    from tests.infra.iam_contract import check_stacks, stacks_in

    arn = "arn:aws:codestar-connections:us-east-1:111111111111:connection/" + "1" * 36
    context = copy.deepcopy(base_context)
    context["cicd.connection_arn"] = arn
    synthesized = synthesize(context, tmp_path / "codestar")
    template = json.loads((synthesized.outdir / "Delivery.template.json").read_text())
    assert _use_connection_grants(template) == [("codestar-connections:UseConnection", arn)]
    delivery = [s for s in stacks_in(synthesized.outdir, {}) if s.name == "Delivery"]
    assert [str(f) for f in check_stacks(delivery)] == []
