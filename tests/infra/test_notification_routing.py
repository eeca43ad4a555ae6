"""Notify is the only writer of human-facing text: the trigger and the extract runner put
events (never SNS), the rules route them and this environment's alarms to notify, and only
the alarms that watch the notifier itself keep a direct SNS action.

Read from dev's stacks in the session's synthesized app.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template
from moto.events.models import EventPattern

from stacks.data_stack import DataStack
from stacks.monitoring_stack import MonitoringStack
from stacks.notifications_stack import NotificationsStack
from stacks.settings import load_settings
from tests.infra.iam_contract import applies, expand

EVENTS = Path(__file__).resolve().parents[1] / "lambdas" / "events"
ACCOUNT, REGION = "222222222222", "us-east-1"  # dev in cdk.json


@dataclass(frozen=True)
class Built:
    monitoring: Template
    ingest: Template
    notifications: Template


@pytest.fixture(scope="module")
def built(synthesized: Any) -> Built:
    """Dev's stacks as the stage wires them (the session's one synthesized app)."""
    dev = synthesized.stages["dev"]
    return Built(
        monitoring=Template.from_stack(dev.monitoring),
        ingest=Template.from_stack(dev.ingest),
        notifications=Template.from_stack(dev.notifications),
    )


def recorded(name: str) -> dict[str, Any]:
    """A recorded sample event, re-homed into the dev account."""
    return json.loads((EVENTS / f"{name}.json").read_text().replace("123456789012", ACCOUNT))


def rules(template: Template) -> dict[str, dict[str, Any]]:
    return template.find_resources("AWS::Events::Rule")


def matching(template: Template, event: dict[str, Any]) -> list[str]:
    return sorted(
        logical_id
        for logical_id, rule in rules(template).items()
        if EventPattern.load(json.dumps(rule["Properties"]["EventPattern"])).matches_event(event)
    )


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def state_change(alarm_name: str, value: str = "ALARM") -> dict[str, Any]:
    """The "CloudWatch Alarm State Change" event this alarm would send."""
    event = recorded("cloudwatch_alarm_state_change")
    event["resources"] = [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm_name}"]
    event["detail"]["alarmName"] = alarm_name
    event["detail"]["state"]["value"] = value
    return event


def role_statements(template: Template, handler: str) -> list[dict[str, Any]]:
    """The policy statements of the role of the function whose handler is `handler`."""
    [function] = [
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == handler
    ]
    role = function["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "rule"),
    [
        ("pkgml_trigger_run_file_quarantined", "TriggerEvents"),
        ("pkgml_trigger_run_file_not_started", "TriggerEvents"),
        ("pkgml_extract_failed", "ExtractEvents"),
        ("cloudwatch_alarm_state_change", "AlarmStateChange"),
    ],
)
def test_the_platforms_events_and_alarms_reach_notify(built: Built, sample: str, rule: str):
    [matched] = matching(built.monitoring, recorded(sample))
    assert matched.startswith(rule)
    target = rules(built.monitoring)[matched]["Properties"]["Targets"]
    [notify] = [
        f
        for f, props in built.monitoring.find_resources("AWS::Lambda::Function").items()
        if props["Properties"]["Handler"] == "notify_handler.handler"
    ]
    assert [t["Arn"] for t in target] == [{"Fn::GetAtt": [notify, "Arn"]}]
    assert all("DeadLetterConfig" in t and "RetryPolicy" in t for t in target)


@pytest.mark.parametrize(
    ("sample", "change"),
    [
        ("pkgml_trigger_run_file_quarantined", {"detail.environment": "prod"}),
        ("pkgml_trigger_run_file_quarantined", {"source": "other.trigger"}),
        ("pkgml_extract_failed", {"detail-type": "Extract Started"}),
        ("cloudwatch_alarm_state_change", {"detail.alarmName": "pkgml-prod-x"}),
        ("cloudwatch_alarm_state_change", {"detail.state.value": "INSUFFICIENT_DATA"}),
    ],
)
def test_other_environments_and_states_stay_out(built: Built, sample: str, change: dict):
    event = recorded(sample)
    for path, value in change.items():
        *parents, last = path.split(".")
        holder = event
        for part in parents:
            holder = holder[part]
        holder[last] = value
    if event["source"] == "aws.cloudwatch":
        name = event["detail"]["alarmName"]
        event["resources"] = [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"]
    assert matching(built.monitoring, event) == []


def test_an_alarm_of_another_account_stays_out(built: Built):
    event = state_change("pkgml-dev-mailer-training-execution-failed")
    event["resources"] = [event["resources"][0].replace(ACCOUNT, "999999999999")]
    assert matching(built.monitoring, event) == []


def test_every_alarm_reaches_people_exactly_one_way(built: Built):
    """Each alarm is matched by the notify rule or has the direct SNS action on the alerts
    topic: never neither (silence), never both (two messages)."""
    found = alarms(built.monitoring)
    assert len(found) >= 40
    for name, alarm in found.items():
        routed = matching(built.monitoring, state_change(name)) != []
        direct = alarm.get("AlarmActions", [])
        assert routed != bool(direct), name
        assert routed == bool(matching(built.monitoring, state_change(name, "OK"))), name


def test_only_the_notifiers_own_alarms_act_on_the_alerts_topic(built: Built):
    direct = {
        name: alarm["AlarmActions"]
        for name, alarm in alarms(built.monitoring).items()
        if alarm.get("AlarmActions")
    }
    assert sorted(direct) == [
        "pkgml-dev-notifier-Fault-Count-Errors",
        "pkgml-dev-notifier-Throttled-Count-Throttles",
        "pkgml-dev-notifier-failed-invocations-Queue-Message-Count-Max-NotEmpty",
        "pkgml-dev-notifier-undelivered-events-Queue-Message-Count-Max-NotEmpty",
    ]
    for actions in direct.values():
        [action] = actions  # the alerts topic's ARN, from the notifications stack
        output = action["Fn::GetStackOutput"]
        assert output["StackName"] == "pkgml-dev-notifications"
        assert output["OutputName"].startswith("PublishOutputRefAlerts")


def test_the_notifiers_alarms_say_what_to_do_in_their_own_words(built: Built):
    """CloudWatch e-mails them as they are: their description is the runbook."""
    for name, alarm in alarms(built.monitoring).items():
        if name.startswith("pkgml-dev-notifier-"):
            description = json.dumps(alarm["AlarmDescription"])
            assert "aws logs tail" in description or "aws sqs receive-message" in description


def test_a_package_type_named_like_the_notifiers_alarms_is_refused(base_context):
    context = {**base_context, "package_types": '["notifier"]'}
    settings = load_settings(context)
    dev = settings.environment("dev")
    app = App(context=context, builtin_cloud_formation_validation=False)
    data = DataStack(app, "Data", project=settings.project, environment=dev)
    topics = NotificationsStack(
        app,
        "Topics",
        project=settings.project,
        environment_name=dev.name,
        settings=dev.notifications,
        encryption_key=data.key,
    )
    with pytest.raises(ValueError, match="package type 'notifier'"):
        MonitoringStack(
            app,
            "Monitoring",
            project=settings.project,
            package_types=settings.package_types,
            environment=dev,
            key=data.key,
            artifacts_bucket_name="b",
            alerts_topic=topics.alerts_topic,
            decisions_topic=topics.decisions_topic,
            functions=[],
            dead_letter_queues={},
        )


# --- the emitters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "source", "detail_types"),
    [
        ("trigger_handler.handler", "pkgml.trigger", ["Run File Not Started",
                                                      "Run File Quarantined"]),
        ("extract_handler.handler", "pkgml.extract", ["Extract Failed"]),
    ],
)  # fmt: skip
def test_emitters_may_put_only_their_own_events_on_the_default_bus(
    built: Built, handler: str, source: str, detail_types: list[str]
):
    statements = role_statements(built.ingest, handler)
    [put] = [s for s in statements if "events:PutEvents" in listed(s["Action"])]
    assert listed(put["Action"]) == ["events:PutEvents"]
    [resource] = listed(put["Resource"])
    assert resource == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    assert put["Condition"] == {
        "StringEquals": {"events:source": source, "events:detail-type": detail_types}
    }
    # AWS's authorization data: PutEvents applies to the event-bus resource type, so the
    # grant names that one bus, not '*'
    formats = expand("events:PutEvents")["events:PutEvents"]
    assert "arn:${Partition}:events:${Region}:${Account}:event-bus/${EventBusName}" in formats
    assert [f for f in formats if f != "*" and applies(f, resource)] == [
        "arn:${Partition}:events:${Region}:${Account}:event-bus/${EventBusName}"
    ]
    # and nothing of SNS is left to them
    assert not [s for s in statements if any("sns:" in a for a in listed(s["Action"]))]


def test_a_bus_arn_of_another_resource_type_would_not_apply():
    """Negative control of the check above: a rule ARN is not an event bus."""
    formats = expand("events:PutEvents")["events:PutEvents"]
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/default"
    assert [f for f in formats if f != "*" and applies(f, rule)] == []


@pytest.mark.parametrize("handler", ["trigger_handler.handler", "extract_handler.handler"])
def test_emitters_know_their_project_and_no_topic(built: Built, handler: str):
    [variables] = [
        f["Properties"]["Environment"]["Variables"]
        for f in built.ingest.find_resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == handler
    ]
    assert variables["PROJECT"] == "pkgml" and variables["ENVIRONMENT"] == "dev"
    assert not [name for name in variables if "TOPIC" in name]


def test_the_ingest_stack_does_not_depend_on_the_topics(built: Built):
    assert "pkgml-dev-notifications" not in json.dumps(built.ingest.to_json())


def test_only_cloudwatch_publishes_and_only_to_the_alerts_topic(built: Built):
    principals = {}
    for policy in built.notifications.find_resources("AWS::SNS::TopicPolicy").values():
        [topic] = policy["Properties"]["Topics"]
        principals[topic["Ref"].rstrip("0123456789ABCDEF")] = sorted(
            json.dumps(s.get("Principal", {}).get("Service"))
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Allow"
        )
    assert principals == {"Alerts": ['"cloudwatch.amazonaws.com"'], "Decisions": []}
