"""The dashboard picture in docs/ is drawn from the synthesized dashboard, and fresh."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from tools import dashboard_layout


def picture(synthesized) -> str:
    template = Template.from_stack(synthesized.stages["dev"].monitoring).to_json()
    return dashboard_layout.render_svg(
        dashboard_layout.dashboard_body(template), "CloudWatch dashboard pkgml-dev (layout)"
    )


def test_the_committed_picture_is_fresh(synthesized):
    committed = dashboard_layout.DEFAULT_OUT.read_text(encoding="utf-8")
    assert committed == picture(synthesized), "docs/dashboard.svg is stale: run `make diagrams`"


def test_the_picture_shows_each_package_types_gate_row_and_the_bounds(synthesized):
    svg = picture(synthesized)
    for package_type in ("mailer", "bag", "box", "sioc"):
        assert f"Models: {package_type} (pkgml-dev-{package_type})" in svg
    assert svg.count("--- score drop alarm 0.05 (0.05)") == 4
    assert svg.count("--- gate floor 0.7 (0.7)") == 4
    assert "8 alarms: state at a glance" in svg


def test_a_template_without_one_dashboard_is_refused():
    with pytest.raises(ValueError, match="expected one dashboard in the template, found 0"):
        dashboard_layout.dashboard_body({"Resources": {}})
