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
from pipeline_defs.steps import features, profile_limits, split


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


def test_unknown_package_type_is_a_rows_failure_naming_it(unload_dir: Path, tmp_path: Path) -> None:
    """No rows for the package type: a data-quality failure (the pipeline's Fail step shows
    the reason), not a crash."""
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
    quality = json.loads((tmp_path / "quality" / "quality.json").read_text())
    assert quality["passed"] is False
    assert quality["reason"] == "rows: 0 rows of package type 'crate', fewer than the minimum 1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quality"]


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


# --- label-first CSV outputs for built-in algorithms (train_csv/, validation_csv/) ---


def _shard_files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def _features_text(line: str) -> str:
    """A CSV line without its first field (the id or the label)."""
    return line.split(",", 1)[1]


def test_validation_csv_is_the_label_then_the_validation_features_line(split_dir: Path) -> None:
    labelled = (split_dir / "validation_csv" / "validation.csv").read_text().splitlines()
    with_ids = (split_dir / "validation_features" / "validation.csv").read_text().splitlines()
    labels = _labels(split_dir / "validation" / "validation.parquet")
    assert len(labelled) == len(with_ids) == len(labels)
    for line, id_line, label in zip(labelled, with_ids, labels, strict=True):
        assert line.split(",", 1)[0] == str(label)
        assert _features_text(line) == _features_text(id_line)


def test_train_csv_holds_every_train_row_in_round_robin_shards(split_dir: Path) -> None:
    files = _shard_files(split_dir / "train_csv")
    assert [f.name for f in files] == [f"part-{i:05d}.csv" for i in range(20)]  # the default
    train = pq.read_table(split_dir / "train" / "train.parquet")
    shards = [np.loadtxt(f, delimiter=",", dtype=np.float32, ndmin=2) for f in files]
    sizes = [len(s) for s in shards]
    assert sum(sizes) == train.num_rows and max(sizes) - min(sizes) <= 1
    # Row i of train.parquet is line i // 20 of shard i % 20.
    rows = np.empty((train.num_rows, 1 + len(features.FEATURE_COLUMNS)), dtype=np.float32)
    for index, shard in enumerate(shards):
        rows[index::20] = shard
    assert np.array_equal(rows[:, 0], train.column("label").to_numpy().astype(np.float32))
    assert np.array_equal(rows[:, 1:], features.compute_features(train))


def test_train_csv_lines_format_features_like_validation_features(tmp_path: Path) -> None:
    """The same formatting code: a train row's features print as its validation_features line
    would (checked by splitting one dataset with the roles of the rows swapped)."""
    table = synthetic_data.generate_training_set(400, seed=5, package_types=("box",))
    synthetic_data.write_parquet(table, tmp_path / "in", rows_per_file=1_000)
    split.run(
        package_type="box",
        validation_ratio=0.5,
        seed=1,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        train_shards=1,
    )
    train = pq.read_table(tmp_path / "out" / "train" / "train.parquet")
    expected = _csv_text(split.feature_csv_table(train)).decode().splitlines()
    lines = (tmp_path / "out" / "train_csv" / "part-00000.csv").read_text().splitlines()
    assert [_features_text(line) for line in lines] == [_features_text(e) for e in expected]
    assert {line.split(",", 1)[0] for line in lines} == {"0", "1"}


def test_never_more_shards_than_train_rows(tmp_path: Path) -> None:
    table = synthetic_data.generate_training_set(12, seed=2, package_types=("bag",))
    synthetic_data.write_parquet(table, tmp_path / "in", rows_per_file=100)
    stats = split.run(
        package_type="bag",
        validation_ratio=0.25,
        seed=42,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        train_shards=50,
        # 1 null price in 12 rows (8.3%) would fail the default 5% bound
        quality_bounds=profile_limits.QualityBounds(max_null_rate=0.1),
    )
    files = _shard_files(tmp_path / "out" / "train_csv")
    assert len(files) == stats["train_rows"] < 50
    assert all(len(f.read_text().splitlines()) == 1 for f in files)


def test_shard_count_does_not_change_the_other_outputs(unload_dir: Path, tmp_path: Path) -> None:
    for shards in (1, 7):
        split.main(
            [
                "--package-type",
                "sioc",
                "--input-dir",
                str(unload_dir),
                "--output-dir",
                str(tmp_path / str(shards)),
                "--train-shards",
                str(shards),
            ]
        )
    assert len(_shard_files(tmp_path / "1" / "train_csv")) == 1
    assert len(_shard_files(tmp_path / "7" / "train_csv")) == 7
    for name in (
        "train/train.parquet",
        "validation/validation.parquet",
        "validation_features/validation.csv",
        "validation_csv/validation.csv",
        "statistics/statistics.json",
    ):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "7" / name).read_bytes(), name
    one = (tmp_path / "1" / "train_csv" / "part-00000.csv").read_text().splitlines()
    seven = [f.read_text().splitlines() for f in _shard_files(tmp_path / "7" / "train_csv")]
    assert sorted(one) == sorted(line for shard in seven for line in shard)


