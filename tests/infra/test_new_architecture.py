"""A new architecture is one folder and one configuration line: nothing else changes.

The scaffold writes a throwaway architecture into a copy of pipeline_defs/architectures/
(the app reads architectures from that folder for this test); with
`ml.extra_architectures` naming it, synthesis gives every package type a training pipeline
for it, the trigger's catalog and routing include it, and the docs list it, with no code
edited anywhere else.
"""

from __future__ import annotations

import copy
import json
import shutil
import uuid

import pytest
from aws_cdk.assertions import Template

from pipeline_defs import architectures as registry
from pkgml_contracts.architectures import from_json_catalog
from stacks.components import step_code
from stacks.settings import load_settings
from tests.conftest import synthesize_stage
from tools import docs
from tools.new_architecture import scaffold


@pytest.fixture
def throwaway(tmp_path, monkeypatch):
    root = tmp_path / "architectures"
    shutil.copytree(
        registry.ARCHITECTURES_DIR, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    name = f"tmp{uuid.uuid4().hex[:8]}"
    scaffold(name, root)
    monkeypatch.setattr(registry, "ARCHITECTURES_DIR", root)
    monkeypatch.setattr(step_code, "ARCHITECTURES_DIR", root)
    return name


@pytest.mark.slow
def test_a_scaffolded_architecture_is_deployed_by_one_configuration_line(
    throwaway, base_context, tmp_path
):
    context = copy.deepcopy(base_context)
    context["environments.dev.ml.extra_architectures"] = json.dumps([throwaway])
    stage = synthesize_stage(context, "dev", tmp_path / "cdk.out")
    ml = Template.from_stack(stage.ml).to_json()
    pipelines = {
        r["Properties"]["PipelineName"]: r["Properties"]
        for r in ml["Resources"].values()
        if r["Type"] == "AWS::SageMaker::Pipeline"
    }
    for package_type in load_settings(context).package_types:
        name = f"pkgml-dev-{package_type}-training-{throwaway}"
        assert name in pipelines, sorted(pipelines)
        assert f"training ({throwaway})" in pipelines[name]["PipelineDescription"]

    ingest = Template.from_stack(stage.ingest).to_json()
    trigger = next(
        r["Properties"]
        for r in ingest["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and "ARCHITECTURE_PIPELINES" in r["Properties"].get("Environment", {}).get("Variables", {})
    )
    routes = json.loads(trigger["Environment"]["Variables"]["ARCHITECTURE_PIPELINES"])
    assert routes["mailer"][throwaway] == f"pkgml-dev-mailer-training-{throwaway}"

    # the trigger's asset carries the catalog the run files are validated against
    catalogs = [
        from_json_catalog(path.read_text())
        for path in (tmp_path / "cdk.out").rglob("architectures.json")
        if (path.parent / "trigger_handler.py").is_file()
    ]
    assert any(throwaway in catalog for catalog in catalogs)
    assert f"| `{throwaway}` |" in docs.readme_table(registry.architectures())
