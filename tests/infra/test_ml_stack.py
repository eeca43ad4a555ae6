"""ML stack: registry groups, pipelines as CloudFormation, execution role, step code."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from pipeline_defs.placeholders import placeholder_values
from stacks.components.step_code import bundle_hashes
from stacks.naming import training_pipeline_name
from tests.conftest import synthesize_stage

ROOT = Path(__file__).resolve().parents[2]
TYPES = ("mailer", "bag", "box", "sioc")
DEV_DATA = "pkgml-dev-data-222222222222-us-east-1"
DEV_ARTIFACTS = "pkgml-dev-artifacts-222222222222-us-east-1"
TOKEN = "TOKEN"


@pytest.fixture(scope="module")
def dev(synthesized) -> Template:
    return Template.from_stack(synthesized.stages["dev"].ml)


@pytest.fixture(scope="module")
def prod(synthesized) -> Template:
    return Template.from_stack(synthesized.stages["prod"].ml)


def rendered(value) -> str:
    """A CloudFormation string value with every intrinsic replaced by TOKEN."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(rendered(part) for part in parts)
    return TOKEN


def definitions(template: Template) -> dict[str, dict]:
    """{pipeline name: parsed definition} for every AWS::SageMaker::Pipeline."""
    result = {}
    for resource in template.find_resources("AWS::SageMaker::Pipeline").values():
        props = resource["Properties"]
        body = rendered(props["PipelineDefinition"]["PipelineDefinitionBody"])
        result[props["PipelineName"]] = json.loads(body)
    return result


def raw_body(template: Template, name: str):
    for resource in template.find_resources("AWS::SageMaker::Pipeline").values():
        if resource["Properties"]["PipelineName"] == name:
            return resource["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    raise AssertionError(name)


def test_one_group_and_a_pipeline_per_deployed_architecture_per_package_type(dev, prod):
    groups = dev.find_resources("AWS::SageMaker::ModelPackageGroup")
    assert sorted(g["Properties"]["ModelPackageGroupName"] for g in groups.values()) == sorted(
        f"pkgml-dev-{t}" for t in TYPES
    )
    # prod: each package type's configured architecture only
    assert sorted(definitions(prod)) == sorted(
        f"pkgml-prod-{t}-{kind}" for t in TYPES for kind in ("training", "inference")
    )
    # dev deploys xgboost and multimodal too (cdk.json ml.extra_architectures)
    assert sorted(definitions(dev)) == sorted(
        [f"pkgml-dev-{t}-{kind}" for t in TYPES for kind in ("training", "inference")]
        + [f"pkgml-dev-{t}-training-{a}" for t in TYPES for a in ("multimodal", "xgboost")]
    )


def test_group_logical_ids_are_stable_and_prod_retains_them(prod):
    groups = prod.find_resources("AWS::SageMaker::ModelPackageGroup")
    assert sorted(groups) == sorted(["Groupmailer", "Groupbag", "Groupbox", "Groupsioc"])
    for group in groups.values():
        assert group["DeletionPolicy"] == "Retain"


def test_definitions_have_no_placeholder_left(dev, prod):
    for template in (dev, prod):
        for name in definitions(template):
            text = json.dumps(raw_body(template, name))
            for placeholder in placeholder_values().values():
                assert placeholder not in text, (name, placeholder)
            assert "000000000000" not in text


def test_definitions_point_at_this_environments_resources(dev):
    body = json.dumps(raw_body(dev, "pkgml-dev-mailer-training"))
    bundles = bundle_hashes()
    for stem in ("split", "arch-hgb", "evaluate", "compare", "score_champion"):
        assert f"s3://{DEV_ARTIFACTS}/code/{bundles[stem]}/" in body, stem
    assert '{"Fn::GetAtt": ["ExecutionRole' in body
    # the training pipeline asks this environment's Resolve function for the champion
    assert '{"Fn::GetAtt": ["ResolveModelFunction' in body
    assert "PublishOutputFnGetAttDataKey" in body  # the data stack's key
    inference = json.dumps(raw_body(dev, "pkgml-dev-mailer-inference"))
    assert f"s3://{DEV_DATA}/predictions/pkgml-dev-mailer-inference" in inference
    assert '{"Fn::GetAtt": ["ResolveModelFunction' in inference
    assert "RedshiftAccessRole" in inference


def test_training_steps_and_caching_retries(dev):
    definition = definitions(dev)["pkgml-dev-box-training"]
    steps = {s["Name"]: s for s in definition["Steps"]}
    assert list(steps) == [
        "ResolveChampion",
        "Split",
        "DataQuality",
        "CreateModel",
        "EvaluateTransform",
        "Evaluate",
        "Compare",
        "Gate",
    ]
    gate = steps["Gate"]["Arguments"]
    branches = {s["Name"] for s in gate["IfSteps"]} | {s["Name"] for s in gate["ElseSteps"]}
    assert branches == {"RegisterApproved", "RegisterRejected"}
    quality = steps["DataQuality"]["Arguments"]
    assert [s["Name"] for s in quality["IfSteps"]] == ["ScoreChampion", "Train"]
    assert [s["Name"] for s in quality["ElseSteps"]] == ["DataQualityFailed"]
    for step in [*definition["Steps"], *quality["IfSteps"]]:
        if step["Type"] in ("Processing", "Training", "Transform"):
            assert step["RetryPolicies"], step["Name"]
            if step["Name"] != "Compare":
                assert step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}


