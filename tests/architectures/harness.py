"""The architecture contract harness: train and serve any architecture as its container would.

Every architecture folder (`pipeline_defs/architectures/<name>/architecture.json`) gets
the same treatment from Split's real outputs:

- **train** as its container runs it: mode "script" through the SageMaker training
  toolkit's rules (`ScriptRunner`), mode "builtin" through an emulator of that
  container's algorithm (`XGBoostBuiltinRunner` for framework xgboost);
- **package** the model directory as SageMaker does (model.tar.gz, extracted again
  for serving; a built-in architecture with a serving program goes through the
  pipeline's PackageModel step, which adds its code bundle as `code/`);
- **serve** what batch transform sends (text/csv rows of `validation_features` without
  the id, `InputFilter="$[1:]"`, plus a field per further input group such as text, as
  Prepare writes it), and read back one response per request.

A new framework or mode needs a runner: a class with `check_declaration`, `check_artifact`,
`train` and `serve` (see `Runner`) registered in `RUNNERS` under (mode, framework). The
contract tests name the missing key when an architecture has none.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pkgml_contracts.architectures import Architecture, discover
from rehearsal.builtin import (
    XGBOOST_ALIASES,
    XGBOOST_CATEGORICAL,
    XGBOOST_MODEL_FILE,
    XGBOOST_NUMERIC,
    ContainerRefusal,
    assign_shards,
    train_xgboost,
    xgboost_channel_files,
    xgboost_csv_dmatrix,  # noqa: F401 (the harness tests use it from here)
    xgboost_parameters,
)

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURES_DIR = ROOT / "pipeline_defs" / "architectures"
STEPS_DIR = ROOT / "pipeline_defs" / "steps"
SANDBOX = Path(__file__).resolve().parent / "sandbox.py"
# Top-level packages of this repository: no container has them.
REPOSITORY_PACKAGES = ("pipeline_defs", "pkgml_contracts", "stacks", "tests", "ops")
CSV = "text/csv"


def architectures() -> dict[str, Architecture]:
    """Every declared architecture (discovery errors are contract failures)."""
    return discover(ARCHITECTURES_DIR)


def hyperparameter_texts(architecture: Architecture) -> dict[str, str]:
    """What the Train step passes by default: every declared hyperparameter's default as
    text, plus the fixed ones."""
    texts = {h.name: h.text(h.default) for h in architecture.hyperparameters}
    texts.update(dict(architecture.fixed_hyperparameters))
    return texts


# --- packaging and batch transform ------------------------------------------------------


def code_bundle(architecture: Architecture, target: Path) -> Path:
    """The architecture's code bundle as the pipeline ships it (flat: its programs, its
    declaration, the step modules they import; stacks.components.step_code)."""
    import shutil

    from pipeline_defs.placeholders import ARCHITECTURE_BUNDLE_PREFIX
    from stacks.components.step_code import architecture_bundles, bundle_name

    target.mkdir(parents=True)
    for path in architecture_bundles()[f"{ARCHITECTURE_BUNDLE_PREFIX}{architecture.name}"]:
        destination = target / bundle_name(path)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    return target


def package_model(model_dir: Path, work: Path, architecture: Architecture | None = None) -> Path:
    """model.tar.gz of `model_dir` (as SageMaker uploads it), extracted into a new folder.

    For a built-in `architecture` with a serving program, the archive first goes through
    the pipeline's PackageModel step (steps/package_model.py), which adds its code bundle
    as `code/`, as the model the pipeline serves."""
    from pipeline_defs.train_steps import packages_serving_code

    work.mkdir(parents=True, exist_ok=True)
    archive = work / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
    if architecture is not None and packages_serving_code(architecture):
        from pipeline_defs.steps import package_model as package_step

        trained = work / "trained"
        trained.mkdir()
        archive = archive.rename(trained / archive.name)
        package_step.package(
            trained,
            code_bundle(architecture, work / "serving_code"),
            str(architecture.serving_program),
            work / "packaged",
        )
        archive = work / "packaged" / "model.tar.gz"
    serving = work / "serving-model"
    with tarfile.open(archive) as tar:
        tar.extractall(serving, filter="data")
    return serving


def _text_fields(validation: Any) -> list[str]:
    """features.TEXT_COLUMN of the validation rows: the field Prepare appends to each line
    for an architecture with text inputs (no comma in it; may be empty)."""
    from pipeline_defs.steps import features

    return [str(v) for v in features.text_column(validation).to_pylist()]


# Input groups beyond "tabular": how a transform request line carries them (appended
# fields, in this order, after FEATURE_COLUMNS).
EXTRA_INPUT_FIELDS = {"text": _text_fields}


@dataclass(frozen=True)
class TransformInput:
    """The validation rows as batch transform sends them: ids, and request lines without
    the id (InputFilter "$[1:]"): validation_features' FEATURE_COLUMNS, then one field per
    further input group the architecture reads (as Prepare writes them at inference)."""

    ids: list[str]
    rows: list[str]

    @classmethod
    def read(cls, split_dir: Path, inputs: Sequence[str] = ("tabular",)) -> TransformInput:
        import pyarrow.parquet as pq

        lines = (split_dir / "validation_features" / "validation.csv").read_text("utf-8")
        ids, rows = zip(*(line.split(",", 1) for line in lines.splitlines()), strict=True)
        extra = [group for group in inputs if group != "tabular"]
        unknown = [group for group in extra if group not in EXTRA_INPUT_FIELDS]
        if unknown:
            raise LookupError(
                f"no transform input for input group(s) {unknown}: add to EXTRA_INPUT_FIELDS"
            )
        if not extra:
            return cls(ids=list(ids), rows=list(rows))
        validation = pq.read_table(split_dir / "validation" / "validation.parquet")
        columns = [EXTRA_INPUT_FIELDS[group](validation) for group in extra]
        joined = [",".join(fields) for fields in zip(rows, *columns, strict=True)]
        return cls(ids=list(ids), rows=joined)

    def batches(self, size: int) -> list[str]:
        """MultiRecord request bodies of `size` lines (the last may be shorter)."""
        return [
            "\n".join(self.rows[start : start + size]) + "\n"
            for start in range(0, len(self.rows), size)
        ]


def response_scores(body: bytes, expected_lines: int) -> list[float]:
    """The probabilities of one response: exactly one line per request line."""
    lines = body.decode("utf-8").splitlines()
    if len(lines) != expected_lines:
        raise AssertionError(f"{len(lines)} response lines for {expected_lines} request lines")
    return [float(line) for line in lines]


def order_mismatches(
    batch_scores: Sequence[float], single_scores: Mapping[int, float], tolerance: float = 1e-6
) -> list[int]:
    """Positions whose batch score differs from scoring that row alone: a batch answer
    out of row order (or mixed with other rows) shows up here."""
    return [
        position
        for position, score in single_scores.items()
        if abs(batch_scores[position] - score) > tolerance
    ]


def write_joined_predictions(ids: Sequence[str], scores: Sequence[float], folder: Path) -> Path:
    """The transform output as the pipeline keeps it (JoinSource=Input, OutputFilter
    "$[0,-1]"): `product_id,score` per line, in input order."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "validation.csv.out"
    path.write_text(
        "".join(f"{i},{s!r}\n" for i, s in zip(ids, scores, strict=True)), encoding="utf-8"
    )
    return path


