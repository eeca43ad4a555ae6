"""prepare: every row once and in order, split-identical lines, file sizes, bad ids, shards."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from pipeline_defs import synthetic_data
from pipeline_defs.steps import (
    drift_stats,
    feature_baseline,
    features,
    manifest,
    prepare,
    profile_limits,
    quality_counter,
    split,
)

ROWS = 20_000
TARGET = 256 * 1024


@pytest.fixture(scope="module")
def products() -> pa.Table:
    """20,000 synthetic products (seed 11)."""
    return synthetic_data.generate_products(ROWS, seed=11)


@pytest.fixture(scope="module")
def unload(tmp_path_factory: pytest.TempPathFactory, products: pa.Table) -> Path:
    """The products as three Parquet parts plus a Redshift-style manifest."""
    folder = tmp_path_factory.mktemp("unload")
    synthetic_data.write_parquet(
        products, folder, rows_per_file=7_000, manifest_url_prefix="s3://bkt/unload/x/run-1/"
    )
    return folder


def _run(input_dir: Path, out: Path, **kwargs: Any) -> dict[str, Any]:
    """prepare.run with test defaults (256 KiB files, 3,000-row batches, 2 threads, 1 shard)."""
    options: dict[str, Any] = {
        "package_type": "mailer",
        "target_file_bytes": TARGET,
        "input_dir": input_dir,
        "output_dir": out / "features",
        "summary_dir": out / "summary",
        "rejected_dir": out / "rejected",
        "batch_rows": 3_000,
        "workers": 2,
        "shard": manifest.WHOLE,
        "s3_client_factory": lambda: pytest.fail("no download expected"),
    }
    options.update(kwargs)
    return prepare.run(**options)


def _lines(folder: Path) -> list[bytes]:
    """Every output line, files in name order."""
    return [
        line
        for path in sorted(folder.glob("part-*.csv"))
        for line in path.read_bytes().splitlines()
    ]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory, unload: Path) -> Path:
    """prepare's outputs for the unload."""
    out = tmp_path_factory.mktemp("prepared")
    _run(unload, out)
    return out


def test_every_row_exactly_once_in_input_order(prepared: Path, products: pa.Table) -> None:
    ids = [line.split(b",", 1)[0].decode() for line in _lines(prepared / "features")]
    assert ids == products.column("product_id").to_pylist()
    assert max(Counter(ids).values()) == 1


def test_lines_are_byte_identical_to_split_formatting(prepared: Path, products: pa.Table) -> None:
    lines = {line.split(b",", 1)[0]: line for line in _lines(prepared / "features")}
    sample = np.random.default_rng(0).choice(ROWS, size=300, replace=False)
    rows = products.take(sample)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(
        split.feature_csv_table(rows),
        sink,
        write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
    )
    expected = sink.getvalue().to_pybytes().splitlines()
    assert [lines[line.split(b",", 1)[0]] for line in expected] == expected
    first = expected[0].split(b",")
    assert len(first) == 1 + len(features.FEATURE_COLUMNS)


def test_same_lines_as_splits_validation_features(tmp_path: Path) -> None:
    labelled = synthetic_data.generate_training_set(3_000, seed=5, package_types=("box", "bag"))
    synthetic_data.write_parquet(labelled, tmp_path / "in", rows_per_file=2_500)
    split.run(
        package_type="box",
        validation_ratio=0.3,
        seed=1,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "split",
    )
    summary = _run(tmp_path / "split" / "validation", tmp_path / "out", package_type="box")
    expected = (tmp_path / "split" / "validation_features" / "validation.csv").read_bytes()
    assert b"\n".join(_lines(tmp_path / "out" / "features")) + b"\n" == expected
    assert summary["rows_other_package_type"] == 0


