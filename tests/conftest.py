"""Session-wide fixtures: one synthesized app for every infrastructure test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Tests never reach AWS: fake credentials and a region before anything imports boto3.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
os.environ.pop("AWS_PROFILE", None)


@dataclass(frozen=True)
class Synthesized:
    """The app synthesized once per session, and where its assembly went."""

    app: Any
    settings: Any
    stages: dict[str, Any]
    outdir: Path


def synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    """Build and synthesize the app (CloudFormation's built-in validation off, nag off)."""
    from stacks.app_factory import build_app

    app, settings, stages = build_app(
        context=context, outdir=str(outdir), validation=False, nag=False
    )
    app.synth()
    return Synthesized(app=app, settings=settings, stages=stages, outdir=outdir)


def synthesize_stage(context: dict[str, Any], environment: str, outdir: Path) -> Any:
    """One environment's stage alone (no CI/CD stack, no other environment, no cdk-nag, no
    built-in validation), the same stacks build_app makes for it: for a test of one setting
    of one stack, a fraction of a whole-app synth. Template.from_stack(stage.ml)."""
    from aws_cdk import App

    from stacks.settings import load_settings
    from stacks.stage import PlatformStage

    app = App(context=dict(context), outdir=str(outdir), builtin_cloud_formation_validation=False)
    settings = load_settings(app.node.get_all_context())
    chosen = settings.environment(environment)
    return PlatformStage(app, environment.capitalize(), settings=settings, environment=chosen)


@pytest.fixture(scope="session")
def base_context() -> dict[str, Any]:
    """cdk.json's context, as the CDK CLI passes it without `-c` flags."""
    from stacks.settings import cdk_json_context

    return cdk_json_context()


@pytest.fixture(scope="session")
def synthesized(
    base_context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Synthesized]:
    """The default app, synthesized once for the whole session."""
    yield synthesize(base_context, tmp_path_factory.mktemp("cdk.out"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules with a `slow` test run first (order otherwise kept): on two workers the
    long ones then overlap the many short ones instead of running alone at the end."""
    slow_modules = {item.module for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module not in slow_modules)
