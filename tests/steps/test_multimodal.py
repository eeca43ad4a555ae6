"""Architecture `multimodal`: declaration, two sequential stages run as the training toolkit
runs them, one model dir served from its own code/ folder, and text that clearly helps.

The stages run in subprocesses from a flat copy of the job's code bundle (the architecture
folder's files and the step modules they import), every declared hyperparameter passed as
`--name value`, channels in SM_* variables; repository packages cannot be imported there.
The model dir is packaged as model.tar.gz and extracted again; the serving program is then
imported in a fresh, isolated interpreter (`python -I`) with ONLY the model's code/ folder
added to sys.path, and scores the validation rows as Prepare --with-text writes them (id
dropped, as batch transform's input filter does).

Measured with these hyperparameters (validation ROC AUC, 6,000 generated products,
validation ratio 0.25): mailer, the fixture's package type, tabular-only 0.915 -> multimodal
0.978 at data seed 7 (0.902 -> 0.974 at seed 11, 0.883 -> 0.978 at seed 23); the other
package types gain +0.038 (box) to +0.170 (sioc). MARGIN, 0.03, is under half of the
smallest mailer gain.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from pipeline_defs.steps import features, manifest, prepare, split
from pkgml_contracts.architectures import discover, parse_declaration

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURES = ROOT / "pipeline_defs" / "architectures"
FOLDER = ARCHITECTURES / "multimodal"
STEPS = ROOT / "pipeline_defs" / "steps"
# The step modules the stages import (the job's bundle ships them beside the programs).
STEP_MODULES = ("features.py", "split.py", "manifest.py")
REPOSITORY_PACKAGES = (
    "pipeline_defs",
    "pkgml_contracts",
    "stacks",
    "tests",
    "ops",
    "tools",
    "rehearsal",
    "lambda_src",
)
# Hyperparameters of the end-to-end run: all declared ones, some off their defaults (the
# SVD path on, fewer trees) so both stages read what they are given.
HYPERPARAMETERS = {
    "hash_bits": "16",
    "ngram_max": "2",
    "text_c": "1.0",
    "text_folds": "4",
    "text_components": "4",
    "max_iter": "150",
    "learning_rate": "0.1",
    "max_depth": "6",
    "min_samples_leaf": "20",
    "l2_regularization": "0.0",
}
MARGIN = 0.03
BATCH_LINES = 400
SINGLES = 25

# Runs a program as the training toolkit does (`python program args`, its folder first on
# sys.path), with the repository's packages made unimportable.
RUN_PROGRAM = """
import importlib.abc, runpy, sys
from pathlib import Path
blocked, program, args = set(sys.argv[1].split(",")), sys.argv[2], sys.argv[3:]
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} in a container", name=name)
sys.meta_path.insert(0, Blocked())
sys.path[0] = str(Path(program).resolve().parent)
sys.argv = [program, *args]
runpy.run_path(program, run_name="__main__")
"""

# Serves requests as the scikit-learn serving container does: the program imported from
# code/ (the only folder added to sys.path of an isolated interpreter), model_fn once, then
# input_fn -> predict_fn -> output_fn per request file. Prints the non-library modules it
# loaded, so the test can check they all came from code/.
SERVE = """
import importlib, importlib.abc, json, sys, sysconfig
from pathlib import Path
blocked = set(sys.argv[1].split(","))
model_dir, program, requests, responses = (Path(a) for a in sys.argv[2:6])
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} in a container", name=name)
sys.meta_path.insert(0, Blocked())
sys.path.insert(0, str(model_dir / "code"))
module = importlib.import_module(program.stem)
model = module.model_fn(str(model_dir))
responses.mkdir(parents=True, exist_ok=True)
for request in sorted(requests.iterdir()):
    body, kind = module.output_fn(
        module.predict_fn(module.input_fn(request.read_bytes(), "text/csv"), model), "text/csv"
    )
    (responses / request.name).write_text(body)
