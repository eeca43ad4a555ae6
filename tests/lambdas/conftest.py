"""Fixtures for the Lambda functions: asset folders on sys.path, moto, settings, fakes.

Each function is its own asset folder (lambda_src/trigger, lambda_src/extract,
lambda_src/notify), deployed as the code root together with lambda_src/shared, so its
modules import each other (and the shared ones) as top-level modules. Module names are
unique across the folders (runfile, trigger_*, extract_*, notify_*), so the folders can
share sys.path in one test session without colliding in sys.modules.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pkgml_contracts.architectures import Architecture, catalog_json, discover
from stacks.naming import pipelines_by_run_kind, training_pipeline_name

REPO = Path(__file__).resolve().parents[2]
TRIGGER_DIR = REPO / "lambda_src" / "trigger"
EXTRACT_DIR = REPO / "lambda_src" / "extract"
NOTIFY_DIR = REPO / "lambda_src" / "notify"
SHARED_DIR = REPO / "lambda_src" / "shared"  # staged beside each function's own modules
EXAMPLES_DIR = REPO / "examples" / "run_files"
ARCHITECTURES_DIR = REPO / "pipeline_defs" / "architectures"
for folder in (SHARED_DIR, TRIGGER_DIR, EXTRACT_DIR, NOTIFY_DIR):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "pkgml-dev-data"  # the examples' manifests name this bucket
PACKAGE_TYPES = ("mailer", "bag", "box", "sioc")
# What the notify function's rules would receive: the platform's events, read back from an
# SQS queue that a moto rule on the default bus (EVENTS.md's patterns) delivers them to.
INBOX = "pkgml-dev-notify-inbox"
NOTIFY_PATTERNS = (
    {"source": ["pkgml.trigger"], "detail-type": ["Run File Quarantined", "Run File Not Started"],
     "detail": {"environment": ["dev"]}},
    {"source": ["pkgml.extract"], "detail-type": ["Extract Failed"],
     "detail": {"environment": ["dev"]}},
)  # fmt: skip
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/pkgml-dev-redshift-unload"
PIPELINE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/pkgml-dev-sagemaker"


# The app's own routing table: the trigger and the pipelines cannot disagree on names.
PIPELINES = pipelines_by_run_kind("pkgml", "dev", PACKAGE_TYPES)


def pipeline_name(kind: str, package_type: str) -> str:
    """The pipeline a run kind starts for a package type (from the routing table)."""
    return PIPELINES[kind][package_type]


# The architectures as declared now (pipeline_defs/architectures/*/architecture.json): the
# test deployment configures hgb for every package type and deploys every other one too.
CATALOG: dict[str, Architecture] = discover(ARCHITECTURES_DIR)
DEFAULT_ARCHITECTURES = dict.fromkeys(PACKAGE_TYPES, "hgb")


def architecture_pipelines(
    defaults: dict[str, str], deployed: dict[str, tuple[str, ...]]
) -> dict[str, dict[str, str]]:
    """{package type: {architecture: training pipeline}}, named as the stack names them: the
    configured architecture trains in `<prefix>-<type>-training` (= PIPELINES["training"]),
    every other one in `<prefix>-<type>-training-<arch>`."""
    return {
        package_type: {
            name: training_pipeline_name("pkgml", "dev", package_type, name, defaults[package_type])
            for name in names
        }
        for package_type, names in deployed.items()
    }


ARCHITECTURE_PIPELINES = architecture_pipelines(
    DEFAULT_ARCHITECTURES, {p: tuple(CATALOG) for p in PACKAGE_TYPES}
)


def deployment(
    catalog: dict[str, Architecture] | None = None,
    defaults: dict[str, str] | None = None,
    deployed: dict[str, tuple[str, ...]] | None = None,
) -> Any:
    """A runfile.Deployment (default: the test environment's)."""
    from runfile import Deployment

    catalog = CATALOG if catalog is None else catalog
    defaults = DEFAULT_ARCHITECTURES if defaults is None else defaults
    deployed = deployed or {p: tuple(catalog) for p in defaults}
    return Deployment(catalog=catalog, deployed=deployed, configured=defaults)


TRIGGER_ENV = {
    "ENVIRONMENT": "dev",
    "DATA_BUCKET": BUCKET,
    "PIPELINES": json.dumps(PIPELINES),
    "PACKAGE_TYPES": json.dumps(PACKAGE_TYPES),
    "PROJECT": "pkgml",
    "ARCHITECTURE_PIPELINES": json.dumps(ARCHITECTURE_PIPELINES),
    "DEFAULT_ARCHITECTURES": json.dumps(DEFAULT_ARCHITECTURES),
    # "ARCHITECTURES_FILE": set by the session fixture `architectures_file` below
}


def all_pipeline_names() -> list[str]:
    """Every pipeline the test trigger may start: inference, and training per architecture."""
    names = {n for routes in PIPELINES.values() for n in routes.values()}
    names |= {n for routes in ARCHITECTURE_PIPELINES.values() for n in routes.values()}
    return sorted(names)


@pytest.fixture(scope="session", autouse=True)
def architectures_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The deployed architectures' catalog as the stack ships it (`catalog_json`), in a
    temporary file named by TRIGGER_ENV["ARCHITECTURES_FILE"]."""
    path = tmp_path_factory.mktemp("catalog") / "architectures.json"
    path.write_text(catalog_json(CATALOG), encoding="utf-8")
    TRIGGER_ENV["ARCHITECTURES_FILE"] = str(path)
    yield path
    TRIGGER_ENV.pop("ARCHITECTURES_FILE", None)


EXTRACT_ENV = {
    "ENVIRONMENT": "dev",
    "DATA_BUCKET": BUCKET,
    "PROJECT": "pkgml",
    "PACKAGE_TYPES": json.dumps(PACKAGE_TYPES),
    "REDSHIFT_UNLOAD_ROLE_ARN": ROLE_ARN,
    "REDSHIFT_DATABASE": "analytics",
    "REDSHIFT_CLUSTER_ID": "pkgml-warehouse",
    "REDSHIFT_SECRET_ARN": (
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:pkgml/redshift-AbCdEf"
    ),
}


@pytest.fixture(scope="session")
def clients() -> dict[str, Any]:
    """boto3 clients, built once (about 0.1 s each); moto intercepts them inside mock_aws
    because moto is imported before they are created."""
    return {
        name: boto3.client(name, region_name=REGION)
        for name in ("s3", "events", "sqs", "sagemaker", "redshift-data")
    }


@pytest.fixture
def aws(clients: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A fresh moto account for S3, SageMaker, EventBridge, Redshift Data: a versioned data
    bucket, every pipeline the trigger routes to, and the notify rules' inbox."""
    with mock_aws():
        s3, sagemaker, events, sqs = (clients[n] for n in ("s3", "sagemaker", "events", "sqs"))
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        url = sqs.create_queue(QueueName=INBOX)["QueueUrl"]
        inbox = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        for index, pattern in enumerate(NOTIFY_PATTERNS):
            events.put_rule(Name=f"notify-{index}", EventPattern=json.dumps(pattern))
            events.put_targets(
                Rule=f"notify-{index}",
                Targets=[{"Id": "inbox", "Arn": inbox["Attributes"]["QueueArn"]}],
            )
        for name in all_pipeline_names():
            sagemaker.create_pipeline(
                PipelineName=name, PipelineDefinition="{}", RoleArn=PIPELINE_ROLE_ARN
            )
        yield {
            "s3": s3,
            "events": events,
            "sagemaker": sagemaker,
            "redshift_data": clients["redshift-data"],
        }


def sent_events(detail_type: str | None = None) -> list[dict[str, Any]]:
    """Every event the notify rules received (the whole EventBridge envelope, as the notify
    function gets it), oldest first; only `detail_type`'s if given. Read without consuming."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[ACCOUNT][REGION].get_queue(INBOX)
    found = [json.loads(message.body) for message in queue._messages]
    return [e for e in found if detail_type is None or e["detail-type"] == detail_type]


def notified(sent: dict[str, Any]) -> Any:
    """What the notify function makes of a sent event (dev settings, no lookups): the
    emitters' events are read by the same contract classes, end to end."""
    from notify_format import format_event
    from notify_settings import load_settings as notify_settings

    settings = notify_settings(
        {"ENVIRONMENT": "dev", "PROJECT": "pkgml", "REGION": REGION,
         "ALERTS_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:pkgml-dev-alerts",
         "DECISIONS_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:pkgml-dev-model-decisions",
         "PACKAGE_TYPES": json.dumps(PACKAGE_TYPES)}
    )  # fmt: skip
    notification = format_event(sent, settings)
    assert notification is not None and notification.kind != "unrecognised_event", sent
    return notification


def executions(sagemaker: Any, name: str) -> list[dict[str, Any]]:
    """Executions of one pipeline (moto: all Succeeded at once)."""
    return sagemaker.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]