@pytest.mark.parametrize("shards", ["0", "-3"])
def test_train_shards_must_be_positive(shards: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        split.parse_args(["--package-type", "box", "--train-shards", shards])
    assert "--train-shards must be at least 1" in capsys.readouterr().err


def test_train_shards_default_is_the_largest_instance_count() -> None:
    """20 = the largest training_instance_count a run file accepts: every instance of a
    distributed Train step gets at least one shard (given at least 20 train rows)."""
    assert split.parse_args(["--package-type", "box"]).train_shards == 20


def test_with_text_appends_the_same_text_column_prepare_writes(tmp_path: Path) -> None:
    """Training's transform input and inference's carry text identically (one module)."""
    from pipeline_defs.steps import features, prepare

    table = synthetic_data.generate_training_set(600, seed=5, package_types=("box",))
    synthetic_data.write_parquet(table, tmp_path / "in", rows_per_file=1_000)
    split.main(
        ["--package-type", "box", "--input-dir", str(tmp_path / "in"),
         "--output-dir", str(tmp_path / "plain")]
    )  # fmt: skip
    split.main(
        ["--package-type", "box", "--input-dir", str(tmp_path / "in"),
         "--output-dir", str(tmp_path / "text"), "--with-text"]
    )  # fmt: skip
    plain = (tmp_path / "plain" / "validation_features" / "validation.csv").read_text()
    text = (tmp_path / "text" / "validation_features" / "validation.csv").read_text()
    plain_lines, text_lines = plain.splitlines(), text.splitlines()
    assert len(plain_lines) == len(text_lines) > 0
    validation = pq.read_table(tmp_path / "text" / "validation" / "validation.parquet")
    tokens = features.text_column(validation).to_pylist()
    for before, after, expected in zip(plain_lines, text_lines, tokens, strict=True):
        assert after == f"{before},{expected or ''}"
    assert prepare.parse_args(["--package-type", "box", "--with-text"]).with_text == "true"


@pytest.mark.parametrize("with_text", ["false", "true"])
def test_champion_features_are_the_transform_rows_without_the_id(
    tmp_path: Path, with_text: str
) -> None:
    """ScoreChampion sends these rows as they are: what the champion reads, no id, same order
    as validation.parquet (so the n-th score is the n-th validation row)."""
    table = synthetic_data.generate_training_set(600, seed=5, package_types=("box",))
    synthetic_data.write_parquet(table, tmp_path / "in", rows_per_file=1_000)
    split.main(
        ["--package-type", "box", "--input-dir", str(tmp_path / "in"),
         "--output-dir", str(tmp_path / "out"), f"--with-text={with_text}",
         "--champion-with-text", with_text]
    )  # fmt: skip
    transform = (tmp_path / "out" / "validation_features" / "validation.csv").read_text()
    champion = (tmp_path / "out" / "champion_features" / "validation.csv").read_text()
    expected = [line.split(",", 1)[1] for line in transform.splitlines()]
    assert champion.splitlines() == expected


def test_champion_features_follow_the_champion_not_the_challenger(tmp_path: Path) -> None:
    table = synthetic_data.generate_training_set(600, seed=5, package_types=("box",))
    synthetic_data.write_parquet(table, tmp_path / "in", rows_per_file=1_000)
    split.main(
        ["--package-type", "box", "--input-dir", str(tmp_path / "in"),
         "--output-dir", str(tmp_path / "out"), "--champion-with-text", "true"]
    )  # fmt: skip
    plain = (tmp_path / "out" / "validation_features" / "validation.csv").read_text().splitlines()
    champion = (tmp_path / "out" / "champion_features" / "validation.csv").read_text().splitlines()
    assert len(plain) == len(champion)
    # one more field (the text) than the challenger's rows minus the id
    assert plain[0].count(",") == champion[0].count(",")


def test_without_the_flag_no_champion_features_are_written(split_dir: Path) -> None:
    assert not (split_dir / "champion_features").exists()


# --- data quality (quality/quality.json) and the drift baseline (baseline/baseline.json) ---

SPLIT_OUTPUTS = {
    "baseline",
    "quality",
    "statistics",
    "train",
    "train_csv",
    "validation",
    "validation_csv",
    "validation_features",
}


def _split(table: pa.Table, out: Path, *extra: str) -> dict:
    """split.main on `table` (package type 'box'), then quality.json."""
    synthetic_data.write_parquet(table, out.parent / f"{out.name}-in", rows_per_file=5_000)
    split.main(
        ["--package-type", "box", "--input-dir", str(out.parent / f"{out.name}-in"),
         "--output-dir", str(out), *extra]
    )  # fmt: skip
    return dict(json.loads((out / "quality" / "quality.json").read_text()))


def _with_column(table: pa.Table, name: str, values: list) -> pa.Table:
    position = table.schema.get_field_index(name)
    return table.set_column(position, name, pa.array(values, table.schema.field(name).type))


def test_a_good_extract_passes_and_writes_the_baseline(tmp_path: Path) -> None:
    table = synthetic_data.generate_training_set(1_000, seed=4, package_types=("box",))
    quality = _split(table, tmp_path / "out")
    assert quality["passed"] is True and quality["reason"] == "" and quality["failures"] == []
    assert quality["package_type"] == "box" and quality["rows"] == 1_000
    assert {p.name for p in (tmp_path / "out").iterdir()} == SPLIT_OUTPUTS
    baseline = json.loads((tmp_path / "out" / "baseline" / "baseline.json").read_text())
    assert baseline["schema_version"] == 1 and baseline["package_type"] == "box"
    assert list(baseline["features"]) == [
        "length_cm", "width_cm", "height_cm", "weight_kg", "longest_side_cm",
        "middle_side_cm", "shortest_side_cm", "volume_l", "girth_cm", "density_kg_per_l",
        "flatness", "log_price", "fragility", "is_liquid", "has_battery", "dims_missing",
        "weight_missing", "price_missing", "category",
    ]  # fmt: skip
    # over the train rows only
    stats = json.loads((tmp_path / "out" / "statistics" / "statistics.json").read_text())
    assert baseline["rows"] == stats["train_rows"] == 800
    assert sum(baseline["features"]["weight_kg"]["counts"]) == 800
    assert sum(baseline["features"]["category"]["counts"]) == 800


def test_a_bad_extract_writes_only_the_quality_report(tmp_path: Path) -> None:
    table = synthetic_data.generate_training_set(1_000, seed=4, package_types=("box",))
    weights = [1.0 if w is None else w for w in table.column("weight_kg").to_pylist()]
    bad = _with_column(table, "weight_kg", [None] * 300 + weights[300:])
    quality = _split(bad, tmp_path / "out")
    assert quality["passed"] is False
    assert quality["reason"] == (
        "weight_kg: null rate 0.3 above the bound 0.05 (300 of 1,000 rows)"
    )
    assert [f["check"] for f in quality["failures"]] == ["null_rate"]
    assert quality["null_rates"]["weight_kg"] == 0.3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["quality"]


def test_a_failed_check_exits_zero_and_prints_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = synthetic_data.generate_training_set(300, seed=4, package_types=("box",))
    labels = table.column("label").to_pylist()
    bad = _with_column(table, "label", [2, -1, 2, *labels[3:]])
    quality = _split(bad, tmp_path / "out")  # no exception: the pipeline's Fail step reports
    assert quality["reason"] == "label: 3 values not 0/1, e.g. -1, 2"
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[-1]) == {
        "package_type": "box",
        "quality": False,
        "reason": "label: 3 values not 0/1, e.g. -1, 2",
    }
    assert "Data quality check failed: label: 3 values not 0/1" in captured.err


