"""Split step: one package type's labelled rows -> stratified train / validation sets.

Runs as `python3 /opt/ml/processing/input/code/split.py` in a SageMaker Processing job.

Input (`--input-dir`, default /opt/ml/processing/input/data): a Redshift UNLOAD in Parquet,
either a directory of Parquet files or a manifest (`{"entries": [{"url": "s3://.../part",
"meta": {"content_length": N}}]}`) whose URLs map by basename to files in the input dir or,
when only the manifest is mounted, are downloaded (manifest.py).
Rows hold RAW_COLUMNS + `package_type` + `label` (0/1).

Data quality first (quality_checks.py, quality_counter.py): the package type's rows go through
the schema check and a `QualityCounter` (with labels) against `--quality-bounds`
(profile_limits.QualityBounds JSON; default the defaults: at least 1 row, at most 5% nulls
per raw column, 1% of values out of range, no repeated product id, labels 0/1).
Rows without a label are dropped and counted, as before (not a failure); a label other than
0/1 is. `quality/quality.json` (`QualityCounter.report`:
`passed`, `reason`, `failures`, rates, bounds, and `package_type`) is always written. When a
check fails, that is the only output and the step still exits 0: the pipeline reads
`passed` with a Condition step and stops at a Fail step with `reason`. (Bad arguments and
unreadable input remain errors.)

Outputs under `--output-dir` (default /opt/ml/processing/output), one ProcessingOutput each:
- `quality/quality.json`: the data-quality report (above), whether or not it passed.
- `baseline/baseline.json`: `feature_baseline.build_baseline` over the train rows' features: the
  bins, counts and medians inference measures its batches' drift against.
- `train/train.parquet`, `validation/validation.parquet`: the rows, input order kept.
- `validation_features/validation.csv`: no header, `product_id` then FEATURE_COLUMNS, same
  row order as validation.parquet: the batch-transform input (drop the id with
  `InputFilter="$[1:]"`; keep it in the output with `JoinSource=Input`, `OutputFilter="$[0,-1]"`).
- `champion_features/validation.csv` (with `--champion-with-text true|false`): the same
  rows without the id, plus the text column when the champion reads text: what
  ScoreChampion sends to the current champion.
- `statistics/statistics.json`: row and label counts, positive rate, input bytes, feature means.
- `train_csv/part-00000.csv` ... and `validation_csv/validation.csv`: the same rows for
  built-in algorithms (architecture-agnostic): no header, `label` (0/1) first, then
  FEATURE_COLUMNS formatted exactly as in validation_features (same code). The train rows
  are dealt round-robin into `--train-shards` files (default 20, the largest training
  instance count a run file allows; never more files than rows, no empty file), so a
  channel with `ShardedByS3Key` gives every instance a representative share: row i of
  train.parquet is line i // K of `part-{i % K:05d}.csv`. validation_csv is one file in
  validation.parquet's row order (a built-in algorithm's validation channel is fully
  replicated: every instance evaluates all of it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

if __package__:
    from . import features, manifest
else:  # run as a script: the sibling modules sit in the script's own directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import features  # type: ignore[no-redef]
    import manifest  # type: ignore[no-redef]

if TYPE_CHECKING:
    from pipeline_defs.steps.profile_limits import QualityBounds


def _sibling(name: str) -> ModuleType:
    """A sibling module (quality_checks, quality_counter, profile_limits, feature_baseline),
    imported on first use: the training architectures import this module only for its
    readers and labels."""
    if __package__:
        return importlib.import_module(f".{name}", __package__)
    return importlib.import_module(name)


PACKAGE_TYPE_COLUMN = "package_type"
LABEL_COLUMN = "label"
DEFAULT_INPUT_DIR = "/opt/ml/processing/input/data"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing/output"
# The largest TrainingInstanceCount a run file allows: every instance gets a shard.
DEFAULT_TRAIN_SHARDS = 20
# Every CSV this step writes: no header, nothing quoted (ids and numbers only).
CSV_WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none")

Filters = list[tuple[str, str, Any]]


def list_input_files(path: str | Path) -> list[Path]:
    """Parquet files of an input: a file, a manifest, or a directory (see manifest.py).

    Training data is small enough for one instance: every manifest entry, no sharding;
    entries not mounted next to the manifest are downloaded from S3.
    """
    return manifest.resolve_input_files(path)


def read_parquet_input(path: str | Path, *, filters: Filters | None = None) -> tuple[pa.Table, int]:
    """(table, total input bytes) from a Parquet input (see list_input_files); optional filters."""
    files = list_input_files(path)
    tables = []
    for file in files:
        try:
            names = pq.read_schema(file).names
        except pa.ArrowException as error:
            raise ValueError(f"cannot read {file} as Parquet: {error}") from error
        absent = sorted({column for column, _, _ in filters or []} - set(names))
        if absent:
            raise ValueError(f"{file} has no column(s) {absent}; columns: {names}")
        try:
            tables.append(pq.read_table(file, filters=filters))
        except pa.ArrowException as error:
            raise ValueError(f"cannot read {file} as Parquet: {error}") from error
    table = pa.concat_tables(tables, promote_options="default")
    return table, sum(f.stat().st_size for f in files)


def labels_as_int(table: pa.Table) -> np.ndarray:
    """The label column as int64 0/1; raises ValueError on nulls or other values."""
    if LABEL_COLUMN not in table.schema.names:
        raise ValueError(f"input has no {LABEL_COLUMN!r} column; columns: {table.schema.names}")
    column = table.column(LABEL_COLUMN)
    if column.null_count:
        raise ValueError(f"{LABEL_COLUMN!r} has {column.null_count} null value(s)")
    labels = np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False))
    bad = ~np.isin(labels, (0.0, 1.0))
    if bad.any():
        raise ValueError(
            f"{LABEL_COLUMN!r} must be 0 or 1; found {sorted(set(labels[bad].tolist()))[:5]}"
        )
    return labels.astype(np.int64)


def stratified_split(
    labels: np.ndarray, *, validation_ratio: float, seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, validation) row indices, per-label shuffle with the seed (default 42)."""
    if not 0.0 < validation_ratio < 1.0:
        raise ValueError(
            f"validation ratio must be strictly between 0 and 1, got {validation_ratio}"
        )
    rng = np.random.default_rng(seed)
    validation: list[np.ndarray] = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        n_validation = round(len(members) * validation_ratio)
        if len(members) >= 2:
            n_validation = min(max(n_validation, 1), len(members) - 1)
        validation.append(rng.permutation(members)[:n_validation])
    validation_index = np.sort(np.concatenate(validation)) if validation else np.array([], int)
    train_mask = np.ones(len(labels), dtype=bool)
    train_mask[validation_index] = False
    return np.flatnonzero(train_mask), validation_index


