"""synthetic_data: schema, determinism, label rules, drift, Parquet output and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipeline_defs import synthetic_data as sd
from pipeline_defs.steps.features import RAW_COLUMNS, RAW_SCHEMA


def test_products_have_raw_schema_and_are_deterministic() -> None:
    a = sd.generate_products(2_000, seed=11)
    assert tuple(a.column_names) == RAW_COLUMNS and a.schema.equals(RAW_SCHEMA)
    assert a.equals(sd.generate_products(2_000, seed=11))
    assert not a.equals(sd.generate_products(2_000, seed=12))
    assert pc.count_distinct(a.column("product_id")).as_py() == 2_000


def test_training_set_is_long_format_with_noise_near_requested_rate() -> None:
    clean = sd.generate_training_set(5_000, seed=1, label_noise=0.0)
    noisy = sd.generate_training_set(5_000, seed=1, label_noise=0.1)
    assert clean.num_rows == 4 * 5_000
    assert set(clean.column("package_type").to_pylist()) == set(sd.PACKAGE_TYPES)
    flipped = np.mean(clean.column("label").to_numpy() != noisy.column("label").to_numpy())
    assert 0.08 < flipped < 0.12


def test_labels_follow_packaging_rules() -> None:
    products = sd.generate_products(20_000, seed=2)
    fragility = products.column("fragility").to_numpy()
    liquid = products.column("is_liquid").to_numpy(zero_copy_only=False)
    mailer = sd.suitability(products, "mailer")
    assert mailer[(fragility > 0) | liquid].sum() == 0
    assert 0.05 < mailer.mean() < 0.5
    box = sd.suitability(products, "box")
    assert box[fragility >= 2].mean() > 0.95
    with pytest.raises(ValueError, match="'crate'"):
        sd.suitability(products, "crate")


def test_drift_shifts_features_and_labels_proportionally() -> None:
    base, half, full = (sd.generate_training_set(10_000, seed=4, drift=d) for d in (0, 0.5, 1))

    def mailer_rate(t: pa.Table) -> float:
        return pc.mean(t.filter(pc.equal(t["package_type"], "mailer"))["label"]).as_py()

    def mean_length(t: pa.Table) -> float:
        return pc.mean(t["length_cm"]).as_py()

    assert mean_length(base) < mean_length(half) < mean_length(full)
    assert mailer_rate(base) > mailer_rate(half) > mailer_rate(full)
    with pytest.raises(ValueError, match="drift"):
        sd.generate_products(10, seed=0, drift=1.5)


def test_write_parquet_parts_and_manifest(tmp_path: Path) -> None:
    table = sd.generate_training_set(1_000, seed=5)
    paths = sd.write_parquet(table, tmp_path, rows_per_file=1_500, manifest_url_prefix="s3://b/x/")
    assert len(paths) == 3
    assert sum(pq.read_metadata(p).num_rows for p in paths) == table.num_rows
    manifest = json.loads((tmp_path / "manifest").read_text())
    assert manifest["entries"][0]["url"] == "s3://b/x/part-00000.parquet"
    assert manifest["entries"][0]["meta"]["content_length"] == paths[0].stat().st_size


def test_million_products_in_a_few_seconds() -> None:
    import time

    start = time.perf_counter()
    table = sd.generate_products(1_000_000, seed=0)
    assert table.num_rows == 1_000_000
    assert time.perf_counter() - start < 5.0


def test_cli_writes_files(tmp_path: Path) -> None:
    sd.main(["--rows", "300", "--out", str(tmp_path), "--drift", "0.2", "--rows-per-file", "500"])
    assert len(list(tmp_path.glob("part-*.parquet"))) == 3
