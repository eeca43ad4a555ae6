"""The harness itself: its emulations follow the containers' documented and coded rules,
and its checks catch what they are there to catch."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.architectures import harness


def test_toolkit_arguments_follow_the_training_toolkit() -> None:
    # sagemaker-training: names sorted, values JSON-decoded then str(), sagemaker_* dropped.
    arguments = harness.toolkit_arguments(
        {
            "max_iter": "200",
            "learning_rate": "0.10",
            "early_stopping": "true",
            "objective": "binary:logistic",
            "sagemaker_program": "train.py",
        }
    )
    assert arguments == [
        "--early_stopping",
        "True",
        "--learning_rate",
        "0.1",
        "--max_iter",
        "200",
        "--objective",
        "binary:logistic",
    ]


@pytest.mark.parametrize(
    ("hyperparameters", "refusal"),
    [
        ({"num_round": "10", "max_iterations": "5"}, "Extraneous hyperparameter"),
        ({"eta": "0.1"}, "Missing required hyperparameter: num_round"),
        ({"num_round": "10.0"}, "could not parse"),
        ({"num_round": "0"}, "out of range"),
        ({"num_round": "10", "eta": "1.5"}, "out of range"),
        ({"num_round": "10", "subsample": "0"}, "out of range"),  # (0, 1]
        ({"num_round": "10", "objective": "binary:probability"}, "not accepted"),
        ({"num_round": "10", "eval_metric": "auc,roc"}, "not accepted"),
    ],
)
def test_the_xgboost_container_refusals(hyperparameters: dict[str, str], refusal: str) -> None:
    with pytest.raises(harness.ContainerRefusal, match=refusal):
        harness.xgboost_parameters(hyperparameters)


def test_xgboost_aliases_become_the_containers_names() -> None:
    converted = harness.xgboost_parameters(
        {"num_round": "5", "reg_lambda": "2", "learning_rate": "0.5", "eval_metric": "auc"}
    )
    assert converted == {"num_round": 5, "lambda": 2.0, "eta": 0.5, "eval_metric": ["auc"]}


def _write_csv(path: Path, rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(",".join(f"{v:g}" for v in row) + "\n" for row in rows))


def test_csv_channels_take_the_label_from_the_first_column(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = np.column_stack([rng.integers(0, 2, 30), rng.random((30, 4)) * 100])
    _write_csv(tmp_path / "channel" / "part-00000.csv", rows[:20])
    _write_csv(tmp_path / "channel" / "part-00001.csv", rows[20:])
    files = harness.xgboost_channel_files(tmp_path / "channel")
    matrix = harness.xgboost_csv_dmatrix(files, tmp_path / "linked")
    assert (matrix.num_row(), matrix.num_col()) == (30, 4)
    assert sorted(matrix.get_label().tolist()) == sorted(rows[:, 0].tolist())


def test_a_hidden_file_in_a_channel_is_refused(tmp_path: Path) -> None:
    _write_csv(tmp_path / "channel" / "part-00000.csv", np.ones((2, 3)))
    (tmp_path / "channel" / ".part-00000.csv.crc").write_text("x")
    with pytest.raises(harness.ContainerRefusal, match="Hidden file"):
        harness.xgboost_channel_files(tmp_path / "channel")


def test_underscore_files_are_data_unless_empty(tmp_path: Path) -> None:
    # The container's format check skips names starting with '_', but its loader links
    # every file and the CSV parser skips only empty ones (checked with 3.0-5).
    _write_csv(tmp_path / "channel" / "part-00000.csv", np.ones((2, 3)))
    _write_csv(tmp_path / "channel" / "_extra.csv", np.zeros((3, 3)))
    (tmp_path / "channel" / "_SUCCESS").write_text("")
    files = harness.xgboost_channel_files(tmp_path / "channel")
    assert [p.name for p in files] == ["_extra.csv", "part-00000.csv"]
    matrix = harness.xgboost_csv_dmatrix(files, tmp_path / "linked")
    assert matrix.num_row() == 5


def test_sharding_gives_each_instance_its_own_files_and_refuses_an_empty_one() -> None:
    files = [Path(f"part-{i:05d}.csv") for i in range(5)]
    shares = harness.assign_shards(files, 2)
    assert shares == [files[0::2], files[1::2]]
    with pytest.raises(harness.ContainerRefusal, match="no training data"):
        harness.assign_shards(files[:2], 3)


def test_the_xgboost_batch_response_has_one_line_per_row() -> None:
    import xgboost as xgb

    rng = np.random.default_rng(1)
    x = rng.random((200, 3))
    booster = xgb.train(
        {"objective": "binary:logistic", "nthread": 1},
        xgb.DMatrix(x, label=(x[:, 0] > 0.5).astype(int)),
        num_boost_round=5,
    )
    body = "".join(",".join(f"{v:g}" for v in row) + "\n" for row in x[:3])
    scores = harness.response_scores(harness.xgboost_batch_response(booster, body), 3)
    single = harness.response_scores(harness.xgboost_batch_response(booster, body.split()[2]), 1)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert harness.order_mismatches(scores, {2: single[0]}) == []


def test_a_response_with_another_line_count_is_refused() -> None:
    with pytest.raises(AssertionError, match="2 response lines for 3 request lines"):
        harness.response_scores(b"0.1\n0.2\n", 3)


def test_order_mismatches_catch_rows_answered_out_of_order() -> None:
    scores = [0.1, 0.2, 0.3, 0.4]
    singles = {0: 0.1, 3: 0.4}
    assert harness.order_mismatches(scores, singles) == []
    assert harness.order_mismatches(scores[::-1], singles) == [0, 3]


def _run_program(tmp_path: Path, source: str) -> None:
    program = tmp_path / "program.py"
    program.write_text(source)
    sandbox = [sys.executable, str(harness.SANDBOX), "run", *harness.REPOSITORY_PACKAGES]
    harness.run_checked(
        [*sandbox, "--", str(program), "--out", str(tmp_path / "out.txt")],
        cwd=tmp_path,
        env=harness.clean_environment(1),
        what="program",
    )


def test_the_sandbox_runs_a_program_like_the_toolkit(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("VALUE = 'beside the program'\n")
    _run_program(
        tmp_path,
        "import sys, helper\nopen(sys.argv[2], 'w').write(helper.VALUE + ' ' + __name__)\n",
    )
    assert (tmp_path / "out.txt").read_text() == "beside the program __main__"


def test_the_sandbox_refuses_the_repositorys_packages(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="only the code bundle"):
        _run_program(tmp_path, "import pipeline_defs.steps.features\n")


def test_packaging_keeps_the_model_directory(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "code").mkdir(parents=True)
    (model / "model.bin").write_bytes(b"\x00\x01")
    (model / "code" / "serve.py").write_text("x = 1\n")
    serving = harness.package_model(model, tmp_path / "work")
    assert (serving / "model.bin").read_bytes() == b"\x00\x01"
    assert (serving / "code" / "serve.py").read_text() == "x = 1\n"


def test_an_architecture_without_a_runner_is_named() -> None:
    xgboost = harness.architectures()["xgboost"]
    unknown = dataclasses.replace(xgboost, framework="sklearn")  # builtin sklearn: none
    with pytest.raises(LookupError, match="no contract runner for mode 'builtin'"):
        harness.runner_for(unknown)


def test_an_input_group_without_a_transform_field_is_named(tmp_path: Path) -> None:
    (tmp_path / "validation_features").mkdir()
    (tmp_path / "validation_features" / "validation.csv").write_text("P1,1,2\n")
    assert harness.TransformInput.read(tmp_path).rows == ["1,2"]
    with pytest.raises(LookupError, match="'image'"):
        harness.TransformInput.read(tmp_path, ("tabular", "image"))


def test_the_xgboost_declaration_check_catches_a_range_the_container_refuses() -> None:
    xgboost = harness.architectures()["xgboost"]
    runner = harness.XGBoostBuiltinRunner()
    folder = harness.ARCHITECTURES_DIR / "xgboost"
    runner.check_declaration(xgboost, folder)
    eta = xgboost.hyperparameter("eta")
    too_wide = dataclasses.replace(
        xgboost,
        hyperparameters=tuple(
            dataclasses.replace(h, maximum=2.0) if h is eta else h for h in xgboost.hyperparameters
        ),
    )
    with pytest.raises(AssertionError, match=r"eta=2\.0"):
        runner.check_declaration(too_wide, folder)
