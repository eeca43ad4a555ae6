"""`ops report`: the metric history page, from the registry (moto)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import Names, Runner

MAILER = ("--package-type", "mailer")


def test_the_page_charts_each_metric_over_the_versions(
    cli: Runner, make_group: Callable[..., list[str]], names: Names, tmp_path: Path
) -> None:
    make_group("Approved", "Rejected", "Approved", "PendingManualApproval")
    result = cli("report", *MAILER, "--out", str(tmp_path))
    assert result.code == 0, result.err
    path = tmp_path / f"{names.group('mailer')}-history.html"
    assert result.out.strip() == (
        f"Wrote {path} (4 versions of {names.group('mailer')}); open it in a browser."
    )
    html = path.read_text()
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == 2  # roc_auc and pr_auc have values; f1 is None in every version
    assert "f1: no version has a value." in html
    roc = svgs[0]
    # four points, coloured by status, oldest first; version 3 (newest Approved) ringed
    fills = re.findall(r'class="point" cx="[\d.]+" cy="[\d.]+" r="4" fill="(#\w+)"', roc)
    assert fills == ["#2e7d32", "#c62828", "#2e7d32", "#9e9e9e"]
    assert roc.count('class="champion"') == 1
    assert "<title>v3 Approved: 0.8300</title>" in roc
    assert "<td>v3 (champion)</td>" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")


def test_json_gives_the_series_and_one_package_type_is_required(
    cli: Runner, make_group: Callable[..., list[str]], tmp_path: Path
) -> None:
    make_group("Approved", "Rejected")
    data: Any = cli("--json", "report", *MAILER, "--out", str(tmp_path)).json()
    assert data["champion_version"] == 1
    series = data["series"]["roc_auc"]
    assert [point["version"] for point in series] == [1, 2]
    assert [point["value"] for point in series] == pytest.approx([0.81, 0.82])
    assert cli("report", "--out", str(tmp_path)).code == 2  # every package type: refused
