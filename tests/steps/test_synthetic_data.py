"""synthetic_data: schema, determinism, label rules, drift, unexplained noise, Parquet, CLI."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipeline_defs import synthetic_data as sd
from pipeline_defs.steps.features import RAW_COLUMNS, RAW_SCHEMA, RAW_TEXT_COLUMNS, text_column

# Digests of the generator's tabular columns and labels as they were before the text columns
# were added (computed with the previous generator): adding text must not move them.
TABULAR_COLUMNS = list(RAW_COLUMNS)
GOLDEN_TRAINING_SET = "0d8564bf2f2ffce814263ded1c05b32ca260ee84b68d65331d1f82427f61284b"
GOLDEN_PRODUCTS = "38d6da7cd7a7165b3d004b5b9689cd349b63dfb721e5bcd6d130eab6cdf3467a"


def _digest(table: pa.Table, names: list[str]) -> str:
    digest = hashlib.sha256()
    for name in names:
        digest.update(json.dumps([name, table.column(name).to_pylist()]).encode())
    return digest.hexdigest()


def test_products_have_raw_schema_and_are_deterministic() -> None:
    a = sd.generate_products(2_000, seed=11)
    assert tuple(a.column_names) == RAW_COLUMNS + RAW_TEXT_COLUMNS
    assert a.schema.equals(RAW_SCHEMA)
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
    with pytest.raises(ValueError, match="'Crate'"):  # any valid name gets a rule (below)
        sd.suitability(products, "Crate")


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


def test_a_million_products_with_distinct_ids() -> None:
    """Scale without a timing assertion (a busy machine would fail it): the time is
    `bench/bench_synthetic.py`'s."""
    table = sd.generate_products(1_000_000, seed=0)
    assert table.num_rows == 1_000_000
    assert pc.count_distinct(table["product_id"]).as_py() == 1_000_000


def test_cli_writes_files(tmp_path: Path) -> None:
    sd.main(["--rows", "300", "--out", str(tmp_path), "--drift", "0.2", "--rows-per-file", "500"])
    assert len(list(tmp_path.glob("part-*.parquet"))) == 3


def test_text_columns_leave_the_tabular_columns_and_labels_unchanged() -> None:
    training = sd.generate_training_set(2_000, seed=3, drift=0.3, null_label_rate=0.01)
    products = sd.generate_products(2_000, seed=3, missing_rate=0.05)
    assert _digest(training, [*TABULAR_COLUMNS, "package_type", "label"]) == GOLDEN_TRAINING_SET
    assert _digest(products, TABULAR_COLUMNS) == GOLDEN_PRODUCTS


def _has(column: pa.ChunkedArray | pa.Array, pattern: str) -> np.ndarray:
    return np.asarray(
        pc.fill_null(pc.match_substring_regex(column, pattern, ignore_case=True), False)
    )


def test_text_is_nullable_free_text_with_case_and_punctuation() -> None:
    products = sd.generate_products(20_000, seed=8)
    for name in RAW_TEXT_COLUMNS:
        column = products.column(name)
        assert 0 < column.null_count < 0.15 * products.num_rows, name
        assert pc.count_distinct(column).as_py() > 20, name
    titles = products.column("title")
    assert _has(titles, "[A-Z]").mean() > 0.9
    assert _has(products.column("category_path"), " > ").mean() > 0.8
    assert _has(products.column("description"), r"[.,:]").mean() > 0.8
    # Every product has some text to score.
    assert (pc.utf8_length(text_column(products)).to_numpy() > 0).mean() > 0.99


def test_text_mentions_the_product_attributes_with_noise() -> None:
    products = sd.generate_products(20_000, seed=8)
    text = text_column(products)
    fragile = products.column("fragility").to_numpy() >= 2
    liquid = products.column("is_liquid").to_numpy(zero_copy_only=False)
    fragile_words = _has(text, r"\b(glass|ceramic|porcelain|fragile)\b")
    liquid_words = _has(text, r"\b(bottle|liquid|ml)\b")
    assert fragile_words[fragile].mean() > 0.4 > 0.15 > fragile_words[~fragile].mean()
    assert liquid_words[liquid].mean() > 0.4 > 0.15 > liquid_words[~liquid].mean()
    # Noise: some attribute words appear where the attribute does not hold.
    assert fragile_words[~fragile].mean() > 0.005


