"""Monitoring: every alarm reaches people one way, every function has a failure path, rules
match real events."""

from __future__ import annotations

import copy
import json

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from tests.conftest import synthesize_stage
from tests.infra.events import alarm_state_change, matching_rules, recorded, rule_patterns
from tools import dashboard_layout as layout

TYPES = ("mailer", "bag", "box", "sioc")


@pytest.fixture(scope="module")
def dev(synthesized) -> Template:
    return Template.from_stack(synthesized.stages["dev"].monitoring)


def all_templates(synthesized) -> dict[str, Template]:
    return {
        f"{env}/{stack.node.id}": Template.from_stack(stack)
        for env, stage in synthesized.stages.items()
        for stack in stage.node.children
        if isinstance(stack, Stack)
    }


def test_every_alarm_in_every_stack_reaches_people_one_way(synthesized):
    """In both environments: each alarm's state changes (ALARM and OK) are routed to notify
    by its stage's rule, or (the notifier's own alarms) it has a direct SNS action; never
    neither (silence), never both (two messages)."""
    count = 0
    for env, stage in synthesized.stages.items():
        where = synthesized.settings.environment(env)
        rules = rule_patterns(Template.from_stack(stage.monitoring))
        direct = []
        for name, template in all_templates(synthesized).items():
            if not name.startswith(f"{env}/"):
                continue
            for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
                alarm_name = alarm["Properties"]["AlarmName"]
                routed = [
                    any(
                        p.matches_event(
                            alarm_state_change(
                                alarm_name, value, account=where.account, region=where.region
                            )
                        )
                        for p in rules.values()
                    )
                    for value in ("ALARM", "OK")
                ]
                actions = alarm["Properties"].get("AlarmActions", [])
                assert routed in ([True, True], [False, False]), f"{name}: {alarm_name}"
                assert routed[0] != bool(actions), f"{name}: {alarm_name}"
                direct += [alarm_name] if actions else []
                count += 1
        assert sorted(direct) == [
            f"pkgml-{env}-notifier-{suffix}"
            for suffix in (
                "Fault-Count-Errors",
                "Throttled-Count-Throttles",
                "failed-invocations-Queue-Message-Count-Max-NotEmpty",
                "undelivered-events-Queue-Message-Count-Max-NotEmpty",
            )
        ]
    assert count >= 80


def test_alarm_inventory_per_environment(dev, synthesized):
    names = sorted(
        a["Properties"]["AlarmName"] for a in dev.find_resources("AWS::CloudWatch::Alarm").values()
    )
    for package_type in TYPES:
        for kind in ("training", "inference"):
            assert f"pkgml-dev-{package_type}-{kind}-execution-failed" in names
        assert f"pkgml-dev-{package_type}-no-successful-training" in names
        assert f"pkgml-dev-{package_type}-rejections-in-a-row" in names
        for metric in ("ScoreDrop", "LabelShift", "LabelCountChange", "InputSizeChange"):
            assert f"pkgml-dev-{package_type}-gate-{metric}" in names
    assert "pkgml-dev-scheduler-TargetErrorCount" in names
    lambda_alarms = [n for n in names if "Function" in n or "Handler" in n or "Runner" in n]
    assert len([n for n in names if "Errors" in n]) == 4  # trigger, extract, resolve, notify
    assert len([n for n in names if "Throttles" in n]) == 4
    assert lambda_alarms
    queues = sum(
        len(t.find_resources("AWS::SQS::Queue"))
        for name, t in all_templates(synthesized).items()
        if name.startswith("dev/")
    )
    assert queues == 8
    assert len([n for n in names if "NotEmpty" in n]) == queues  # every queue is a DLQ


def test_no_successful_training_alarm_breaches_on_missing_data(dev):
    alarm = next(
        a["Properties"]
        for a in dev.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == "pkgml-dev-mailer-no-successful-training"
    )
    assert alarm["Namespace"] == "AWS/Sagemaker/ModelBuildingPipeline"
    assert alarm["MetricName"] == "ExecutionSucceeded"
    assert alarm["Dimensions"] == [{"Name": "PipelineName", "Value": "pkgml-dev-mailer-training"}]
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 7
    assert alarm["Period"] == 86400


def test_monitoring_thresholds_follow_configuration(base_context, tmp_path):
    context = copy.deepcopy(base_context)
    context["environments.prod.monitoring.max_consecutive_rejections"] = "3"
    context["environments.prod.monitoring.deviation_alarms.score_drop"] = "0.1"
    prod = synthesize_stage(context, "prod", tmp_path / "monitoring")
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in Template.from_stack(prod.monitoring)
        .find_resources("AWS::CloudWatch::Alarm")
        .values()
    }
    assert alarms["pkgml-prod-box-rejections-in-a-row"]["Threshold"] == 3
    assert alarms["pkgml-prod-box-gate-ScoreDrop"]["Threshold"] == 0.1
    assert alarms["pkgml-prod-box-gate-LabelShift"]["Threshold"] == 0.2


