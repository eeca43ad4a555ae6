"""Pipeline definitions built once per test session (each build costs seconds).

Builds run with sockets guarded: any connection or DNS lookup attempt is recorded, and
`test_no_network` asserts there was none.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from pipeline_defs.architectures import architectures
from pipeline_defs.inputs import (
    GateDefaults,
    InferencePipelineInputs,
    RedshiftTarget,
    TrainingPipelineInputs,
)

REGIONS = ("us-east-1", "eu-west-1")
NETWORK_ATTEMPTS: list[str] = []


def training_inputs(region: str = "us-east-1", **overrides: Any) -> TrainingPipelineInputs:
    """Sample training inputs for package type 'mailer'."""
    values: dict[str, Any] = {
        "region": region,
        "environment": "dev",
        "package_type": "mailer",
        "pipeline_name": "pkgml-dev-mailer-training",
        "model_package_group": "pkgml-dev-mailer",
        "cache_expiry": "P30D",
        "gate": GateDefaults(),
        "architecture": architectures()["hgb"],
        **overrides,
    }
    return TrainingPipelineInputs(**values)


def inference_inputs(region: str = "us-east-1", **overrides: Any) -> InferencePipelineInputs:
    """Sample inference inputs for package type 'mailer' (provisioned cluster + secret)."""
    values: dict[str, Any] = {
        "region": region,
        "environment": "dev",
        "package_type": "mailer",
        "pipeline_name": "pkgml-dev-mailer-inference",
        "model_package_group": "pkgml-dev-mailer",
        "cache_expiry": "P30D",
        "processing_instance_type": "ml.m5.xlarge",
        "sklearn_version": "1.9-0",
        "redshift": RedshiftTarget(
            database="analytics",
            cluster_identifier="pkgml-dev-cluster",
            secret_arn="arn:aws:secretsmanager:us-east-1:111111111111:secret:redshift-abc",
        ),
        "subnets": ("subnet-0a", "subnet-0b"),
        "security_groups": ("sg-0a",),
        **overrides,
    }
    return InferencePipelineInputs(**values)


@contextmanager
def guarded_network() -> Iterator[None]:
    """Refuse and record every socket connect and DNS lookup made inside the block."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        NETWORK_ATTEMPTS.append(f"connect {address}")
        raise OSError("network disabled while building pipeline definitions")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        NETWORK_ATTEMPTS.append(f"getaddrinfo {host}")
        raise OSError("network disabled while building pipeline definitions")

    setattr(socket.socket, "connect", connect)  # noqa: B010
    setattr(socket, "getaddrinfo", getaddrinfo)  # noqa: B010
    try:
        yield
    finally:
        setattr(socket.socket, "connect", real_connect)  # noqa: B010
        setattr(socket, "getaddrinfo", real_getaddrinfo)  # noqa: B010


@dataclass(frozen=True)
class Built:
    """A definition's text and its parsed JSON."""

    text: str
    doc: dict[str, Any]


def _build(builder: Callable[[Any], str], inputs: Any) -> Built:
    with guarded_network():
        text = builder(inputs)
    return Built(text=text, doc=json.loads(text))


@pytest.fixture(scope="session")
def training() -> dict[str, Built]:
    """{region: training definition} for every REGIONS entry."""
    from pipeline_defs.training import build_training_pipeline

    return {region: _build(build_training_pipeline, training_inputs(region)) for region in REGIONS}


@pytest.fixture(scope="session")
def inference() -> dict[str, Built]:
    """{region: inference definition} for every REGIONS entry."""
    from pipeline_defs.inference import build_inference_pipeline

    return {
        region: _build(build_inference_pipeline, inference_inputs(region)) for region in REGIONS
    }
