"""Ingest and triggers: schedules, the Redshift role, the extract runner and the trigger."""

from __future__ import annotations

import copy
import json

import pytest
from aws_cdk.assertions import Match, Template

from stacks.app_factory import build_app
from stacks.settings import ConfigError
from tests.conftest import synthesize

DEV_BUCKET = "pkgml-dev-data-222222222222-us-east-1"
PROD_BUCKET = "pkgml-prod-data-333333333333-us-west-2"


@pytest.fixture(scope="module")
def dev(synthesized) -> Template:
    return Template.from_stack(synthesized.stages["dev"].ingest)


@pytest.fixture(scope="module")
def prod(synthesized) -> Template:
    return Template.from_stack(synthesized.stages["prod"].ingest)


def statements_of(template: Template, role_path_fragment: str) -> list[dict]:
    """Every policy statement attached to the role whose logical ID contains the fragment."""
    found = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = [r["Ref"] for r in policy["Properties"]["Roles"]]
        if any(role_path_fragment in r for r in roles):
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    assert found, f"no policy for a role matching {role_path_fragment}"
    return found


def actions_by_resource(statements: list[dict]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for statement in statements:
        actions = statement["Action"]
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            key = (
                json.dumps(resource, sort_keys=True) if not isinstance(resource, str) else resource
            )
            result.setdefault(key, set()).update([actions] if isinstance(actions, str) else actions)
    return result


def schedules_of(template: Template) -> dict[str, dict]:
    """The extract schedules by run kind (the sweeper's input has no kind)."""
    schedules = template.find_resources("AWS::Scheduler::Schedule")
    inputs = {lid: json.loads(s["Properties"]["Target"]["Input"]) for lid, s in schedules.items()}
    return {
        inputs[lid]["kind"]: s["Properties"]
        for lid, s in schedules.items()
        if "kind" in inputs[lid]
    }


def sweep_schedule_of(template: Template) -> dict:
    [sweep] = [
        s["Properties"]
        for s in template.find_resources("AWS::Scheduler::Schedule").values()
        if json.loads(s["Properties"]["Target"]["Input"]) == {"action": "sweep"}
    ]
    return sweep


def runner_environment(template: Template) -> dict:
    return next(
        f["Properties"]["Environment"]["Variables"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "extract_handler.handler"
    )


# ---------------------------------------------------------------- schedules


def test_three_schedules_with_defaults_time_zone_retries_and_dlq(prod):
    schedules = schedules_of(prod)
    assert {k: v["ScheduleExpression"] for k, v in schedules.items()} == {
        "training": "cron(0 3 ? * MON *)",
        "inference-daily": "cron(0 5 * * ? *)",
        "inference-monthly": "cron(0 6 1 * ? *)",
    }
    for kind, props in schedules.items():
        assert json.loads(props["Target"]["Input"]) == {
            "kind": kind,
            "scheduled_time": "<aws.scheduler.scheduled-time>",
        }
        assert props["ScheduleExpressionTimezone"] == "UTC"
        assert props["State"] == "ENABLED"
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
        target = props["Target"]
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 3
        assert "DeadLetterConfig" in target
        assert target["Arn"]["Fn::GetAtt"][0].startswith("ExtractRunnerFunction")


def test_an_hourly_sweeper_settles_extracts_whose_status_event_was_lost(prod):
    sweep = sweep_schedule_of(prod)
    extract = schedules_of(prod)["training"]
    assert sweep["ScheduleExpression"] == "rate(1 hour)"
    assert sweep["State"] == "ENABLED"
    assert sweep["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = sweep["Target"]
    # the same function (the Data API only describes statements to the role that ran them),
    # the same delivery role and dead-letter queue as the extract schedules
    for field in ("Arn", "RoleArn", "DeadLetterConfig"):
        assert target[field] == extract["Target"][field], field
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 3
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 3600
    assert runner_environment(prod)["SWEEP_AFTER_SECONDS"] == "900"


def test_one_flag_changes_exactly_one_schedule(synthesized, base_context, tmp_path):
    context = copy.deepcopy(base_context)
    context["environments.prod.schedules.training.expression"] = "cron(0 3 ? * SUN *)"
    context["environments.dev.schedules.inference_daily.enabled"] = "false"
    changed = synthesize(context, tmp_path / "changed")

    def all_templates(result):
        return {
            path.relative_to(result.outdir).as_posix(): json.loads(path.read_text())
            for path in result.outdir.rglob("*.template.json")
        }

    before, after = all_templates(synthesized), all_templates(changed)
    assert sorted(before) == sorted(after)
    differing = {name for name in before if before[name] != after[name]}
    assert len(differing) == 2, differing  # dev ingest and prod ingest, nothing else
    assert all("Ingest" in name for name in differing)
    assert (
        schedules_of(Template.from_stack(changed.stages["prod"].ingest))["training"][
            "ScheduleExpression"
        ]
        == "cron(0 3 ? * SUN *)"
    )
    dev_after = schedules_of(Template.from_stack(changed.stages["dev"].ingest))
    assert dev_after["inference-daily"]["State"] == "DISABLED"
    assert dev_after["training"]["State"] == "ENABLED"
    for name in differing:
        b, a = before[name]["Resources"], after[name]["Resources"]
        assert sorted(b) == sorted(a)
        changed_ids = [lid for lid in b if b[lid] != a[lid]]
        assert len(changed_ids) == 1
        assert b[changed_ids[0]]["Type"] == "AWS::Scheduler::Schedule"


def test_invalid_schedule_fails_synth_naming_the_key(base_context):
    context = copy.deepcopy(base_context)
    context["environments.dev.schedules.inference_monthly.expression"] = "monthly"
    with pytest.raises(ConfigError, match=r"environments\.dev\.schedules\.inference_monthly"):
        build_app(context=context, validation=False, nag=False)


# ---------------------------------------------------------------- Redshift role (data stack)


@pytest.fixture(scope="module")
def prod_data(synthesized) -> Template:
    return Template.from_stack(synthesized.stages["prod"].data)


def test_redshift_role_is_assumed_by_redshift_and_output(prod_data):
    prod = prod_data
    [role] = prod.find_resources("AWS::IAM::Role").values()
    services = set()
    for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
        service = statement["Principal"]["Service"]
        services.update([service] if isinstance(service, str) else service)
    # prod's warehouse is a Serverless workgroup: its role must trust both services
    assert services == {"redshift.amazonaws.com", "redshift-serverless.amazonaws.com"}
    assert "RedshiftRoleArn" in prod.find_outputs("*")


def test_redshift_role_reaches_only_unload_and_predictions(prod_data):
    prod = prod_data
    granted = actions_by_resource(statements_of(prod, "RedshiftAccessRole"))
    s3_objects = {r: a for r, a in granted.items() if r.startswith("arn:aws:s3:::")}
    assert s3_objects == {
        f"arn:aws:s3:::{PROD_BUCKET}/unload/*": {"s3:GetObject", "s3:PutObject"},
        f"arn:aws:s3:::{PROD_BUCKET}/predictions/*": {"s3:GetObject"},
        f"arn:aws:s3:::{PROD_BUCKET}": {"s3:ListBucket", "s3:GetBucketLocation"},
    }
    listing = next(
        s for s in statements_of(prod, "RedshiftAccessRole") if s["Action"] == "s3:ListBucket"
    )
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["predictions/*", "unload/*"]}}


# ---------------------------------------------------------------- extract runner


def test_runner_is_invoked_by_its_statement_events_only(dev):
    dev.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.redshift-data"],
                "detail-type": ["Redshift Data Statement Status Change"],
                "detail": {
                    "statementName": [{"prefix": "pkgml-dev-"}],
                    "state": ["FINISHED", "FAILED", "ABORTED"],
                },
            },
            "Targets": [
                Match.object_like(
                    {
                        "DeadLetterConfig": Match.any_value(),
                        "RetryPolicy": Match.object_like({"MaximumRetryAttempts": 8}),
                    }
                )
            ],
        },
    )


