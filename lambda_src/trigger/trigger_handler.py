"""Run-file trigger Lambda: `trigger_handler.handler`.

Invoked by S3 ObjectCreated notifications on `<RUNS_PREFIX>` of the data bucket (or the
EventBridge "Object Created" event). Starts one SageMaker pipeline execution per package
type for each valid run file; quarantines invalid ones. What people must hear (a
quarantined file, a run not started) is an EventBridge event for the notify function. See
`trigger_service.py` for the flow and `RUN_FILE.md` for the schema.

Environment variables (validated at import; a bad value fails init naming the variable):

    ENVIRONMENT          required  environment name, e.g. "dev" (events, reports)
    PROJECT              required  project name, e.g. "pkgml": events' source "<PROJECT>.trigger"
    DATA_BUCKET          required  the data bucket: run files, manifests, quarantine, claims
    PIPELINES            required  JSON {"<run kind>": {"<package type>": "<pipeline name>"}}
                                   for all of training, inference-daily, inference-monthly
    PACKAGE_TYPES        required  JSON list, e.g. ["mailer","bag","box","sioc"]
    ARCHITECTURE_PIPELINES  required  JSON {"<package type>": {"<architecture>": "<training
                                   pipeline name>"}}: every deployed architecture of every
                                   package type (each in the catalog; names distinct)
    DEFAULT_ARCHITECTURES   required  JSON {"<package type>": "<architecture>"}: the one each
                                   type trains unless a run names another; deployed, and
                                   its pipeline is PIPELINES["training"][<package type>]
    ARCHITECTURES_FILE   optional  the deployed architectures' catalog (catalog_json form);
                                   default: architectures.json beside these modules
    MAX_RUN_FILE_BYTES   optional  size cap checked before reading (default 65536)
    RUNS_PREFIX          optional  where run files land (default "runs/")
    QUARANTINE_PREFIX    optional  where rejected files are copied (default "quarantine/";
                                   at most 256 characters)
    STATE_PREFIX         optional  de-duplication claims (default "trigger-state/")
    CLAIM_LEASE_SECONDS  optional  age after which an unfinished claim is taken over
                                   (default 900 = the Lambda maximum timeout)
    LOG_LEVEL            optional  DEBUG | INFO | WARNING | ERROR (default INFO)

The three prefixes must not overlap (a quarantined copy under RUNS_PREFIX would loop).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config
from pkgml_log import get_logger, set_context
from trigger_service import Clients, Trigger
from trigger_settings import load_settings

SETTINGS = load_settings(os.environ)
LOGGER = get_logger("pkgml.trigger", SETTINGS.log_level)

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30
)
CLIENTS = Clients(
    s3=boto3.client("s3", config=_CONFIG),
    sagemaker=boto3.client("sagemaker", config=_CONFIG),
    events=boto3.client("events", config=_CONFIG),
)
TRIGGER = Trigger(SETTINGS, CLIENTS, LOGGER)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: process the event's run files and return a summary."""
    set_context(request_id=getattr(context, "aws_request_id", None))
    return TRIGGER.handle(event)
