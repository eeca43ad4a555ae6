"""Recorded sample events (tests/lambdas/events) against the synthesized EventBridge rules,
matched with moto's pattern matcher (not real EventBridge)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template
from moto.events.models import EventPattern

EVENTS = Path(__file__).resolve().parents[1] / "lambdas" / "events"
DEV_ACCOUNT, DEV_REGION = "222222222222", "us-east-1"  # dev in cdk.json


def recorded(name: str, account: str = DEV_ACCOUNT) -> dict[str, Any]:
    """A recorded sample event, re-homed into `account` (dev's by default)."""
    return json.loads((EVENTS / f"{name}.json").read_text().replace("123456789012", account))


def alarm_state_change(
    alarm_name: str, value: str = "ALARM", *, account: str = DEV_ACCOUNT, region: str = DEV_REGION
) -> dict[str, Any]:
    """The "CloudWatch Alarm State Change" event the alarm would send."""
    event = recorded("cloudwatch_alarm_state_change", account)
    event["region"] = region
    event["resources"] = [f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm_name}"]
    event["detail"]["alarmName"] = alarm_name
    event["detail"]["state"]["value"] = value
    return event


def rule_patterns(template: Template) -> dict[str, EventPattern]:
    """{logical id: pattern} of the template's rules."""
    return {
        logical_id: EventPattern.load(json.dumps(rule["Properties"]["EventPattern"]))
        for logical_id, rule in template.find_resources("AWS::Events::Rule").items()
    }


def matching_rules(template: Template, event: dict[str, Any]) -> list[str]:
    """Logical ids of the template's rules that match `event`, sorted."""
    return sorted(lid for lid, p in rule_patterns(template).items() if p.matches_event(event))
