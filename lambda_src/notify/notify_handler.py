"""Notification formatter Lambda: `notify_handler.handler`.

Invoked asynchronously by EventBridge rules (patterns in EVENTS.md) with the raw event.
Renders a readable message (what happened, environment, package type, pipeline, run id,
failing step and reason or the gate's decision, a console link, and the NEXT ACTION) and
publishes it to SNS: model decisions to DECISIONS_TOPIC_ARN, everything else to
ALERTS_TOPIC_ARN. Events of other environments are ignored; malformed events become a
generic alert carrying the redacted raw event. A failed publish raises, so the async
retries and the on-failure destination keep the event.

Environment variables (validated at import; a bad value fails init naming the variable):

    ENVIRONMENT             required  environment name, e.g. "dev"
    PROJECT                 required  project name, e.g. "pkgml": names start "<PROJECT>-<ENV>-"
    ALERTS_TOPIC_ARN        required  failures, stops, quarantines, extract failures, alarms
    DECISIONS_TOPIC_ARN     required  model versions approved / rejected
    REGION                  optional  region for console links (default: AWS_REGION)
    CONSOLE_BASE            optional  SageMaker Studio URL, e.g.
                                      "https://d-abc123.studio.us-east-1.sagemaker.aws":
                                      links then open the execution / model version in Studio
    PACKAGE_TYPES           optional  JSON list; names with another package type are shown raw
    LOOKUPS                 optional  true | false (default true): fetch the failed step,
                                      RunId and decision.json reasons when an event lacks them
    DECISION_MAX_BYTES      optional  largest decision.json read (default 65536)
    LOOKUP_TIMEOUT_SECONDS  optional  connect/read timeout of each lookup call (default 3)
    ARTIFACTS_BUCKET        optional  the artifacts bucket: an inference run's drift.json is
                                      read from it for the drift news (none without it)
    LOG_LEVEL               optional  DEBUG | INFO | WARNING | ERROR (default INFO)
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config
from notify_core import NO_LOOKUP, Lookup
from notify_lookup import AwsLookup, lookup_config
from notify_service import Notifier
from notify_settings import load_settings
from pkgml_log import get_logger, set_context

SETTINGS = load_settings(os.environ)
LOGGER = get_logger("pkgml.notify", SETTINGS.log_level)

_PUBLISH_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10
)
_LOOKUP_CONFIG = lookup_config(SETTINGS.lookup_timeout_seconds)
LOOKUP: Lookup = (
    AwsLookup(
        sagemaker=boto3.client("sagemaker", config=_LOOKUP_CONFIG),
        s3=boto3.client("s3", config=_LOOKUP_CONFIG),
        logger=LOGGER,
        max_decision_bytes=SETTINGS.decision_max_bytes,
        artifacts_bucket=SETTINGS.artifacts_bucket,
    )
    if SETTINGS.lookups
    else NO_LOOKUP
)
NOTIFIER = Notifier(SETTINGS, boto3.client("sns", config=_PUBLISH_CONFIG), LOOKUP, LOGGER)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point: format the event and publish it (or ignore it)."""
    set_context(request_id=getattr(context, "aws_request_id", None))
    return NOTIFIER.handle(event)
