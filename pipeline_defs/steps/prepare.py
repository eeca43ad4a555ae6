"""Prepare step: an UNLOAD of raw products -> batch-transform CSV files, in bounded memory.

Runs as `python3 /opt/ml/processing/input/code/prepare.py` in a SageMaker Processing job
(siblings `features`, `manifest`, `split` are imported from the code folder on PYTHONPATH).

Input (`--input-dir`, default /opt/ml/processing/input/data): the UNLOAD manifest (entries
downloaded when only the manifest is mounted) or Parquet files; rows hold RAW_COLUMNS. If a
`package_type` column exists, only rows of `--package-type` are kept (others are counted).
On N instances each takes a disjoint share of the manifest entries (manifest.py).

Each Parquet file is streamed with `ParquetFile.iter_batches` (never a whole table); each
batch goes through `features.compute_features`, the function training uses, and is written
by split.py's `feature_csv_table` with split.py's CSV options, so a product's line is
byte-identical to its line in split's `validation_features/validation.csv`:
`product_id,<FEATURE_COLUMNS as float32 shortest round-trip>`, no header.

`--with-text` (for architectures whose inputs include "text"; off by default, and then the
output is exactly as above) also reads `features.RAW_TEXT_COLUMNS` (an input without them
fails, naming them) and appends one field to each line, `features.TEXT_COLUMN` built by
`features.text_column`: `product_id,<FEATURE_COLUMNS>,<text tokens>`, where the text is
lowercase [a-z0-9] words joined by single spaces (no comma, quote or line break; empty when
the product has no text, so the line then ends with a comma).

Outputs:
- `--output-dir` (default /opt/ml/processing/output/features; the transform's input, so
  nothing else goes there): `part-<host>-<NNNNN>.csv`. A file is closed at the last whole
  line that fits in `--target-file-mb` (MiB), so every file is at most the target (unless a
  single line is larger) and every file but the last is within one line of it.
- `--summary-dir` (default /opt/ml/processing/output/summary): `<host>/prepare_summary.json`:
  rows in / out / rejected / skipped, files with bytes and rows, input bytes, seconds, and
  `text_column` (the appended column's name, null without `--with-text`).
- `--rejected-dir` (default /opt/ml/processing/output/rejected): `rejected-<host>.csv`
  (quoted CSV with header: source_file, row, product_id, reason), only when rows are rejected.

Product ids must be usable as an unquoted CSV field and as Redshift VARCHAR(64): rows whose
id is null, empty, longer than 64 UTF-8 bytes or holds a comma, double quote, or control
character (incl. CR/LF) are rejected. Nothing is dropped silently: each rejected row goes to
the rejected file with its reason, and the step fails when more than `--max-rejected-rows`
(default 0) are rejected, naming a few of them. An input without a single row to score
fails too (a single-instance run; with shards, an empty shard is fine), and so does an
output dir that already holds this host's parts (stale parts would be scored twice).

Batches are encoded on one thread per CPU (`--workers`; Arrow and numpy release the GIL in
features and float formatting) and written in input order, so the output is the same for
any thread count; at most workers + 1 batches are in flight, so memory does not grow with
the input (see bench/bench_prepare.py).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

if __package__:
    from . import features, manifest, split
else:  # run as a script: the sibling modules sit on PYTHONPATH or in the script's directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import features  # type: ignore[no-redef]
    import manifest  # type: ignore[no-redef]
    import split  # type: ignore[no-redef]

DEFAULT_INPUT_DIR = "/opt/ml/processing/input/data"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing/output/features"
DEFAULT_SUMMARY_DIR = "/opt/ml/processing/output/summary"
DEFAULT_REJECTED_DIR = "/opt/ml/processing/output/rejected"
DEFAULT_BATCH_ROWS = 65_536
MAX_ID_BYTES = 64  # the target table's product_id VARCHAR(64)
MIB = 1024 * 1024
# split.py writes validation_features with exactly these options (byte-identical lines).
CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none")
# Characters that would break an unquoted CSV field or a line: control chars, comma, quote.
_FORBIDDEN_ID_CHARACTERS = r'[\x00-\x1f\x7f,"]'
_FORBIDDEN_BYTE = np.zeros(256, dtype=bool)
_FORBIDDEN_BYTE[[*range(0x20), 0x7F, ord(","), ord('"')]] = True
_EXAMPLES = 5


class RejectedRowsError(ValueError):
    """More rows were rejected than allowed; the message names a few."""


@dataclass
class RollingCsvFiles:
    """Writes CSV bytes into `<prefix>-NNNNN.csv` files, each cut at a line end <= target."""

    directory: Path
    prefix: str
    target_bytes: int
    files: list[dict[str, Any]] = field(default_factory=list)
    _handle: BinaryIO | None = None
    _size: int = 0
    _rows: int = 0

    def write(self, data: bytes, rows: int | None = None) -> None:
        """Append whole lines (data ends with a newline; `rows` of them if known)."""
        view, position, end = memoryview(data), 0, len(data)
        while position < end:
            if self._handle is None:
                self._open()
            room = self.target_bytes - self._size
            if end - position <= room:
                cut = end
            else:
                newline = data.rfind(b"\n", position, position + room)
                if newline >= 0:
                    cut = newline + 1
                elif self._size == 0:  # one line longer than the target: it gets its own file
                    cut = data.index(b"\n", position) + 1
                else:
                    self._close()
                    continue
            count = rows if rows is not None and position == 0 and cut == end else None
            if count is None:
                count = data.count(b"\n", position, cut)
            self._emit(view[position:cut], count)
            position = cut
            if self._size >= self.target_bytes or cut < end:
                self._close()

    def close(self) -> list[dict[str, Any]]:
        """Close the open file; the list of {name, bytes, rows} written."""
        self._close()
        return self.files

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{self.prefix}-{len(self.files):05d}.csv"
        self._handle = (self.directory / name).open("wb")
        self.files.append({"name": name, "bytes": 0, "rows": 0})
        self._size = self._rows = 0

    def _emit(self, chunk: memoryview, rows: int) -> None:
        assert self._handle is not None
        self._handle.write(chunk)
        self._size += len(chunk)
        self._rows += rows
        self.files[-1].update(bytes=self._size, rows=self._rows)

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


@dataclass
class RejectedRows:
    """Rejected rows, written lazily to a quoted CSV; keeps a few examples for the error."""

    path: Path
    count: int = 0
    examples: list[str] = field(default_factory=list)
    _writer: pacsv.CSVWriter | None = None

    def add(self, source: str, rows: pa.Array, ids: pa.Array, reasons: pa.Array) -> None:
        """Record rejected rows (row numbers within `source`, ids, reasons)."""
        table = pa.table(
            {
                "source_file": pa.array([source] * len(rows), pa.string()),
                "row": rows,
                "product_id": ids,
                "reason": reasons,
            }
        )
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pacsv.CSVWriter(str(self.path), table.schema)
        self._writer.write_table(table)
        self.count += table.num_rows
        for row in table.slice(0, _EXAMPLES - len(self.examples)).to_pylist():
            where = f"{row['source_file']} row {row['row']}"
            self.examples.append(f"{where}: {row['product_id']!r} ({row['reason']})")

    def close(self) -> None:
        """Flush the file (if any row was rejected)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _has_forbidden_bytes(ids: pa.Array) -> bool:
    """Whether any id holds a forbidden byte: one numpy pass over the string data buffer."""
    if ids.type != pa.string():
        ids = pc.cast(ids, pa.string())
    _, offsets, data = ids.buffers()
    if data is None or len(ids) == 0:
        return False
    bounds = np.frombuffer(offsets, dtype=np.int32)[ids.offset : ids.offset + len(ids) + 1]
    content = np.frombuffer(data, dtype=np.uint8)[bounds[0] : bounds[-1]]
    return bool(_FORBIDDEN_BYTE[content].any())