# --- runners ----------------------------------------------------------------------------


class Runner(Protocol):
    """Trains and serves one kind of architecture the way its container does."""

    def check_declaration(self, architecture: Architecture, folder: Path) -> None:
        """Raise AssertionError if the container would refuse the declaration."""

    def check_artifact(self, architecture: Architecture, model_dir: Path) -> None:
        """Raise AssertionError if the serving container could not load the model dir."""

    def train(
        self,
        architecture: Architecture,
        folder: Path,
        data: Path,
        work: Path,
        hyperparameters: Mapping[str, str],
        *,
        hosts: int = 1,
    ) -> Path:
        """Train on Split's outputs in `data`; the last stage's model directory."""

    def serve(
        self, architecture: Architecture, model_dir: Path, bodies: Sequence[str], work: Path
    ) -> list[bytes]:
        """One response body per text/csv request body, from the packaged model."""


def run_checked(command: list[str], *, cwd: Path, env: Mapping[str, str], what: str) -> None:
    result = subprocess.run(  # noqa: S603 (this interpreter, our sandbox)
        command, cwd=cwd, env=dict(env), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{what} failed with exit code {result.returncode}:\n{result.stderr[-4000:]}"
        )


# The thread count is no part of the contract, but OpenMP threads spinning on a small
# shared test machine can make a second's work take ten: the tests' runners use one
# thread; None = the library's default (every core).
TEST_THREADS = 1


