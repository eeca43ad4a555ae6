"""Prepare step: an UNLOAD of raw products -> batch-transform CSV files, in bounded memory.

Runs as `python3 /opt/ml/processing/input/code/prepare.py` in a SageMaker Processing job
(siblings `features`, `manifest`, `quality_checks`, `quality_counter`, `profile_limits`,
`drift_stats`, `split` are imported from the code folder on PYTHONPATH).

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

Data quality and drift (quality_checks.py, quality_counter.py, drift_stats.py), on the batches
already read, no second pass:
- each file's Parquet schema is checked before it is read (`quality_checks.check_schema`: the
  raw columns present, numbers and strings where expected); a file that fails is not read;
- a `quality_counter.QualityCounter` counts every batch's rows of `--package-type` (before the
  id checks): nulls, values out of range, repeated ids (exact within a batch; across batches
  and hosts by a bounded sample, see quality_counter.py) against `--quality-bounds`
  (profile_limits.QualityBounds JSON; default the defaults). The minimum row count is for
  the whole run: with several instances no host fails for having few rows (as an empty
  shard is fine);
- with a champion's baseline (`--baseline-uri` s3://.../baseline.json, or `baseline.json`
  in `--baseline-dir`, default /opt/ml/processing/input/baseline; neither: no histogram),
  a `drift_stats.DriftHistogram` counts the kept rows' features (the columns the CSV is
  formatted from: nothing is computed twice) in the baseline's bins.
When this host's checks fail, the summary and profile are written, then the reason goes to
`--message-file` (default /opt/ml/output/message: SageMaker shows its first 1 KB as the
job's ExitMessage; at most 1,000 bytes, `Data quality check failed on <host>: ...`) and
`DataQualityError` is raised. (The other failures below write their message there too.)

Outputs:
- `--output-dir` (default /opt/ml/processing/output/features; the transform's input, so
  nothing else goes there): `part-<host>-<NNNNN>.csv`. A file is closed at the last whole
  line that fits in `--target-file-mb` (MiB), so every file is at most the target (unless a
  single line is larger) and every file but the last is within one line of it.
- `--summary-dir` (default /opt/ml/processing/output/summary): `<host>/prepare_summary.json`:
  rows in / out / rejected / skipped, files with bytes and rows, input bytes, seconds,
  `text_column` (the appended column's name, null without `--with-text`), `quality` (this
  host's `QualityCounter.report`) and `baseline` ({package_type, rows} of the baseline the
  drift histogram used, or null). Next to it `<host>/profile.json`: {"quality":
  QualityCounter.to_dict(), "histogram": DriftHistogram.to_dict() or null, "baseline": the
  baseline document (package_type, rows, bins...) or null}: what drift.py merges across
  hosts and judges.
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

from pkgml_contracts import exit_message

if __package__:
    from . import (
        drift_stats,
        features,
        manifest,
        profile_limits,
        quality_checks,
        quality_counter,
        split,
    )
else:  # run as a script: the sibling modules sit on PYTHONPATH or in the script's directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import drift_stats  # type: ignore[no-redef]
    import features  # type: ignore[no-redef]
    import manifest  # type: ignore[no-redef]
    import profile_limits  # type: ignore[no-redef]
    import quality_checks  # type: ignore[no-redef]
    import quality_counter  # type: ignore[no-redef]
    import split  # type: ignore[no-redef]

DEFAULT_INPUT_DIR = "/opt/ml/processing/input/data"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing/output/features"
DEFAULT_SUMMARY_DIR = "/opt/ml/processing/output/summary"
DEFAULT_REJECTED_DIR = "/opt/ml/processing/output/rejected"
DEFAULT_BASELINE_DIR = "/opt/ml/processing/input/baseline"
# SageMaker copies the first 1 KB of this file into the Processing job's ExitMessage.
DEFAULT_MESSAGE_FILE = exit_message.FILE
BASELINE_FILE = "baseline.json"
PROFILE_FILE = drift_stats.PROFILE_FILE
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


class DataQualityError(ValueError):
    """This host's rows failed a data-quality check; the message gives the reason."""


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


