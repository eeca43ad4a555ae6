"""Every training run of the rehearsal writes a model report, and a real browser draws it.

The standard plan (`make rehearse`: two training weeks, the second rejected, a broken
extract that stops before training) on small data; each report the registered packages
link is opened in headless Chromium (Debian's, through Playwright: tools/browser.py):
every chart is drawn with a non-zero size and shapes in it, every PNG beside the page
decodes in the browser with a non-zero size, and the console has no errors.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from rehearsal.plan import ScenarioConfig
from rehearsal.scenario import run_scenario
from rehearsal.setup import prepare_workdir
from tools import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# What a run with a champion and a group history draws (model_report.build_figures).
WITH_CHAMPION = {
    "chart-roc",
    "chart-precision-recall",
    "chart-calibration",
    "chart-score-distribution",
    "chart-lift",
    "chart-features",
    "chart-history",
}


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    lines: list[str] = []
    result = run_scenario(
        ScenarioConfig(
            workdir=prepare_workdir(tmp_path_factory.mktemp("rehearsal")),
            training_rows=1_200,
            inference_rows=300,
        ),
        out=lines.append,
    )
    assert result.ok, "\n".join(lines)
    return result.reports


def test_every_training_run_that_trained_links_its_report(reports: list[Path]) -> None:
    # weeks 1 and 2 trained and registered; week 3's broken extract stopped before training
    assert [p.parts[-4] for p in reports] == ["training-week-1", "training-week-2"]


def test_the_browser_draws_every_chart_without_errors(reports: list[Path]) -> None:
    reason = browser.reason()
    if reason:
        pytest.fail(f"no browser for the report check: {reason}")
    with browser.open_browser() as context:
        for number, page in enumerate(reports, start=1):
            seen = browser.inspect(context, page)
            assert seen.errors == [], f"{page}: console errors {seen.errors}"
            assert seen.title == "pkgml-rehearsal-mailer: model report"
            ids = {chart["id"] for chart in seen.charts}
            # week 1 has no champion yet: no champion curves, but every chart kind is drawn
            assert ids == WITH_CHAMPION, f"week {number}: {sorted(ids)}"
            for chart in seen.charts:
                assert chart["width"] > 100 and chart["height"] > 100, chart
                assert chart["shapes"] > 5, chart
            pngs = sorted((page.parent / "charts").glob("*.png"))
            assert {f"chart-{p.stem}" for p in pngs} == ids
            for png in pngs:
                shown = browser.inspect(context, png)
                assert [(i["width"], i["height"]) for i in shown.images] == [_png_size(png)]
                assert shown.images[0]["width"] > 0 and shown.errors == []