def clean_environment(threads: int | None = None, **extra: str) -> dict[str, str]:
    """This process's environment without PYTHONPATH and SM_* variables (OpenMP limited to
    `threads` if given), plus `extra`."""
    keep = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("SM_")}
    if threads is not None:
        keep["OMP_NUM_THREADS"] = str(threads)
    return keep | extra


def toolkit_arguments(hyperparameters: Mapping[str, str]) -> list[str]:
    """The command-line arguments the SageMaker training toolkit builds from the job's
    hyperparameters (sagemaker-training `environment.read_hyperparameters` and
    `mapping.to_cmd_args`): names sorted; each value JSON-decoded when it can be, then
    `str()`-ed ("true" -> "True", "0.10" -> "0.1"); `sagemaker_*` ones are the toolkit's."""
    arguments = []
    for name in sorted(hyperparameters):
        if name.startswith("sagemaker_"):
            continue
        value: Any = hyperparameters[name]
        with contextlib.suppress(ValueError, TypeError):
            value = json.loads(value)
        arguments += [f"--{name}" if len(name) > 1 else f"-{name}", str(value)]
    return arguments


class ScriptRunner:
    """Mode "script" (scikit-learn container): each stage's program in a subprocess as the
    training toolkit runs it, the serving program's functions as the serving container
    calls them. Both see only their code and the installed packages (no repository)."""

    def __init__(self, threads: int | None = TEST_THREADS) -> None:
        self.threads = threads

    def check_declaration(self, architecture: Architecture, folder: Path) -> None:
        programs = [s.program for s in architecture.stages] + [architecture.serving_program]
        missing = [p for p in programs if not (folder / str(p)).is_file()]
        assert not missing, f"{architecture.name}: programs missing from its folder: {missing}"

    def check_artifact(self, architecture: Architecture, model_dir: Path) -> None:
        program = model_dir / "code" / str(architecture.serving_program)
        assert program.is_file(), f"the model artifact lacks code/{architecture.serving_program}"

    def train(
        self,
        architecture: Architecture,
        folder: Path,
        data: Path,
        work: Path,
        hyperparameters: Mapping[str, str],
        *,
        hosts: int = 1,
    ) -> Path:
        if hosts != 1:
            raise NotImplementedError(
                f"{architecture.name} is distributed, but ScriptRunner runs one host: give "
                "it a multi-host runner (SM_HOSTS, SM_CURRENT_HOST, sharded train channel)"
            )
        previous: Path | None = None
        for stage in architecture.stages:
            model_dir = work / stage.name / "model"
            output_dir = work / stage.name / "output"
            model_dir.mkdir(parents=True)
            output_dir.mkdir(parents=True)
            channels = {"train": data / "train", "validation": data / "validation"}
            if previous is not None:
                channels["previous"] = previous
            env = clean_environment(
                self.threads,
                # The code bundle holds the program and the step modules it imports.
                PYTHONPATH=os.pathsep.join([str(folder), str(STEPS_DIR)]),
                SM_MODEL_DIR=str(model_dir),
                SM_OUTPUT_DATA_DIR=str(output_dir),
                SM_CHANNELS=json.dumps(sorted(channels)),
                SM_HPS=json.dumps(dict(hyperparameters)),
                SM_HOSTS=json.dumps(["algo-1"]),
                SM_CURRENT_HOST="algo-1",
                SM_NUM_GPUS="0",
                SM_NUM_CPUS=str(os.cpu_count() or 1),
                **{f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channels.items()},
            )
            command = [
                sys.executable,
                str(SANDBOX),
                "run",
                *REPOSITORY_PACKAGES,
                "--",
                str(folder / str(stage.program)),
                *toolkit_arguments(hyperparameters),
            ]
            run_checked(
                command, cwd=folder, env=env, what=f"{architecture.name} stage {stage.name}"
            )
            previous = model_dir
        assert previous is not None
        return previous

    def serve(
        self, architecture: Architecture, model_dir: Path, bodies: Sequence[str], work: Path
    ) -> list[bytes]:
        return serve_program(architecture, model_dir, bodies, work, threads=self.threads)


