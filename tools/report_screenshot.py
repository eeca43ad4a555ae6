"""docs/model-report.png: the model report of a rehearsal week, as headless Chromium draws it.

`python -m tools.report_screenshot [--out docs/model-report.png]` (part of `make diagrams`)
runs the standard rehearsal plan on small data, takes the last training run's report (a
challenger judged against a champion, with the group's history) and saves a full-page
screenshot: what the README shows is what the pipeline writes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rehearsal.plan import ScenarioConfig
from rehearsal.scenario import run_scenario
from rehearsal.setup import prepare_workdir
from tools import browser


def main(argv: Sequence[str] | None = None) -> int:
    """Rehearse, then screenshot the last report; 1 when no browser or no report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/model-report.png"))
    args = parser.parse_args(argv)
    why = browser.reason()
    if why:
        print(f"report_screenshot: no browser: {why}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="report-shot-") as folder:
        lines: list[str] = []
        result = run_scenario(
            ScenarioConfig(
                workdir=prepare_workdir(Path(folder) / "rehearsal"),
                training_rows=1_200,
                inference_rows=300,
            ),
            out=lines.append,
        )
        if not result.ok or not result.reports:
            print("\n".join(lines), file=sys.stderr)
            print("report_screenshot: the rehearsal wrote no report", file=sys.stderr)
            return 1
        with browser.open_browser() as context:
            seen = browser.inspect(context, result.reports[-1], screenshot=args.out)
    if seen.errors:
        print(f"report_screenshot: console errors {seen.errors}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({len(seen.charts)} charts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
