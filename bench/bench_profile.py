"""Prepare's data-quality and drift overhead, and how well drift is told from noise.

`python -m bench.bench_profile [--rows 1000000 10000000] [--sensitivity-rows 200000]`
(also run by `make bench`; `BENCH_SIZES=1000000,3000000` sets the sizes there).

Overhead. Data: bench_prepare's cached synthetic products (`bench-out/prepare/rows-N`: 1M
rows per Parquet file, a Redshift-style manifest); the champion's baseline:
feature_baseline.build_baseline over 200,000 other products (seed 99, drift 0), cached in
`bench-out/profile/`. Two cases, each run in a fresh interpreter:

- off: `prepare.run(profile=False)`: no quality checks and no baseline, the step as it was;
- on: `prepare.run` with the default quality bounds and the baseline: schema check per
  file, QualityCounter per batch, DriftHistogram of the kept rows, profile.json.

Each case is started by a small launcher process (standard library only) that reads
`getrusage(RUSAGE_CHILDREN).ru_maxrss` once its one child has exited: that run's peak RSS,
whatever ran before (the child's own VmHWM is shown next to it). Seconds are the median of
3 runs up to 1M rows and of 1 run above. Targets: on / off - 1 <= 10% (Prepare's time);
peak RSS flat from the smallest size to the largest (<= 1.2x). Outputs go to /dev/shm when
it has room (the disk's writeback is not what is timed).

Sensitivity: a baseline from drift-0 products (seed 1), then batches (seed 2) generated with
synthetic_data's `drift` knob at 0 ("none"), 0.3 ("small") and 1.0 ("large") histogrammed and
judged with the default DriftLimits (PSI 0.25, category distance 0.2): each verdict and the
top features' PSI, then a scan of drift levels for the smallest one that is detected.
Prints figures; never fails on timing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.scratch import run_figures

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench-out" / "profile"
DEFAULT_SIZES = (1_000_000, 10_000_000)
BASELINE_ROWS = 200_000
MEDIAN_UP_TO = 1_000_000  # sizes up to this are timed 3 times (median), larger ones once
EXPECTED = {"none": 0.0, "small": 0.3, "large": 1.0}
# PSI's customary reading: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 drift.
EXPECTED_VERDICT = {"none": "ok", "small": "moderate", "large": "drift"}


def baseline_dir() -> Path:
    """The cached baseline folder (baseline.json for 'mailer'), built once."""
    folder = CACHE / "baseline"
    if (folder / "baseline.json").is_file():
        return folder
    from pipeline_defs import synthetic_data
    from pipeline_defs.steps import feature_baseline, features

    products = synthetic_data.generate_products(BASELINE_ROWS, seed=99)
    baseline = feature_baseline.build_baseline(
        features.compute_features(products), package_type="mailer"
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "baseline.json").write_text(json.dumps(baseline))
    return folder


def child(mode: str, input_dir: Path, out: Path, baseline: Path) -> dict[str, Any]:
    """One Prepare run in this (fresh) process: rows, seconds, CPU seconds, VmHWM."""
    from bench.bench_prepare import peak_rss_mb
    from pipeline_defs.steps import manifest, prepare

    started, cpu_started = time.perf_counter(), time.process_time()
    summary = prepare.run(
        package_type="mailer",
        target_file_bytes=64 * prepare.MIB,
        input_dir=input_dir,
        output_dir=out / "features",
        summary_dir=out / "summary",
        rejected_dir=out / "rejected",
        shard=manifest.WHOLE,
        baseline_dir=baseline if mode == "on" else None,
        profile=mode == "on",
    )
    if mode == "on":
        assert summary["quality"]["passed"] and summary["baseline"] is not None
    return {
        "rows": summary["rows_out"],
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu_started,
        "vmhwm_mb": peak_rss_mb(),
    }


def launch(arguments: list[str]) -> None:
    """Run the child with `arguments`, then print its figures and its peak RSS (the only
    child of this small process, so RUSAGE_CHILDREN's maxrss is that run's own)."""
    result = subprocess.run(  # noqa: S603 (this script, fixed interpreter)
        [sys.executable, "-m", "bench.bench_profile", "--child", *arguments],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if result.returncode != 0:
        raise SystemExit(f"child {arguments} failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(figures))


def measure(mode: str, input_dir: Path, baseline: Path) -> dict[str, Any]:
    """One run of `mode` through the launcher; outputs removed afterwards."""
    return run_figures(
        lambda out: [
            sys.executable,
            "-m",
            "bench.bench_profile",
            "--launch",
            mode,
            str(input_dir),
            str(out),
            str(baseline),
        ],
        prefix="pkgml-bench-profile-",
        cache=CACHE,
        root=ROOT,
        what=f"{mode} on {input_dir}",
    )


def overhead(sizes: list[int]) -> None:
    """Time both cases at each size and print the table and the targets."""
    from bench.bench_prepare import dataset

    baseline = baseline_dir()
    results: dict[tuple[int, str], dict[str, Any]] = {}
    for rows in sizes:
        folder = dataset(rows)
        repeats = 3 if rows <= MEDIAN_UP_TO else 1
        runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
        for _ in range(repeats):  # interleaved: a slow spell of the host hits both cases
            for mode in ("off", "on"):
                runs[mode].append(measure(mode, folder, baseline))
        for mode, measured in runs.items():
            results[(rows, mode)] = {
                "seconds": statistics.median(r["seconds"] for r in measured),
                "cpu": statistics.median(r["cpu"] for r in measured),
                "rows": measured[0]["rows"],
                "maxrss_mb": max(r["maxrss_mb"] for r in measured),
                "vmhwm_mb": max(r["vmhwm_mb"] for r in measured),
                "runs": len(measured),
            }
    print(f"\nCPUs: {os.cpu_count()} (one worker thread per CPU); off: profile=False, no baseline")
    print(
        f"{'rows':>12} {'case':>4} {'runs':>4} {'wall s':>7} {'cpu s':>6} {'rows/s':>10} "
        f"{'peak RSS':>9} {'VmHWM':>7}"
    )
    for (rows, mode), r in results.items():
        print(
            f"{rows:>12,} {mode:>4} {r['runs']:>4} {r['seconds']:>7.2f} {r['cpu']:>6.2f} "
            f"{r['rows'] / r['seconds']:>10,.0f} {r['maxrss_mb']:>7.0f}MB {r['vmhwm_mb']:>5.0f}MB"
        )
    print(f"\n{'figure':<44} {'value':>8}  target")
    for rows in sizes:
        on, off = results[(rows, "on")], results[(rows, "off")]
        extra = on["seconds"] / off["seconds"] - 1
        print(f"{f'quality + drift overhead at {rows:,}':<44} {extra:>+7.1%}  <= +10%")
        cpu_extra = on["cpu"] / off["cpu"] - 1
        print(f"{'  the same in CPU seconds':<44} {cpu_extra:>+7.1%}  (context)")
        memory = on["maxrss_mb"] / off["maxrss_mb"]
        print(f"{f'  peak RSS on / off at {rows:,}':<44} {memory:>7.2f}x  (context)")
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        growth = results[(large, "on")]["maxrss_mb"] / results[(small, "on")]["maxrss_mb"]
        print(
            f"{f'peak RSS with quality + drift {large:,} / {small:,}':<44} {growth:>7.2f}x  <= 1.2x"
        )


def sensitivity(rows: int) -> None:
    """Verdicts for no, small and large drift, and the smallest drift detected."""
    from pipeline_defs import synthetic_data
    from pipeline_defs.steps import drift_stats, feature_baseline, features, profile_limits

    limits = profile_limits.DriftLimits()
    training = features.compute_features(synthetic_data.generate_products(rows, seed=1))
    baseline = feature_baseline.build_baseline(training, package_type="mailer")

    def judge(drift: float) -> dict[str, Any]:
        batch = synthetic_data.generate_products(rows, seed=2, drift=drift)
        histogram = drift_stats.DriftHistogram(baseline)
        histogram.update(features.compute_features(batch))
        return drift_stats.drift_report(baseline, histogram, limits)

    print(
        f"\nsensitivity: baseline {rows:,} rows (drift 0, seed 1); batches {rows:,} rows "
        f"(seed 2); limits PSI {limits.psi:g}, category distance {limits.category_distance:g}"
    )
    print(f"{'batch':<7} {'drift':>5} {'verdict':<8} {'drifted':>7}  top features by PSI")
    for label, drift in EXPECTED.items():
        report = judge(drift)
        top = ", ".join(f"{n} {report['features'][n]['psi']:.3f}" for n in report["top"][:4])
        expected = EXPECTED_VERDICT[label]
        mark = "" if report["verdict"] == expected else f"  (expected {expected})"
        print(
            f"{label:<7} {drift:>5.2f} {report['verdict']:<8} {len(report['drifted']):>7}  "
            f"{top}{mark}"
        )
        distance = report["features"]["category"]["distance"]
        print(f"{'':<7} {'':>5} category distance {distance:.3f}")
    print("\nscan (the smallest drift the default limits detect):")
    smallest = None
    for step in range(1, 21):
        drift = step / 20
        report = judge(drift)
        print(
            f"  drift {drift:.2f}: {report['verdict']:<5} max PSI {report['max_psi']:.3f} "
            f"({report['top'][0]}), drifted {report['drifted'][:3]}"
        )
        if report["verdict"] == "drift":
            smallest = drift
            break
    print(f"smallest drift detected: {smallest}")


def main(argv: list[str] | None = None) -> None:
    """Parse the sizes, measure the overhead, then the sensitivity."""
    parser = argparse.ArgumentParser(description="Prepare's quality + drift overhead.")
    env_sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "").split(",") if s.strip()]
    parser.add_argument("--rows", type=int, nargs="+", default=env_sizes or list(DEFAULT_SIZES))
    parser.add_argument("--sensitivity-rows", type=int, default=BASELINE_ROWS)
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_overhead:
        overhead(sorted(args.rows))
    sensitivity(args.sensitivity_rows)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        paths = [Path(p) for p in sys.argv[3:6]]
        print(json.dumps(child(sys.argv[2], *paths)))
    elif len(sys.argv) == 6 and sys.argv[1] == "--launch":
        launch(sys.argv[2:])
    else:
        main()