def test_files_are_within_the_target_and_summary_matches(prepared: Path) -> None:
    summary = json.loads((prepared / "summary" / "local" / "prepare_summary.json").read_text())
    files = sorted((prepared / "features").glob("part-*.csv"))
    assert [f.name for f in files] == [f["name"] for f in summary["files"]]
    assert [f.name for f in files][:2] == ["part-local-00000.csv", "part-local-00001.csv"]
    longest_line = max(len(line) + 1 for line in _lines(prepared / "features"))
    sizes = [f.stat().st_size for f in files]
    assert len(sizes) > 3 and all(size <= TARGET for size in sizes)
    assert all(size > TARGET - longest_line for size in sizes[:-1])
    assert all(f.read_bytes().endswith(b"\n") for f in files)
    assert [f["bytes"] for f in summary["files"]] == sizes
    assert sum(f["rows"] for f in summary["files"]) == summary["rows_out"] == ROWS
    assert summary["rows_in"] == ROWS and summary["rows_rejected"] == 0
    assert summary["bytes_out"] == sum(sizes) and summary["input_files"][0] == "part-00000.parquet"


def test_stale_parts_in_the_output_are_refused(prepared: Path, unload: Path) -> None:
    with pytest.raises(ValueError, match="already holds"):
        _run(unload, prepared)


def test_rolling_writer_cuts_at_line_ends_and_isolates_long_lines(tmp_path: Path) -> None:
    writer = prepare.RollingCsvFiles(tmp_path, "part-x", target_bytes=10)
    writer.write(b"aaaa\nbbbb\ncccc\n")
    writer.write(b"dddddddddddddddd\nee\n")
    files = writer.close()
    contents = [(tmp_path / f["name"]).read_bytes() for f in files]
    assert contents == [b"aaaa\nbbbb\n", b"cccc\n", b"dddddddddddddddd\n", b"ee\n"]
    assert [f["rows"] for f in files] == [2, 1, 1, 1]


def _with_bad_ids(products: pa.Table) -> tuple[pa.Table, dict[int, str]]:
    """The first 1,000 products with five unusable ids at known rows."""
    table = products.slice(0, 1_000)
    ids: list[str | None] = table.column("product_id").to_pylist()
    bad = {
        3: ("a,b", "comma"),
        10: ("line\nbreak", "control character"),
        11: ("", "empty"),
        500: (None, "null"),
        999: ("x" * 65, "longer than 64 bytes"),
    }
    for row, (value, _) in bad.items():
        ids[row] = value
    ids[20] = "é" * 32  # 64 UTF-8 bytes: still fine
    table = table.set_column(0, "product_id", pa.array(ids, pa.string()))
    return table, {row: reason for row, (_, reason) in bad.items()}


def test_bad_ids_fail_the_step_by_default_naming_a_few(tmp_path: Path, products: pa.Table) -> None:
    table, _ = _with_bad_ids(products)
    synthetic_data.write_parquet(table, tmp_path / "in", rows_per_file=600)
    with pytest.raises(prepare.RejectedRowsError, match=r"5 row\(s\).*'a,b' \(comma") as error:
        _run(tmp_path / "in", tmp_path / "out")
    assert "part-00000.parquet row 3" in str(error.value)
    summary = json.loads(
        (tmp_path / "out" / "summary" / "local" / "prepare_summary.json").read_text()
    )
    assert summary["rows_rejected"] == 5 and summary["rows_out"] == 995