def test_every_platform_function_has_an_on_failure_destination(synthesized):
    for name, template in all_templates(synthesized).items():
        functions = {
            lid: f["Properties"]
            for lid, f in template.find_resources("AWS::Lambda::Function").items()
            # CloudFormation invokes the CDK's own custom-resource handlers synchronously.
            if not f["Properties"].get("Handler", "").startswith(("index.", "__entrypoint__"))
        }
        configs = [
            c["Properties"]
            for c in template.find_resources("AWS::Lambda::EventInvokeConfig").values()
        ]
        covered = {c["FunctionName"]["Ref"] for c in configs if c["DestinationConfig"]["OnFailure"]}
        assert set(functions) == covered, name


@pytest.mark.parametrize(
    ("event_file", "rule_fragment"),
    [
        ("sagemaker_pipeline_execution_failed", "PipelineExecutionFailed"),
        ("sagemaker_pipeline_execution_stopped", "PipelineExecutionFailed"),
        ("sagemaker_pipeline_step_failed", "PipelineStepFailed"),
        ("sagemaker_model_package_approved", "ModelDecision"),
        ("sagemaker_model_package_rejected", "ModelDecision"),
    ],
)
def test_rules_match_recorded_events(dev, event_file, rule_fragment):
    matched = matching_rules(dev, recorded(event_file))
    assert len(matched) == 1 and matched[0].startswith(rule_fragment), matched


def test_rules_ignore_other_environments_and_accounts(dev):
    other_env = recorded("sagemaker_pipeline_execution_failed")
    other_env["detail"]["pipelineArn"] = other_env["detail"]["pipelineArn"].replace(
        "pkgml-dev-", "pkgml-prod-"
    )
    assert matching_rules(dev, other_env) == []
    other_account = recorded("sagemaker_pipeline_step_failed", account="999999999999")
    assert matching_rules(dev, other_account) == []
    pending = recorded("sagemaker_model_package_approved")
    pending["detail"]["ModelApprovalStatus"] = "PendingManualApproval"
    assert matching_rules(dev, pending) == []


def test_succeeded_executions_reach_the_notifier_for_drift_news(dev):
    """A succeeded execution reaches notify, which reads the run's drift.json and speaks
    only when an inference batch drifted (tests/lambdas: test_notify_format)."""
    event = recorded("sagemaker_pipeline_execution_failed")
    event["detail"]["currentPipelineExecutionStatus"] = "Succeeded"
    matched = matching_rules(dev, event)
    assert len(matched) == 1 and matched[0].startswith("PipelineExecutionSucceeded"), matched
    executing = recorded("sagemaker_pipeline_execution_failed")
    executing["detail"]["currentPipelineExecutionStatus"] = "Executing"
    assert matching_rules(dev, executing) == []