libraries = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
local = sorted(
    str(Path(m.__file__).resolve())
    for m in list(sys.modules.values())
    if getattr(m, "__file__", None)
    and not any(str(Path(m.__file__).resolve()).startswith(str(Path(p).resolve()))
                for p in libraries)
)
print(json.dumps(local))
"""


def _environment(**extra: str) -> dict[str, str]:
    """This environment without PYTHONPATH and SM_* variables, one BLAS thread, plus extra."""
    keep = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("SM_")}
    return keep | {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"} | extra


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 0, f"{what} failed:\n{result.stderr[-4000:]}"


def toolkit_arguments(hyperparameters: dict[str, str]) -> list[str]:
    """`--name value` as the SageMaker training toolkit passes them (sorted, JSON-decoded)."""
    arguments = []
    for name in sorted(hyperparameters):
        arguments += [f"--{name}", str(json.loads(hyperparameters[name]))]
    return arguments


def code_bundle(target: Path) -> Path:
    """The training job's code channel: the folder's programs and declaration, and the step
    modules they import, side by side."""
    target.mkdir(parents=True)
    for path in FOLDER.iterdir():
        if path.suffix in (".py", ".json"):
            shutil.copy2(path, target / path.name)
    for name in STEP_MODULES:
        shutil.copy2(STEPS / name, target / name)
    return target


def run_stage(
    code: Path,
    program: str,
    channels: dict[str, Path],
    model_dir: Path,
    hyperparameters: dict[str, str],
) -> subprocess.CompletedProcess[str]:
    """One training stage in a subprocess, as the toolkit runs it."""
    model_dir.mkdir(parents=True, exist_ok=True)
    env = _environment(
        SM_MODEL_DIR=str(model_dir),
        SM_CHANNELS=json.dumps(sorted(channels)),
        SM_HPS=json.dumps(hyperparameters),
        **{f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channels.items()},
    )
    return subprocess.run(  # noqa: S603 (this interpreter, our program)
        [
            sys.executable,
            "-c",
            RUN_PROGRAM,
            ",".join(REPOSITORY_PACKAGES),
            str(code / program),
            *toolkit_arguments(hyperparameters),
        ],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def package(model_dir: Path, work: Path) -> Path:
    """model.tar.gz of the model dir, extracted into a new folder (as SageMaker serves it)."""
    archive = work / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
    serving = work / "serving-model"
    with tarfile.open(archive) as tar:
        tar.extractall(serving, filter="data")
    return serving


@dataclass(frozen=True)
class Trained:
    """The split, both stages' model dirs and their logs."""

    data: Path
    stage_one: Path
    model_dir: Path
    logs: dict[str, str]


# One worker trains the module's model once (`make test` runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("multimodal-step")


