"""The model report of a training run: one self-contained HTML page, plus a PNG per chart.

Evaluate computes the curves (`curves.curve_data`, `curves.feature_association`) on the
validation rows for the challenger and, when there is one, the champion on the same rows,
and writes them to `curves.json` beside evaluation.json. Compare, once it has decided,
writes the page beside decision.json (`write_report`): `report.html` and
`charts/<chart>.png`. Every model package links it as `report_s3_uri`.

The page holds: the verdict and its reasons; every gate check (observed, limit, result);
the challenger's and the champion's metrics side by side on the same rows; both confusion
matrices at the operating threshold; ROC and precision-recall curves, calibration, the
score distribution per label, the lift per decile, the features most associated with the
score, and the group's primary metric over its last versions.

Charts are drawn by `charts.py` (the processing image has no matplotlib): inline SVG in
the page, so it opens anywhere with no script and no network, and PNG through Pillow.

This module needs only the standard library (Compare imports it; Pillow is optional).
Feature association is model-agnostic (Evaluate has the scores, not the model): the
absolute Spearman rank correlation between each numeric input column and the predicted
score on the validation rows. It says which inputs move with the score, not what the
model would lose without them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any, TypeGuard

if __package__:
    from . import charts
else:  # run as a script: the sibling modules sit in the script's own directory
    import charts  # type: ignore[no-redef]

CURVES_FILE = "curves.json"
REPORT_FILE = "report.html"
CHARTS_DIR = "charts"
TOP_FEATURES = 15
CHALLENGER, CHAMPION = charts.PALETTE[0], charts.PALETTE[1]
STATUS_COLOURS = {"Approved": "#2e7d32", "Rejected": "#c62828"}


# --- the page (Compare) --------------------------------------------------------------


def _number(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return f"{value:.{digits}f}" if isinstance(value, float) else f"{value:,}"
    return escape(str(value))


def _models(curves: Mapping[str, Any] | None) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(label, colour, curves) of the challenger and, when scored, the champion."""
    if not curves:
        return []
    found = [("challenger", CHALLENGER, curves.get("challenger"))]
    found.append(("champion (same rows)", CHAMPION, curves.get("champion")))
    return [(label, colour, data) for label, colour, data in found if data]


