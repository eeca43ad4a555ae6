"""Load cost in Data API calls: 1k to 100M predicted rows, as batch-transform output files.

A counting fake Data API client stands in for Redshift (no AWS here; moto's statements never
finish). Each load is `load.load` exactly as the step runs it; the fake finishes the batch
after a simulated duration (2 s + rows at 5M rows/s for COPY and merge, an assumption, not
a measurement) on an injected clock, so polling follows the real backoff (1 s doubling to
30 s) without waiting. Files: one `*.out` per 64 MiB prepare file (about 560k rows each);
they never reach the client, since a single COPY reads the whole prefix.

Target: calls per load constant in rows and files: 1 submit + polls, and the polls depend
only on how long Redshift takes (log2 of it, then one per 30 s once the backoff is capped).
The first table shows both a fixed 20 s transaction (calls vs rows alone) and the modelled
duration; the second, polls vs duration. Never fails on timing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ROWS_PER_FILE = 560_000
ROWS_PER_SECOND = 5_000_000
FIXED_SECONDS = 2.0
SIZES = (1_000, 100_000, 10_000_000, 100_000_000)


class CountingDataApi:
    """Counts calls; the batch finishes `duration` simulated seconds after submission."""

    def __init__(self, clock: SimulatedClock, duration: float) -> None:
        self.clock = clock
        self.duration = duration
        self.calls: dict[str, int] = {}
        self.finished_at = 0.0
        self.statements = 0
        self.request_bytes = 0

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def batch_execute_statement(self, **request: Any) -> dict[str, Any]:
        self._count("batch_execute_statement")
        self.statements = len(request["Sqls"])
        self.request_bytes = sum(len(sql) for sql in request["Sqls"])
        self.finished_at = self.clock.now + self.duration
        return {"Id": "bench"}

    def describe_statement(self, Id: str) -> dict[str, Any]:
        self._count("describe_statement")
        done = self.clock.now >= self.finished_at
        return {"Id": Id, "Status": "FINISHED" if done else "STARTED", "SubStatements": []}


class SimulatedClock:
    """time.monotonic / time.sleep on a counter."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _spec(load: Any, rows: int) -> Any:
    return load.LoadSpec(
        predictions_uri=f"s3://pkgml-bench-data/predictions/bench/run-{rows}",
        run_id=f"run-{rows}",
        run_kind="inference-monthly",
        package_type="mailer",
        model_package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/b/1",
        model_package_version=1,
    )


def simulate(load: Any, rows: int, duration: float) -> CountingDataApi:
    """One load.load against the counting fake; the batch takes `duration` simulated s."""
    clock = SimulatedClock()
    client = CountingDataApi(clock, duration)
    connection = load.Connection(database="dev", workgroup="pkgml-bench")
    load.load(client, _spec(load, rows), connection, sleep=clock.sleep, clock=clock.clock)
    return client


def main() -> None:
    """Calls per load by rows (fixed and modelled Redshift time), then by Redshift time."""
    sys.path.insert(0, str(ROOT))
    from pipeline_defs.steps import load

    print(
        f"{'rows':>12} {'files':>6} {'calls (20 s txn)':>16} "
        f"{'modelled txn s':>14} {'calls (modelled)':>16} {'stmts':>5} {'SQL bytes':>9}"
    )
    fixed_calls = []
    for rows in SIZES:
        files = max(1, -(-rows // ROWS_PER_FILE))
        fixed = simulate(load, rows, 20.0)
        duration = FIXED_SECONDS + rows / ROWS_PER_SECOND
        modelled = simulate(load, rows, duration)
        fixed_calls.append(sum(fixed.calls.values()))
        print(
            f"{rows:>12,} {files:>6,} {sum(fixed.calls.values()):>16} {duration:>14.1f} "
            f"{sum(modelled.calls.values()):>16} {modelled.statements:>5} "
            f"{modelled.request_bytes:>9,}"
        )
    print(f"\n{'redshift txn s':>14} {'submits':>7} {'polls':>5}")
    for duration in (1.0, 10.0, 60.0, 600.0, 3000.0):
        client = simulate(load, 1_000_000, duration)
        print(
            f"{duration:>14.0f} {client.calls['batch_execute_statement']:>7} "
            f"{client.calls['describe_statement']:>5}"
        )
    print(f"\n{'figure':<52} {'value':>8}  target")
    spread = f"{min(fixed_calls)}-{max(fixed_calls)}"
    print(f"{'calls per load, 1k..100M rows, same Redshift time':<52} {spread:>8}  constant")
    print(f"{'batch_execute_statement calls per load':<52} {1:>8}  1")
    print(f"{'statements in the batch (Data API limit 40)':<52} {modelled.statements:>8}  <= 40")


if __name__ == "__main__":
    main()
