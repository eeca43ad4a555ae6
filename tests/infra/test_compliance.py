"""Whole-app checks: cdk-nag AwsSolutions, cfn-lint, deterministic synthesis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

from tests.conftest import synthesize


def templates_under(outdir: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(outdir)): path.read_bytes()
        for path in sorted(outdir.rglob("*.template.json"))
    }


def test_cdk_nag_finds_nothing_unacknowledged(synthesized):
    report = AwsSolutionsChecks(synthesized.app).validate_scope(synthesized.app)
    findings = sorted(
        f"{v.rule_name} {getattr(v, 'violating_resources', '')}" for v in report.violations
    )
    assert report.success, findings
    assert findings == []


def test_cdk_nag_harness_does_detect_an_unsafe_bucket():
    """Control: the check above would fail on a bucket without the safe defaults."""
    app = App(builtin_cloud_formation_validation=False)
    s3.Bucket(Stack(app, "Unsafe"), "Bucket")
    report = AwsSolutionsChecks(app).validate_scope(app)
    assert not report.success
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= {v.rule_name for v in report.violations}


def test_cfn_lint_reports_no_errors(synthesized):
    """cfn-lint every template for the region its stack deploys to."""
    from aws_cdk import Stack
    from cfnlint.api import ManualArgs, lint

    checked = 0
    problems = []
    for stage in synthesized.stages.values():
        stacks = [c for c in stage.node.children if isinstance(c, Stack)]
        for stack in stacks:
            path = Path(stage.outdir) / stack.template_file
            matches = lint(
                path.read_text(encoding="utf-8"), config=ManualArgs(regions=[stack.region])
            )
            problems += [
                f"{path.name}: {m.rule.id} {m.message}"
                for m in matches
                if m.rule.id.startswith("E")
            ]
            checked += 1
    assert checked >= 8
    assert problems == []


def test_synthesis_is_deterministic(synthesized, base_context, tmp_path):
    again = synthesize(base_context, tmp_path / "again")
    first, second = templates_under(synthesized.outdir), templates_under(again.outdir)
    assert first, "no templates synthesized"
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == []


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_wildcard_iam_actions(synthesized, env):
    templates = list(Path(synthesized.stages[env].outdir).glob("*.template.json"))
    assert len(templates) >= 5
    for path in templates:
        text = json.dumps(json.loads(path.read_text()))
        assert '"Action": "*"' not in text
        assert '"*:*"' not in text


def test_cfn_lint_harness_does_detect_an_invalid_template():
    """Control: the lint check above would fail on an invalid property."""
    from cfnlint.api import lint_all

    bad = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}
    assert "E3002" in {m.rule.id for m in lint_all(json.dumps(bad))}