def all_executions(sagemaker: Any) -> int:
    """How many executions exist across every pipeline."""
    return sum(len(executions(sagemaker, n)) for n in all_pipeline_names())


def keys(s3: Any, prefix: str) -> list[str]:
    """Object keys under a prefix of the data bucket."""
    response = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in response.get("Contents", []))


def put_manifest(s3: Any, uri: str, entries: int = 2) -> None:
    """An UNLOAD-style manifest at an s3:// URI of the data bucket."""
    key = uri.split("/", 3)[3]
    body = {
        "entries": [
            {
                "url": f"s3://{BUCKET}/{key[: -len('manifest')]}{i:04d}_part_00.parquet",
                "meta": {"content_length": 1024},
            }
            for i in range(entries)
        ]
    }
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(body).encode())


def example(name: str) -> dict[str, Any]:
    """One of examples/run_files/*.json, decoded."""
    return json.loads((EXAMPLES_DIR / name).read_text())


@pytest.fixture
def test_logger() -> logging.Logger:
    """A JSON logger writing to stdout (capsys sees it)."""
    from pkgml_log import get_logger

    return get_logger("pkgml.test", "DEBUG")


def fresh_import(name: str, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> ModuleType:
    """Import a handler module anew under `env` (it reads its settings at import)."""
    for key in set(TRIGGER_ENV) | set(EXTRACT_ENV) | {"ARCHITECTURES_FILE"}:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    sys.modules.pop(name, None)
    return importlib.import_module(name)


class NoListBucketS3:
    """S3 as a role without s3:ListBucket sees it: a missing key is 403 AccessDenied."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        from botocore.exceptions import ClientError

        attribute = getattr(self.real, name)
        if name not in ("get_object", "head_object"):
            return attribute

        def call(**kwargs: Any) -> Any:
            try:
                return attribute(**kwargs)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                    raise
                denied = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                          "ResponseMetadata": {"HTTPStatusCode": 403}}  # fmt: skip
                raise ClientError(denied, name) from None

        return call