def test_unloads_are_encrypted_with_the_data_stacks_key(synthesized, dev):
    # UNLOAD ... ENCRYPTED KMS_KEY_ID '<this>': a cross-stack reference to an output of the
    # data stack whose value is its (only) key's ARN
    data = Template.from_stack(synthesized.stages["dev"].data)
    [key_id] = data.find_resources("AWS::KMS::Key")
    reference = runner_environment(dev)["UNLOAD_KMS_KEY_ARN"]["Fn::GetStackOutput"]
    assert reference["StackName"] == "pkgml-dev-data"
    output = data.find_outputs(reference["OutputName"])[reference["OutputName"]]
    assert output["Value"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_runner_environment_names_the_warehouse(dev, prod):
    dev_env = next(
        f["Properties"]["Environment"]["Variables"]
        for f in dev.find_resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "extract_handler.handler"
    )
    assert dev_env["REDSHIFT_CLUSTER_ID"] == "packaging-dw-dev"
    assert dev_env["REDSHIFT_DB_USER"] == "pkgml_etl"
    assert dev_env["REDSHIFT_DATABASE"] == "packaging"
    assert dev_env["DATA_BUCKET"] == DEV_BUCKET
    assert json.loads(dev_env["PACKAGE_TYPES"]) == ["mailer", "bag", "box", "sioc"]
    assert "REDSHIFT_WORKGROUP" not in dev_env
    prod_env = next(
        f["Properties"]["Environment"]["Variables"]
        for f in prod.find_resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "extract_handler.handler"
    )
    assert prod_env["REDSHIFT_WORKGROUP"] == "packaging-dw"
    assert prod_env["REDSHIFT_SECRET_ARN"].startswith("arn:aws:secretsmanager:us-west-2:")


def test_runner_permissions_dev_cluster_with_iam_user(dev):
    granted = actions_by_resource(statements_of(dev, "ExtractRunnerRole"))
    assert granted["arn:aws:redshift:us-east-1:222222222222:cluster:packaging-dw-dev"] == {
        "redshift-data:ExecuteStatement"
    }
    assert granted["arn:aws:redshift:us-east-1:222222222222:dbuser:packaging-dw-dev/pkgml_etl"] == {
        "redshift:GetClusterCredentials"
    }
    # the sweeper describes and lists the runner's own statements (no resource types exist)
    assert granted["*"] == {"redshift-data:DescribeStatement", "redshift-data:ListStatements"}
    assert granted[f"arn:aws:s3:::{DEV_BUCKET}/runs/*"] == {"s3:GetObject", "s3:PutObject"}
    assert granted[f"arn:aws:s3:::{DEV_BUCKET}/unload/*"] == {"s3:GetObject"}
    assert granted[f"arn:aws:s3:::{DEV_BUCKET}/extract-state/*"] == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
    }


