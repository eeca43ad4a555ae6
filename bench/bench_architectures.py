"""Architectures: each architecture's training and serving vs its library alone, 1M rows.

For every architecture folder (or those named by `--architectures`), on generated data
(`--rows` products of package type mailer, default 1,000,000, or `BENCH_ROWS`) split by
Split's real code (validation ratio 0.2, so 80% train and 20% served):

- training: the architecture trained as its container runs it, by the contract harness
  (tests/architectures/harness.py: script mode = its program in a fresh interpreter,
  reading Split's Parquet; built-in = the container emulation reading Split's CSV shards,
  with the train and validation sets evaluated every round as the container does), vs the
  library's own fit on the same rows as in-memory arrays with the same hyperparameters
  (`REFERENCE_FITS`; an architecture without one gets its own figures only). Every core.
  Figure: time ratio architecture / library (context: loading, features, saving).
- serving: the validation rows as batch transform sends them (text/csv MultiRecord
  requests of up to MAX_PAYLOAD_MB, id dropped) through the architecture's serving path
  (a serving program, script or built-in mode: its input_fn -> predict_fn -> output_fn in
  a fresh interpreter, from the model's code/ as the pipeline packages it; built-in
  without one: the container emulation's answer) vs the raw predict on the same rows
  already parsed (the fitted estimator's predict_proba, or the booster's predict on a
  DMatrix of them; a serving program whose model has neither: its predict_fn). The same
  thread settings on both sides: the XGBoost container's serving sets OMP_NUM_THREADS=1
  per worker (a worker per CPU), so built-in xgboost is measured on one thread; the
  scikit-learn container sets nothing, so script mode gets every core. Each side makes
  `--repeats` passes over every request (default 3, alternating) and its fastest pass
  counts, which keeps a busy machine's noise out of the ratio. Figure: rows/s ratio,
  target >= 0.7x.

The generated data and its split are cached under `bench-out/architectures/` (gitignored).
Prints figures; never fails on timing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench-out" / "architectures"
DEFAULT_ROWS = 1_000_000
PACKAGE_TYPE = "mailer"
TARGET_SERVING_RATIO = 0.7
CSV = "text/csv"

Fit = Callable[[Mapping[str, str], Any, Any], Any]


def split_data(rows: int) -> Path:
    """Split's outputs for `rows` generated products (generated and split once)."""
    from pipeline_defs import synthetic_data
    from pipeline_defs.steps import split

    folder = CACHE / f"rows-{rows}"
    marker = folder / "_COMPLETE"
    if marker.is_file():
        return folder / "split"
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    table = synthetic_data.generate_training_set(rows, seed=11, package_types=(PACKAGE_TYPE,))
    synthetic_data.write_parquet(table, folder / "unload", rows_per_file=250_000)
    split.run(
        package_type=PACKAGE_TYPE,
        validation_ratio=0.2,
        seed=42,
        input_dir=folder / "unload",
        output_dir=folder / "split",
    )
    marker.write_text(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))
    print(f"generated and split {rows:,} rows in {time.perf_counter() - started:.1f} s")
    return folder / "split"


def train_arrays(data: Path) -> tuple[Any, Any]:
    """(features float32, labels) of the train rows, in memory."""
    from pipeline_defs.steps import features, split

    table, _ = split.read_parquet_input(data / "train")
    return features.compute_features(table), split.labels_as_int(table)


