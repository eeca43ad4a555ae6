"""Builds the whole CDK app from settings; `app.py` and the tests share it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.settings import AppSettings, load_settings
from stacks.stage import PlatformStage

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cdk_json_context(path: Path = PROJECT_ROOT / "cdk.json") -> dict[str, Any]:
    """The `context` block of cdk.json, as the CDK CLI would pass it without `-c` flags."""
    return dict(json.loads(path.read_text(encoding="utf-8"))["context"])


def build_app(
    *,
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    validation: bool = True,
    nag: bool = True,
) -> tuple[App, AppSettings, dict[str, PlatformStage]]:
    """The app with one stage per environment.

    `context=None` reads cdk.json / `-c` through the CDK CLI; tests pass the
    context explicitly. `validation` is CloudFormation's built-in synth-time
    validation; `nag` registers cdk-nag AwsSolutions so a finding fails synth.
    """
    if context is None and "CDK_CONTEXT_JSON" not in os.environ:
        context = cdk_json_context()  # run as `python app.py`, outside the CDK CLI
    app = App(
        context=dict(context) if context is not None else None,
        outdir=outdir,
        builtin_cloud_formation_validation=validation,
    )
    settings = load_settings(app.node.get_all_context())
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stages = {
        env.name: PlatformStage(app, env.name.capitalize(), settings=settings, environment=env)
        for env in settings.environments
    }
    return app, settings, stages