def serve_program(
    architecture: Architecture,
    model_dir: Path,
    bodies: Sequence[str],
    work: Path,
    *,
    threads: int | None,
    python: Sequence[str] = (sys.executable,),
    environment: Mapping[str, str] | None = None,
) -> list[bytes]:
    """The architecture's serving program answering `bodies` as a serving container runs
    it (sandbox.py serve: the program from the model's code/, in a fresh interpreter that
    sees only that folder and the installed packages); one response per body.

    `python`: the command that runs the interpreter (the container checks pass an image
    venv's, sandboxed); `environment`: instead of this process's (PYTHONPATH and the
    thread limit are set either way)."""
    requests, responses = work / "requests", work / "responses"
    requests.mkdir(parents=True)
    names = [f"{index:06d}" for index in range(len(bodies))]
    for name, body in zip(names, bodies, strict=True):
        (requests / name).write_text(body, encoding="utf-8")
    command = [
        *python,
        str(SANDBOX),
        "serve",
        *REPOSITORY_PACKAGES,
        "--",
        str(model_dir),
        str(architecture.serving_program),
        str(requests),
        str(responses),
    ]
    env = clean_environment(threads, PYTHONPATH=str(model_dir / "code"))
    if environment is not None:
        env = {**environment, "PYTHONPATH": env["PYTHONPATH"]}
        if threads is not None:
            env["OMP_NUM_THREADS"] = str(threads)
    run_checked(command, cwd=work, env=env, what=f"{architecture.name} serving")
    return [(responses / name).read_bytes() for name in names]


# --- the SageMaker XGBoost container 3.0-5 in algorithm mode ---------------------------

# Its training rules (hyperparameter checks, CSV channels, sharding, one model across
# hosts) are emulated in rehearsal/builtin.py, imported above: the rehearsal's executor
# trains a built-in Train step with the same code.


def xgboost_batch_response(booster: Any, body: str) -> bytes:
    """The container's own batch-transform answer to a text/csv body, when the model names
    no serving program (serve_utils + encoder: strip, sniff the delimiter, parse as float,
    predict; one value per line)."""
    import xgboost as xgb

    payload = body.strip()
    sniffed = csv.Sniffer().sniff(payload.split("\n")[0][:512]).delimiter
    delimiter = "," if sniffed.isalnum() else sniffed
    rows = [
        ["nan" if x == "" else x for x in line.split(delimiter)] for line in payload.split("\n")
    ]
    matrix = xgb.DMatrix(np.array(rows).astype(float))
    predictions = booster.predict(matrix, validate_features=False)
    return ("\n".join(map(str, predictions.tolist())) + "\n").encode("utf-8")