def id_rejection_reasons(ids: pa.Array) -> pa.Array | None:
    """Per-row reason (string) an id is unusable, null where it is fine; None if all are fine."""
    lengths = pc.binary_length(ids)
    checks = [
        ("null", pc.is_null(ids)),
        ("empty", pc.equal(lengths, 0)),
        (f"longer than {MAX_ID_BYTES} bytes", pc.greater(lengths, MAX_ID_BYTES)),
    ]
    if _has_forbidden_bytes(ids):  # rare: only then the (slower) per-row regex
        checks.append(
            (
                "comma, double quote or control character",
                pc.match_substring_regex(ids, _FORBIDDEN_ID_CHARACTERS),
            )
        )
    masks = [pc.fill_null(mask, False) for _, mask in checks]
    bad = masks[0]
    for mask in masks[1:]:
        bad = pc.or_(bad, mask)
    if not pc.any(bad).as_py():
        return None
    reasons = pa.nulls(len(ids), pa.string())
    for (reason, _), mask in reversed(list(zip(checks, masks, strict=True))):
        reasons = pc.if_else(mask, pa.scalar(reason), reasons)
    return reasons


def _batches(path: Path, batch_rows: int, with_text: bool = False) -> Iterator[pa.RecordBatch]:
    """Record batches of the columns prepare needs (package_type too, if present)."""
    try:
        parquet = pq.ParquetFile(path)
    except pa.ArrowException as error:
        raise ValueError(f"cannot read {path} as Parquet: {error}") from error
    names = parquet.schema_arrow.names
    columns = list(features.RAW_COLUMNS)
    if with_text:
        columns += features.RAW_TEXT_COLUMNS
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"{path} is missing column(s) {missing}; columns: {names}")
    if split.PACKAGE_TYPE_COLUMN in names:
        columns.append(split.PACKAGE_TYPE_COLUMN)
    yield from parquet.iter_batches(batch_size=batch_rows, columns=columns, use_threads=False)