def test_bad_ids_within_tolerance_go_to_rejected_with_reasons(
    tmp_path: Path, products: pa.Table
) -> None:
    table, bad = _with_bad_ids(products)
    synthetic_data.write_parquet(table, tmp_path / "in", rows_per_file=600)
    summary = _run(tmp_path / "in", tmp_path / "out", max_rejected_rows=5)
    assert summary["rows_out"] == 995 and summary["rows_rejected"] == 5
    with open(tmp_path / "out" / "rejected" / "rejected-local.csv", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    located = {
        (600 if r["source_file"] == "part-00001.parquet" else 0) + int(r["row"]): r
        for r in rejected
    }
    assert set(located) == set(bad)
    for row, reason in bad.items():
        assert reason in located[row]["reason"]
    assert located[10]["product_id"] == "line\nbreak"
    written = {line.split(b",", 1)[0].decode() for line in _lines(tmp_path / "out" / "features")}
    good = [i for i in table.column("product_id").to_pylist() if i and i not in ("a,b", "")]
    assert written == {i for i in good if "\n" not in i and len(i.encode()) <= 64}


def test_other_package_types_are_skipped_and_counted(tmp_path: Path) -> None:
    labelled = synthetic_data.generate_training_set(500, seed=2, package_types=("mailer", "box"))
    synthetic_data.write_parquet(labelled, tmp_path / "in", rows_per_file=10_000)
    summary = _run(tmp_path / "in", tmp_path / "out", package_type="box")
    assert summary["rows_in"] == 1_000
    assert summary["rows_out"] == summary["rows_other_package_type"] == 500


def test_empty_input_is_a_clear_error(tmp_path: Path, products: pa.Table) -> None:
    synthetic_data.write_parquet(products.slice(0, 0), tmp_path / "in", rows_per_file=10)
    with pytest.raises(ValueError, match="no rows to score"):
        _run(tmp_path / "in", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "manifest").write_text('{"entries": []}')
    with pytest.raises(manifest.ManifestError, match="no entries"):
        _run(tmp_path / "empty", tmp_path / "out2")


def test_shards_together_write_every_row_once(tmp_path: Path, unload: Path) -> None:
    ids: list[str] = []
    for index in range(2):
        shard = manifest.Shard(index=index, count=2, host=f"algo-{index + 1}")
        summary = _run(unload, tmp_path, shard=shard, workers=1)
        assert summary["host"] == f"algo-{index + 1}"
    names = sorted(p.name for p in (tmp_path / "features").glob("*.csv"))
    assert names[0].startswith("part-algo-1-") and names[-1].startswith("part-algo-2-")
    ids = [line.split(b",", 1)[0].decode() for line in _lines(tmp_path / "features")]
    assert len(ids) == len(set(ids)) == ROWS


def test_runs_as_a_script_with_the_builders_arguments(tmp_path: Path, unload: Path) -> None:
    # SageMaker's layout: the script alone in code/, every step module in lib/ on PYTHONPATH.
    lib, code = tmp_path / "lib", tmp_path / "code"
    shutil.copytree(Path(prepare.__file__).parent, lib, ignore=shutil.ignore_patterns("__*"))
    code.mkdir()
    shutil.copy(lib / "prepare.py", code / "prepare.py")
    out = tmp_path / "out"
    result = subprocess.run(  # noqa: S603 (fixed command)
        [
            sys.executable,
            str(code / "prepare.py"),
            "--package-type",
            "mailer",
            "--target-file-mb",
            "1",
            "--input-dir",
            str(unload),
            "--output-dir",
            str(out / "features"),
            "--summary-dir",
            str(out / "summary"),
            "--rejected-dir",
            str(out / "rejected"),
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(lib),
            "PKGML_SHARD_INDEX": "0",
            "PKGML_SHARD_COUNT": "1",
        },
    )
    assert json.loads(result.stdout.splitlines()[-1])["rows_out"] == ROWS
    files = sorted((out / "features").glob("part-shard0-*.csv"))
    assert len(files) == 3 and all(f.stat().st_size <= 1024 * 1024 for f in files)


def test_ids_with_nulls_are_reasoned_per_row() -> None:
    ids = pa.array(["ok", None, "", "a\rb", 'q"', "x" * 65])
    reasons = prepare.id_rejection_reasons(ids)
    assert reasons is not None
    assert [r is None for r in reasons.to_pylist()] == [True] + [False] * 5
    assert prepare.id_rejection_reasons(pa.array(["a", "b"])) is None
    assert pc.sum(pc.is_valid(reasons)).as_py() == 5


# --- --with-text: the text column after the features ------------------------------------


@pytest.fixture(scope="module")
def prepared_with_text(tmp_path_factory: pytest.TempPathFactory, unload: Path) -> Path:
    """prepare's outputs for the unload, with the text column."""
    out = tmp_path_factory.mktemp("prepared-text")
    _run(unload, out, with_text=True)
    return out


def test_with_text_appends_one_text_field_to_the_default_line(
    prepared: Path, prepared_with_text: Path, products: pa.Table
) -> None:
    plain = _lines(prepared / "features")
    with_text = _lines(prepared_with_text / "features")
    assert len(with_text) == len(plain) == ROWS
    for row in np.random.default_rng(1).choice(ROWS, size=400, replace=False):
        product = products.slice(int(row), 1).to_pylist()[0]
        text = features.text_tokens(
            product["title"], product["description"], product["category_path"]
        )
        assert with_text[row] == plain[row] + b"," + text.encode()
    # Every line: id, the features, the text (no comma, quote or line break inside it).
    assert {line.count(b",") for line in with_text} == {1 + len(features.FEATURE_COLUMNS)}
    assert not any(b'"' in line for line in with_text)
    assert sum(line.endswith(b",") for line in with_text) < 0.01 * ROWS  # few empty texts


def test_with_text_summary_and_file_sizes(prepared_with_text: Path) -> None:
    summary = json.loads(
        (prepared_with_text / "summary" / "local" / "prepare_summary.json").read_text()
    )
    assert summary["rows_out"] == ROWS and summary["text_column"] == features.TEXT_COLUMN
    sizes = [f["bytes"] for f in summary["files"]]
    assert all(size <= TARGET for size in sizes)


def test_default_output_has_no_text_and_needs_no_text_columns(
    tmp_path: Path, products: pa.Table, prepared: Path
) -> None:
    summary = json.loads((prepared / "summary" / "local" / "prepare_summary.json").read_text())
    assert summary["text_column"] is None
    tabular = products.slice(0, 2_000).select(list(features.RAW_COLUMNS))
    synthetic_data.write_parquet(tabular, tmp_path / "in", rows_per_file=5_000)
    _run(tmp_path / "in", tmp_path / "out")
    assert _lines(tmp_path / "out" / "features") == _lines(prepared / "features")[:2_000]
    with pytest.raises(ValueError, match=r"missing column\(s\) \['title', 'description'"):
        _run(tmp_path / "in", tmp_path / "out-text", with_text=True)


def test_with_text_is_an_opt_in_flag() -> None:
    required = ["--package-type", "box"]
    assert prepare.parse_args(required).with_text == "false"
    assert prepare.parse_args([*required, "--with-text"]).with_text == "true"
    # the inference pipeline passes the value Resolve found (what the champion reads)
    assert prepare.parse_args([*required, "--with-text", "false"]).with_text == "false"
    with pytest.raises(SystemExit):
        prepare.parse_args([*required, "--with-text", "maybe"])


def test_main_with_text_flag(tmp_path: Path, products: pa.Table) -> None:
    synthetic_data.write_parquet(products.slice(0, 500), tmp_path / "in", rows_per_file=1_000)
    out = tmp_path / "out"
    prepare.main(
        [
            "--package-type",
            "mailer",
            "--input-dir",
            str(tmp_path / "in"),
            "--output-dir",
            str(out / "features"),
            "--summary-dir",
            str(out / "summary"),
            "--rejected-dir",
            str(out / "rejected"),
            "--workers",
            "1",
            "--with-text",
        ]
    )
    lines = _lines(out / "features")
    expected = features.text_column(products.slice(0, 500)).to_pylist()
    assert [line.rsplit(b",", 1)[1].decode() for line in lines] == expected


# --- data quality and drift: profile.json, the quality report, the message file ----------


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def baseline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A champion's baseline for 'mailer' (other products than the batch's: seed 12)."""
    folder = tmp_path_factory.mktemp("baseline")
    matrix = features.compute_features(synthetic_data.generate_products(5_000, seed=12))
    baseline = feature_baseline.build_baseline(matrix, package_type="mailer")
    (folder / "baseline.json").write_text(json.dumps(baseline))
    return folder


def test_profile_json_without_a_baseline(prepared: Path) -> None:
    host = prepared / "summary" / "local"
    assert sorted(p.name for p in host.iterdir()) == ["prepare_summary.json", "profile.json"]
    document = _json(host / "profile.json")
    assert document["histogram"] is None and document["baseline"] is None
    quality = quality_counter.QualityCounter.from_dict(document["quality"])
    assert quality.rows == ROWS and quality.ids_checked == ROWS and quality.duplicate_ids == 0
    summary = _json(host / "prepare_summary.json")
    assert summary["baseline"] is None
    assert summary["quality"]["passed"] is True and summary["quality"]["reason"] == ""
    assert summary["quality"]["rows"] == ROWS


def test_histogram_counts_every_kept_row_once(
    tmp_path: Path, unload: Path, baseline_dir: Path, products: pa.Table, prepared: Path
) -> None:
    summary = _run(unload, tmp_path, baseline_dir=baseline_dir)
    assert summary["baseline"] == {"package_type": "mailer", "rows": 5_000}
    document = _json(tmp_path / "summary" / "local" / "profile.json")
    assert document["baseline"] == _json(baseline_dir / "baseline.json")
    histogram = document["histogram"]
    assert histogram["rows"] == summary["rows_out"] == ROWS
    for name, counted in histogram["features"].items():
        assert sum(counted["counts"]) == ROWS, name
    # the same counts as one histogram of every row's features (batches of 3,000, 2 threads)
    expected = drift_stats.DriftHistogram(document["baseline"])
    expected.update(features.compute_features(products))
    assert histogram == expected.to_dict()
    # the CSV lines are the same as without a baseline
    assert _lines(tmp_path / "features") == _lines(prepared / "features")


def test_without_the_profile_the_step_is_as_before(
    tmp_path: Path, unload: Path, prepared: Path
) -> None:
    """profile=False (benchmarks): no quality, no drift, the summary's keys as before."""
    summary = _run(unload, tmp_path, profile=False)
    assert list(summary) == [
        "package_type", "host", "shard_index", "shard_count", "input_files", "input_bytes",
        "rows_in", "rows_out", "rows_rejected", "rows_other_package_type", "rejected_file",
        "max_rejected_rows", "target_file_bytes", "text_column", "files", "bytes_out",
        "seconds",
    ]  # fmt: skip
    assert [p.name for p in (tmp_path / "summary" / "local").iterdir()] == ["prepare_summary.json"]
    assert _lines(tmp_path / "features") == _lines(prepared / "features")


