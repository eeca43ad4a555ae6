"""`make diff`: two synths compared per stack, offline."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from tests.conftest import synthesize
from tools import offline_diff

PIPELINE_BODY = {
    "Fn::Join": [
        "",
        [
            '{"Version": "2020-12-01", "Parameters": [{"Name": "MaxIter", "DefaultValue": ',
            "VALUE",
            '}, {"Name": "Role", "DefaultValue": "',
            {"Fn::GetAtt": ["Role", "Arn"]},
            '"}], "Steps": []}',
        ],
    ]
}


def pipeline(max_iter: str) -> dict:
    body = copy.deepcopy(PIPELINE_BODY)
    body["Fn::Join"][1][1] = max_iter
    return {
        "Type": "AWS::SageMaker::Pipeline",
        "Properties": {"PipelineDefinition": {"PipelineDefinitionBody": body}},
    }


def test_a_parameter_inside_an_assembled_pipeline_definition_is_named():
    found = offline_diff.diff_templates(
        "Dev/Ml",
        {"Resources": {"Pipe": pipeline("200")}},
        {"Resources": {"Pipe": pipeline("300")}},
    )
    assert found.changed == {
        "Pipe (AWS::SageMaker::Pipeline)": [
            (
                "Properties.PipelineDefinition.PipelineDefinitionBody.Parameters"
                ".Name=MaxIter.DefaultValue",
                200,
                300,
            )
        ]
    }
    assert found.added == found.removed == []


def test_added_removed_and_outputs():
    old = {
        "Resources": {"A": {"Type": "AWS::SQS::Queue"}, "B": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Url": {"Value": "x"}},
    }
    new = {
        "Resources": {"B": {"Type": "AWS::SNS::Topic"}, "C": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {"Url": {"Value": "y"}},
    }
    found = offline_diff.diff_templates("S", old, new)
    assert (found.added, found.removed) == (["C"], ["A"])
    assert found.changed == {"Output Url (Output)": [("Value", "x", "y")]}
    text = offline_diff.render([found, offline_diff.StackDiff("Quiet")])
    assert text.splitlines() == [
        "Stack S",
        "[+] C",
        "[-] A",
        "[~] Output Url (Output)",
        "    Value: x -> y",
        "Number of stacks with differences: 1",
    ]


def test_an_inserted_step_does_not_shift_the_others():
    """Lists of named objects are compared by name, not position."""
    old = {"Steps": [{"Name": "Split", "Arg": 1}, {"Name": "Train", "Arg": 2}]}
    new = {
        "Steps": [
            {"Name": "Check", "Arg": 0},
            {"Name": "Split", "Arg": 1},
            {"Name": "Train", "Arg": 2},
        ]
    }
    found = list(
        offline_diff.changes(offline_diff._named_lists(old), offline_diff._named_lists(new))
    )
    assert found == [("Steps.Name=Check", None, {"Name": "Check", "Arg": 0})]


@pytest.mark.slow
def test_a_schedule_override_changes_one_resource_of_one_stack(synthesized, base_context, tmp_path):
    context = copy.deepcopy(base_context)
    context["environments.prod.schedules.training.expression"] = "cron(0 3 ? * SUN *)"
    changed = synthesize(context, tmp_path / "changed")
    diffs = [d for d in offline_diff.diff_assemblies(synthesized.outdir, changed.outdir) if d]
    assert [d.name for d in diffs] == ["Delivery/Prod/Ingest"]
    ((resource, found),) = diffs[0].changed.items()
    assert resource.endswith("(AWS::Scheduler::Schedule)")
    assert ("Properties.ScheduleExpression", "cron(0 3 ? * MON *)", "cron(0 3 ? * SUN *)") in found


def test_main_compares_the_committed_config_with_the_flags(monkeypatch, synthesized, capsys):
    """The flow without subprocesses: the baseline is cdk.json at the revision, the change
    adds the -c values; both are synthesized (here: copies of one synth)."""
    seen = []

    def fake_synthesize(context, outdir):
        seen.append(context)
        shutil.copytree(synthesized.outdir, outdir)

    monkeypatch.setattr(offline_diff, "synthesize", fake_synthesize)
    assert offline_diff.main(["-c", "environments.dev.ml.cache_expiry=P7D"]) == 0
    baseline, changed = sorted(seen, key=lambda c: "environments.dev.ml.cache_expiry" in c)
    assert "environments.dev.ml.cache_expiry" not in baseline
    assert changed["environments.dev.ml.cache_expiry"] == "P7D"
    assert capsys.readouterr().out.splitlines()[-1] == "Number of stacks with differences: 0"


def test_a_malformed_flag_is_a_configuration_error(capsys):
    assert offline_diff.main(["-c", "no-equals-sign"]) == 1
    assert "expected key=value" in capsys.readouterr().err


def test_an_unknown_revision_is_named():
    with pytest.raises(SystemExit, match=r"cannot read cdk\.json at 'no-such-rev'"):
        offline_diff.committed_context("no-such-rev")


def test_stack_templates_walks_nested_assemblies(synthesized):
    names = offline_diff.stack_templates(synthesized.outdir)
    assert {"Delivery", "Delivery/Dev/Ml", "Delivery/Prod/Ingest"} <= set(names)
    assert json.loads(names["Delivery/Dev/Ml"].read_text())["Resources"]