def _batches(
    path: Path,
    batch_rows: int,
    with_text: bool = False,
    schema_check: Callable[[Path, pa.Schema], bool] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Record batches of the columns prepare needs (package_type too, if present); none
    when `schema_check` refuses the file's schema."""
    try:
        parquet = pq.ParquetFile(path)
    except pa.ArrowException as error:
        raise ValueError(f"cannot read {path} as Parquet: {error}") from error
    if schema_check is not None and not schema_check(path, parquet.schema_arrow):
        return
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
    quality: quality_counter.QualityCounter | None = None  # this batch's counts, to merge
    histogram: drift_stats.DriftHistogram | None = None


def encode_batch(
    source: str,
    batch: pa.RecordBatch,
    package_type: str,
    with_text: bool = False,
    quality: quality_counter.QualityCounter | None = None,
    histogram: drift_stats.DriftHistogram | None = None,
) -> Encoded:
    """Filter (package type, unusable ids) and format one batch as split.py's CSV lines
    (with the text column appended when `with_text`). With `quality` / `histogram` (the
    host's; only read here, thread-safe), the result also carries this batch's counts: its
    rows of the package type checked, its kept rows' features histogrammed."""
    keep: pa.Array | None = None
    other_type, rows_in = 0, batch.num_rows
    if split.PACKAGE_TYPE_COLUMN in batch.schema.names:
        keep = pc.fill_null(pc.equal(batch.column(split.PACKAGE_TYPE_COLUMN), package_type), False)
        other_type = batch.num_rows - (pc.sum(keep).as_py() or 0)
    counted = None
    if quality is not None:
        counted = quality.spawn()
        counted.update(batch if keep is None or not other_type else batch.filter(keep))
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
    histogrammed = None
    if batch.num_rows:
        columns = split.feature_csv_columns(batch)
        table = split.feature_csv_table(batch, columns)
        if histogram is not None:
            histogrammed = histogram.spawn()
            histogrammed.update_columns(
                {name: column.to_numpy(zero_copy_only=False) for name, column in columns.items()}
            )
        if with_text:
            table = table.append_column(features.TEXT_COLUMN, features.text_column(batch))
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink, write_options=CSV_OPTIONS)
        data = sink.getvalue().to_pybytes()
    elif histogram is not None:
        histogrammed = histogram.spawn()
    return Encoded(
        source,
        data,
        rows_in,
        batch.num_rows,
        other_type,
        **rejected,
        quality=counted,
        histogram=histogrammed,
    )


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