def test_rejected_rows_are_still_profiled_but_not_histogrammed(
    tmp_path: Path, products: pa.Table, baseline_dir: Path
) -> None:
    table, _ = _with_bad_ids(products)
    synthetic_data.write_parquet(table, tmp_path / "in", rows_per_file=600)
    summary = _run(
        tmp_path / "in", tmp_path / "out", max_rejected_rows=5, baseline_dir=baseline_dir
    )
    document = _json(tmp_path / "out" / "summary" / "local" / "profile.json")
    assert document["histogram"]["rows"] == summary["rows_out"] == 995
    # the counter saw the 1,000 rows; the null and the empty id are not ids
    assert document["quality"]["rows"] == 1_000
    assert document["quality"]["duplicate_ids"]["ids_checked"] == 998


def test_only_the_package_types_rows_are_checked(tmp_path: Path) -> None:
    labelled = synthetic_data.generate_training_set(500, seed=2, package_types=("mailer", "box"))
    synthetic_data.write_parquet(labelled, tmp_path / "in", rows_per_file=10_000)
    _run(tmp_path / "in", tmp_path / "out", package_type="box")
    quality = _json(tmp_path / "out" / "summary" / "local" / "profile.json")["quality"]
    # the same product ids under both types: not repeats within the box rows
    assert quality["rows"] == 500 and quality["duplicate_ids"]["count"] == 0


