"""`make bench`: run every benchmark in this folder and print its figures.

Benchmarks report numbers next to their targets; they never fail the build on
timing (machines differ). A benchmark that crashes does fail `make bench`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    """Run `bench/bench_*.py` (or only those named on the command line)."""
    wanted = set(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    failures = []
    for script in scripts:
        if wanted and script.stem not in wanted:
            continue
        print(f"\n=== {script.stem} ===", flush=True)
        # As modules of the bench package from the project root, so they import each other
        # (bench.scratch) and the project the same way however they were started.
        result = subprocess.run(  # noqa: S603 - our own scripts, fixed interpreter
            [sys.executable, "-m", f"bench.{script.stem}"], cwd=HERE.parent, check=False
        )
        if result.returncode != 0:
            failures.append(script.stem)
    if failures:
        print(f"\nbenchmarks that crashed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