def test_a_missing_column_is_a_quality_failure(tmp_path: Path) -> None:
    table = synthetic_data.generate_training_set(300, seed=4, package_types=("box",))
    quality = _split(table.drop_columns(["price"]), tmp_path / "out")
    assert quality["passed"] is False
    assert quality["reason"] == "price: column missing"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["quality"]


def test_repeated_ids_fail_split_exactly(tmp_path: Path) -> None:
    table = synthetic_data.generate_training_set(300, seed=4, package_types=("box",))
    ids = table.column("product_id").to_pylist()
    ids[10] = ids[200] = ids[3]
    quality = _split(_with_column(table, "product_id", ids), tmp_path / "out")
    assert quality["reason"] == f"product_id: 2 duplicate ids (allowed 0), e.g. {ids[3]!r}"
    assert quality["duplicate_ids"] == {"count": 2, "ids_checked": 300, "exact": True}


def test_null_labels_are_still_dropped_not_failed(tmp_path: Path) -> None:
    table = synthetic_data.generate_training_set(
        2_000, seed=3, null_label_rate=0.1, package_types=("box",)
    )
    quality = _split(table, tmp_path / "out")
    assert quality["passed"] is True


def test_quality_bounds_argument(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = synthetic_data.generate_training_set(300, seed=4, package_types=("box",))
    quality = _split(table, tmp_path / "out", "--quality-bounds", '{"min_rows": 1000}')
    assert quality["reason"] == "rows: 300 rows of package type 'box', fewer than the minimum 1,000"
    assert quality["bounds"]["min_rows"] == 1000
    with pytest.raises(SystemExit):
        split.parse_args(["--package-type", "box", "--quality-bounds", '{"min_row": 1}'])
    assert "--quality-bounds: quality bounds: unknown key 'min_row'" in capsys.readouterr().err
    assert (
        split.parse_args(["--package-type", "box"]).quality_bounds == profile_limits.QualityBounds()
    )