def _null_weights(products: pa.Table, rows: int, nulls: int) -> pa.Table:
    """The first `rows` products, the first `nulls` of them without a weight."""
    table = products.slice(0, rows)
    weights = [1.0 if w is None else w for w in table.column("weight_kg").to_pylist()]
    weights[:nulls] = [None] * nulls
    position = table.schema.get_field_index("weight_kg")
    return table.set_column(position, "weight_kg", pa.array(weights, pa.float64()))


def test_a_quality_failure_raises_after_writing_the_summary_and_the_message(
    tmp_path: Path, products: pa.Table
) -> None:
    synthetic_data.write_parquet(
        _null_weights(products, 1_000, 300), tmp_path / "in", rows_per_file=600
    )
    message_file = tmp_path / "opt-ml-output" / "message"
    with pytest.raises(prepare.DataQualityError) as error:
        _run(tmp_path / "in", tmp_path / "out", message_file=message_file)
    reason = (
        "Data quality check failed on local: weight_kg: null rate 0.3 above the bound 0.05 "
        "(300 of 1,000 rows)"
    )
    assert str(error.value) == reason
    assert isinstance(error.value, ValueError)
    assert message_file.read_text() == reason
    summary = _json(tmp_path / "out" / "summary" / "local" / "prepare_summary.json")
    assert summary["quality"]["passed"] is False
    assert summary["quality"]["reason"] == reason.removeprefix(
        "Data quality check failed on local: "
    )
    assert (tmp_path / "out" / "summary" / "local" / "profile.json").is_file()