@pytest.mark.parametrize("package_type", sd.PACKAGE_TYPES)
def test_training_text_explains_most_label_noise(package_type: str) -> None:
    table = sd.generate_training_set(20_000, seed=9, label_noise=0.05)
    rows = table.filter(pc.equal(table.column("package_type"), package_type))
    clean = sd.suitability(rows, package_type)
    label = rows.column("label").to_numpy()
    flipped = label != clean
    assert 0.04 < flipped.mean() < 0.06
    unsuitable, suitable = sd.NOISE_HINTS[package_type]
    description = rows.column("description")
    says_no = _has(description, "|".join(re.escape(p) for p in unsuitable))
    says_yes = _has(description, "|".join(re.escape(p) for p in suitable))
    # A flipped label is explained (the text says why the rules are wrong) for most rows ...
    assert says_no[flipped & (label == 0)].mean() > 0.6
    assert says_yes[flipped & (label == 1)].mean() > 0.6
    # ... and the same phrases are rare elsewhere (noise).
    assert 0 < says_no[~flipped].mean() < 0.05
    assert 0 < says_yes[~flipped].mean() < 0.05


def test_training_products_share_one_text_across_package_types() -> None:
    table = sd.generate_training_set(1_000, seed=4)
    parts = [table.filter(pc.equal(table.column("package_type"), p)) for p in sd.PACKAGE_TYPES]
    for part in parts[1:]:
        for name in RAW_TEXT_COLUMNS:
            assert part.column(name).equals(parts[0].column(name))
    assert table.equals(sd.generate_training_set(1_000, seed=4))


@pytest.mark.parametrize("package_type", sd.PACKAGE_TYPES)
def test_unexplained_noise_flips_without_hints_and_keeps_the_positive_rate(
    package_type: str,
) -> None:
    plain = sd.generate_training_set(20_000, seed=5, package_types=(package_type,))
    harder = sd.generate_training_set(
        20_000, seed=5, package_types=(package_type,), unexplained_noise=0.1
    )
    before = plain.column("label").to_numpy()
    after = harder.column("label").to_numpy()
    assert 0.08 < np.mean(before != after) < 0.12
    assert abs(after.mean() - before.mean()) < 0.01  # positives and negatives swap
    # Nothing explains the new flips: every column but the label is as it was.
    assert harder.drop_columns(["label"]).equals(plain.drop_columns(["label"]))


def test_unexplained_noise_zero_changes_nothing_and_bad_rates_are_refused() -> None:
    table = sd.generate_training_set(1_000, seed=4)
    assert sd.generate_training_set(1_000, seed=4, unexplained_noise=0.0).equals(table)
    with pytest.raises(ValueError, match="unexplained_noise"):
        sd.generate_training_set(10, seed=4, unexplained_noise=0.5)


@pytest.mark.parametrize("package_type", ["tube", "pallet", "a1-b2"])
def test_a_new_package_type_gets_a_learnable_stable_rule(package_type: str) -> None:
    """A type added to cdk.json (not one of the four with hand-written rules) still gets
    labels the rehearsal can train on: a size/weight/fragility rule its name fixes."""
    products = sd.generate_products(20_000, seed=5)
    labels = sd.suitability(products, package_type)
    again = sd.suitability(sd.generate_products(20_000, seed=5), package_type)
    assert np.array_equal(labels, again)
    assert 0.1 <= labels.mean() <= 0.6, labels.mean()
    drifted = sd.suitability(products, package_type, drift=1.0)
    assert drifted.mean() < labels.mean()  # rules tighten as the world drifts
    table = sd.generate_training_set(500, seed=1, package_types=("mailer", package_type))
    assert set(table.column("package_type").to_pylist()) == {"mailer", package_type}


def test_new_package_types_differ_from_each_other() -> None:
    products = sd.generate_products(20_000, seed=5)
    rules = {t: sd.suitability(products, t) for t in ("tube", "pallet", "crate", "envelope")}
    assert len({labels.tobytes() for labels in rules.values()}) == 4


def test_a_package_type_name_is_checked() -> None:
    products = sd.generate_products(10, seed=5)
    with pytest.raises(ValueError, match="package type 'Tube!': 1-16 lowercase letters"):
        sd.suitability(products, "Tube!")