def build_figures(
    curves: Mapping[str, Any] | None,
    history: Sequence[Mapping[str, Any]],
    *,
    primary_metric: str,
    min_score: float | None,
) -> list[charts.Figure]:
    """Every chart the data allows, in page order."""
    figures: list[charts.Figure] = []
    models = _models(curves)
    if models:
        roc = charts.Plot(
            "roc",
            "ROC curve",
            x_label="false positive rate",
            y_label="true positive rate",
            x_range=(0, 1),
            y_range=(0, 1),
        )
        roc.diagonal("chance")
        for label, colour, data in models:
            roc.line([tuple(p) for p in data["roc"]], colour=colour, label=label)
        figures.append(roc.done("lower right"))
        pr = charts.Plot(
            "precision-recall",
            "Precision-recall curve",
            x_label="recall",
            y_label="precision",
            x_range=(0, 1),
            y_range=(0, 1),
        )
        for label, colour, data in models:
            pr.line([tuple(p) for p in data["pr"]], colour=colour, label=label)
        first = models[0][2]
        if first["rows"]:
            pr.hline(first["positives"] / first["rows"], colour="#9e9e9e", label="positive rate")
        figures.append(pr.done("lower left"))
        calibration = charts.Plot(
            "calibration",
            "Calibration",
            x_label="mean predicted score (bin)",
            y_label="observed positive rate",
            x_range=(0, 1),
            y_range=(0, 1),
        )
        calibration.diagonal("perfect")
        for label, colour, data in models:
            bins = data["calibration"]
            calibration.line(
                [(b["mean_score"], b["positive_rate"]) for b in bins], colour=colour, label=label
            )
            calibration.points(
                [
                    (b["mean_score"], b["positive_rate"], colour, f"{label}: {b['rows']} rows")
                    for b in bins
                ],
                radius=3,
            )
        figures.append(calibration.done("upper left"))
        figures.append(_distribution(models[0][2]))
        figures.append(_lift(models))
    features = (curves or {}).get("feature_association") or []
    if features:
        top = features[:TOP_FEATURES]
        figures.append(
            charts.hbar_figure(
                "features",
                "Features most associated with the score",
                [(row["feature"], float(row["strength"])) for row in top],
                x_label="|Spearman correlation| with the challenger's score",
            )
        )
    if any(_is_number(row.get("score")) for row in history):
        figures.append(_history(history, primary_metric=primary_metric, min_score=min_score))
    return figures


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _distribution(data: Mapping[str, Any]) -> charts.Figure:
    edges = data["histogram"]["edges"]
    counts = data["histogram"]["counts"]
    totals = {label: max(sum(counts[label]), 1) for label in ("0", "1")}
    shares = {label: [c / totals[label] for c in counts[label]] for label in ("0", "1")}
    high = max(max(shares["0"]), max(shares["1"]), 1e-9)
    plot = charts.Plot(
        "score-distribution",
        "Challenger's score distribution per label",
        x_label="score",
        y_label="share of the label's rows",
        x_range=(0, 1),
        y_range=(0, high * 1.1),
    )
    for label, colour, offset in (("0", CHAMPION, 0.0), ("1", CHALLENGER, 0.5)):
        bars = []
        for index, share in enumerate(shares[label]):
            width = edges[index + 1] - edges[index]
            start = edges[index] + offset * width
            bars.append((start, start + width / 2, share))
        plot.bars(bars, colour=colour, label=f"label {label} ({totals[label]:,} rows)")
    return plot.done()


def _lift(models: Sequence[tuple[str, str, Mapping[str, Any]]]) -> charts.Figure:
    values = [g["lift"] for _, _, data in models for g in data["lift"] if _is_number(g["lift"])]
    high = max([*values, 1.0])
    groups = max(len(data["lift"]) for _, _, data in models)
    plot = charts.Plot(
        "lift",
        "Lift per score decile (highest scores first)",
        x_label="decile of rows by score",
        y_label="lift",
        x_range=(0.5, groups + 0.5),
        y_range=(0, high * 1.1),
        x_ticks=[(g, str(g)) for g in range(1, groups + 1)],
    )
    width = 0.8 / len(models)
    for index, (label, colour, data) in enumerate(models):
        bars = [
            (
                g["group"] - 0.4 + index * width,
                g["group"] - 0.4 + (index + 1) * width,
                float(g["lift"]),
            )
            for g in data["lift"]
            if _is_number(g["lift"])
        ]
        plot.bars(bars, colour=colour, label=label)
    plot.hline(1.0, colour="#616161", label="no lift")
    return plot.done()


def _history(
    history: Sequence[Mapping[str, Any]], *, primary_metric: str, min_score: float | None
) -> charts.Figure:
    known = [
        (i, float(row["score"])) for i, row in enumerate(history) if _is_number(row.get("score"))
    ]
    values = [v for _, v in known] + ([min_score] if min_score is not None else [])
    low, high = min(values), max(values)
    pad = max((high - low) * 0.1, 0.01)
    plot = charts.Plot(
        "history",
        f"{primary_metric} of the group's last versions",
        x_label="version (oldest to newest; this run last)",
        y_label=primary_metric,
        x_range=(-0.5, len(history) - 0.5),
        y_range=(low - pad, high + pad),
        x_ticks=[(i, str(row.get("label", i))) for i, row in enumerate(history)],
    )
    plot.line([(i, v) for i, v in known], colour="#90a4ae", width=1.5)
    plot.points(
        [
            (
                i,
                v,
                STATUS_COLOURS.get(str(history[i].get("status")), "#757575"),
                f"{history[i].get('label')} {history[i].get('status')}: {v:.4f}",
            )
            for i, v in known
        ]
    )
    for i, v in known:
        if history[i].get("champion"):
            plot.ring(i, v, colour=CHALLENGER)
    if min_score is not None:
        plot.hline(min_score, colour="#c62828", label=f"floor {min_score:g}")
    return plot.done()