def statistics(
    table: pa.Table, labels: np.ndarray, *, input_bytes: int, dropped_null_labels: int
) -> dict[str, Any]:
    """Row/label counts, positive rate, input bytes and feature means of the labelled rows."""
    positives = int(labels.sum())
    row_count = len(labels)
    matrix = features.compute_features(table)
    means = matrix.astype(np.float64).mean(axis=0) if row_count else np.full(matrix.shape[1], 0.0)
    return {
        "row_count": row_count,
        "dropped_null_label_rows": dropped_null_labels,
        "label_counts": {"0": row_count - positives, "1": positives},
        "positive_rate": positives / row_count if row_count else None,
        "input_bytes": input_bytes,
        "feature_means": {
            name: round(float(v), 6)
            for name, v in zip(features.FEATURE_COLUMNS, means, strict=True)
        },
    }


def feature_csv_columns(
    table: pa.Table | pa.RecordBatch, matrix: np.ndarray | None = None
) -> dict[str, pa.Array]:
    """FEATURE_COLUMNS of raw rows as CSV-ready columns (float32, and int8 for
    INTEGER_FEATURES: the text is the same). Every feature CSV is formatted by this.
    `matrix`: features.compute_features(table) when already computed."""
    if matrix is None:
        matrix = features.compute_features(table)
    columns: dict[str, pa.Array] = {}
    for position, name in enumerate(features.FEATURE_COLUMNS):
        column = pa.array(matrix[:, position])
        if name in features.INTEGER_FEATURES:
            # Same CSV text as the float (1.0 prints "1"), at a fraction of the formatting
            # cost; safe=True fails loudly if a value were ever fractional.
            column = pc.cast(column, pa.int8(), safe=True)
        columns[name] = column
    return columns


def feature_csv_table(
    table: pa.Table | pa.RecordBatch, columns: dict[str, pa.Array] | None = None
) -> pa.Table:
    """product_id + FEATURE_COLUMNS as a table for the batch-transform CSV; `columns`:
    feature_csv_columns(table) when already computed."""
    return pa.table(
        {
            features.ID_COLUMN: pc.cast(table.column(features.ID_COLUMN), pa.string()),
            **(feature_csv_columns(table) if columns is None else columns),
        }
    )


