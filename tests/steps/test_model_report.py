"""The model report page and its charts (Compare): literal expectations."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from pipeline_defs.steps import charts, model_report

DECISION: dict[str, Any] = {
    "decision": "reject",
    "package_type": "mailer",
    "model_package_group": "pkgml-dev-mailer",
    "comparison": "same_data",
    "champion_model_package_arn": "arn:aws:sagemaker:us-east-1:1:model-package/pkgml-dev-mailer/3",
    "reasons": ["roc_auc dropped 0.050 below the champion's on the same rows"],
    "checks": [
        {"name": "min_score", "observed": 0.81, "limit": 0.7, "passed": True,
         "skipped": False, "message": "roc_auc 0.81 >= 0.7"},
        {"name": "max_score_drop", "observed": 0.05, "limit": 0.02, "passed": False,
         "skipped": False, "message": "dropped <0.05> & more"},
        {"name": "max_label_shift", "observed": None, "limit": 0.1, "passed": True,
         "skipped": True, "message": "skipped: no champion"},
    ],
    "criteria": {"primary_metric": "roc_auc", "min_score": 0.7},
    "challenger_score": 0.81,
}  # fmt: skip
EVALUATION: dict[str, Any] = {
    "metrics": {"roc_auc": 0.81, "f1": 0.6, "threshold": 0.5, "row_count": 600,
                "confusion_matrix": {"tn": 400, "fp": 50, "fn": 45, "tp": 105}},
    "champion": {"metrics": {"roc_auc": 0.86, "f1": 0.65, "threshold": 0.5,
                             "confusion_matrix": {"tn": 410, "fp": 40, "fn": 40, "tp": 110}}},
}  # fmt: skip
ONE_MODEL = {
    "rows": 4,
    "positives": 2,
    "roc": [[0.0, 0.0], [0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [1.0, 1.0]],
    "pr": [[0.5, 1.0], [0.5, 0.5], [1.0, 0.6667], [1.0, 0.5]],
    "calibration": [{"mean_score": 0.1, "positive_rate": 0.0, "rows": 1},
                    {"mean_score": 0.9, "positive_rate": 1.0, "rows": 1}],
    "histogram": {"edges": [i / 20 for i in range(21)],
                  "counts": {"0": [0, 0, 1] + [0] * 17, "1": [0] * 18 + [1, 0]}},
    "lift": [{"group": 1, "rows": 2, "positives": 2, "lift": 2.0, "captured": 1.0},
             {"group": 2, "rows": 2, "positives": 0, "lift": 0.0, "captured": 1.0}],
}  # fmt: skip
CURVES = {
    "challenger": ONE_MODEL,
    "champion": ONE_MODEL,
    "feature_association": [
        {"feature": "weight_kg", "spearman": -0.4, "strength": 0.4},
        {"feature": "volume_l", "spearman": 0.2, "strength": 0.2},
    ],
}
HISTORY = [
    {"label": "v1", "status": "Approved", "created": "2026-11-01T05:00", "score": 0.84,
     "gate": "approve", "run_id": "training-1", "champion": False},
    {"label": "v2", "status": "Rejected", "created": "2026-11-08T05:00", "score": 0.62,
     "gate": "reject", "run_id": "training-2", "champion": False},
    {"label": "v3", "status": "Approved", "created": "2026-11-15T05:00", "score": 0.86,
     "gate": "approve", "run_id": "training-3", "champion": True},
    {"label": "this run", "status": "gate: reject", "score": 0.81, "gate": "reject"},
]  # fmt: skip


def test_ticks_are_round_numbers_within_the_range() -> None:
    assert charts.ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert charts.ticks(0.8, 0.86) == [0.8, 0.82, 0.84, 0.86]
    assert charts.ticks(0, 2.2) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert charts.ticks(3, 3) == [3]


def test_a_plot_maps_data_onto_its_frame() -> None:
    plot = charts.Plot("k", "t", x_label="x", y_label="y", x_range=(0, 1), y_range=(0, 10))
    # a 560 x 340 figure, margins left 64, right 16, top 48, bottom 52
    assert (plot.x(0), plot.x(0.5), plot.x(1)) == (64, 304, 544)
    assert (plot.y(0), plot.y(5), plot.y(10)) == (288, 168, 48)


def test_the_svg_escapes_text_and_draws_every_operation() -> None:
    plot = charts.Plot("a&b", "<t>", x_label="x", y_label="y", x_range=(0, 1), y_range=(0, 1))
    plot.line([(0, 0), (1, 1)], colour="#000000", label="l<1>")
    svg = plot.done().svg()
    assert svg.startswith(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-a&amp;b"'
    )
    assert "&lt;t&gt;" in svg and "<t>" not in svg.replace("<title>", "").replace("</title>", "")
    assert '<polyline points="64.0,288.0 544.0,48.0" fill="none" stroke="#000000"' in svg
    assert svg.endswith("</svg>")


def test_the_png_has_the_figure_size_times_the_scale() -> None:
    # Pillow is in the processing image and in requirements-dev: a missing install fails here.
    png = charts.Figure(key="k", title="t", width=100, height=50).png(scale=2)
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (200, 100)


def test_dashes_are_cut_along_the_path_as_the_svg_draws_them() -> None:
    # stroke-dasharray="5,4": 5 drawn, 4 gap, carried across the corner at (10, 0).
    assert charts.dash_segments([(0, 0), (10, 0), (10, 10)], on=5, off=4) == [
        [(0.0, 0.0), (5.0, 0.0)],
        [(9.0, 0.0), (10.0, 0.0), (10.0, 4.0)],
        [(10.0, 8.0), (10.0, 10.0)],
    ]
    assert charts.dash_segments([(3, 3), (3, 3)], on=5, off=4) == []


def test_a_dashed_line_leaves_gaps_in_the_png() -> None:
    figure = charts.Figure(key="k", title="t", width=40, height=10)
    figure.add(charts.Op("line", ((0, 5), (40, 5)), colour="#000000", width=1.0, dash=True))
    png = figure.png(scale=1)
    assert png is not None
    from io import BytesIO

    from PIL import Image

    row = [Image.open(BytesIO(png)).convert("L").getpixel((x, 5)) for x in range(40)]
    drawn = "".join("#" if value < 128 else "." for value in row)
    # 5 on, 4 off; Pillow draws both end pixels of each dash (0-5, 9-14, 18-23).
    assert drawn.startswith("######...######...######...")


def test_the_page_shows_the_verdict_checks_both_models_and_the_history() -> None:
    page, figures = model_report.render(
        evaluation=EVALUATION, curves=CURVES, decision=DECISION, history=HISTORY
    )
    assert [f.key for f in figures] == [
        "roc",
        "precision-recall",
        "calibration",
        "score-distribution",
        "lift",
        "features",
        "history",
    ]
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 7
    assert '<p class="verdict reject">Gate decision: reject</p>' in page
    assert "<li>roc_auc dropped 0.050 below the champion&#x27;s on the same rows</li>" in page
    assert (
        '<tr class="fail"><td>max_score_drop</td><td>0.0500</td><td>0.0200</td><td>FAIL</td>'
        "<td>dropped &lt;0.05&gt; &amp; more</td></tr>"
    ) in page
    assert '<tr class="skipped"><td>max_label_shift</td><td>-</td><td>0.1000</td>' in page
    assert "<tr><td>roc_auc</td><td>0.8100</td><td>0.8600</td><td>-0.0500</td></tr>" in page
    assert "<tr><td>row_count</td><td>600</td><td>-</td><td>-</td></tr>" in page
    assert "Challenger at threshold 0.50" in page and "Champion (same rows) at threshold" in page
    assert "400<br><small>66.7%</small>" in page  # tn of 600
    assert "<td>v3 (champion)</td><td>Approved</td><td>2026-11-15T05:00</td>" in page
    assert "<td>this run</td><td>gate: reject</td><td>-</td><td>0.8100</td>" in page


def test_without_curves_or_scores_only_what_exists_is_drawn() -> None:
    page, figures = model_report.render(
        evaluation={"metrics": {}}, curves=None, decision=DECISION, history=[]
    )
    assert figures == []
    assert "No curves: this run's Evaluate wrote no curves.json." in page
    first = {**CURVES, "champion": None, "feature_association": []}
    _, figures = model_report.render(
        evaluation=EVALUATION, curves=first, decision=DECISION, history=HISTORY[-1:]
    )
    assert [f.key for f in figures] == [
        "roc",
        "precision-recall",
        "calibration",
        "score-distribution",
        "lift",
        "history",
    ]
    assert "champion (same rows)" not in figures[0].svg()


def test_write_report_writes_the_page_and_a_png_per_chart(tmp_path: Path) -> None:
    path = model_report.write_report(
        tmp_path, evaluation=EVALUATION, curves=CURVES, decision=DECISION, history=HISTORY
    )
    assert path == tmp_path / "report.html"
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == [
        "calibration.png",
        "features.png",
        "history.png",
        "lift.png",
        "precision-recall.png",
        "roc.png",
        "score-distribution.png",
    ]
    assert '<a href="charts/roc.png">PNG</a>' in path.read_text()


def test_the_failure_page_names_the_error() -> None:
    page = model_report.failure_page(KeyError("criteria"))
    assert "<pre>KeyError: &#x27;criteria&#x27;</pre>" in page
    assert "decision.json and is not affected" in page
