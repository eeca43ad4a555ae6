"""Synthetic data: generating 1M products (what the rehearsal and the benchmarks use).

Target: under 5 s for 1M products on the 2-core CI machine (a figure, not a test).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline_defs import synthetic_data


def main() -> int:
    """Print the median of three generations of 1M products."""
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        synthetic_data.generate_products(1_000_000, seed=0)
        runs.append(time.perf_counter() - start)
    median = statistics.median(runs)
    verdict = "meets" if median < 5 else "MISSES"
    print(f"1M products: {median:.2f} s (median of 3; {verdict} the < 5 s target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
