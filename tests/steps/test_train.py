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
