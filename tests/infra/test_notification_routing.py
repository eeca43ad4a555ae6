"""Notify is the only writer of human-facing text: the trigger and the extract runner put
events (never SNS), the rules route them and this environment's alarms to notify, and only
the alarms that watch the notifier itself keep a direct SNS action.

Read from dev's stacks in the session's synthesized app.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.infra.events import DEV_ACCOUNT as ACCOUNT
from tests.infra.events import DEV_REGION as REGION
from tests.infra.events import alarm_state_change, matching_rules, recorded
from tests.infra.iam_contract import applies, expand, listed


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


def rules(template: Template) -> dict[str, dict[str, Any]]:
    return template.find_resources("AWS::Events::Rule")


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


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
    [matched] = matching_rules(built.monitoring, recorded(sample))
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
    assert matching_rules(built.monitoring, event) == []


def test_an_alarm_of_another_account_stays_out(built: Built):
    event = alarm_state_change("pkgml-dev-mailer-training-execution-failed")
    event["resources"] = [event["resources"][0].replace(ACCOUNT, "999999999999")]
    assert matching_rules(built.monitoring, event) == []


def test_direct_alarm_actions_publish_to_the_alerts_topic(built: Built):
    """Which alarms act directly (only the notifier's own) is
    test_monitoring_stack.test_every_alarm_in_every_stack_reaches_people_one_way."""
    direct = [a["AlarmActions"] for a in alarms(built.monitoring).values() if a.get("AlarmActions")]
    assert len(direct) == 4
    for actions in direct:
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