class XGBoostBuiltinRunner:
    """Mode "builtin", framework xgboost: an emulation of the SageMaker XGBoost container
    (3.0-5 = XGBoost 3.0.5; the library here is xgboost-cpu 3.0.5) in algorithm mode, from
    its sources: hyperparameter validation, CSV channels (label in column 0), `xgb.train`
    with the train and validation sets watched, `xgboost-model` saved by the master; on
    several hosts each loads its own shards *before* joining the collective (as the
    container does; a URI DMatrix loaded inside it would be split again by rank), then
    trains one model with them. Serving: with a declared serving program, the container's
    script mode (SAGEMAKER_PROGRAM from the model's code/, which the PackageModel step
    adds): the program's functions in a fresh interpreter, one thread (the container sets
    OMP_NUM_THREADS=1 per worker); without one, the container's own: load the model
    directory's first file, answer text/csv with one probability per line
    (SAGEMAKER_BATCH)."""

    def __init__(self, threads: int | None = TEST_THREADS) -> None:
        self.threads = threads

    def check_declaration(self, architecture: Architecture, folder: Path) -> None:
        fixed = dict(architecture.fixed_hyperparameters)
        assert fixed.get("objective") == "binary:logistic", "probabilities need binary:logistic"
        for item in architecture.hyperparameters:
            name = XGBOOST_ALIASES.get(item.name, item.name)
            known = (*XGBOOST_NUMERIC, *XGBOOST_CATEGORICAL, "eval_metric")
            assert name in known, f"the container has no hyperparameter {item.name!r}"
            if name in XGBOOST_NUMERIC:
                parses_as = XGBOOST_NUMERIC[name][0]
                assert item.type == parses_as, (
                    f"{item.name}: declared {item.type}, the container parses {parses_as}"
                )
            # Every value the schema accepts must pass the container's checks too: the
            # bounds (numbers), the choices (strings), the default.
            values = [item.default, item.minimum, item.maximum, *item.choices]
            for value in (v for v in values if v is not None):
                try:
                    xgboost_parameters({"num_round": "1", item.name: item.text(value)})
                except ContainerRefusal as error:
                    raise AssertionError(f"{item.name}={value}: {error}") from None
        xgboost_parameters(hyperparameter_texts(architecture))
        program = architecture.serving_program
        if program is not None:
            assert (folder / program).is_file(), f"serving program {program} is missing"

    def check_artifact(self, architecture: Architecture, model_dir: Path) -> None:
        names = sorted(p.name for p in model_dir.iterdir() if not p.name.startswith("."))
        program = architecture.serving_program
        if program is None:
            # The container loads the first file it lists: anything else would be a gamble.
            assert names == [XGBOOST_MODEL_FILE], f"model directory holds {names}"
            return
        # Script mode: the program loads xgboost-model by name from beside code/.
        assert names == ["code", XGBOOST_MODEL_FILE], f"model directory holds {names}"
        assert (model_dir / "code" / program).is_file(), f"the model lacks code/{program}"

    def train(
        self,
        architecture: Architecture,
        folder: Path,
        data: Path,
        work: Path,
        hyperparameters: Mapping[str, str],
        *,
        hosts: int = 1,
    ) -> Path:
        train_files = xgboost_channel_files(data / "train_csv")
        # Fully replicated: every host has all of it.
        validation_files = xgboost_channel_files(data / "validation_csv")
        shares = assign_shards(train_files, hosts) if hosts > 1 else [train_files]
        return train_xgboost(
            hyperparameters,
            [{"train": share, "validation": validation_files} for share in shares],
            work / "model",
            work,
            threads=self.threads,  # the container: every core (see TEST_THREADS)
        )

    def serve(
        self, architecture: Architecture, model_dir: Path, bodies: Sequence[str], work: Path
    ) -> list[bytes]:
        if architecture.serving_program is not None:
            # The container sets OMP_NUM_THREADS=1 unless the model's environment does.
            return serve_program(architecture, model_dir, bodies, work, threads=1)
        booster = self.load(model_dir)
        return [xgboost_batch_response(booster, body) for body in bodies]

    @staticmethod
    def load(model_dir: Path) -> Any:
        """The booster as the container's own serving loads it: the directory's first file,
        one thread per worker (the container runs a worker per CPU)."""
        import xgboost as xgb

        first = next(p for p in model_dir.iterdir() if p.is_file() and not p.name.startswith("."))
        booster = xgb.Booster()
        booster.load_model(str(first))
        booster.set_param({"nthread": 1})
        return booster


RUNNERS: dict[tuple[str, str], Runner] = {
    ("script", "sklearn"): ScriptRunner(),
    ("builtin", "xgboost"): XGBoostBuiltinRunner(),
}


def runner_for(architecture: Architecture) -> Runner:
    """The runner of an architecture's (mode, framework); a clear error if there is none."""
    key = (architecture.mode, architecture.framework)
    if key not in RUNNERS:
        raise LookupError(
            f"{architecture.name}: no contract runner for mode {key[0]!r} with framework "
            f"{key[1]!r}; add one to RUNNERS in {Path(__file__).name} (see Runner)"
        )
    return RUNNERS[key]
