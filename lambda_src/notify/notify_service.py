"""The notifier's work: event -> format_event -> route -> SNS publish.

Formatting never raises (bad input becomes a generic notification, see notify_format);
publishing does raise, so Lambda's async retries and the on-failure destination keep a
notification that SNS refused or could not take.
"""

from __future__ import annotations

import logging
from typing import Any

from notify_core import Lookup, Notification
from notify_format import format_event, route
from notify_settings import Settings
from pkgml_log import log_event


def _envelope(event: Any) -> dict[str, Any]:
    """What is safe and useful to log about an event: identity, never the payload."""
    if not isinstance(event, dict):
        return {"event_type": type(event).__name__}
    fields = {key: event.get(key) for key in ("id", "source", "detail-type")}
    resources = event.get("resources")
    if isinstance(resources, list):
        fields["resources"] = [str(r)[:300] for r in resources[:5]]
    return {k.replace("-", "_"): v for k, v in fields.items() if v is not None}


class Notifier:
    """Formats events and publishes them to the routed topic (clients injected)."""

    def __init__(self, settings: Settings, sns: Any, lookup: Lookup, logger: logging.Logger):
        self.settings = settings
        self.sns = sns
        self.lookup = lookup
        self.logger = logger

    def handle(self, event: Any) -> dict[str, Any]:
        """Publish the event's notification; return what happened (for the Lambda result)."""
        envelope = _envelope(event)
        notification = format_event(event, self.settings, self.lookup)
        if notification is None:
            log_event(self.logger, "event.ignored", **envelope,
                      why="other environment, or a status that needs no notification")  # fmt: skip
            return {"status": "ignored", **envelope}
        message_id = self.publish(notification)
        topic = route(notification)
        log_event(self.logger, "notification.published", **envelope, kind=notification.kind,
                  topic=topic, subject=notification.subject, message_id=message_id)  # fmt: skip
        return {"status": "published", "kind": notification.kind, "topic": topic,
                "message_id": message_id}  # fmt: skip

    def publish(self, notification: Notification) -> str:
        """SNS Publish to the routed topic; errors propagate (Lambda retries the event)."""
        topic_arn = self.settings.topic_arn(route(notification))
        try:
            response = self.sns.publish(
                TopicArn=topic_arn,
                Subject=notification.subject,
                Message=notification.body,
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in notification.attributes.items()
                    if value
                },
            )
        except Exception as exc:
            log_event(self.logger, "notification.publish_failed", logging.ERROR,
                      kind=notification.kind, topic_arn=topic_arn, error=type(exc).__name__,
                      detail=str(exc)[:300])  # fmt: skip
            raise
        return str(response.get("MessageId", ""))