def label_first_csv_table(labels: np.ndarray, columns: dict[str, pa.Array]) -> pa.Table:
    """label (0/1) + FEATURE_COLUMNS (`feature_csv_columns` of the same rows): the CSV
    built-in algorithms train on."""
    return pa.table({LABEL_COLUMN: pa.array(labels.astype(np.int8)), **columns})


def write_round_robin_shards(table: pa.Table, folder: Path, shards: int) -> list[Path]:
    """`part-00000.csv`... in `folder`: row i goes to file i % K, K = min(shards, rows).

    Round-robin rather than contiguous blocks: every shard is a sample of the whole set
    (input order, e.g. the extract's sort, does not skew one instance's share) and shard
    sizes differ by at most one row. No rows, no file.
    """
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    folder.mkdir(parents=True, exist_ok=True)
    count = min(shards, table.num_rows)
    paths = []
    for shard in range(count):
        path = folder / f"part-{shard:05d}.csv"
        rows = table.take(pa.array(np.arange(shard, table.num_rows, count)))
        pacsv.write_csv(rows, path, write_options=CSV_WRITE_OPTIONS)
        paths.append(path)
    return paths


def check_quality(
    table: pa.Table, package_type: str, bounds: QualityBounds | None = None
) -> dict[str, Any]:
    """The data-quality report of one package type's rows (module doc): the schema check
    and a QualityCounter over the whole table (repeated ids counted exactly)."""
    counter = _sibling("quality_counter").QualityCounter(
        bounds, with_label=True, context=f"of package type {package_type!r}"
    )
    counter.add_schema_failures(
        _sibling("quality_checks").check_schema(table.schema, with_label=True)
    )
    counter.update(table)
    return {"package_type": package_type, **counter.report()}