def test_the_notifier_knows_where_drift_reports_are(dev):
    functions = [
        f["Properties"]
        for f in dev.find_resources("AWS::Lambda::Function").values()
        if "ARTIFACTS_BUCKET" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert len(functions) == 1
    assert functions[0]["Environment"]["Variables"]["LOOKUPS"] == "true"


def test_notifier_publishes_to_both_topics_only(dev):
    statements = [
        s
        for p in dev.find_resources("AWS::IAM::Policy").values()
        if any("NotifyRole" in r["Ref"] for r in p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "sns:Publish"
    ]
    resources = [r for s in statements for r in s["Resource"]]
    outputs = sorted(r["Fn::GetStackOutput"]["OutputName"] for r in resources)
    assert len(outputs) == 2
    assert outputs[0].startswith("PublishOutputRefAlerts")
    assert outputs[1].startswith("PublishOutputRefDecisions")


def test_dashboard_exists_with_pipeline_widgets(dev):
    dashboards = dev.find_resources("AWS::CloudWatch::Dashboard")
    assert len(dashboards) == 1
    body = json.dumps(next(iter(dashboards.values()))["Properties"]["DashboardBody"])
    assert "AWS/Sagemaker/ModelBuildingPipeline" in body
    assert "pkgml-dev-sioc-inference" in body


def dashboard_body(template: Template) -> dict:
    """The dashboard's JSON, intrinsics (region, ARNs) rendered as '…'."""
    return layout.dashboard_body(template.to_json())


def widget(body: dict, title: str, package_type: str) -> dict:
    """The graph titled `title` that reads `package_type`'s metrics."""
    found = [
        w["properties"]
        for w in body["widgets"]
        if w["properties"].get("title") == title
        and any(package_type in line for line in w["properties"].get("metrics", []))
    ]
    assert len(found) == 1, (title, package_type, len(found))
    return found[0]


def annotations(properties: dict) -> dict[str, float]:
    return {a["label"]: a["value"] for a in properties["annotations"]["horizontal"]}


@pytest.mark.parametrize("package_type", TYPES)
def test_each_deviation_graph_draws_the_alarm_bounds(dev, package_type):
    """Annotations equal the thresholds of the alarms on the same metrics (not settings)."""
    thresholds = {
        alarm["Properties"]["MetricName"]: alarm["Properties"]["Threshold"]
        for alarm in dev.find_resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "PackagingML/Gate"
        and {"Name": "PackageType", "Value": package_type} in alarm["Properties"]["Dimensions"]
    }
    graph = widget(dashboard_body(dev), "Deviations from the champion (alarm bounds)", package_type)
    assert annotations(graph) == {
        "score drop alarm 0.05": thresholds["ScoreDrop"],
        "label shift alarm 0.2": thresholds["LabelShift"],
        "label count change alarm 1.0": thresholds["LabelCountChange"],
        "input size change alarm 1.0": thresholds["InputSizeChange"],
    }
    rejections = widget(dashboard_body(dev), "Rejections in a row", package_type)
    assert annotations(rejections) == {"alarm 2": thresholds["ConsecutiveRejections"]}


def test_the_score_graph_draws_each_package_types_own_floor(base_context, tmp_path):
    """`gate.by_package_type` overrides show: a floor per package type, as configured."""
    context = copy.deepcopy(base_context)
    context["environments.dev.gate.by_package_type.box.min_score"] = "0.75"
    template = Template.from_stack(synthesize_stage(context, "dev", tmp_path / "floor").monitoring)
    body = dashboard_body(template)
    title = "Score: challenger and champion (ROC AUC)"
    assert annotations(widget(body, title, "box")) == {"gate floor 0.75": 0.75}
    assert annotations(widget(body, title, "mailer")) == {"gate floor 0.7": 0.7}
    labels = [line[-1]["label"] for line in widget(body, title, "box")["metrics"]]
    assert labels == ["challenger", "champion"]


def test_decisions_per_day_split_approved_and_rejected(dev):
    graph = widget(dashboard_body(dev), "Decisions per day", "bag")
    assert graph["stacked"] is True
    expression = [line[0] for line in graph["metrics"] if isinstance(line[0], dict)]
    assert expression == [
        {"expression": "decided - approved", "label": "rejected", "period": 86400}
    ]


def test_dead_letter_queues_fold_into_one_health_row(dev):
    body = dashboard_body(dev)
    queue_alarms = {
        alarm["Properties"]["AlarmName"]
        for alarm in dev.find_resources("AWS::CloudWatch::Alarm").values()
        if "AWS/SQS" in json.dumps(alarm["Properties"])
    }
    status = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert len(status) == 1
    assert len(status[0]["properties"]["alarms"]) == len(queue_alarms) >= 8
    # no per-queue rows: the only SQS graph is the one with every queue
    sqs_graphs = [w for w in body["widgets"] if "AWS/SQS" in json.dumps(w.get("properties", {}))]
    assert [w["properties"]["title"] for w in sqs_graphs] == [
        "Messages waiting in dead-letter queues"
    ]
    # was 72, 40 of them for the queues; then 64, plus one input-drift graph per type
    assert len(body["widgets"]) <= 68


def _alarm_named(template: Template, name: str) -> dict:
    return next(
        a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == name
    )


@pytest.mark.parametrize("package_type", TYPES)
def test_input_drift_alarms_read_both_inference_run_kinds(dev, package_type):
    """The Load step publishes MaxFeaturePSI and DriftBlocked per run kind; each alarm
    takes the largest of the daily and monthly runs; notify words its state changes."""
    for suffix, metric, threshold in (
        ("input-drift", "MaxFeaturePSI", 0.25),
        ("drift-blocked", "DriftBlocked", 0),
    ):
        alarm = _alarm_named(dev, f"pkgml-dev-{package_type}-{suffix}")
        assert alarm["Threshold"] == threshold
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"
        assert "AlarmActions" not in alarm  # its state change goes to notify
        queries = {q["Id"]: q for q in alarm["Metrics"]}
        reads = sorted(
            (
                q["MetricStat"]["Metric"]["Namespace"],
                q["MetricStat"]["Metric"]["MetricName"],
                tuple((d["Name"], d["Value"]) for d in q["MetricStat"]["Metric"]["Dimensions"]),
            )
            for q in queries.values()
            if "MetricStat" in q
        )
        assert reads == [
            (
                "PackagingML/Inference",
                metric,
                (("PackageType", package_type), ("RunKind", "inference-daily")),
            ),
            (
                "PackagingML/Inference",
                metric,
                (("PackageType", package_type), ("RunKind", "inference-monthly")),
            ),
        ]
        (expression,) = [q for q in queries.values() if "Expression" in q]
        assert expression["Expression"].startswith("MAX([")
        assert expression["ReturnData"] is True


def test_drift_limits_and_policy_follow_configuration(base_context, tmp_path):
    context = copy.deepcopy(base_context)
    context["environments.dev.monitoring.drift.by_package_type.box.psi_limit"] = "0.4"
    context["environments.dev.monitoring.drift.by_package_type.box.action"] = "block"
    template = Template.from_stack(synthesize_stage(context, "dev", tmp_path / "drift").monitoring)
    box = _alarm_named(template, "pkgml-dev-box-input-drift")
    assert box["Threshold"] == 0.4
    assert "policy: block" in box["AlarmDescription"]
    assert _alarm_named(template, "pkgml-dev-bag-input-drift")["Threshold"] == 0.25
    graph = widget(
        dashboard_body(template), "Input drift: largest feature PSI per day (limit)", "box"
    )
    assert annotations(graph) == {"PSI limit 0.4": 0.4}
