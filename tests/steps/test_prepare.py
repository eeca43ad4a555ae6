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
from pipeline_defs.steps import features, manifest, prepare, split

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
