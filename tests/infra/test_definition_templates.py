"""Package types share one definition build (a template with stand-in names, filled in).

The proof that this is safe: for every pipeline the app deploys, and for names at the
edges of what the settings accept, the filled template is byte-identical to building the
pipeline directly from its own inputs.
"""

from __future__ import annotations

import dataclasses

import pytest

from stacks import pipeline_definitions as definitions
from stacks.naming import model_package_group_name, pipeline_name, training_pipeline_name
from stacks.pipeline_plan import PlannedPipeline, plan_pipelines
from stacks.settings import cdk_json_context, load_settings

SETTINGS = load_settings(cdk_json_context())
PLANNED = [
    plan
    for environment in SETTINGS.environments
    for plan in plan_pipelines(SETTINGS.project, SETTINGS.package_types, environment)
]


def test_the_app_deploys_several_package_types_per_template():
    """What the sharing saves (and that the proof below covers more than one type)."""
    templates = {
        definitions.cache_key(plan.kind, definitions.template_inputs(plan.inputs))
        for plan in PLANNED
    }
    assert len(PLANNED) == 24
    assert len(templates) == 6  # dev: 3 architectures + inference; prod: 1 + inference
    assert len(SETTINGS.package_types) >= 4


@pytest.mark.parametrize("plan", PLANNED, ids=lambda plan: plan.inputs.pipeline_name)
def test_every_deployed_pipeline_equals_its_direct_build(plan: PlannedPipeline):
    filled = definitions.pipeline_definition(plan.kind, plan.inputs)
    direct = definitions.direct_definition(plan.kind, plan.inputs, cache_dir=None)
    assert filled == direct
    assert plan.inputs.package_type in direct  # the names really are in the text


def _renamed(plan: PlannedPipeline, package_type: str) -> PlannedPipeline:
    inputs = plan.inputs
    env = inputs.environment
    if plan.kind == "training":
        name = training_pipeline_name(
            SETTINGS.project,
            env,
            package_type,
            inputs.architecture.name,  # type: ignore[union-attr]
            plan.configured_architecture,
        )
    else:
        name = pipeline_name(SETTINGS.project, env, "inference", package_type)
    return dataclasses.replace(
        plan,
        package_type=package_type,
        inputs=dataclasses.replace(
            inputs,
            package_type=package_type,
            pipeline_name=name,
            model_package_group=model_package_group_name(SETTINGS.project, env, package_type),
        ),
    )


# The shortest and the longest (16) package type names the settings accept, hyphens
# and digits, and names found inside words of every definition ("in", "a").
EDGE_NAMES = ["a", "in", "x1-y2-z3", "a1-b2-c3-d4-e5-f"]


@pytest.mark.parametrize("package_type", EDGE_NAMES)
def test_edge_case_names_fill_byte_identical(package_type: str):
    dev = [plan for plan in PLANNED if plan.inputs.environment == "dev"]
    first_type = dev[0].package_type
    for plan in (plan for plan in dev if plan.package_type == first_type):
        renamed = _renamed(plan, package_type)
        filled = definitions.pipeline_definition(renamed.kind, renamed.inputs)
        assert filled == definitions.direct_definition(
            renamed.kind, renamed.inputs, cache_dir=None
        ), f"{renamed.inputs.pipeline_name}"
