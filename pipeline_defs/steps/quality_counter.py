"""Streaming, mergeable data-quality counts of raw rows (numpy + pyarrow only).

A library without a CLI, imported as a sibling module by split.py (training's first step:
the whole table in memory) and prepare.py (inference's first step: record batches streamed,
possibly on several Processing instances). It reads and writes no files; the steps write
what it computes: Split `quality/quality.json` (`QualityCounter.report()`), Prepare the
`QualityCounter.to_dict()` in `<host>/profile.json`, which drift.py merges across hosts
(the whole run's minimum row count and ids repeated across hosts are checked there).

- `QualityCounter.update(batch)` counts, over the rows it is given: rows; per raw column of
  features.REQUIRED_COLUMNS its nulls (NaN counts as null) and, for the columns with a
  range (`QualityBounds.ranges`, inclusive; +-inf is outside every range), its non-null
  values outside the range; in training the non-null labels other than 0 and 1 (NaN
  included: a null label is not counted, Split drops those rows); repeated product ids.
  A column missing or of the wrong type is skipped (quality_checks.check_schema reports it,
  recorded by `add_schema_failures`); rates are over the rows where the column was counted.
- `QualityCounter.failures()` applies `profile_limits.QualityBounds`: fewer rows than
  `min_rows` (not checked when the schema check failed, the rows could not all be read,
  nor by a Prepare host among several: the minimum is for the whole run), a null rate
  above `max_null_rate` (or the column's `null_rates` entry), a share of non-null values
  out of range above `max_invalid_rate`, more repeated ids than `max_duplicate_ids`, any
  label not 0/1: each a `quality_checks.QualityFailure`, whose messages `report()` joins
  into `reason` (at most 900 characters).

Repeated ids: what is guaranteed. A repeat is a row whose (non-null, non-empty) product id
an earlier row already had: an id on 3 rows is 2 repeats. Within one `update` call the
count is exact (the ids' 64-bit hashes are sorted and the rows sharing a hash compared as
strings): Split passes its whole table in one call, so its count is exact. Across calls
(Prepare's batches) and across merged counters (hosts) a bounded sample decides: a counter
keeps the `DUPLICATE_SAMPLE_IDS` (32,768) distinct ids with the smallest hashes it has seen,
and each id of a later batch or counter whose hash is within that range is compared
exactly with the sample. So the count is exact while at most 32,768 distinct ids were seen
(`exact: true` in the report); beyond that, an id repeated across batches is caught with a
probability of about 32,768 / distinct ids (a whole file listed twice in a manifest is
caught almost surely), and nothing is ever counted that is not a real repeat (short of
two different ids sharing a 64-bit hash). Memory: the sample, at most 32,768 ids and their
hashes (about 3 MB for 64-byte ids), whatever the number of rows. Load runs an exact
duplicate check over the whole run in the warehouse before anything is merged (load.py),
so the sample is an early warning, not the last line.

Every count is a sum and every kept example or sample is the smallest by a fixed order, so
`merge` is order-independent: merged per-batch or per-host counters hold what one counter
over all rows would (up to the repeated-id sampling above). For worker threads, `spawn()`
gives an empty counter for one batch, merged back by the main thread.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if __package__:
    from . import features, profile_limits, quality_checks
else:  # run as a script: the sibling modules sit on PYTHONPATH or in the script's directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import features  # type: ignore[no-redef]
    import profile_limits  # type: ignore[no-redef]
    import quality_checks  # type: ignore[no-redef]

REASON_MAX_CHARS = 900
EXAMPLES = 3
DUPLICATE_SAMPLE_IDS = 32_768


# --- small helpers ------------------------------------------------------------------------


def _number_key(value: float) -> tuple[bool, float]:
    """Sort key of numbers with NaN last."""
    return (math.isnan(value), 0.0 if math.isnan(value) else value)


def _smallest_numbers(values: Iterable[float], limit: int = EXAMPLES) -> list[float]:
    """The `limit` smallest distinct numbers (NaN last, once)."""
    distinct = {repr(float(v)): float(v) for v in values}
    return sorted(distinct.values(), key=_number_key)[:limit]


def _smallest_strings(values: Iterable[str], limit: int = EXAMPLES) -> list[str]:
    """The `limit` smallest distinct strings."""
    return sorted(set(values))[:limit]


def _string_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One `string` array (chunks combined; large, view and dictionary strings cast)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.string())
    if column.type != pa.string():
        column = pc.cast(column, pa.string())
    return column


# The hash only chooses which ids the repeated-id sample keeps and which rows are compared
# as strings: ids are always compared exactly. 8 bytes at a time (a little-endian word read
# at any byte offset; bytes past the id's end masked to 0): multiply-xorshift per word, the
# length, then splitmix64's finaliser, so every bit depends on every byte of the first
# _HASH_BYTES (ids longer than 64 bytes are rejected by Prepare anyway).
_HASH_BYTES = 64
_HASH_SEED = np.uint64(0xCBF29CE484222325)
_HASH_PRIME = np.uint64(0x100000001B3)
_WORD_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], np.uint64)


def _hash_strings(values: pa.Array) -> np.ndarray:
    """uint64 hash per value of a `string` array (nulls hash as empty strings); the same
    value hashes the same in any array."""
    count = len(values)
    if count == 0:
        return np.empty(0, dtype=np.uint64)
    if values.type != pa.string():
        values = pc.cast(values, pa.string())
    _, offsets, data = values.buffers()[:3]
    bounds = np.frombuffer(offsets, dtype=np.int32, count=count + 1, offset=4 * values.offset)
    first, end = int(bounds[0]), int(bounds[-1])
    starts = (bounds[:-1] - first).astype(np.int64)
    lengths = (bounds[1:] - bounds[:-1]).astype(np.int64)
    padded = np.zeros(end - first + 8, dtype=np.uint8)  # room to read a word at the end
    if end > first:
        padded[: end - first] = np.frombuffer(data, dtype=np.uint8, count=end - first, offset=first)
    words = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    hashes = np.full(count, _HASH_SEED, dtype=np.uint64)
    last = len(words) - 1
    for position in range(0, min(int(lengths.max()), _HASH_BYTES), 8):
        remaining = lengths - position
        where = np.minimum(starts + position, last)  # rows already past their end: masked
        word = words[where] & _WORD_MASKS[np.clip(remaining, 0, 8)]
        mixed = (hashes ^ word) * _HASH_PRIME
        mixed ^= mixed >> np.uint64(32)
        # rows past their own end keep their hash: it must not depend on the other rows
        hashes = np.where(remaining > 0, mixed, hashes)
    hashes ^= lengths.astype(np.uint64)
    hashes = (hashes ^ (hashes >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    hashes = (hashes ^ (hashes >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return hashes ^ (hashes >> np.uint64(31))


# --- counting ---------------------------------------------------------------------------------


@dataclass
class _ColumnCounts:
    rows: int = 0  # rows where the column was counted
    nulls: int = 0  # null or NaN
    invalid: int = 0  # non-null values outside the column's range
    examples: list[float] = field(default_factory=list)  # smallest out-of-range values

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "nulls": self.nulls,
            "invalid": self.invalid,
            "examples": [quality_checks.json_number(v) for v in self.examples],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> _ColumnCounts:
        return cls(
            int(data["rows"]),
            int(data["nulls"]),
            int(data["invalid"]),
            [float(v) for v in data.get("examples", [])],
        )


class QualityCounter:
    """Streaming, mergeable quality counts over record batches (module doc).

    `context` (e.g. "of package type 'box'") completes the rows failure's message.
    """

    def __init__(
        self,
        bounds: profile_limits.QualityBounds | None = None,
        *,
        with_label: bool = False,
        context: str = "",
    ) -> None:
        self.bounds = bounds or profile_limits.QualityBounds()
        self.with_label = with_label
        self.context = context
        self.rows = 0
        self.columns = {column: _ColumnCounts() for column in features.REQUIRED_COLUMNS}
        self.labels_checked = 0
        self.bad_labels = 0
        self.label_examples: list[float] = []
        self.ids_checked = 0
        self.duplicate_ids = 0
        self.duplicate_examples: list[str] = []
        # {(check, column, observed, bound): [files seen (smallest EXAMPLES), count]}
        self.schema: dict[tuple[str, str, str, str], list[Any]] = {}
        # The sample: every distinct id seen whose hash is <= _limit (None: every id), at
        # most DUPLICATE_SAMPLE_IDS of them, sorted by hash.
        self._sample_hashes = np.empty(0, dtype=np.uint64)
        self._sample_ids = pa.array([], pa.string())  # aligned with the hashes
        self._limit: np.uint64 | None = None

    # -- counting ----------------------------------------------------------------------------

    def add_schema_failures(
        self, failures: Iterable[quality_checks.QualityFailure], source: str | None = None
    ) -> None:
        """Record check_schema's failures (of the input file `source`, if known)."""
        for failure in failures:
            key = (failure.check, failure.column or "", str(failure.observed), str(failure.bound))
            files, count = self.schema.get(key, [[], 0])
            if source is not None:
                files, count = _smallest_strings([*files, source]), count + 1
            self.schema[key] = [files, count]

    def update(self, data: pa.RecordBatch | pa.Table) -> None:
        """Count one batch (or a whole table: then repeated ids are counted exactly)."""
        rows = data.num_rows
        self.rows += rows
        names = set(data.schema.names)
        for column in features.REQUIRED_COLUMNS:
            kind = quality_checks.expected_kind(column)
            if column not in names or not quality_checks.type_fits(
                data.schema.field(column).type, kind
            ):
                continue
            values = data.column(column)
            counts = self.columns[column]
            counts.rows += rows
            bounds = self.bounds.ranges.get(column)
            floating = pa.types.is_floating(quality_checks.base_type(values.type))
            if kind == quality_checks.STRING_KIND or (bounds is None and not floating):
                counts.nulls += values.null_count
                continue
            numbers = quality_checks.float_values(values)
            missing = np.isnan(numbers)
            counts.nulls += int(np.count_nonzero(missing))
            if bounds is not None:
                self._count_out_of_range(counts, numbers, missing, bounds)
        if (
            self.with_label
            and quality_checks.LABEL_COLUMN in names
            and quality_checks.is_number_type(data.schema.field(quality_checks.LABEL_COLUMN).type)
        ):
            self._count_labels(data.column(quality_checks.LABEL_COLUMN))
        if features.ID_COLUMN in names and quality_checks.is_string_type(
            data.schema.field(features.ID_COLUMN).type
        ):
            self._count_ids(data.column(features.ID_COLUMN))

    @staticmethod
    def _count_out_of_range(
        counts: _ColumnCounts,
        numbers: np.ndarray,
        missing: np.ndarray,
        bounds: profile_limits.Range,
    ) -> None:
        low, high = bounds
        bad = ~missing & ~np.isfinite(numbers)
        if low is not None:
            bad |= numbers < low
        if high is not None:
            bad |= numbers > high
        found = int(np.count_nonzero(bad))
        if found:
            counts.invalid += found
            smallest = np.unique(numbers[bad])[:EXAMPLES]
            counts.examples = _smallest_numbers([*counts.examples, *smallest.tolist()])

    def _count_labels(self, labels: pa.Array | pa.ChunkedArray) -> None:
        self.labels_checked += len(labels) - labels.null_count
        values = quality_checks.float_values(labels, fill=0.0)  # a null label is not a bad one
        bad = (values != 0.0) & (values != 1.0)  # NaN too
        found = int(np.count_nonzero(bad))
        if found:
            self.bad_labels += found
            self.label_examples = _smallest_numbers(
                [*self.label_examples, *np.unique(values[bad])[:EXAMPLES].tolist()]
            )

    def _count_ids(self, column: pa.Array | pa.ChunkedArray) -> None:
        """Repeats within these rows (exact), then the sample (module doc).

        Exact without a hash table: ids are hashed and the hashes sorted; only rows whose
        hash occurs twice (repeats, or in theory two ids with one hash) are compared as
        strings (pyarrow's value_counts over those rows alone).
        """
        ids = _string_array(column)
        if ids.null_count or not len(ids) or pc.min(pc.binary_length(ids)).as_py() == 0:
            ids = ids.filter(pc.and_(pc.is_valid(ids), pc.greater(pc.binary_length(ids), 0)))
        self.ids_checked += len(ids)
        hashes = _hash_strings(ids)
        ordered = np.sort(hashes)
        twice = ordered[1:] == ordered[:-1]
        if twice.any():
            suspects = np.isin(hashes, ordered[1:][twice])
            counted = pc.value_counts(ids.filter(pa.array(suspects)))
            repeats = pc.subtract(counted.field("counts"), 1)
            found = int(pc.sum(repeats).as_py() or 0)
            if found:
                self.duplicate_ids += found
                repeated = counted.field("values").filter(pc.greater(repeats, 0))
                self._add_duplicate_examples(repeated.to_pylist())
        if self._limit is not None:  # only ids that may enter the sample
            within = hashes <= self._limit
            hashes, ids = hashes[within], ids.filter(pa.array(within))
        # one row per hash: the sample holds distinct ids (up to 64-bit hash collisions)
        hashes, first = np.unique(hashes, return_index=True)
        self._add_to_sample(hashes, ids.take(pa.array(first)))

    def spawn(self) -> QualityCounter:
        """An empty counter with these bounds for one batch, to be merged back into this
        one: it samples only ids within this counter's current sample range (any later
        range is smaller, so nothing the merge could use is left out), which keeps the
        per-batch work small once the sample is full. Safe to call from worker threads."""
        counter = QualityCounter(self.bounds, with_label=self.with_label, context=self.context)
        counter._limit = self._limit
        return counter

    def _add_duplicate_examples(self, ids: Iterable[str]) -> None:
        self.duplicate_examples = _smallest_strings([*self.duplicate_examples, *ids])

    def _add_to_sample(self, hashes: np.ndarray, ids: pa.Array) -> None:
        """Merge distinct ids into the sample: count those already in it, keep the smallest
        DUPLICATE_SAMPLE_IDS hashes (module doc)."""
        if self._limit is not None:
            within = hashes <= self._limit
            if not within.all():
                hashes, ids = hashes[within], ids.filter(pa.array(within))
        if not len(hashes):
            return
        if np.any(hashes[1:] < hashes[:-1]):
            order = np.argsort(hashes, kind="stable")
            hashes, ids = hashes[order], ids.take(pa.array(order))
        if len(self._sample_hashes):
            position = np.searchsorted(self._sample_hashes, hashes)
            hit = position < len(self._sample_hashes)
            hit[hit] = self._sample_hashes[position[hit]] == hashes[hit]
            if hit.any():
                candidates = np.flatnonzero(hit)
                same = pc.equal(
                    self._sample_ids.take(pa.array(position[candidates])),
                    ids.take(pa.array(candidates)),
                ).to_numpy(zero_copy_only=False)
                repeated = candidates[same]
                if len(repeated):
                    self.duplicate_ids += len(repeated)
                    self._add_duplicate_examples(ids.take(pa.array(repeated)).to_pylist())
                    keep = np.ones(len(hashes), dtype=bool)
                    keep[repeated] = False
                    hashes, ids = hashes[keep], ids.filter(pa.array(keep))
        merged = np.concatenate([self._sample_hashes, hashes])
        order = np.argsort(merged, kind="stable")  # two sorted runs: a linear merge
        merged_ids = pa.concat_arrays([self._sample_ids, ids]).take(pa.array(order))
        merged = merged[order]
        if len(merged) > DUPLICATE_SAMPLE_IDS:
            merged = merged[:DUPLICATE_SAMPLE_IDS]
            merged_ids = merged_ids.slice(0, DUPLICATE_SAMPLE_IDS)
            self._limit = merged[-1]
        self._sample_hashes, self._sample_ids = merged, merged_ids

    def _lower_limit(self, limit: np.uint64 | None) -> None:
        """Keep only sampled ids with hashes <= limit (another sample's range, when merging:
        ids above it were not kept there, so repeats above it could not be told)."""
        if limit is None or (self._limit is not None and self._limit <= limit):
            return
        self._limit = limit
        keep = int(np.searchsorted(self._sample_hashes, limit, side="right"))
        self._sample_hashes = self._sample_hashes[:keep]
        self._sample_ids = self._sample_ids.slice(0, keep)

    # -- merging and serialising -------------------------------------------------------------

    def merge(self, other: QualityCounter) -> QualityCounter:
        """Add `other`'s counts (same bounds and label setting); returns self."""
        if other.bounds != self.bounds or other.with_label != self.with_label:
            raise ValueError(
                "cannot merge quality counters with different bounds or label settings: "
                f"{self.bounds.to_json()} (label {self.with_label}) vs "
                f"{other.bounds.to_json()} (label {other.with_label})"
            )
        self.rows += other.rows
        for column, counts in self.columns.items():
            theirs = other.columns[column]
            counts.rows += theirs.rows
            counts.nulls += theirs.nulls
            counts.invalid += theirs.invalid
            counts.examples = _smallest_numbers([*counts.examples, *theirs.examples])
        self.labels_checked += other.labels_checked
        self.bad_labels += other.bad_labels
        self.label_examples = _smallest_numbers([*self.label_examples, *other.label_examples])
        self.ids_checked += other.ids_checked
        self.duplicate_ids += other.duplicate_ids
        self._add_duplicate_examples(other.duplicate_examples)
        for key, (files, count) in other.schema.items():
            mine, my_count = self.schema.get(key, [[], 0])
            self.schema[key] = [_smallest_strings([*mine, *files]), my_count + count]
        self._lower_limit(other._limit)
        self._add_to_sample(other._sample_hashes, other._sample_ids)
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state (from_dict restores it, merge-ready)."""
        return {
            "bounds": self.bounds.to_dict(),
            "with_label": self.with_label,
            "context": self.context,
            "rows": self.rows,
            "columns": {column: counts.to_dict() for column, counts in self.columns.items()},
            "labels": {
                "checked": self.labels_checked,
                "bad": self.bad_labels,
                "examples": [quality_checks.json_number(v) for v in self.label_examples],
            },
            "duplicate_ids": {
                "ids_checked": self.ids_checked,
                "count": self.duplicate_ids,
                "examples": list(self.duplicate_examples),
                "sampled": self._limit is not None,
                # the sample's hash range (a uint64, as text: JSON numbers are doubles)
                "sample_limit": None if self._limit is None else str(int(self._limit)),
                "sample": self._sample_ids.to_pylist(),
            },
            "schema": [
                {
                    "check": check,
                    "column": column,
                    "observed": observed,
                    "bound": bound,
                    "files": files,
                    "file_count": count,
                }
                for (check, column, observed, bound), (files, count) in sorted(self.schema.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityCounter:
        """A counter from to_dict's output."""
        try:
            counter = cls(
                profile_limits.QualityBounds.from_dict(data["bounds"]),
                with_label=bool(data["with_label"]),
                context=str(data.get("context", "")),
            )
            counter.rows = int(data["rows"])
            for column, counts in data["columns"].items():
                counter.columns[column] = _ColumnCounts.from_dict(counts)
            labels = data["labels"]
            counter.labels_checked = int(labels["checked"])
            counter.bad_labels = int(labels["bad"])
            counter.label_examples = [float(v) for v in labels["examples"]]
            duplicates = data["duplicate_ids"]
            counter.ids_checked = int(duplicates["ids_checked"])
            counter.duplicate_ids = int(duplicates["count"])
            counter.duplicate_examples = [str(v) for v in duplicates["examples"]]
            ids = pa.array(duplicates["sample"], pa.string())
            hashes = _hash_strings(ids)
            order = np.argsort(hashes, kind="stable")
            counter._sample_hashes = hashes[order]
            counter._sample_ids = ids.take(pa.array(order))
            limit = duplicates.get("sample_limit")
            counter._limit = None if limit is None else np.uint64(int(limit))
            for entry in data["schema"]:
                key = (entry["check"], entry["column"], entry["observed"], entry["bound"])
                counter.schema[key] = [list(entry["files"]), int(entry["file_count"])]
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a quality counter's state: missing or bad {error}") from error
        return counter

    # -- judging ------------------------------------------------------------------------------

    def schema_failures(self) -> list[quality_checks.QualityFailure]:
        """The schema checks' failures, in check then column order."""
        order = {
            column: i
            for i, column in enumerate((*features.RAW_COLUMNS, quality_checks.LABEL_COLUMN))
        }
        return [
            quality_checks.QualityFailure(
                check,
                column,
                observed,
                bound,
                count=count or None,
                examples=tuple(files),
            )
            for (check, column, observed, bound), (files, count) in sorted(
                self.schema.items(),
                key=lambda item: (
                    quality_checks.CHECKS.index(item[0][0]),
                    order.get(item[0][1], 99),
                ),
            )
        ]

    def null_rate(self, column: str) -> float | None:
        """Share of null (or NaN) values where the column was counted; None without rows."""
        counts = self.columns[column]
        return counts.nulls / counts.rows if counts.rows else None

    def invalid_rate(self, column: str) -> float | None:
        """Share of the non-null values outside the column's range; None without any."""
        counts = self.columns[column]
        present = counts.rows - counts.nulls
        return counts.invalid / present if present else None

    def failures(self, *, check_rows: bool = True) -> list[quality_checks.QualityFailure]:
        """Every failed check (module doc); `check_rows`: apply min_rows (whole runs only)."""
        found = self.schema_failures()
        bounds = self.bounds
        if check_rows and not found and self.rows < bounds.min_rows:
            found.append(
                quality_checks.QualityFailure(
                    "rows", None, self.rows, bounds.min_rows, context=self.context
                )
            )
        for column, counts in self.columns.items():
            rate = self.null_rate(column)
            if rate is not None and rate > bounds.null_rate_bound(column):
                found.append(
                    quality_checks.QualityFailure(
                        "null_rate",
                        column,
                        round(rate, 6),
                        bounds.null_rate_bound(column),
                        count=counts.nulls,
                        total=counts.rows,
                    )
                )
        for column, counts in self.columns.items():
            rate = self.invalid_rate(column)
            if column in bounds.ranges and rate is not None and rate > bounds.max_invalid_rate:
                found.append(
                    quality_checks.QualityFailure(
                        "invalid_rate",
                        column,
                        round(rate, 6),
                        bounds.max_invalid_rate,
                        count=counts.invalid,
                        total=counts.rows - counts.nulls,
                        examples=tuple(counts.examples),
                        context=profile_limits.range_text(bounds.ranges[column]),
                    )
                )
        if self.duplicate_ids > bounds.max_duplicate_ids:
            found.append(
                quality_checks.QualityFailure(
                    "duplicate_ids",
                    features.ID_COLUMN,
                    self.duplicate_ids,
                    bounds.max_duplicate_ids,
                    count=self.duplicate_ids,
                    total=self.ids_checked,
                    examples=tuple(self.duplicate_examples),
                )
            )
        if self.bad_labels:
            found.append(
                quality_checks.QualityFailure(
                    "labels",
                    quality_checks.LABEL_COLUMN,
                    self.bad_labels,
                    "0/1",
                    count=self.bad_labels,
                    total=self.labels_checked,
                    examples=tuple(self.label_examples),
                )
            )
        return found

    def report(self, *, check_rows: bool = True) -> dict[str, Any]:
        """JSON-ready verdict: passed, reason (the messages, at most 900 characters), the
        failures, rows, per-column null and invalid rates, repeated ids, the bounds."""
        failures = self.failures(check_rows=check_rows)
        reason = "; ".join(f.message() for f in failures)
        if len(reason) > REASON_MAX_CHARS:
            reason = reason[: REASON_MAX_CHARS - 3] + "..."
        return {
            "passed": not failures,
            "reason": reason,
            "failures": [f.to_dict() for f in failures],
            "rows": self.rows,
            "null_rates": {
                c: None if (r := self.null_rate(c)) is None else round(r, 6) for c in self.columns
            },
            "invalid_rates": {
                c: None if (r := self.invalid_rate(c)) is None else round(r, 6)
                for c in self.columns
                if c in self.bounds.ranges
            },
            "duplicate_ids": {
                "count": self.duplicate_ids,
                "ids_checked": self.ids_checked,
                "exact": self._limit is None,
            },
            "bounds": self.bounds.to_dict(),
        }