def fit_hgb(hyperparameters: Mapping[str, str], x: Any, y: Any) -> Any:
    """HistGradientBoostingClassifier as hgb/train.py configures it (its other settings are
    scikit-learn's defaults, random_state 42)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=int(hyperparameters["max_iter"]),
        learning_rate=float(hyperparameters["learning_rate"]),
        max_depth=int(hyperparameters["max_depth"]),
        random_state=42,
    ).fit(x, y)


def fit_xgboost(hyperparameters: Mapping[str, str], x: Any, y: Any) -> Any:
    """xgb.train with the hyperparameters the container would use, no evaluation sets."""
    import xgboost as xgb

    from tests.architectures import harness

    params = harness.xgboost_parameters(hyperparameters)
    rounds = params.pop("num_round")
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=rounds)


REFERENCE_FITS: dict[str, Fit] = {"hgb": fit_hgb, "xgboost": fit_xgboost}


def request_bodies(data: Path, inputs: tuple[str, ...]) -> tuple[list[str], list[int]]:
    """The validation rows as MultiRecord request bodies of at most MAX_PAYLOAD_MB."""
    from pipeline_defs.step_builders import MAX_PAYLOAD_MB
    from tests.architectures import harness

    rows = harness.TransformInput.read(data, inputs).rows
    limit = MAX_PAYLOAD_MB * 1024 * 1024
    bodies: list[str] = []
    counts: list[int] = []
    current: list[str] = []
    size = 0
    for row in rows:
        if current and size + len(row) + 1 > limit:
            bodies.append("\n".join(current) + "\n")
            counts.append(len(current))
            current, size = [], 0
        current.append(row)
        size += len(row) + 1
    if current:
        bodies.append("\n".join(current) + "\n")
        counts.append(len(current))
    return bodies, counts


def serve_child(model_dir: str, program: str, requests: str, repeats: int) -> dict[str, Any]:
    """In a fresh interpreter: the serving program's path vs raw predict on parsed rows,
    passes over every request alternating, the fastest of `repeats` of each."""
    import numpy as np

    sys.path.insert(0, str(Path(model_dir) / "code"))
    module = importlib.import_module(Path(program).stem)
    model = module.model_fn(model_dir)
    bodies = [p.read_text("utf-8") for p in sorted(Path(requests).iterdir())]
    warm_up = "\n".join(bodies[0].splitlines()[:100]) + "\n"
    parsed_warm_up = module.input_fn(warm_up, CSV)
    module.output_fn(module.predict_fn(parsed_warm_up, model), CSV)
    parsed = [module.input_fn(body, CSV) for body in bodies]
    estimator: Any = getattr(model, "estimator", None)
    booster: Any = getattr(model, "booster", None)
    arrays = all(isinstance(p, np.ndarray) for p in parsed)
    raw_kind = "predict_fn"
    if hasattr(estimator, "predict_proba") and arrays:
        raw_kind = "estimator.predict_proba"
    elif type(booster).__name__ == "Booster" and arrays:
        raw_kind = "booster.predict"

    def raw(rows: Any) -> Any:
        if raw_kind == "estimator.predict_proba":
            return estimator.predict_proba(rows)[:, 1]
        if raw_kind == "booster.predict":
            import xgboost as xgb

            return booster.predict(xgb.DMatrix(rows))
        return module.predict_fn(rows, model)

    def serve(body: str) -> Any:
        result = module.output_fn(module.predict_fn(module.input_fn(body, CSV), model), CSV)
        return result[0] if isinstance(result, tuple) else result

    raw(parsed_warm_up)
    serve_seconds, raw_seconds = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        responses = [serve(body) for body in bodies]
        serve_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        for rows in parsed:
            raw(rows)
        raw_seconds.append(time.perf_counter() - started)
    text = "".join(r.decode() if isinstance(r, bytes) else r for r in responses)
    return {
        "serve_seconds": min(serve_seconds),
        "raw_seconds": min(raw_seconds),
        "raw": raw_kind,
        "scores": [float(v) for v in text.split()],
    }


def serve_script(
    architecture: Any,
    model_dir: Path,
    bodies: list[str],
    work: Path,
    repeats: int,
    threads: int | None = None,
) -> dict:
    """serve_child in a fresh interpreter (OpenMP limited to `threads` if given)."""
    requests = work / "requests"
    requests.mkdir(parents=True)
    for index, body in enumerate(bodies):
        (requests / f"{index:06d}").write_text(body, "utf-8")
    result = subprocess.run(  # noqa: S603 (this script, fixed interpreter)
        [
            sys.executable,
            __file__,
            "--serve-child",
            str(model_dir),
            str(architecture.serving_program),
            str(requests),
            str(repeats),
        ],
        cwd=work,
        check=False,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        | ({"OMP_NUM_THREADS": str(threads)} if threads is not None else {}),
    )
    if result.returncode != 0:
        raise RuntimeError(f"serving {architecture.name} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def serve_xgboost(model_dir: Path, bodies: list[str], repeats: int) -> dict[str, Any]:
    """The container's own serving (a built-in model without a serving program): the
    emulation's answers vs booster.predict on parsed rows (one thread per worker on both
    sides, as the container sets it); the fastest of `repeats` alternating passes."""
    import numpy as np
    import xgboost as xgb

    from tests.architectures import harness

    booster = harness.XGBoostBuiltinRunner.load(model_dir)
    warm_up = "\n".join(bodies[0].splitlines()[:100]) + "\n"
    harness.xgboost_batch_response(booster, warm_up)
    parsed = [
        np.array([line.split(",") for line in body.split()], dtype=np.float32) for body in bodies
    ]
    serve_seconds, raw_seconds = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        responses = [harness.xgboost_batch_response(booster, body) for body in bodies]
        serve_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        for rows in parsed:
            booster.predict(xgb.DMatrix(rows))
        raw_seconds.append(time.perf_counter() - started)
    text = b"".join(responses).decode()
    return {
        "serve_seconds": min(serve_seconds),
        "raw_seconds": min(raw_seconds),
        "raw": "booster.predict",
        "scores": [float(v) for v in text.split()],
    }


def measure(name: str, data: Path, work: Path, repeats: int = 3) -> dict[str, Any]:
    """Training and serving figures of one architecture."""
    import numpy as np
    import pyarrow.parquet as pq
    from sklearn.metrics import roc_auc_score

    from tests.architectures import harness

    architecture = harness.architectures()[name]
    runner: Any
    if architecture.mode == "script":
        runner = harness.ScriptRunner(threads=None)
    elif (architecture.mode, architecture.framework) == ("builtin", "xgboost"):
        runner = harness.XGBoostBuiltinRunner(threads=None)
    else:
        raise LookupError(f"{name}: no runner for {architecture.mode}/{architecture.framework}")
    hyperparameters = harness.hyperparameter_texts(architecture)
    started = time.perf_counter()
    model = runner.train(
        architecture, harness.ARCHITECTURES_DIR / name, data, work / "train", hyperparameters
    )
    figures: dict[str, Any] = {"train_seconds": time.perf_counter() - started}
    if name in REFERENCE_FITS:
        x, y = train_arrays(data)
        started = time.perf_counter()
        REFERENCE_FITS[name](hyperparameters, x, y)
        figures["reference_seconds"] = time.perf_counter() - started
        del x, y
    served = harness.package_model(model, work, architecture)
    bodies, counts = request_bodies(data, architecture.inputs)
    if architecture.serving_program is None:
        serving = serve_xgboost(served, bodies, repeats)
    else:
        # The XGBoost container's serving sets OMP_NUM_THREADS=1 (a worker per CPU).
        threads = 1 if architecture.framework == "xgboost" else None
        serving = serve_script(architecture, served, bodies, work / "serve", repeats, threads)
    scores = np.asarray(serving.pop("scores"))
    labels = pq.read_table(data / "validation" / "validation.parquet").column("label")
    figures |= serving | {
        "rows_served": int(sum(counts)),
        "requests": len(bodies),
        "auc": float(roc_auc_score(labels.to_numpy(), scores)),
    }
    return figures


def main(argv: list[str]) -> None:
    """Data, then each architecture's figures, then the table."""
    from tests.architectures import harness

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ROWS", 0)) or None)
    parser.add_argument("--architectures", default="", help="comma-separated names (all)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="serving passes per side; the fastest counts"
    )
    args = parser.parse_args(argv)
    rows = args.rows or DEFAULT_ROWS
    names = [n for n in args.architectures.split(",") if n] or sorted(harness.architectures())
    data = split_data(rows)
    results = {}
    for name in names:
        work = Path(tempfile.mkdtemp(prefix=f"pkgml-bench-{name}-"))
        try:
            results[name] = measure(name, data, work, max(1, args.repeats))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{name}: done", flush=True)
    shards = sum(1 for _ in (data / "train_csv").iterdir())
    print(f"\n{rows:,} products ({PACKAGE_TYPE}), {shards} train shards; CPUs: {os.cpu_count()}")
    print(
        f"{'architecture':<14} {'train s':>8} {'library s':>9} {'ratio':>6}  "
        f"{'serve rows/s':>12} {'raw rows/s':>11} {'ratio':>6} {'target':>7}  {'AUC':>5}  raw"
    )
    for name, r in results.items():
        reference = r.get("reference_seconds")
        train_ratio = f"{r['train_seconds'] / reference:>5.2f}x" if reference else f"{'-':>6}"
        serve_rate = r["rows_served"] / r["serve_seconds"]
        raw_rate = r["rows_served"] / r["raw_seconds"]
        print(
            f"{name:<14} {r['train_seconds']:>8.1f} "
            f"{(f'{reference:.1f}' if reference else '-'):>9} {train_ratio}  "
            f"{serve_rate:>12,.0f} {raw_rate:>11,.0f} {serve_rate / raw_rate:>5.2f}x "
            f"{f'>={TARGET_SERVING_RATIO}x':>7}  {r['auc']:.3f}  {r['raw']}"
        )
    print(
        "\ntrain ratio: architecture as its container trains / the library's fit on arrays "
        "(context, no target); serving ratio: rows/s through the serving path / raw predict."
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if len(sys.argv) == 6 and sys.argv[1] == "--serve-child":
        model_dir, program, requests, repeats = sys.argv[2:6]
        print(json.dumps(serve_child(model_dir, program, requests, int(repeats))))
    else:
        main(sys.argv[1:])
