"""Extract runner Lambda: one function (one role) submits, finishes and sweeps UNLOADs.

The Data API lets only the principal that ran a statement describe it, so the finish and
sweep sides must run under the same role as the start side: deploy one function with
`extract_handler.handler` (routes on the event), or several sharing one role.

    extract_handler.handler routes: source "aws.redshift-data" -> finish,
                            {"action": "sweep"} -> sweep, anything else -> start
    extract_handler.start   EventBridge Scheduler target, input
                            {"kind": "training" | "inference-daily" | "inference-monthly",
                             "scheduled_time": "<aws.scheduler.scheduled-time>"},
                            or a person's re-run {"kind": ..., "run_date": "YYYY-MM-DD"}
                            (an explicit run date may re-run a failed or empty day)
    extract_handler.finish  EventBridge rule target for "Redshift Data Statement Status
                            Change" events (source aws.redshift-data)
    (sweep)                 hourly EventBridge Scheduler target, input {"action": "sweep"}:
                            settles statements whose status event was lost

See `extract_service.py` for the flow and `extract_sweep.py` for the sweep.

Environment variables (validated at import; a bad value fails init naming the variable):

    ENVIRONMENT               required  environment name, e.g. "dev"
    PROJECT                   required  project name, e.g. "pkgml": an extract that wrote no
                                        run file puts an "Extract Failed" event (source
                                        "<PROJECT>.extract") for the notify function
    DATA_BUCKET               required  unload target, run files, extract state
    PACKAGE_TYPES             required  JSON list, e.g. ["mailer","bag","box","sioc"]
    REDSHIFT_UNLOAD_ROLE_ARN  required  role Redshift assumes to write the UNLOAD (IAM_ROLE)
    UNLOAD_KMS_KEY_ARN        required  the environment's KMS key: UNLOAD ... ENCRYPTED
                                        KMS_KEY_ID (SSE-KMS; without it UNLOAD writes SSE-S3)
    REDSHIFT_DATABASE         required  database name
    REDSHIFT_CLUSTER_ID       one of    provisioned cluster identifier
    REDSHIFT_WORKGROUP        these     Redshift Serverless workgroup name
    REDSHIFT_SECRET_ARN       optional  Secrets Manager secret for database credentials
    REDSHIFT_DB_USER          optional  database user for IAM auth (cluster only); a cluster
                                        needs REDSHIFT_SECRET_ARN or REDSHIFT_DB_USER
    UNLOAD_MAX_FILE_SIZE_MB   optional  MAXFILESIZE of each Parquet file (default 256)
    STATEMENT_PREFIX          optional  StatementName =
                                        "<STATEMENT_PREFIX>extract-<run_id>.<attempt>"
                                        (default "pkgml-<ENVIRONMENT>-"); the finish rule
                                        filters detail.statementName on this prefix
    RUNS_PREFIX               optional  run files (default "runs/")
    EXTRACT_STATE_PREFIX      optional  pending statements and run claims
                                        (default "extract-state/")
    CLAIM_LEASE_SECONDS       optional  age after which a claim stuck in "starting" is
                                        taken over, with its ClientToken (default 900)
    SWEEP_AFTER_SECONDS       optional  age after which the sweeper asks DescribeStatement
                                        about a submitted statement (default 900)
    LOG_LEVEL                 optional  DEBUG | INFO | WARNING | ERROR (default INFO)
    AWS_LAMBDA_FUNCTION_NAME  (set by Lambda) named in the event, for the re-run command
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config
from extract_service import Clients, Extractor
from extract_settings import load_settings
from extract_sweep import Sweeper
from pkgml_log import get_logger, set_context

SETTINGS = load_settings(os.environ)
LOGGER = get_logger("pkgml.extract", SETTINGS.log_level)

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30
)
CLIENTS = Clients(
    s3=boto3.client("s3", config=_CONFIG),
    redshift_data=boto3.client("redshift-data", config=_CONFIG),
    events=boto3.client("events", config=_CONFIG),
)
EXTRACTOR = Extractor(SETTINGS, CLIENTS, LOGGER)
SWEEPER = Sweeper(EXTRACTOR)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Single entry point: a Data API status event finishes, a sweep input sweeps, a
    schedule input (or a person's re-run) starts."""
    set_context(request_id=getattr(context, "aws_request_id", None))
    if isinstance(event, dict) and event.get("source") == "aws.redshift-data":
        return EXTRACTOR.finish(event)
    if isinstance(event, dict) and "action" in event:
        return SWEEPER.sweep(event)
    return EXTRACTOR.start(event)


def start(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Scheduler entry point: submit the UNLOAD for one extract."""
    set_context(request_id=getattr(context, "aws_request_id", None))
    return EXTRACTOR.start(event)


def finish(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge entry point: settle one finished, failed or aborted UNLOAD."""
    set_context(request_id=getattr(context, "aws_request_id", None))
    return EXTRACTOR.finish(event)
