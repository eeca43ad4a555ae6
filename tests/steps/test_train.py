"""Architecture hgb's train.py: fits a useful model, saves it, and serving round-trips."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from pipeline_defs.architectures.hgb import train
from pipeline_defs.steps import features


@pytest.fixture(scope="module")
def model_dir(split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on the mailer split (max-iter 60)."""
    out = tmp_path_factory.mktemp("model")
    train.main(
        [
            "--train",
            str(split_dir / "train"),
            "--validation",
            str(split_dir / "validation"),
            "--model-dir",
            str(out),
            "--max-iter",
            "60",
            "--seed",
            "1",
        ]
    )
    return out


def test_model_beats_trivial_baseline(model_dir: Path) -> None:
    metadata = json.loads((model_dir / train.METADATA_FILE).read_text())
    assert metadata["validation_roc_auc"] > 0.75
    assert metadata["feature_columns"] == list(features.FEATURE_COLUMNS)
    assert metadata["hyperparameters"]["max_iter"] == 60


def test_inference_round_trip_matches_direct_prediction(model_dir: Path, split_dir: Path) -> None:
    csv_lines = (split_dir / "validation_features" / "validation.csv").read_text().splitlines()
    body = "\n".join(line.split(",", 1)[1] for line in csv_lines[:50])
    model = train.model_fn(str(model_dir))
    data = train.input_fn(body.encode(), "text/csv; charset=utf-8")
    assert data.shape == (50, len(features.FEATURE_COLUMNS))
    prediction = train.predict_fn(data, model)
    out, content_type = train.output_fn(prediction, "text/csv")
    assert content_type == "text/csv"
    values = np.array([float(v) for v in out.splitlines()])
    validation = pq.read_table(split_dir / "validation" / "validation.parquet").slice(0, 50)
    direct = model.estimator.predict_proba(features.compute_features(validation))[:, 1]
    np.testing.assert_allclose(values, direct, atol=1e-5)
    assert ((values >= 0) & (values <= 1)).all()


def test_single_row_and_plain_estimator(model_dir: Path) -> None:
    model = train.model_fn(str(model_dir))
    row = ",".join(["1"] * len(features.FEATURE_COLUMNS))
    assert train.predict_fn(train.input_fn(row, "text/csv"), model.estimator).shape == (1,)


def test_id_column_left_in_gets_a_hint(model_dir: Path) -> None:
    model = train.model_fn(str(model_dir))
    row = ",".join(["1"] * (len(features.FEATURE_COLUMNS) + 1))
    with pytest.raises(ValueError, match="id column"):
        train.predict_fn(train.input_fn(row, "text/csv"), model)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: train.input_fn("1,2", "application/json"), "unsupported content type"),
        (lambda: train.input_fn("", "text/csv"), "empty"),
        (lambda: train.input_fn("length_cm,width_cm\n1,2", "text/csv"), "header"),
        (lambda: train.output_fn(np.array([0.5]), "application/json"), "unsupported accept"),
    ],
)
def test_bad_requests_have_clear_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_missing_model_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"model\.joblib"):
        train.model_fn(str(tmp_path))


def test_single_class_training_data_is_rejected() -> None:
    with pytest.raises(ValueError, match="both labels"):
        train.fit(np.zeros((10, 3)), np.zeros(10, dtype=int), {"max_iter": 5})


def test_hyperparameters_accept_underscore_names_and_none_depth() -> None:
    args = train.parse_args(["--max_iter", "7", "--max-depth", "none", "--early-stopping", "false"])
    assert train.hyperparameters(args)["max_iter"] == 7
    assert args.max_depth is None and args.early_stopping is False


def test_model_artifact_carries_its_serving_code(model_dir: Path) -> None:
    """Batch transform imports train.py and features.py from <model>/code/."""
    code = model_dir / "code"
    assert sorted(p.name for p in code.iterdir()) == ["features.py", "train.py"]
    sources = {"train.py": Path(train.__file__), "features.py": Path(features.__file__)}
    for name, source in sources.items():
        assert (code / name).read_bytes() == source.read_bytes()


def test_missing_serving_code_is_named(tmp_path: Path) -> None:
    from pipeline_defs.architectures.hgb.train import bundle_serving_code

    with pytest.raises(FileNotFoundError, match=r"features\.py is missing"):
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "train.py").write_text("")
        bundle_serving_code(tmp_path / "model", tmp_path / "src")


# --- serving: the fast CSV reader is loadtxt's exact equal, and the fallback keeps the rest


def _loadtxt(body: str) -> np.ndarray:
    import io

    return np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float32, ndmin=2)