def run(
    *,
    package_type: str,
    validation_ratio: float,
    seed: int,
    input_dir: Path,
    output_dir: Path,
    train_shards: int = DEFAULT_TRAIN_SHARDS,
    with_text: bool = False,
    champion_with_text: bool | None = None,
    quality_bounds: QualityBounds | None = None,
) -> dict[str, Any]:
    """Check the package type's rows, split them and write every output; returns the
    statistics and `quality` (True), or, when a quality check failed, only
    {package_type, quality: False, reason} with quality/quality.json the sole output.

    `with_text`: validation_features rows end with the normalised text column (the input of
    architectures that read text; the same layout as Prepare's `--with-text`).
    `champion_with_text`: when given, also write champion_features (the champion's
    transform rows: no id, text when the champion reads it).
    `quality_bounds`: default QualityBounds() (profile_limits.py).
    """
    if train_shards < 1:
        raise ValueError(f"train shards must be at least 1, got {train_shards}")
    if not 0.0 < validation_ratio < 1.0:
        raise ValueError(
            f"validation ratio must be strictly between 0 and 1, got {validation_ratio}"
        )
    table, input_bytes = read_parquet_input(
        input_dir, filters=[(PACKAGE_TYPE_COLUMN, "=", package_type)]
    )
    quality = check_quality(table, package_type, quality_bounds)
    (output_dir / "quality").mkdir(parents=True, exist_ok=True)
    (output_dir / "quality" / "quality.json").write_text(json.dumps(quality, indent=2))
    if not quality["passed"]:
        return {"package_type": package_type, "quality": False, "reason": quality["reason"]}
    labelled = table.filter(pc.is_valid(table.column(LABEL_COLUMN)))
    dropped = table.num_rows - labelled.num_rows
    if labelled.num_rows == 0:
        raise ValueError(
            f"all {table.num_rows} rows for package type {package_type!r} lack a label"
        )
    labels = labels_as_int(labelled)
    train_index, validation_index = stratified_split(
        labels, validation_ratio=validation_ratio, seed=seed
    )
    train, validation = labelled.take(train_index), labelled.take(validation_index)

    for name, part in (("train", train), ("validation", validation)):
        (output_dir / name).mkdir(parents=True, exist_ok=True)
        pq.write_table(part, output_dir / name / f"{name}.parquet")
    validation_columns = feature_csv_columns(validation)
    (output_dir / "validation_features").mkdir(parents=True, exist_ok=True)
    validation_table = feature_csv_table(validation, validation_columns)
    if with_text:
        validation_table = validation_table.append_column(
            features.TEXT_COLUMN, features.text_column(validation)
        )
    pacsv.write_csv(
        validation_table,
        output_dir / "validation_features" / "validation.csv",
        write_options=CSV_WRITE_OPTIONS,
    )
    if champion_with_text is not None:
        champion_table = feature_csv_table(validation, validation_columns).drop_columns(
            [features.ID_COLUMN]
        )
        if champion_with_text:
            champion_table = champion_table.append_column(
                features.TEXT_COLUMN, features.text_column(validation)
            )
        (output_dir / "champion_features").mkdir(parents=True, exist_ok=True)
        pacsv.write_csv(
            champion_table,
            output_dir / "champion_features" / "validation.csv",
            write_options=CSV_WRITE_OPTIONS,
        )
    (output_dir / "validation_csv").mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(
        label_first_csv_table(labels[validation_index], validation_columns),
        output_dir / "validation_csv" / "validation.csv",
        write_options=CSV_WRITE_OPTIONS,
    )
    train_matrix = features.compute_features(train)
    write_round_robin_shards(
        label_first_csv_table(labels[train_index], feature_csv_columns(train, train_matrix)),
        output_dir / "train_csv",
        train_shards,
    )
    if train.num_rows:
        baseline = _sibling("feature_baseline").build_baseline(
            train_matrix, package_type=package_type
        )
        (output_dir / "baseline").mkdir(parents=True, exist_ok=True)
        (output_dir / "baseline" / "baseline.json").write_text(json.dumps(baseline, indent=2))

    stats = {
        "package_type": package_type,
        "seed": seed,
        "validation_ratio": validation_ratio,
        "train_rows": train.num_rows,
        "validation_rows": validation.num_rows,
        **statistics(labelled, labels, input_bytes=input_bytes, dropped_null_labels=dropped),
    }
    (output_dir / "statistics").mkdir(parents=True, exist_ok=True)
    (output_dir / "statistics" / "statistics.json").write_text(json.dumps(stats, indent=2))
    return {**stats, "quality": True}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Arguments; paths default to the SageMaker Processing container paths."""
    parser = argparse.ArgumentParser(description="Stratified train/validation split.")
    parser.add_argument("--package-type", required=True)
    parser.add_argument("--validation-ratio", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--input-dir", type=Path, default=Path(DEFAULT_INPUT_DIR))
    parser.add_argument("--output-dir", type=Path, default=Path(DEFAULT_OUTPUT_DIR))
    parser.add_argument(
        "--train-shards",
        type=int,
        default=DEFAULT_TRAIN_SHARDS,
        help="files train_csv/ is dealt into (round-robin; at most one per row)",
    )
    features.add_text_option(parser, "validation_features")
    parser.add_argument(
        "--champion-with-text",
        choices=("true", "false"),
        default=None,
        help="also write champion_features (no id; the text column when 'true'): the rows "
        "ScoreChampion sends to the current champion",
    )
    parser.add_argument(
        "--quality-bounds",
        default=None,
        help="profile_limits.QualityBounds as JSON (missing keys: the defaults); checked before "
        "anything else is written",
    )
    args = parser.parse_args(argv)
    if args.train_shards < 1:
        parser.error(f"--train-shards must be at least 1, got {args.train_shards}")
    bounds = _sibling("profile_limits").QualityBounds
    try:
        args.quality_bounds = (
            bounds() if args.quality_bounds is None else bounds.from_json(args.quality_bounds)
        )
    except ValueError as error:
        parser.error(f"--quality-bounds: {error}")
    return args


def main(argv: list[str] | None = None) -> None:
    """Entry point: parse arguments (validation ratio 0.2, seed 42, 20 train shards, default
    quality bounds), check and split, print the statistics (or the quality reason)."""
    args = parse_args(argv)
    stats = run(
        package_type=args.package_type,
        validation_ratio=args.validation_ratio,
        seed=args.seed,
        input_dir=args.input_dir,
        output_dir=args.output_dir,
        train_shards=args.train_shards,
        with_text=args.with_text == "true",
        champion_with_text=None
        if args.champion_with_text is None
        else args.champion_with_text == "true",
        quality_bounds=args.quality_bounds,
    )
    if not stats["quality"]:
        print(f"Data quality check failed: {stats['reason']}", file=sys.stderr)
    print(json.dumps({k: v for k, v in stats.items() if k != "feature_means"}))


if __name__ == "__main__":
    main()