@dataclass(frozen=True)
class Encoded:
    """One batch's result: CSV bytes of the kept rows and what was left out."""

    source: str
    csv: bytes
    rows_in: int
    rows_out: int
    other_type: int
    rejected_rows: pa.Array | None = None  # row numbers within the batch
    rejected_ids: pa.Array | None = None
    rejected_reasons: pa.Array | None = None


def encode_batch(
    source: str, batch: pa.RecordBatch, package_type: str, with_text: bool = False
) -> Encoded:
    """Filter (package type, unusable ids) and format one batch as split.py's CSV lines
    (with the text column appended when `with_text`)."""
    keep: pa.Array | None = None
    other_type, rows_in = 0, batch.num_rows
    if split.PACKAGE_TYPE_COLUMN in batch.schema.names:
        keep = pc.fill_null(pc.equal(batch.column(split.PACKAGE_TYPE_COLUMN), package_type), False)
        other_type = batch.num_rows - (pc.sum(keep).as_py() or 0)
    ids = pc.cast(batch.column(features.ID_COLUMN), pa.string())
    reasons = id_rejection_reasons(ids)
    rejected: dict[str, pa.Array] = {}
    if reasons is not None:
        bad = pc.is_valid(reasons) if keep is None else pc.and_(pc.is_valid(reasons), keep)
        positions = pc.indices_nonzero(bad)
        rejected = {
            "rejected_rows": positions,
            "rejected_ids": pc.take(ids, positions),
            "rejected_reasons": pc.take(reasons, positions),
        }
        good = pc.is_null(reasons)
        keep = good if keep is None else pc.and_(keep, good)
    if keep is not None:
        batch = batch.filter(keep)
    data = b""
    if batch.num_rows:
        table = split.feature_csv_table(batch)
        if with_text:
            table = table.append_column(features.TEXT_COLUMN, features.text_column(batch))
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink, write_options=CSV_OPTIONS)
        data = sink.getvalue().to_pybytes()
    return Encoded(source, data, rows_in, batch.num_rows, other_type, **rejected)


