"""split: ratio, stratification, determinism, statistics, manifest input, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipeline_defs import synthetic_data
from pipeline_defs.steps import features, split


def _labels(path: Path) -> np.ndarray:
    """Label column of a Parquet file."""
    return pq.read_table(path).column("label").to_numpy()


def test_outputs_ratio_and_stratification(split_dir: Path, training_table: pa.Table) -> None:
    train = _labels(split_dir / "train" / "train.parquet")
    validation = _labels(split_dir / "validation" / "validation.parquet")
    mailer = training_table.filter(pc.equal(training_table["package_type"], "mailer"))
    assert len(train) + len(validation) == mailer.num_rows
    assert len(validation) / mailer.num_rows == pytest.approx(0.25, abs=0.001)
    assert abs(train.mean() - validation.mean()) < 0.005


def test_statistics_json(split_dir: Path) -> None:
    stats = json.loads((split_dir / "statistics" / "statistics.json").read_text())
    assert stats["row_count"] == stats["train_rows"] + stats["validation_rows"] == 6_000
    assert stats["label_counts"]["0"] + stats["label_counts"]["1"] == 6_000
    assert stats["positive_rate"] == pytest.approx(stats["label_counts"]["1"] / 6_000)
    assert stats["input_bytes"] > 0 and stats["dropped_null_label_rows"] == 0
    assert set(stats["feature_means"]) == set(features.FEATURE_COLUMNS)


def test_validation_features_csv_matches_validation_rows(split_dir: Path) -> None:
    lines = (split_dir / "validation_features" / "validation.csv").read_text().splitlines()
    validation = pq.read_table(split_dir / "validation" / "validation.parquet")
    assert len(lines) == validation.num_rows
    first = lines[0].split(",")
    assert first[0] == validation.column("product_id")[0].as_py()
    assert len(first) == 1 + len(features.FEATURE_COLUMNS)


def test_stratified_split_is_deterministic_and_seed_sensitive() -> None:
    labels = np.array([0] * 90 + [1] * 10)
    a = split.stratified_split(labels, validation_ratio=0.2, seed=1)
    b = split.stratified_split(labels, validation_ratio=0.2, seed=1)
    c = split.stratified_split(labels, validation_ratio=0.2, seed=2)
    assert np.array_equal(a[1], b[1]) and not np.array_equal(a[1], c[1])
    assert labels[a[1]].sum() == 2 and len(a[1]) == 20
    assert len(np.intersect1d(a[0], a[1])) == 0


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1, 1.5])
def test_bad_ratio_is_rejected(ratio: float) -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        split.stratified_split(np.array([0, 1]), validation_ratio=ratio)


def test_unknown_package_type_is_named(unload_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'crate'"):
        split.main(
            [
                "--package-type",
                "crate",
                "--input-dir",
                str(unload_dir),
                "--output-dir",
                str(tmp_path),
            ]
        )


def test_null_labels_are_dropped_and_counted(tmp_path: Path) -> None:
    table = synthetic_data.generate_training_set(
        2_000, seed=3, null_label_rate=0.1, package_types=("bag",)
    )
    synthetic_data.write_parquet(table, tmp_path / "in", rows_per_file=5_000)
    stats = split.run(
        package_type="bag",
        validation_ratio=0.2,
        seed=42,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
    )
    nulls = table.column("label").null_count
    assert nulls > 0 and stats["dropped_null_label_rows"] == nulls
    assert stats["row_count"] == 2_000 - nulls


def test_manifest_input_maps_urls_by_basename(unload_dir: Path, tmp_path: Path) -> None:
    files = sorted(unload_dir.glob("*.parquet"))
    for file in files[:2]:
        shutil.copy(file, tmp_path / file.name)
    entries = [
        {"url": f"s3://bucket/unload/{f.name}", "meta": {"content_length": f.stat().st_size}}
        for f in files[:2]
    ]
    (tmp_path / "manifest").write_text(json.dumps({"entries": entries}))
    table, size = split.read_parquet_input(tmp_path)
    assert table.num_rows == sum(pq.read_metadata(f).num_rows for f in files[:2])
    assert size == sum(f.stat().st_size for f in files[:2])
    entries.append({"url": "s3://bucket/unload/part-99999.parquet", "meta": {}})
    (tmp_path / "manifest").write_text(json.dumps({"entries": entries}))
    with pytest.raises(ValueError, match=r"part-99999\.parquet"):
        split.read_parquet_input(tmp_path)


def test_manifest_size_mismatch_is_an_error(unload_dir: Path, tmp_path: Path) -> None:
    file = sorted(unload_dir.glob("*.parquet"))[0]
    shutil.copy(file, tmp_path / file.name)
    (tmp_path / "manifest").write_text(
        json.dumps({"entries": [{"url": f"s3://b/{file.name}", "meta": {"content_length": 1}}]})
    )
    with pytest.raises(ValueError, match="incomplete download"):
        split.read_parquet_input(tmp_path / "manifest")


def test_runs_as_a_script_from_its_own_directory(unload_dir: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    code = tmp_path / "code"
    shutil.copytree(Path(split.__file__).parent, code)
    subprocess.run(  # noqa: S603 (fixed command)
        [
            sys.executable,
            str(code / "split.py"),
            "--package-type",
            "box",
            "--input-dir",
            str(unload_dir),
            "--output-dir",
            str(tmp_path / "out"),
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    assert (tmp_path / "out" / "statistics" / "statistics.json").is_file()


def _csv_text(table: pa.Table) -> bytes:
    import io

    import pyarrow.csv as pacsv

    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


def test_integer_features_print_exactly_as_their_float32_values() -> None:
    """int8 columns are a speed-up only: the CSV text equals an all-float32 rendering."""
    products = synthetic_data.generate_products(5_000, seed=7, missing_rate=0.05)
    table = split.feature_csv_table(products)
    assert {
        name for name in features.FEATURE_COLUMNS if table.schema.field(name).type == pa.int8()
    } == set(features.INTEGER_FEATURES)
    as_float = pa.table(
        {
            name: pc.cast(table.column(name), pa.float32())
            if name in features.INTEGER_FEATURES
            else table.column(name)
            for name in table.column_names
        }
    )
    assert _csv_text(table) == _csv_text(as_float)


def test_a_fractional_integer_feature_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    products = synthetic_data.generate_products(10, seed=1)
    monkeypatch.setattr(features, "INTEGER_FEATURES", frozenset({"volume_l"}))
    with pytest.raises(pa.ArrowInvalid):
        split.feature_csv_table(products)
