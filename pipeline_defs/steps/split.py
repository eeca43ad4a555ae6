"""Split step: one package type's labelled rows -> stratified train / validation sets.

Runs as `python3 /opt/ml/processing/input/code/split.py` in a SageMaker Processing job.

Input (`--input-dir`, default /opt/ml/processing/input/data): a Redshift UNLOAD in Parquet,
either a directory of Parquet files or a manifest (`{"entries": [{"url": "s3://.../part",
"meta": {"content_length": N}}]}`) whose URLs map by basename to files in the input dir or,
when only the manifest is mounted, are downloaded (manifest.py).
Rows hold RAW_COLUMNS + `package_type` + `label` (0/1).

Outputs under `--output-dir` (default /opt/ml/processing/output), one ProcessingOutput each:
- `train/train.parquet`, `validation/validation.parquet`: the rows, input order kept.
- `validation_features/validation.csv`: no header, `product_id` then FEATURE_COLUMNS, same
  row order as validation.parquet: the batch-transform input (drop the id with
  `InputFilter="$[1:]"`; keep it in the output with `JoinSource=Input`, `OutputFilter="$[0,-1]"`).
- `statistics/statistics.json`: row and label counts, positive rate, input bytes, feature means.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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

PACKAGE_TYPE_COLUMN = "package_type"
LABEL_COLUMN = "label"
DEFAULT_INPUT_DIR = "/opt/ml/processing/input/data"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing/output"

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


def feature_csv_table(table: pa.Table) -> pa.Table:
    """product_id + FEATURE_COLUMNS as a table for the batch-transform CSV (float32, and int8
    for INTEGER_FEATURES: the text is the same)."""
    matrix = features.compute_features(table)
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        features.ID_COLUMN: pc.cast(table.column(features.ID_COLUMN), pa.string())
    }
    for position, name in enumerate(features.FEATURE_COLUMNS):
        column = pa.array(matrix[:, position])
        if name in features.INTEGER_FEATURES:
            # Same CSV text as the float (1.0 prints "1"), at a fraction of the formatting
            # cost; safe=True fails loudly if a value were ever fractional.
            column = pc.cast(column, pa.int8(), safe=True)
        columns[name] = column
    return pa.table(columns)


def run(
    *,
    package_type: str,
    validation_ratio: float,
    seed: int,
    input_dir: Path,
    output_dir: Path,
) -> dict[str, Any]:
    """Split one package type's rows and write every output; returns the statistics."""
    if not 0.0 < validation_ratio < 1.0:
        raise ValueError(
            f"validation ratio must be strictly between 0 and 1, got {validation_ratio}"
        )
    table, input_bytes = read_parquet_input(
        input_dir, filters=[(PACKAGE_TYPE_COLUMN, "=", package_type)]
    )
    if table.num_rows == 0:
        raise ValueError(f"no rows for package type {package_type!r} in {input_dir}")
    missing = [c for c in (*features.RAW_COLUMNS, LABEL_COLUMN) if c not in table.schema.names]
    if missing:
        raise ValueError(f"input {input_dir} is missing column(s) {missing}")
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
    (output_dir / "validation_features").mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(
        feature_csv_table(validation),
        output_dir / "validation_features" / "validation.csv",
        write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
    )

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
    return stats


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Arguments; paths default to the SageMaker Processing container paths."""
    parser = argparse.ArgumentParser(description="Stratified train/validation split.")
    parser.add_argument("--package-type", required=True)
    parser.add_argument("--validation-ratio", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--input-dir", type=Path, default=Path(DEFAULT_INPUT_DIR))
    parser.add_argument("--output-dir", type=Path, default=Path(DEFAULT_OUTPUT_DIR))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point: parse arguments (validation ratio 0.2, seed 42), split, print the statistics."""
    args = parse_args(argv)
    stats = run(
        package_type=args.package_type,
        validation_ratio=args.validation_ratio,
        seed=args.seed,
        input_dir=args.input_dir,
        output_dir=args.output_dir,
    )
    print(json.dumps({k: v for k, v in stats.items() if k != "feature_means"}))


if __name__ == "__main__":
    main()