def _metrics_table(evaluation: Mapping[str, Any]) -> str:
    challenger = evaluation.get("metrics") or {}
    champion = ((evaluation.get("champion") or {}).get("metrics")) or {}
    names = (
        "roc_auc",
        "pr_auc",
        "precision",
        "recall",
        "f1",
        "accuracy",
        "positive_rate",
        "row_count",
    )
    rows = []
    for name in names:
        ours, theirs = challenger.get(name), champion.get(name)
        change = (
            ours - theirs
            if _is_number(ours) and _is_number(theirs) and name != "row_count"
            else None
        )
        rows.append(
            f"<tr><td>{name}</td><td>{_number(ours)}</td><td>{_number(theirs)}</td>"
            f"<td>{'-' if change is None else f'{change:+.4f}'}</td></tr>"
        )
    return (
        "<table><thead><tr><th>metric</th><th>challenger</th><th>champion (same rows)</th>"
        "<th>difference</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _confusion(title: str, metrics: Mapping[str, Any] | None) -> str:
    if not metrics or not metrics.get("confusion_matrix"):
        return ""
    m = metrics["confusion_matrix"]
    total = max(sum(int(m[k]) for k in ("tn", "fp", "fn", "tp")), 1)

    def cell(key: str, good: bool) -> str:
        share = int(m[key]) / total
        colour = f"rgba({'46,125,50' if good else '198,40,40'},{0.12 + 0.6 * share:.2f})"
        return f'<td style="background:{colour}">{int(m[key]):,}<br><small>{share:.1%}</small></td>'

    return (
        f'<table class="confusion"><caption>{escape(title)} at threshold '
        f"{_number(metrics.get('threshold'), 2)}</caption>"
        "<tr><th></th><th>predicted 0</th><th>predicted 1</th></tr>"
        f"<tr><th>actual 0</th>{cell('tn', True)}{cell('fp', False)}</tr>"
        f"<tr><th>actual 1</th>{cell('fn', False)}{cell('tp', True)}</tr></table>"
    )


def _checks_table(decision: Mapping[str, Any]) -> str:
    rows = []
    for check in decision.get("checks") or []:
        result = "skipped" if check.get("skipped") else ("pass" if check.get("passed") else "FAIL")
        rows.append(
            f'<tr class="{result.lower()}"><td>{escape(str(check.get("name")))}</td>'
            f"<td>{_number(check.get('observed'))}</td><td>{_number(check.get('limit'))}</td>"
            f"<td>{result}</td><td>{escape(str(check.get('message', '')))}</td></tr>"
        )
    return (
        "<table><thead><tr><th>check</th><th>observed</th><th>limit</th><th>result</th>"
        "<th>detail</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _history_table(history: Sequence[Mapping[str, Any]], metric: str) -> str:
    rows = "".join(
        f"<tr><td>{escape(str(row.get('label')))}"
        f"{' (champion)' if row.get('champion') else ''}</td>"
        f"<td>{escape(str(row.get('status', '-')))}</td>"
        f"<td>{escape(str(row.get('created') or '-'))}</td>"
        f"<td>{_number(row.get('score'))}</td><td>{escape(str(row.get('gate') or '-'))}</td>"
        f"<td>{escape(str(row.get('run_id') or '-'))}</td></tr>"
        for row in history
    )
    return (
        f"<table><thead><tr><th>version</th><th>status</th><th>created</th><th>{escape(metric)}</th>"
        f"<th>gate</th><th>run</th></tr></thead><tbody>{rows}</tbody></table>"
    )


STYLE = """body{font-family:sans-serif;margin:2em;color:#212121;max-width:1200px}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #e0e0e0;padding:3px 8px;text-align:left}
tr.fail td{background:#ffebee}.verdict{font-size:1.3em;font-weight:bold}
.approve{color:#2e7d32}.reject{color:#c62828}
.charts{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figcaption{font-size:0.85em}
table.confusion{display:inline-table;margin-right:2em}
table.confusion td{text-align:center;min-width:7em}"""


def render(
    *,
    evaluation: Mapping[str, Any],
    curves: Mapping[str, Any] | None,
    decision: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    history_note: str = "",
) -> tuple[str, list[charts.Figure]]:
    """(the HTML page, its figures): history is oldest first, this run's challenger last."""
    criteria = decision.get("criteria") or {}
    metric = str(criteria.get("primary_metric") or "roc_auc")
    floor = criteria.get("min_score")
    figures = build_figures(
        curves,
        history,
        primary_metric=metric,
        min_score=float(floor) if _is_number(floor) else None,
    )
    verdict = str(decision.get("decision", "?"))
    group = str(decision.get("model_package_group", ""))
    reasons = "".join(f"<li>{escape(str(r))}</li>" for r in decision.get("reasons") or [])
    champion = decision.get("champion_model_package_arn") or "none (first model of the group)"
    blocks = "\n".join(
        f'<figure>{figure.svg()}<figcaption><a href="{CHARTS_DIR}/{escape(figure.key)}.png">'
        "PNG</a></figcaption></figure>"
        for figure in figures
    )
    missing = "" if curves else "<p>No curves: this run's Evaluate wrote no curves.json.</p>"
    note = f"<p>{escape(history_note)}</p>" if history_note else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(group)}: model report</title>
<style>{STYLE}</style></head>
<body>
<h1>{escape(group)}: model report</h1>
<p class="verdict {escape(verdict)}">Gate decision: {escape(verdict)}</p>
<p>Package type {escape(str(decision.get("package_type", "")))};
compared with {escape(str(champion))}
({escape(str(decision.get("comparison", "")))} comparison, primary metric {escape(metric)}).</p>
<ul>{reasons}</ul>
<h2>Gate checks</h2>
{_checks_table(decision)}
<h2>Challenger and champion</h2>
{_metrics_table(evaluation)}
{_confusion("Challenger", evaluation.get("metrics"))}
{_confusion("Champion (same rows)", (evaluation.get("champion") or {}).get("metrics"))}
<h2>Charts</h2>
{missing}
<div class="charts">
{blocks}
</div>
<h2>The group's last versions</h2>
{note}
{_history_table(history, metric)}
<p><small>Feature association: |Spearman correlation| between each numeric input column
and the challenger's score on the validation rows (model-agnostic; not the model's own
importance). Lift: the positive rate of each tenth of the rows, highest scores first, over
the overall rate.</small></p>
</body></html>
"""
    return page, figures


def write_report(
    output_dir: Path,
    *,
    evaluation: Mapping[str, Any],
    curves: Mapping[str, Any] | None,
    decision: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    history_note: str = "",
) -> Path:
    """Write report.html and charts/<chart>.png (PNG only where Pillow is installed)."""
    page, figures = render(
        evaluation=evaluation,
        curves=curves,
        decision=decision,
        history=history,
        history_note=history_note,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    chart_dir = output_dir / CHARTS_DIR
    chart_dir.mkdir(exist_ok=True)
    for figure in figures:
        png = figure.png()
        if png is not None:
            (chart_dir / f"{figure.key}.png").write_bytes(png)
    path = output_dir / REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return path


def failure_page(error: BaseException) -> str:
    """The page written when the report itself fails: the gate's decision stands."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>model report failed'
        "</title></head><body><h1>The model report could not be drawn</h1><p>The gate's "
        "decision is in decision.json and is not affected. The error (also in the Compare "
        f"job's log):</p><pre>{escape(type(error).__name__)}: {escape(str(error))}</pre>"
        "</body></html>\n"
    )


def read_curves(path: Path) -> Mapping[str, Any] | None:
    """curves.json beside evaluation.json, or None when this run has none."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