def load_baseline(
    package_type: str,
    *,
    baseline_dir: Path | None = None,
    baseline_uri: str | None = None,
    s3_client_factory: Callable[[], Any] = manifest.default_s3_client,
) -> dict[str, Any] | None:
    """The champion's feature baseline (split.py's baseline.json), or None when there is
    none: a given `baseline_uri` decides (s3://bucket/key; "", "none" or "null": no
    baseline), else `baseline_dir`'s baseline.json (an absent or empty dir: none).
    ValueError for a baseline that cannot be read or is another package type's."""
    if baseline_uri is not None:
        if baseline_uri.strip().lower() in ("", "none", "null"):
            return None
        bucket, key = manifest.ManifestEntry(baseline_uri.strip()).bucket_and_key()
        try:
            body = s3_client_factory().get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as error:  # botocore's ClientError and friends
            raise ValueError(f"cannot download the baseline {baseline_uri}: {error}") from error
        text, where = body.decode(), baseline_uri
    elif baseline_dir is not None and baseline_dir.is_dir():
        path = baseline_dir / BASELINE_FILE
        if not path.is_file():
            found = sorted(baseline_dir.rglob(BASELINE_FILE))
            if len(found) != 1:
                others = sorted(p.name for p in baseline_dir.rglob("*") if p.is_file())
                if not others:
                    return None
                raise ValueError(
                    f"{baseline_dir} holds {len(found)} {BASELINE_FILE} files and {others[:5]}: "
                    "expected one baseline"
                )
            path = found[0]
        text, where = path.read_text(), str(path)
    else:
        return None
    try:
        baseline = json.loads(text)
        drift_stats.DriftHistogram(baseline)  # checks the document
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ValueError(f"{where} is not a feature baseline: {error}") from error
    if baseline.get("package_type") != package_type:
        raise ValueError(
            f"{where} is the baseline of package type {baseline.get('package_type')!r}, "
            f"not {package_type!r}"
        )
    return dict(baseline)


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
    quality_bounds: profile_limits.QualityBounds | None = None,
    baseline_dir: Path | None = None,
    baseline_uri: str | None = None,
    message_file: Path | None = None,
    profile: bool = True,
) -> dict[str, Any]:
    """Write this shard's feature CSV files, the summary and the profile; returns the
    summary (module doc).

    Defaults: batches of 65,536 rows, one worker thread per CPU, this host's shard, no text,
    default quality bounds, no baseline (so no drift histogram), no message file.
    `profile=False` (benchmarks only) leaves out quality and drift: no profile.json, the
    summary without `quality` and `baseline`, the step as it was before them.
    """
    if target_file_bytes <= 0:
        raise ValueError(f"target file size must be > 0 bytes, got {target_file_bytes}")
    started = time.perf_counter()
    shard = manifest.current_shard() if shard is None else shard
    stale = sorted(output_dir.glob(f"part-{shard.host}-*.csv"))
    if stale:
        raise ValueError(f"{output_dir} already holds {len(stale)} part(s) such as {stale[0]}")
    quality: quality_counter.QualityCounter | None = None
    histogram: drift_stats.DriftHistogram | None = None
    baseline: dict[str, Any] | None = None
    if profile:
        quality = quality_counter.QualityCounter(
            quality_bounds, context=f"of package type {package_type!r}"
        )
        baseline = load_baseline(
            package_type,
            baseline_dir=baseline_dir,
            baseline_uri=baseline_uri,
            s3_client_factory=s3_client_factory,
        )
        histogram = None if baseline is None else drift_stats.DriftHistogram(baseline)
    files = manifest.resolve_input_files(
        input_dir, shard=shard, work_dir=work_dir, s3_client_factory=s3_client_factory
    )
    writer = RollingCsvFiles(output_dir, f"part-{shard.host}", target_file_bytes)
    rejected = RejectedRows(rejected_dir / f"rejected-{shard.host}.csv")
    rows_in = rows_out = other_type = 0
    encode = functools.partial(
        encode_batch,
        package_type=package_type,
        with_text=with_text,
        quality=quality,
        histogram=histogram,
    )

    def schema_check(path: Path, schema: pa.Schema) -> bool:
        """Record the file's schema failures (main thread); False: do not read it."""
        assert quality is not None
        failures = quality_checks.check_schema(schema, with_label=False)
        quality.add_schema_failures(failures, source=path.name)
        return not failures

    check = schema_check if quality is not None else None
    batches = (
        (path.name, batch)
        for path in files
        for batch in _batches(path, batch_rows, with_text, check)
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
            if quality is not None and result.quality is not None:
                quality.merge(result.quality)
            if histogram is not None and result.histogram is not None:
                histogram.merge(result.histogram)
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
    report: dict[str, Any] | None = None
    if quality is not None:
        # the minimum row count is the whole run's: one host of several may have few rows
        report = quality.report(check_rows=shard.count == 1)
        summary["quality"] = report
        summary["baseline"] = (
            None
            if baseline is None
            else {"package_type": baseline["package_type"], "rows": baseline["rows"]}
        )
    folder = summary_dir / shard.host
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prepare_summary.json").write_text(json.dumps(summary, indent=2))
    if quality is not None:
        document = {
            "quality": quality.to_dict(),
            "histogram": None if histogram is None else histogram.to_dict(),
            "baseline": baseline,
        }
        (folder / PROFILE_FILE).write_text(json.dumps(document))
    shown = {k: v for k, v in summary.items() if k not in ("files", "input_files", "quality")}
    if report is not None:
        shown["quality"] = report["passed"]
    print(json.dumps(shown))
    failure: ValueError | None = None
    failed = report is not None and not report["passed"]
    empty = rows_out == 0 and shard.count == 1
    # an empty run keeps its own error; any other failed check is the reason given
    only_rows = report is not None and all(f["check"] == "rows" for f in report["failures"])
    if rejected.count > max_rejected_rows:
        failure = RejectedRowsError(
            f"{rejected.count} row(s) have unusable product ids (allowed: {max_rejected_rows}); "
            f"all are in {rejected.path}; first: " + "; ".join(rejected.examples)
        )
    elif failed and not (empty and only_rows):
        assert report is not None
        reason = f"Data quality check failed on {shard.host}: {report['reason']}"
        failure = DataQualityError(exit_message.cut(reason))
    elif empty:
        failure = ValueError(
            f"no rows to score in {input_dir} ({rows_in} read, {rejected.count} rejected, "
            f"{other_type} of other package types)"
        )
    if failure is not None:
        if message_file is not None:
            prefix = (
                "" if isinstance(failure, DataQualityError) else f"Prepare failed on {shard.host}: "
            )
            exit_message.write(message_file, prefix + str(failure))
        raise failure
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
    parser.add_argument(
        "--quality-bounds",
        default=None,
        help="profile_limits.QualityBounds as JSON (missing keys: the defaults), checked on "
        "every batch",
    )
    parser.add_argument(
        "--baseline-dir",
        type=Path,
        default=Path(DEFAULT_BASELINE_DIR),
        help=f"holds the champion's {BASELINE_FILE} (absent or empty: no drift histogram)",
    )
    parser.add_argument(
        "--baseline-uri",
        default=None,
        help=f"s3:// URI of the champion's {BASELINE_FILE}, read instead of --baseline-dir "
        "('none': the champion has no baseline)",
    )
    parser.add_argument(
        "--message-file",
        type=Path,
        default=Path(DEFAULT_MESSAGE_FILE),
        help="where a failure's reason goes (SageMaker: the Processing job's ExitMessage)",
    )
    args = parser.parse_args(argv)
    try:
        args.quality_bounds = (
            profile_limits.QualityBounds()
            if args.quality_bounds is None
            else profile_limits.QualityBounds.from_json(args.quality_bounds)
        )
    except ValueError as error:
        parser.error(f"--quality-bounds: {error}")
    return args


def main(argv: list[str] | None = None) -> None:
    """Entry point: parse arguments, prepare and check this host's share (run prints the
    summary)."""
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
        quality_bounds=args.quality_bounds,
        baseline_dir=args.baseline_dir,
        baseline_uri=args.baseline_uri,
        message_file=args.message_file,
    )


if __name__ == "__main__":
    main()