def test_a_file_with_a_bad_schema_is_not_read_and_named(tmp_path: Path, products: pa.Table) -> None:
    synthetic_data.write_parquet(products.slice(0, 1_000), tmp_path / "in", rows_per_file=500)
    bad = products.slice(1_000, 500)
    position = bad.schema.get_field_index("weight_kg")
    bad = bad.set_column(position, "weight_kg", pc.cast(bad.column("weight_kg"), pa.string()))
    import pyarrow.parquet as pq

    pq.write_table(bad, tmp_path / "in" / "part-00002.parquet")
    with pytest.raises(prepare.DataQualityError) as error:
        _run(tmp_path / "in", tmp_path / "out")
    assert str(error.value) == (
        "Data quality check failed on local: weight_kg: type string, expected a number "
        "(int, float, bool or decimal) in part-00002.parquet"
    )
    summary = _json(tmp_path / "out" / "summary" / "local" / "prepare_summary.json")
    assert summary["rows_in"] == summary["rows_out"] == 1_000  # the other files were read


def test_min_rows_is_checked_only_on_a_single_instance(tmp_path: Path, unload: Path) -> None:
    bounds = profile_limits.QualityBounds(min_rows=1_000_000)
    for index in range(2):  # with shards, no host fails for having few rows
        shard = manifest.Shard(index=index, count=2, host=f"algo-{index + 1}")
        summary = _run(unload, tmp_path / "shards", shard=shard, quality_bounds=bounds)
        assert summary["quality"]["passed"] is True
    with pytest.raises(
        prepare.DataQualityError,
        match=r"rows: 20,000 rows of package type 'mailer', fewer than the minimum 1,000,000$",
    ):
        _run(unload, tmp_path / "one", quality_bounds=bounds)


def test_two_shards_profiles_merge_to_one_run(
    tmp_path: Path, unload: Path, baseline_dir: Path
) -> None:
    _run(unload, tmp_path / "one", baseline_dir=baseline_dir)
    whole = _json(tmp_path / "one" / "summary" / "local" / "profile.json")
    parts = []
    for index in range(2):
        shard = manifest.Shard(index=index, count=2, host=f"algo-{index + 1}")
        _run(unload, tmp_path / "two", shard=shard, workers=1, baseline_dir=baseline_dir)
        parts.append(_json(tmp_path / "two" / "summary" / f"algo-{index + 1}" / "profile.json"))
    quality = quality_counter.QualityCounter.from_dict(parts[0]["quality"]).merge(
        quality_counter.QualityCounter.from_dict(parts[1]["quality"])
    )
    assert quality.to_dict() == whole["quality"]
    baseline = whole["baseline"]
    histogram = drift_stats.DriftHistogram.from_dict(baseline, parts[0]["histogram"]).merge(
        drift_stats.DriftHistogram.from_dict(baseline, parts[1]["histogram"])
    )
    assert histogram.to_dict() == whole["histogram"]
    assert parts[0]["baseline"] == parts[1]["baseline"] == baseline


def test_repeated_ids_across_files_are_found(tmp_path: Path, products: pa.Table) -> None:
    """A file listed twice (fewer distinct ids than the sample holds: exact)."""
    synthetic_data.write_parquet(products.slice(0, 3_000), tmp_path / "in", rows_per_file=2_000)
    import shutil as sh

    sh.copy(tmp_path / "in" / "part-00001.parquet", tmp_path / "in" / "part-00002.parquet")
    with pytest.raises(prepare.DataQualityError, match=r"product_id: 1,000 duplicate ids"):
        _run(tmp_path / "in", tmp_path / "out")


def test_baseline_from_s3_or_none(tmp_path: Path, unload: Path, baseline_dir: Path) -> None:
    body = (baseline_dir / "baseline.json").read_bytes()
    requested: list[tuple[str, str]] = []

    class FakeS3:
        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # boto3's names
            requested.append((Bucket, Key))
            import io

            return {"Body": io.BytesIO(body)}

    uri = "s3://artifacts/training/run-7/Split/baseline/baseline.json"
    summary = _run(unload, tmp_path / "s3", baseline_uri=uri, s3_client_factory=FakeS3, workers=1)
    assert requested == [("artifacts", "training/run-7/Split/baseline/baseline.json")]
    assert summary["baseline"] == {"package_type": "mailer", "rows": 5_000}
    # "none": the champion predates baselines
    summary = _run(unload, tmp_path / "none", baseline_uri="none", baseline_dir=baseline_dir)
    assert summary["baseline"] is None