def _ordered_map(
    function: Callable[[str, pa.RecordBatch], Encoded],
    items: Iterable[tuple[str, pa.RecordBatch]],
    workers: int,
) -> Iterator[Encoded]:
    """map() on `workers` threads, results in input order, at most workers + 1 in flight.

    Arrow and numpy release the GIL in the heavy parts (features, float formatting), so
    threads use the instance's cores while memory stays bounded by the window.
    """
    if workers <= 1:
        yield from (function(*item) for item in items)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prepare") as pool:
        pending: deque[Future[Encoded]] = deque()
        for item in items:
            pending.append(pool.submit(function, *item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def run(
    *,
    package_type: str,
    target_file_bytes: int,
    input_dir: Path,
    output_dir: Path,
    summary_dir: Path,
    rejected_dir: Path,
    max_rejected_rows: int = 0,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    workers: int | None = None,
    shard: manifest.Shard | None = None,
    work_dir: Path | None = None,
    s3_client_factory: Callable[[], Any] = manifest.default_s3_client,
    with_text: bool = False,
) -> dict[str, Any]:
    """Write this shard's feature CSV files and the summary; returns the summary (module doc).

    Defaults: batches of 65,536 rows, one worker thread per CPU, this host's shard, no text.
    """
    if target_file_bytes <= 0:
        raise ValueError(f"target file size must be > 0 bytes, got {target_file_bytes}")
    started = time.perf_counter()
    shard = manifest.current_shard() if shard is None else shard
    stale = sorted(output_dir.glob(f"part-{shard.host}-*.csv"))
    if stale:
        raise ValueError(f"{output_dir} already holds {len(stale)} part(s) such as {stale[0]}")
    files = manifest.resolve_input_files(
        input_dir, shard=shard, work_dir=work_dir, s3_client_factory=s3_client_factory
    )
    writer = RollingCsvFiles(output_dir, f"part-{shard.host}", target_file_bytes)
    rejected = RejectedRows(rejected_dir / f"rejected-{shard.host}.csv")
    rows_in = rows_out = other_type = 0
    encode = functools.partial(encode_batch, package_type=package_type, with_text=with_text)
    batches = (
        (path.name, batch) for path in files for batch in _batches(path, batch_rows, with_text)
    )
    source, first_row = "", 0  # row numbers in rejected/ count from 0 within each file
    try:
        for result in _ordered_map(encode, batches, workers or _cpus()):
            if result.source != source:
                source, first_row = result.source, 0
            if result.rejected_rows is not None:
                assert result.rejected_ids is not None and result.rejected_reasons is not None
                rejected.add(
                    source,
                    pc.add(result.rejected_rows, first_row),
                    result.rejected_ids,
                    result.rejected_reasons,
                )
            writer.write(result.csv, result.rows_out)
            first_row += result.rows_in
            rows_in += result.rows_in
            rows_out += result.rows_out
            other_type += result.other_type
    finally:
        written = writer.close()
        rejected.close()
    summary: dict[str, Any] = {
        "package_type": package_type,
        "host": shard.host,
        "shard_index": shard.index,
        "shard_count": shard.count,
        "input_files": [p.name for p in files],
        "input_bytes": sum(p.stat().st_size for p in files),
        "rows_in": rows_in,
        "rows_out": rows_out,
        "rows_rejected": rejected.count,
        "rows_other_package_type": other_type,
        "rejected_file": str(rejected.path) if rejected.count else None,
        "max_rejected_rows": max_rejected_rows,
        "target_file_bytes": target_file_bytes,
        "text_column": features.TEXT_COLUMN if with_text else None,
        "files": written,
        "bytes_out": sum(f["bytes"] for f in written),
        "seconds": round(time.perf_counter() - started, 3),
    }
    (summary_dir / shard.host).mkdir(parents=True, exist_ok=True)
    (summary_dir / shard.host / "prepare_summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("files", "input_files")}))
    if rejected.count > max_rejected_rows:
        raise RejectedRowsError(
            f"{rejected.count} row(s) have unusable product ids (allowed: {max_rejected_rows}); "
            f"all are in {rejected.path}; first: " + "; ".join(rejected.examples)
        )
    if rows_out == 0 and shard.count == 1:
        raise ValueError(
            f"no rows to score in {input_dir} ({rows_in} read, {rejected.count} rejected, "
            f"{other_type} of other package types)"
        )
    return summary


def _cpus() -> int:
    """CPUs this process may use (the Processing instance's vCPUs)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _positive_mb(value: str) -> float:
    """argparse type: a size in MiB > 0 (the builder passes an int; fractions help tests)."""
    size = float(value)
    if not size > 0:
        raise argparse.ArgumentTypeError(f"expected a size in MB > 0, got {value!r}")
    return size


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Arguments; paths default to the SageMaker Processing container paths (64 MiB files)."""
    parser = argparse.ArgumentParser(description="Raw products -> batch-transform CSV files.")
    parser.add_argument("--package-type", required=True)
    parser.add_argument("--target-file-mb", type=_positive_mb, default=64.0)
    parser.add_argument("--input-dir", type=Path, default=Path(DEFAULT_INPUT_DIR))
    parser.add_argument("--output-dir", type=Path, default=Path(DEFAULT_OUTPUT_DIR))
    parser.add_argument("--summary-dir", type=Path, default=Path(DEFAULT_SUMMARY_DIR))
    parser.add_argument("--rejected-dir", type=Path, default=Path(DEFAULT_REJECTED_DIR))
    parser.add_argument("--max-rejected-rows", type=int, default=0)
    parser.add_argument("--batch-rows", type=int, default=DEFAULT_BATCH_ROWS)
    parser.add_argument("--workers", type=int, default=None, help="threads (default: CPUs)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where downloads go")
    features.add_text_option(parser, "every CSV row")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point: parse arguments, prepare this host's share (run prints the summary)."""
    args = parse_args(argv)
    run(
        package_type=args.package_type,
        target_file_bytes=max(1, round(args.target_file_mb * MIB)),
        input_dir=args.input_dir,
        output_dir=args.output_dir,
        summary_dir=args.summary_dir,
        rejected_dir=args.rejected_dir,
        max_rejected_rows=args.max_rejected_rows,
        batch_rows=args.batch_rows,
        workers=args.workers,
        work_dir=args.work_dir,
        with_text=args.with_text == "true",
    )


if __name__ == "__main__":
    main()