@pytest.fixture(scope="module")
def trained(split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Stage TrainText, then stage Train with TrainText's model dir as `previous`."""
    work = tmp_path_factory.mktemp("multimodal")
    code = code_bundle(work / "code")
    channels = {"train": split_dir / "train", "validation": split_dir / "validation"}
    declaration = parse_declaration(json.loads((FOLDER / "architecture.json").read_text()))
    logs, previous = {}, None
    for stage in declaration.stages:
        model_dir = work / stage.name / "model"
        stage_channels = channels | ({"previous": previous} if previous else {})
        result = run_stage(code, str(stage.program), stage_channels, model_dir, HYPERPARAMETERS)
        _check(result, f"stage {stage.name}")
        logs[stage.name] = result.stdout
        previous = model_dir
    return Trained(split_dir, work / "TrainText" / "model", work / "Train" / "model", logs)


@dataclass(frozen=True)
class Served:
    """Validation rows as Prepare --with-text writes them, scored by the packaged model."""

    ids: list[str]
    rows: list[str]  # without the id
    labels: np.ndarray
    batch: list[float]  # every row, from MultiRecord requests
    singles: dict[int, float]  # some rows, one request each
    reversed_batch: list[float]  # the first BATCH_LINES rows in reverse order, one request
    modules: list[str]  # local modules the serving interpreter loaded
    code_dir: Path  # the packaged model's code/ folder


def _scores(body: str, lines: int) -> list[float]:
    values = body.splitlines()
    assert len(values) == lines, f"{len(values)} response lines for {lines} request lines"
    return [float(v) for v in values]


@pytest.fixture(scope="module")
def served(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Served:
    work = tmp_path_factory.mktemp("serve")
    prepare.run(
        package_type="mailer",
        target_file_bytes=64 * 1024 * 1024,
        input_dir=trained.data / "validation",
        output_dir=work / "features",
        summary_dir=work / "summary",
        rejected_dir=work / "rejected",
        workers=1,
        shard=manifest.WHOLE,
        with_text=True,
    )
    lines = [
        line
        for path in sorted((work / "features").glob("*.csv"))
        for line in path.read_text().splitlines()
    ]
    ids, rows = (list(part) for part in zip(*(line.split(",", 1) for line in lines), strict=True))
    validation = pq.read_table(trained.data / "validation" / "validation.parquet")
    assert ids == validation.column("product_id").to_pylist()
    requests = work / "requests"
    requests.mkdir()
    batches = [rows[start : start + BATCH_LINES] for start in range(0, len(rows), BATCH_LINES)]
    for index, batch in enumerate(batches):
        (requests / f"a{index:04d}").write_text("\n".join(batch) + "\n")
    positions = sorted(set(np.linspace(0, len(rows) - 1, SINGLES).astype(int).tolist()))
    for position in positions:
        (requests / f"b{position:06d}").write_text(rows[position])  # no trailing newline
    (requests / "c").write_text("\n".join(reversed(rows[:BATCH_LINES])) + "\n")
    model_dir = package(trained.model_dir, work)
    result = subprocess.run(  # noqa: S603 (this interpreter, our script)
        [
            sys.executable,
            "-I",
            "-c",
            SERVE,
            ",".join(REPOSITORY_PACKAGES),
            str(model_dir),
            "multimodal_serve.py",
            str(requests),
            str(work / "responses"),
        ],
        cwd=work,
        env=_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    _check(result, "serving")
    responses = work / "responses"
    batch: list[float] = []
    for index, rows_in_batch in enumerate(batches):
        batch += _scores((responses / f"a{index:04d}").read_text(), len(rows_in_batch))
    return Served(
        ids=ids,
        rows=rows,
        labels=split.labels_as_int(validation),
        batch=batch,
        singles={p: _scores((responses / f"b{p:06d}").read_text(), 1)[0] for p in positions},
        reversed_batch=_scores((responses / "c").read_text(), BATCH_LINES),
        modules=json.loads(result.stdout.splitlines()[-1]),
        code_dir=(model_dir / "code").resolve(),
    )


@pytest.fixture(scope="module")
def tabular_auc(split_dir: Path) -> float:
    """Validation ROC AUC of the tabular-only model (the same classifier settings)."""
    from threadpoolctl import threadpool_limits

    train = pq.read_table(split_dir / "train" / "train.parquet")
    validation = pq.read_table(split_dir / "validation" / "validation.parquet")
    with threadpool_limits(1):  # as the stages run (OMP_NUM_THREADS=1): no oversubscription
        model = HistGradientBoostingClassifier(
            max_iter=int(HYPERPARAMETERS["max_iter"]),
            learning_rate=float(HYPERPARAMETERS["learning_rate"]),
            max_depth=int(HYPERPARAMETERS["max_depth"]),
            min_samples_leaf=int(HYPERPARAMETERS["min_samples_leaf"]),
            random_state=42,
        ).fit(features.compute_features(train), split.labels_as_int(train))
        scores = model.predict_proba(features.compute_features(validation))[:, 1]
    return float(roc_auc_score(split.labels_as_int(validation), scores))


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The architecture's modules imported from its folder (as a job imports them); the
    top-level modules this adds (they and features, split, manifest) are removed after."""
    import importlib

    from threadpoolctl import threadpool_limits

    before = set(sys.modules)
    monkeypatch.syspath_prepend(str(FOLDER))  # sys.path is restored afterwards
    names = ("multimodal_common", "multimodal_training", "multimodal_train", "multimodal_serve")
    with threadpool_limits(1):
        yield {name: importlib.import_module(name) for name in names}
    for name in set(sys.modules) - before:
        if "." not in name and name not in ("sklearn", "joblib", "scipy"):
            del sys.modules[name]


# --- declaration --------------------------------------------------------------------------


def test_declaration_parses_and_its_name_is_its_folder() -> None:
    document = json.loads((FOLDER / "architecture.json").read_text())
    architecture = parse_declaration(document, "multimodal/architecture.json")
    assert architecture.name == FOLDER.name == "multimodal"
    assert discover(ARCHITECTURES)["multimodal"] == architecture
    assert (architecture.framework, architecture.framework_version) == ("sklearn", "1.9-0")
    assert architecture.mode == "script" and architecture.processors == ("cpu",)
    assert architecture.distributed is False and architecture.spot is False
    assert architecture.inputs == ("tabular", "text")
    assert [(s.name, s.program) for s in architecture.stages] == [
        ("TrainText", "multimodal_text.py"),
        ("Train", "multimodal_train.py"),
    ]
    assert architecture.serving_program == "multimodal_serve.py"
    assert architecture.fixed_hyperparameters == ()
    for program in [s.program for s in architecture.stages] + [architecture.serving_program]:
        assert (FOLDER / str(program)).is_file()
    assert set(architecture.defaults()) == set(HYPERPARAMETERS)
    assert architecture.validate({k: json.loads(v) for k, v in HYPERPARAMETERS.items()})


def test_programs_take_their_hyperparameters_from_the_declaration(
    in_process: dict[str, Any],
) -> None:
    training = in_process["multimodal_training"]
    architecture = discover(ARCHITECTURES)["multimodal"]
    args = training.parse_args([], "test")
    assert {h.name: getattr(args, h.name) for h in architecture.hyperparameters} == (
        architecture.defaults()
    )
    dashed = training.parse_args(["--max-iter", "7", "--text_c", "0.5"], "test")
    assert (dashed.max_iter, dashed.text_c) == (7, 0.5)
    for argv in (["--hash_bits", "30"], ["--text_c", "0"], ["--max_iter", "1.5"]):
        with pytest.raises(SystemExit):
            training.parse_args(argv, "test")


# --- training -----------------------------------------------------------------------------


def test_stage_one_writes_the_text_representation_only(trained: Trained, split_dir: Path) -> None:
    names = {p.name for p in trained.stage_one.iterdir()}
    assert names == {"text_model.joblib", "text_train_scores.parquet", "text_metadata.json"}
    scores = pq.read_table(trained.stage_one / "text_train_scores.parquet")
    train = pq.read_table(split_dir / "train" / "train.parquet")
    assert scores.column("product_id").equals(train.column("product_id"))
    metadata = json.loads((trained.stage_one / "text_metadata.json").read_text())
    assert metadata["stage"] == "TrainText"
    assert metadata["hyperparameters"]["hash_bits"] == 16
    assert metadata["text_features"] == ["text_score", *(f"text_svd_{i}" for i in range(4))]
    # The text alone already predicts the label (out of fold and on validation rows).
    assert metadata["out_of_fold_roc_auc"] > 0.7 and metadata["validation_roc_auc"] > 0.7
    assert "text:validation_roc_auc=" in trained.logs["TrainText"]


def test_model_dir_holds_both_stages_and_the_serving_code(trained: Trained) -> None:
    names = {p.name for p in trained.model_dir.iterdir()}
    assert names == {
        "classifier.joblib",
        "text_model.joblib",
        "text_metadata.json",
        "model_metadata.json",
        "code",
    }
    code = trained.model_dir / "code"
    assert {p.name for p in code.iterdir()} == {
        "multimodal_serve.py",
        "multimodal_common.py",
        "features.py",
    }
    for path in code.iterdir():
        source = STEPS / path.name if path.name == "features.py" else FOLDER / path.name
        assert path.read_bytes() == source.read_bytes(), path.name
    assert (trained.model_dir / "text_model.joblib").read_bytes() == (
        trained.stage_one / "text_model.joblib"
    ).read_bytes()
    metadata = json.loads((trained.model_dir / "model_metadata.json").read_text())
    assert metadata["input_columns"] == [*features.FEATURE_COLUMNS, "text_tokens"]
    assert metadata["feature_columns"][-5:] == ["text_score", *(f"text_svd_{i}" for i in range(4))]
    assert metadata["classifier_params"]["max_iter"] == 150
    assert metadata["text_stage"]["stage"] == "TrainText"
    assert "validation:roc_auc=" in trained.logs["Train"]


def test_stage_two_without_stage_one_fails_naming_it(split_dir: Path, tmp_path: Path) -> None:
    code = code_bundle(tmp_path / "code")
    (tmp_path / "empty").mkdir()
    result = run_stage(
        code,
        "multimodal_train.py",
        {"train": split_dir / "train", "previous": tmp_path / "empty"},
        tmp_path / "model",
        HYPERPARAMETERS,
    )
    assert result.returncode != 0
    assert "TrainText" in result.stderr and "previous" in result.stderr


def test_stage_two_reads_stage_one_as_a_tarball_too(
    trained: Trained, tmp_path: Path, in_process: dict[str, Any]
) -> None:
    train = in_process["multimodal_train"]
    channel = tmp_path / "previous"
    channel.mkdir()
    with tarfile.open(channel / "model.tar.gz", "w:gz") as tar:
        for path in sorted(trained.stage_one.iterdir()):
            tar.add(path, arcname=path.name)
    (tmp_path / "scratch").mkdir()
    folder = train.stage_one_dir(channel, tmp_path / "scratch")
    assert (folder / "text_model.joblib").read_bytes() == (
        trained.stage_one / "text_model.joblib"
    ).read_bytes()
    assert train.stage_one_dir(trained.stage_one, tmp_path / "unused") == trained.stage_one


def test_stage_two_refuses_scores_of_other_rows(
    trained: Trained, split_dir: Path, in_process: dict[str, Any]
) -> None:
    train = in_process["multimodal_train"]
    ids = pq.read_table(split_dir / "train" / "train.parquet").column("product_id").to_pylist()
    assert len(train.train_scores(trained.stage_one, ids)) == len(ids)
    with pytest.raises(ValueError, match="same train channel"):
        train.train_scores(trained.stage_one, ids[::-1])


# --- serving ------------------------------------------------------------------------------


def test_serving_loads_only_the_models_code_folder(served: Served) -> None:
    assert {Path(m).name for m in served.modules} >= {
        "multimodal_serve.py",
        "multimodal_common.py",
        "features.py",
    }
    assert all(Path(m).is_relative_to(served.code_dir) for m in served.modules), served.modules


def test_one_probability_per_row_in_request_order(served: Served) -> None:
    assert len(served.batch) == len(served.rows) == len(served.labels)
    assert all(0.0 <= s <= 1.0 for s in served.batch)
    assert len({round(s, 4) for s in served.batch}) > 50
    assert len({round(s, 6) for s in served.singles.values()}) >= 10
    assert {p: served.batch[p] for p in served.singles} == pytest.approx(served.singles, abs=1e-6)
    assert served.reversed_batch[::-1] == pytest.approx(served.batch[:BATCH_LINES], abs=1e-6)


def test_text_makes_the_model_clearly_better(served: Served, tabular_auc: float) -> None:
    multimodal_auc = float(roc_auc_score(served.labels, served.batch))
    print(f"validation ROC AUC: tabular-only {tabular_auc:.4f}, multimodal {multimodal_auc:.4f}")
    assert tabular_auc > 0.85  # a sound baseline, not a strawman
    assert multimodal_auc > tabular_auc + MARGIN


def test_input_errors_name_the_layout(trained: Trained, in_process: dict[str, Any]) -> None:
    serve = in_process["multimodal_serve"]
    model = serve.model_fn(str(trained.model_dir))
    width = len(features.FEATURE_COLUMNS)
    numbers = ",".join(["1"] * width)
    with pytest.raises(ValueError, match="text_tokens column missing"):
        serve.input_fn(numbers, "text/csv")
    with pytest.raises(ValueError, match="id column"):
        serve.input_fn(f"p1,{numbers},glass", "text/csv")
    with pytest.raises(ValueError, match="header"):
        serve.input_fn(",".join([*features.FEATURE_COLUMNS, "text_tokens"]), "text/csv")
    with pytest.raises(ValueError, match="unsupported content type"):
        serve.input_fn(f"{numbers},glass", "application/json")
    with pytest.raises(ValueError, match="empty"):
        serve.input_fn("\n", "text/csv")
    with pytest.raises(ValueError, match="unsupported accept"):
        serve.output_fn(np.array([0.5]), "application/json")
    rows = serve.input_fn(f"{numbers},\n{numbers},Glass VASE! ", "text/csv; charset=utf-8")
    assert rows.tokens == ["", "glass vase"] and rows.tabular.shape == (2, width)
    assert serve.predict_fn(rows, model).shape == (2,)


def test_serving_normalises_text_as_training_does(
    trained: Trained, served: Served, in_process: dict[str, Any]
) -> None:
    serve = in_process["multimodal_serve"]
    model = serve.model_fn(str(trained.model_dir))
    validation = pq.read_table(trained.data / "validation" / "validation.parquet").slice(0, 50)
    numbers = [row.rsplit(",", 1)[0] for row in served.rows[:50]]
    raw = [
        " / ".join(str(v or "") for v in (r["title"], r["category_path"], r["description"]))
        for r in validation.select(list(features.RAW_TEXT_COLUMNS)).to_pylist()
    ]
    # Raw text (commas removed: it must stay one CSV field) scores like the tokens Prepare wrote.
    body = "\n".join(f"{n},{t.replace(',', ' ')}" for n, t in zip(numbers, raw, strict=True))
    direct = serve.predict_fn(serve.input_fn(body, "text/csv"), model)
    assert direct.tolist() == pytest.approx(served.batch[:50], abs=1e-6)


def test_tokens_in_requests_are_the_shared_text_column(served: Served, trained: Trained) -> None:
    validation = pq.read_table(trained.data / "validation" / "validation.parquet")
    assert [row.rsplit(",", 1)[1] for row in served.rows] == features.text_column(
        validation
    ).to_pylist()
    assert pa.array([row.count(",") for row in served.rows]).unique().to_pylist() == [
        len(features.FEATURE_COLUMNS)
    ]


def test_the_fast_reader_reads_requests_as_the_line_parser_does(
    served: Served, in_process: dict[str, Any]
) -> None:
    serve = in_process["multimodal_serve"]
    fields = len(features.FEATURE_COLUMNS) + 1
    body = "\n".join(served.rows) + "\n"
    assert serve._read_rows(body, fields) is not None
    fast = serve.input_fn(body, "text/csv")
    # A whitespace-only line: Arrow's reader refuses the body, the line parser skips it.
    slow_body = "  \n" + body
    assert serve._read_rows(slow_body, fields) is None
    slow = serve.input_fn(slow_body, "text/csv")
    assert fast.tabular.dtype == np.float32
    np.testing.assert_array_equal(fast.tabular, slow.tabular)
    assert fast.tokens == slow.tokens
    # Line breaks Arrow's reader does not know, and a byte-order mark: the line parser.
    for odd in ("\u2028", "\x0c"):
        assert serve._read_rows(body.replace("\n", odd, 1), fields) is None
    assert serve._read_rows("\ufeff" + body, fields) is None


def test_responses_keep_the_six_significant_digits_format(in_process: dict[str, Any]) -> None:
    serve = in_process["multimodal_serve"]
    values = np.array([0.5, 1.0, 0.0, 1 / 3, 2.5e-5, 0.123456789, 0.99999951, 1e-12])
    assert serve.output_fn(values, "text/csv") == (
        "".join(f"{value:.6g}\n" for value in values),
        "text/csv",
    )