def test_gate_defaults_follow_configuration(base_context, tmp_path):
    context = copy.deepcopy(base_context)
    context["environments.prod.gate.by_package_type.box.max_score_drop"] = "0.01"
    prod = synthesize_stage(context, "prod", tmp_path / "gate")
    params = {
        name: {p["Name"]: p.get("DefaultValue") for p in d["Parameters"]}
        for name, d in definitions(Template.from_stack(prod.ml)).items()
    }
    assert params["pkgml-prod-box-training"]["MaxScoreDrop"] == 0.01
    assert params["pkgml-prod-mailer-training"]["MaxScoreDrop"] == 0.02


def load_runfile_module():
    path = ROOT / "lambda_src" / "trigger" / "runfile.py"
    spec = importlib.util.spec_from_file_location("runfile_contract_check", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("example", sorted((ROOT / "examples" / "run_files").glob("*.json")))
def test_trigger_parameters_exist_in_the_pipelines_it_starts(dev, synthesized, example):
    """The run file -> StartPipelineExecution contract: every name the trigger sends exists
    in the pipeline it starts, for every architecture a run file may choose."""
    from ops.runfiles import deployment

    runfile = load_runfile_module()
    environment = synthesized.settings.environment("dev")
    document = json.loads(example.read_text())
    kind = document["kind"]
    run = runfile.parse_run_file(
        document,
        expected=runfile.RunKey(kind=kind, run_id=document["run_id"]),
        data_bucket=document["data"]["manifest"].split("/")[2],
        configured_package_types=TYPES,
        deployment=deployment(environment, TYPES),
    )
    all_definitions = definitions(dev)
    for package_type in run.package_types:
        if kind == "training":
            configured = environment.model_for(package_type).architecture
            architecture = run.models[package_type].architecture.name
            name = training_pipeline_name("pkgml", "dev", package_type, architecture, configured)
        else:
            name = f"pkgml-dev-{package_type}-inference"
        sent = {p["Name"] for p in runfile.pipeline_parameters(run, package_type)}
        declared = {p["Name"] for p in all_definitions[name]["Parameters"]}
        assert sent <= declared, (name, sent - declared)


def test_every_deployed_architecture_has_its_pipeline_per_package_type(dev, synthesized):
    environment = synthesized.settings.environment("dev")
    names = set(definitions(dev))
    for package_type in TYPES:
        deployed = environment.deployed_architectures(package_type)
        assert len(deployed) >= 2  # dev deploys extra architectures (cdk.json)
        for architecture in deployed:
            name = training_pipeline_name("pkgml", "dev", package_type, architecture, deployed[0])
            assert name in names, name


def test_execution_role_object_access_is_exact(dev):
    statements = [
        s
        for p in dev.find_resources("AWS::IAM::Policy").values()
        if any("ExecutionRole" in r["Ref"] for r in p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    objects = {}
    for statement in statements:
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            if (
                isinstance(resource, str)
                and resource.startswith("arn:aws:s3:::")
                and "/" in resource
            ):
                actions = statement["Action"]
                objects.setdefault(resource, set()).update(
                    [actions] if isinstance(actions, str) else actions
                )
    assert objects == {
        f"arn:aws:s3:::{DEV_DATA}/unload/*": {"s3:GetObject"},
        f"arn:aws:s3:::{DEV_DATA}/predictions/*": {"s3:GetObject", "s3:PutObject"},
        f"arn:aws:s3:::{DEV_ARTIFACTS}/code/*": {"s3:GetObject"},
        f"arn:aws:s3:::{DEV_ARTIFACTS}/pipelines/*": {"s3:GetObject", "s3:PutObject"},
        f"arn:aws:s3:::{DEV_ARTIFACTS}/models/*": {"s3:GetObject", "s3:PutObject"},
    }
    for statement in statements:
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            assert "*" not in action
    pass_role = next(s for s in statements if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    ecr = next(s for s in statements if s.get("Sid") == "PullFrameworkImages")
    # the images of every deployed architecture (dev: scikit-learn and XGBoost), nothing else
    assert ecr["Resource"] == [
        "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-scikit-learn",
        "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost",
    ]


def test_pipelines_run_as_the_execution_role(dev):
    for resource in dev.find_resources("AWS::SageMaker::Pipeline").values():
        assert resource["Properties"]["RoleArn"]["Fn::GetAtt"][0].startswith("ExecutionRole")


def test_step_code_ships_to_its_content_address(dev):
    deployments = dev.find_resources("Custom::CDKBucketDeployment")
    assert len(deployments) == 1
    props = next(iter(deployments.values()))["Properties"]
    assert props["DestinationBucketKeyPrefix"] == "code/"
    assert props["DestinationBucketName"] == DEV_ARTIFACTS
    assert props["Prune"] is False


def test_resolve_function_serves_only_this_environments_groups(dev):
    function = next(
        f["Properties"]
        for f in dev.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "resolve_handler.handler"
    )
    assert json.loads(function["Environment"]["Variables"]["ALLOWED_GROUPS"]) == sorted(
        f"pkgml-dev-{t}" for t in TYPES
    )


def ec2_actions(template: Template) -> set[str]:
    return {
        action
        for p in template.find_resources("AWS::IAM::Policy").values()
        if any("ExecutionRole" in r["Ref"] for r in p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        if action.startswith("ec2:")
    }


def test_vpc_mode_lets_jobs_create_their_network_interfaces(
    dev, synthesized, base_context, tmp_path
):
    assert ec2_actions(dev) == set()  # no VPC configured: no EC2 permissions at all
    context = copy.deepcopy(base_context)
    context["environments.dev.ml.subnets"] = '["subnet-0123abcd"]'
    context["environments.dev.ml.security_groups"] = '["sg-0123abcd"]'
    changed = synthesize_stage(context, "dev", tmp_path / "vpc")
    vpc = Template.from_stack(changed.ml)
    assert {"ec2:CreateNetworkInterface", "ec2:DescribeSubnets"} <= ec2_actions(vpc)
    body = json.dumps(raw_body(vpc, "pkgml-dev-mailer-training"))
    assert "subnet-0123abcd" in body and "sg-0123abcd" in body
    # ... and synth says what the subnets must provide (no warning without a VPC).
    warnings = Annotations.from_stack(changed.ml).find_warning(
        "*", Match.string_like_regexp("ml.subnets is set")
    )
    assert len(warnings) == 1
    text = str(warnings[0].entry.data)
    for endpoint in ("s3", "sagemaker.api", "monitoring", "redshift-data"):
        assert f"com.amazonaws.us-east-1.{endpoint} " in text
    assert "NAT gateway" in text
    assert not Annotations.from_stack(synthesized.stages["dev"].ml).find_warning(
        "*", Match.string_like_regexp("ml.subnets is set")
    )
