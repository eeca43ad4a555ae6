"""Architecture xgboost's serving program: the booster's answers, line for line, or a clear
refusal naming the line (never a shifted or padded row)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from pipeline_defs.architectures.xgboost import xgboost_serve as serve

# The container saves `xgboost-model` without an extension: XGBoost 3 warns (UBJSON).
pytestmark = pytest.mark.filterwarnings("ignore:.*Saving model in the UBJSON:UserWarning")

FEATURES = 6


def _booster(objective: str = "binary:logistic") -> object:
    import xgboost as xgb

    rng = np.random.default_rng(3)
    x = rng.random((400, FEATURES)).astype(np.float32)
    y = (x[:, 0] + 0.3 * x[:, 1] > 0.6).astype(int)
    return xgb.train(
        {"objective": objective, "max_depth": 3, "nthread": 1},
        xgb.DMatrix(x, label=y),
        num_boost_round=8,
    )


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory as the container's training leaves it: `xgboost-model` only."""
    folder = tmp_path_factory.mktemp("model")
    _booster().save_model(str(folder / serve.MODEL_FILE))  # type: ignore[attr-defined]
    return folder


@pytest.fixture(scope="module")
def model(model_dir: Path) -> serve.XGBoostModel:
    return serve.model_fn(str(model_dir))


def _rows(count: int, seed: int = 5) -> list[str]:
    rng = np.random.default_rng(seed)
    values = rng.random((count, FEATURES)).astype(np.float32)
    values[:, 2] = rng.integers(0, 2, count)  # whole numbers, as the flags are written
    return [",".join(repr(float(v)) if v % 1 else str(int(v)) for v in row) for row in values]


def _answer(model: serve.XGBoostModel, body: str | bytes, content_type: str = "text/csv") -> str:
    text, kind = serve.output_fn(serve.predict_fn(serve.input_fn(body, content_type), model), "*/*")
    assert kind == "text/csv"
    return text


def test_the_answers_are_the_boosters_one_per_line_in_order(model: serve.XGBoostModel) -> None:
    import xgboost as xgb

    rows = _rows(300)
    text = _answer(model, "\n".join(rows) + "\n")
    parsed = np.loadtxt(io.StringIO("\n".join(rows)), delimiter=",", dtype=np.float32)
    direct = model.booster.predict(xgb.DMatrix(parsed))
    lines = text.splitlines()
    assert len(lines) == len(rows) and text.endswith("\n")
    # Shortest text that reads back as the booster's float32 output: exact.
    np.testing.assert_array_equal(np.asarray(lines, dtype=np.float32), direct)
    singles = [float(_answer(model, row)) for row in rows[::37]]
    assert singles == [float(v) for v in lines[::37]]


@pytest.mark.parametrize(
    "body",
    [
        "{0}\n{1}",  # no final line end
        "{0}\r\n{1}\r\n",  # CRLF
        "{0}\n\n{1}\n",  # an empty line is skipped
    ],
)
def test_line_ends_do_not_change_the_rows(model: serve.XGBoostModel, body: str) -> None:
    first, second = _rows(2)
    expected = _answer(model, f"{first}\n{second}\n")
    assert _answer(model, body.format(first, second)) == expected
    assert _answer(model, body.format(first, second).encode(), "text/csv; charset=utf-8") == (
        expected
    )


def test_the_input_is_float32_as_the_container_converts_it() -> None:
    matrix = serve.input_fn("0.1,7.911,1\n3.4028235e38,-0,1e-7\n", "text/csv")
    assert matrix.dtype == np.float32 and matrix.flags.c_contiguous
    expected = np.array([[0.1, 7.911, 1], [3.4028235e38, -0.0, 1e-7]]).astype(np.float32)
    np.testing.assert_array_equal(matrix, expected)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{0}\n{0},1\n{0}\n", r"line 2: 7 field\(s\) where the first line has 6"),
        ("{0}\n{0}\n1,2,3\n", r"line 3: 3 field\(s\) where the first line has 6"),
        ("{0}\n\n{0}\n   \n", r"line 4: 1 field\(s\)"),
        ("{0}\n1,,3,4,5,6\n", "line 2, field 2: empty value"),
        ("a,b,c,d,e,f\n{0}\n", "line 1, field 1: not a number: 'a' .*header"),
        ("{0}\n1,2,3,4,5,x7\n", "line 2, field 6: not a number"),
        ("", "empty"),
        ("\n \n", "empty"),
    ],
)
def test_malformed_requests_are_refused_naming_the_line(
    model: serve.XGBoostModel, body: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        serve.predict_fn(serve.input_fn(body.format(_rows(1)[0]), "text/csv"), model)


def test_an_id_column_left_in_everywhere_gets_a_hint(model: serve.XGBoostModel) -> None:
    body = "\n".join(f"P{i},{row}" for i, row in enumerate(_rows(3)))
    with pytest.raises(ValueError, match="line 1, field 1: not a number: 'P0'"):
        serve.input_fn(body, "text/csv")
    numeric_ids = "\n".join(f"{i},{row}" for i, row in enumerate(_rows(3)))
    with pytest.raises(ValueError, match=r"expected 6 feature values per line, got 7.*id column"):
        serve.predict_fn(serve.input_fn(numeric_ids, "text/csv"), model)


def test_content_types_are_checked(model: serve.XGBoostModel) -> None:
    with pytest.raises(ValueError, match="unsupported content type"):
        serve.input_fn(_rows(1)[0], "application/json")
    with pytest.raises(ValueError, match="unsupported accept type"):
        serve.output_fn(np.array([0.5], dtype=np.float32), "application/json")
    assert serve.output_fn(np.array([], dtype=np.float32), "text/csv") == ("", "text/csv")


def test_the_model_file_and_its_objective_are_checked(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="xgboost-model"):
        serve.model_fn(str(tmp_path))
    _booster("reg:squarederror").save_model(str(tmp_path / serve.MODEL_FILE))  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="objective reg:squarederror, not binary:logistic"):
        serve.model_fn(str(tmp_path))


def test_the_feature_count_comes_from_the_booster(model: serve.XGBoostModel) -> None:
    assert model.features == FEATURES