def test_runner_permissions_prod_serverless_with_secret(prod):
    granted = actions_by_resource(statements_of(prod, "ExtractRunnerRole"))
    assert granted["arn:aws:redshift-serverless:us-west-2:333333333333:workgroup/*"] == {
        "redshift-data:ExecuteStatement"
    }
    assert granted[
        "arn:aws:secretsmanager:us-west-2:333333333333:secret:pkgml/redshift-AbCdEf"
    ] == {"secretsmanager:GetSecretValue"}


# ---------------------------------------------------------------- trigger


def trigger_function(template: Template) -> dict:
    return next(
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "trigger_handler.handler"
    )


def test_trigger_rule_matches_run_files_of_this_bucket(dev):
    dev.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [DEV_BUCKET]},
                    "object": {"key": [{"prefix": "runs/"}]},
                },
            }
        },
    )


def test_trigger_routes_every_run_kind_to_this_environments_pipelines(dev):
    env = trigger_function(dev)["Environment"]["Variables"]
    pipelines = json.loads(env["PIPELINES"])
    assert pipelines["training"]["mailer"] == "pkgml-dev-mailer-training"
    assert pipelines["inference-daily"]["sioc"] == "pkgml-dev-sioc-inference"
    assert pipelines["inference-monthly"]["sioc"] == "pkgml-dev-sioc-inference"
    assert json.loads(env["PACKAGE_TYPES"]) == ["mailer", "bag", "box", "sioc"]
    assert env["DATA_BUCKET"] == DEV_BUCKET


