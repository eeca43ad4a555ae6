"""Builds the whole CDK app from settings; `app.py` and the tests share it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from stacks.pipeline_plan import start_definitions
from stacks.pipeline_stack import PipelineStack
from stacks.settings import AppSettings, EnvironmentSettings, cdk_json_context, load_settings
from stacks.stage import PlatformStage


def build_app(
    *,
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    validation: bool = True,
    nag: bool = True,
) -> tuple[App, AppSettings, dict[str, PlatformStage]]:
    """The app: one stage per environment, inside the CI/CD pipeline stack when enabled.

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
    # Build the pipeline definitions the cache lacks while the constructs are created.
    start_definitions(settings)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    def make_stage(scope: Construct, environment: EnvironmentSettings) -> PlatformStage:
        return PlatformStage(
            scope, environment.name.capitalize(), settings=settings, environment=environment
        )

    if settings.cicd.enabled:
        # Stages live inside the pipeline stack: the pipeline deploys them, and
        # `cdk deploy 'Delivery/Dev/*'` deploys one without the pipeline.
        delivery = PipelineStack(
            app,
            "Delivery",
            stack_name=f"{settings.project}-delivery",
            description=f"{settings.project}: CI/CD pipeline promoting dev -> prod",
            env=Environment(account=settings.tooling.account, region=settings.tooling.region),
            settings=settings,
            make_stage=make_stage,
        )
        return app, settings, delivery.stages
    stages = {env.name: make_stage(app, env) for env in settings.environments}
    return app, settings, stages