def test_load_baseline_checks_what_it_reads(tmp_path: Path, baseline_dir: Path) -> None:
    assert prepare.load_baseline("mailer", baseline_dir=tmp_path / "absent") is None
    (tmp_path / "empty").mkdir()
    assert prepare.load_baseline("mailer", baseline_dir=tmp_path / "empty") is None
    with pytest.raises(ValueError, match="baseline of package type 'mailer', not 'box'"):
        prepare.load_baseline("box", baseline_dir=baseline_dir)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("?")
    with pytest.raises(ValueError, match=r"holds 0 baseline.json files and \['notes.txt'\]"):
        prepare.load_baseline("mailer", baseline_dir=tmp_path / "other")
    nested = tmp_path / "nested" / "baseline"
    nested.mkdir(parents=True)
    (nested / "baseline.json").write_text((baseline_dir / "baseline.json").read_text())
    assert prepare.load_baseline("mailer", baseline_dir=tmp_path / "nested") is not None
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "baseline.json").write_text('{"schema_version": 1}')
    with pytest.raises(ValueError, match="is not a feature baseline"):
        prepare.load_baseline("mailer", baseline_dir=tmp_path / "bad")


def test_quality_arguments() -> None:
    required = ["--package-type", "box"]
    args = prepare.parse_args(required)
    assert args.quality_bounds == profile_limits.QualityBounds()
    assert args.baseline_dir == Path("/opt/ml/processing/input/baseline")
    assert args.baseline_uri is None
    assert args.message_file == Path("/opt/ml/output/message")
    bounds = prepare.parse_args([*required, "--quality-bounds", '{"min_rows": 7}']).quality_bounds
    assert bounds == profile_limits.QualityBounds(min_rows=7)
    with pytest.raises(SystemExit):
        prepare.parse_args([*required, "--quality-bounds", '{"rows": 7}'])


def test_main_writes_the_message_file_it_is_given(tmp_path: Path, products: pa.Table) -> None:
    synthetic_data.write_parquet(
        _null_weights(products, 500, 100), tmp_path / "in", rows_per_file=1_000
    )
    out = tmp_path / "out"
    with pytest.raises(prepare.DataQualityError):
        prepare.main(
            ["--package-type", "mailer", "--input-dir", str(tmp_path / "in"),
             "--output-dir", str(out / "features"), "--summary-dir", str(out / "summary"),
             "--rejected-dir", str(out / "rejected"), "--workers", "1",
             "--baseline-dir", str(tmp_path / "no-baseline"),
             "--message-file", str(tmp_path / "message"),
             "--quality-bounds", '{"null_rates": {"weight_kg": 0.1}}']
        )  # fmt: skip
    assert (tmp_path / "message").read_text() == (
        "Data quality check failed on local: weight_kg: null rate 0.2 above the bound 0.1 "
        "(100 of 500 rows)"
    )


def test_files_all_refused_fail_with_the_schema_reason_not_no_rows(
    tmp_path: Path, products: pa.Table, capsys: pytest.CaptureFixture[str]
) -> None:
    synthetic_data.write_parquet(
        products.slice(0, 500).drop_columns(["category"]), tmp_path / "in", rows_per_file=300
    )
    with pytest.raises(prepare.DataQualityError) as error:
        _run(tmp_path / "in", tmp_path / "out", message_file=tmp_path / "message")
    assert str(error.value) == (
        "Data quality check failed on local: category: column missing in 2 files, "
        "e.g. part-00000.parquet, part-00001.parquet"
    )
    assert (tmp_path / "message").read_text() == str(error.value)


def test_other_failures_write_the_message_file_too(tmp_path: Path, products: pa.Table) -> None:
    synthetic_data.write_parquet(products.slice(0, 0), tmp_path / "in", rows_per_file=10)
    with pytest.raises(ValueError, match="no rows to score") as error:
        _run(tmp_path / "in", tmp_path / "out", message_file=tmp_path / "message")
    assert not isinstance(error.value, prepare.DataQualityError)
    assert (tmp_path / "message").read_text() == f"Prepare failed on local: {error.value}"