def test_the_fast_reader_gives_loadtxts_float32_values_bit_for_bit(split_dir: Path) -> None:
    csv_lines = (split_dir / "validation_features" / "validation.csv").read_text().splitlines()
    body = "\n".join(line.split(",", 1)[1] for line in csv_lines) + "\n"
    fast = train.read_numeric_csv(body.encode())
    assert fast is not None and fast.dtype == np.float32 and fast.flags.c_contiguous
    np.testing.assert_array_equal(fast, _loadtxt(body))
    # Arbitrary decimals too (float64 first, then float32: no double-rounding surprise).
    rng = np.random.default_rng(8)
    values = rng.normal(0, 1e3, (400, 5)) * 10.0 ** rng.integers(-8, 8, (400, 5))
    text = "\n".join(
        ",".join(f"{v:.{int(d)}g}" for v, d in zip(row, row % 9 + 9, strict=True)) for row in values
    )
    np.testing.assert_array_equal(train.read_numeric_csv(text.encode()), _loadtxt(text))


@pytest.mark.parametrize(
    "body",
    [
        "1,2\r\n3,4\r\n",
        "\n1,2\n\n3,4",
        " 1, 2\n3 ,4 \n",
        "1e5,.5\n1.,-0\n",
        "nan,inf\n-inf,+1\n",
        "7.911,1e39\n",
        "5",
    ],
)
def test_valid_bodies_parse_as_loadtxt_parses_them(body: str) -> None:
    with np.errstate(over="ignore"):
        assert train.read_numeric_csv(body.encode()) is not None
        np.testing.assert_array_equal(train.input_fn(body, "text/csv"), _loadtxt(body))


@pytest.mark.parametrize(
    "body",
    [
        "1,2\n# a comment line\n3,4\n",
        "1,2 # trailing comment\n3,4\n",
    ],
)
def test_bodies_arrow_refuses_are_read_by_loadtxt_as_before(body: str) -> None:
    assert train.read_numeric_csv(body.encode("utf-8")) is None
    np.testing.assert_array_equal(train.input_fn(body, "text/csv"), _loadtxt(body))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1,2\n3,4,5\n", "request is not numeric CSV.*number of columns changed"),
        ("1,2\n3\n", "request is not numeric CSV.*number of columns changed"),
        ("1,,2\n", "request is not numeric CSV"),
        ('"1","2"\n', "request is not numeric CSV"),
        ("1,2\nx,4\n", "request is not numeric CSV.*'x'"),
        ("1,2\n   \n3,4\n", "request is not numeric CSV.*number of columns changed"),
        ("\ufeff1,2\n3,4\n", "request is not numeric CSV"),
    ],
)
def test_malformed_rows_keep_loadtxts_error(body: str, message: str) -> None:
    assert train.read_numeric_csv(body.encode()) is None
    with pytest.raises(ValueError, match=message):
        train.input_fn(body, "text/csv")


def _six_digits(values: np.ndarray) -> str:
    """What output_fn wrote before it was vectorised: f"{value:.6g}" per line."""
    return "".join(f"{value:.6g}\n" for value in np.asarray(values).ravel())


def test_responses_keep_the_six_significant_digits_format() -> None:
    values = np.array([0.5, 1.0, 0.0, 1 / 3, 2.5e-5, 0.123456789, 0.99999951, 1e-12])
    text, _ = train.output_fn(values, "text/csv")
    assert text == _six_digits(values)
    as_float32, _ = train.output_fn(values.astype(np.float32), "text/csv")
    assert as_float32 == _six_digits(values.astype(np.float32))
    assert train.output_fn(np.array([]), "text/csv") == ("\n", "text/csv")


@pytest.mark.parametrize("seed", [1, 2])
def test_the_vectorised_format_is_the_per_value_format_exactly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ties = [float(f"0.{d:06d}5") for d in rng.integers(100_000, 999_999, 20_000)]
    edges = [1e-4, 9.999995e-5, 9.9999949e-5, 0.1, 0.09999995, 0.099999949, 0.1234565]
    edges += [1 - 1e-12, 0.9999995, 0.99999949, 12345.65, 99999.95, 99999.949, 123456.7]
    edges += [-0.25, -0.0, float("nan"), float("inf"), 5e-324, 1e300]
    for values in (
        rng.random(50_000),
        rng.random(50_000) ** 12,  # small probabilities, down to exponent notation
        (rng.random(50_000) * 2e5 - 1e5),
        np.array(ties),
        np.array(edges),
        rng.random(5_000).astype(np.float32),
    ):
        assert train.format_lines(values) == _six_digits(values)