def test_trigger_may_start_exactly_this_environments_pipelines(dev):
    starts = [
        s
        for s in statements_of(dev, "TriggerHandlerRole")
        if s["Action"] == "sagemaker:StartPipelineExecution"
    ]
    assert len(starts) == 1
    # each package type's pipelines, and the extra architectures dev deploys (cdk.json)
    names = [
        f"pkgml-dev-{t}-{k}"
        for t in ("mailer", "bag", "box", "sioc")
        for k in ("training", "inference", "training-xgboost", "training-multimodal")
    ]
    expected = sorted(f"arn:aws:sagemaker:us-east-1:222222222222:pipeline/{n}" for n in names)
    assert starts[0]["Resource"] == expected


def test_trigger_object_access_is_exact(dev):
    granted = actions_by_resource(statements_of(dev, "TriggerHandlerRole"))
    s3_objects = {r: a for r, a in granted.items() if r.startswith("arn:aws:s3:::")}
    assert s3_objects == {
        f"arn:aws:s3:::{DEV_BUCKET}/runs/*": {"s3:GetObject", "s3:GetObjectVersion"},
        f"arn:aws:s3:::{DEV_BUCKET}/unload/*": {"s3:GetObject"},
        f"arn:aws:s3:::{DEV_BUCKET}/quarantine/*": {"s3:GetObject", "s3:PutObject"},
        f"arn:aws:s3:::{DEV_BUCKET}": {"s3:ListBucket"},
        f"arn:aws:s3:::{DEV_BUCKET}/trigger-state/*": {
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
        },
    }


def test_trigger_has_reserved_concurrency_and_an_on_failure_queue(dev):
    assert trigger_function(dev)["ReservedConcurrentExecutions"] == 5
    configs = dev.find_resources("AWS::Lambda::EventInvokeConfig")
    assert len(configs) == 2  # trigger and extract runner
    for config in configs.values():
        on_failure = config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
        assert "Fn::GetAtt" in on_failure


def test_functions_use_the_newest_runtime_and_json_logs(dev):
    for function in dev.find_resources("AWS::Lambda::Function").values():
        props = function["Properties"]
        if props.get("Handler", "").startswith(("trigger_", "extract_")):
            assert props["Runtime"] == "python3.14"
            assert props["LoggingConfig"]["LogFormat"] == "JSON"
            assert props["Architectures"] == ["arm64"]


def test_no_wildcard_actions_in_ingest_policies(dev, prod):
    for template in (dev, prod):
        for policy in template.find_resources("AWS::IAM::Policy").values():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                for action in [actions] if isinstance(actions, str) else actions:
                    assert "*" not in action, action


def test_trigger_knows_each_package_types_configured_architecture(dev):
    functions = dev.find_resources("AWS::Lambda::Function")
    variables = next(
        f["Properties"]["Environment"]["Variables"]
        for f in functions.values()
        if "ARCHITECTURE_PIPELINES" in f["Properties"].get("Environment", {}).get("Variables", {})
    )
    defaults = json.loads(variables["DEFAULT_ARCHITECTURES"])
    routes = json.loads(variables["ARCHITECTURE_PIPELINES"])
    assert defaults == dict.fromkeys(("bag", "box", "mailer", "sioc"), "hgb")
    for package_type, architecture in defaults.items():
        # the configured architecture trains in the package type's own pipeline
        assert routes[package_type][architecture] == f"pkgml-dev-{package_type}-training"
