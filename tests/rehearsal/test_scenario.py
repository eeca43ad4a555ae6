"""The whole rehearsal scenario, end to end (`-m rehearsal` selects it, `-m "not rehearsal"` skips).

Builds the real training and inference definitions, runs them on generated data for package
type mailer and checks every expectation the scenario states (about 45-120 s on 2 cores,
depending on load). The time is reported, never asserted: `make bench` is where durations
are measured.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from rehearsal.scenario import ScenarioConfig, prepare_workdir, run_scenario


@pytest.mark.rehearsal
@pytest.mark.slow
def test_rehearsal_scenario_end_to_end(tmp_path: Path) -> None:
    """Week 1 approved, week 2 rejected with reasons, inference loaded once, rerun idempotent."""
    lines: list[str] = []
    began = time.monotonic()
    result = run_scenario(
        ScenarioConfig(workdir=prepare_workdir(tmp_path / "rehearsal")), out=lines.append
    )
    elapsed = time.monotonic() - began
    report = "\n".join(lines)
    assert result.ok, report
    assert [label for label, _ in result.runs] == [
        "week 1 training",
        "week 2 training (drifted, noisy labels)",
        "daily inference",
        "daily inference again (same RunId)",
    ]
    print(f"rehearsal scenario: {elapsed:.0f} s", file=sys.stderr)
