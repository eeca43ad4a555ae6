"""`ops report`: a package type's metric history as a local, self-contained HTML page.

Reads every version of the group from the Model Registry and its evaluation.json (as
`models` does) and writes `<out>/<group>-history.html`: a line chart per metric (an
inline SVG: no JavaScript, no network, opens anywhere) with each version's point coloured
by its status and the champion ringed, and the table of versions below it.
"""

from __future__ import annotations

import argparse
from html import escape
from pathlib import Path
from typing import Any

from ops.commands.models import (
    APPROVED,
    REJECTED,
    ModelVersion,
    current_champion,
    load_versions,
)
from ops.context import OpsContext
from ops.formatting import Result, iso

METRICS = ("roc_auc", "pr_auc", "f1")
COLOURS = {APPROVED: "#2e7d32", REJECTED: "#c62828"}  # any other status: grey
WIDTH, HEIGHT, PAD = 640, 220, 40


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `report`."""
    parser = subparsers.add_parser(
        "report",
        parents=parents,
        help="write a package type's metric history as a local HTML page (one --package-type)",
        description=(
            "Write <out>/<group>-history.html: each metric over the group's versions "
            "(oldest to newest; green Approved, red Rejected, grey otherwise; the champion "
            "ringed) and the table of versions. Self-contained: no script, no network."
        ),
    )
    parser.add_argument("--out", type=Path, default=Path("reports"), help="folder (reports/)")
    parser.set_defaults(handler=report_command)


def _value(version: ModelVersion, name: str) -> float | None:
    value = (version.metrics or {}).get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def chart(name: str, versions: list[ModelVersion], champion: ModelVersion | None) -> str:
    """One metric over the versions (oldest first) as an SVG line chart."""
    points = [(v, _value(v, name)) for v in versions]
    known = [value for _, value in points if value is not None]
    if not known:
        return f"<p>{escape(name)}: no version has a value.</p>"
    low, high = min(known), max(known)
    if high - low < 0.02:  # a flat series still gets a visible band
        low, high = low - 0.01, high + 0.01
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)

    def x(index: int) -> float:
        return PAD + index * step

    def y(value: float) -> float:
        return HEIGHT - PAD - (value - low) / (high - low) * (HEIGHT - 2 * PAD)

    line = " ".join(
        f"{x(i):.1f},{y(value):.1f}" for i, (_, value) in enumerate(points) if value is not None
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(name)} by version">',
        f'<text x="{PAD}" y="20" font-size="14" font-weight="bold">{escape(name)}</text>',
        f'<text x="4" y="{y(high) + 4:.1f}" font-size="10">{high:.3f}</text>',
        f'<text x="4" y="{y(low) + 4:.1f}" font-size="10">{low:.3f}</text>',
        f'<polyline fill="none" stroke="#607d8b" stroke-width="1.5" points="{line}"/>',
    ]
    for index, (version, value) in enumerate(points):
        parts.append(
            f'<text x="{x(index) - 6:.1f}" y="{HEIGHT - 12}" font-size="10">'
            f"v{version.version}</text>"
        )
        if value is None:
            continue
        colour = COLOURS.get(version.status, "#9e9e9e")
        title = f"v{version.version} {version.status}: {value:.4f}"
        parts.append(
            f'<circle class="point" cx="{x(index):.1f}" cy="{y(value):.1f}" r="4" '
            f'fill="{colour}"><title>{escape(title)}</title></circle>'
        )
        if champion is not None and version.arn == champion.arn:
            parts.append(
                f'<circle class="champion" cx="{x(index):.1f}" cy="{y(value):.1f}" r="8" '
                'fill="none" stroke="#1565c0" stroke-width="2"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def page(group: str, versions: list[ModelVersion], champion: ModelVersion | None) -> str:
    """The whole HTML page (versions oldest first)."""
    rows = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(cell))}</td>"
            for cell in (
                f"v{v.version}" + (" (champion)" if champion and v.arn == champion.arn else ""),
                v.status,
                iso(v.created),
                *(_shown(_value(v, m)) for m in METRICS),
                v.decision or "-",
                v.metrics_error or "",
            )
        )
        + "</tr>"
        for v in versions
    )
    headers = "".join(
        f"<th>{escape(h)}</th>" for h in ("version", "status", "created", *METRICS, "gate", "note")
    )
    charts = "\n".join(chart(name, versions, champion) for name in METRICS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(group)}: metric history</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 8px;text-align:left}}
svg{{display:block;margin:1em 0}}</style></head>
<body>
<h1>{escape(group)}: metric history</h1>
<p>Validation metrics of each version (evaluation.json), oldest to newest. Green:
Approved, red: Rejected, grey: other; the ringed point is the champion (the newest
Approved version, which inference serves).</p>
{charts}
<table><thead><tr>{headers}</tr></thead><tbody>
{rows}
</tbody></table>
</body></html>
"""


def report_command(ctx: OpsContext, args: argparse.Namespace) -> Result:
    """Read the group's history and write the page."""
    package_type = ctx.single_package_type()
    group = ctx.group_name(package_type)
    versions = load_versions(ctx, package_type, with_metrics=True)
    champion = current_champion(ctx, package_type, versions)
    oldest_first = list(reversed(versions))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{group}-history.html"
    path.write_text(page(group, oldest_first, champion), encoding="utf-8")
    data = {
        "path": str(path),
        "group": group,
        "champion_version": champion.version if champion else None,
        "series": {
            name: [{"version": v.version, "value": _value(v, name)} for v in oldest_first]
            for name in METRICS
        },
    }
    text = f"Wrote {path} ({len(versions)} versions of {group}); open it in a browser."
    return Result(data=data, text=text)
