"""The contract every architecture meets, run against every discovered architecture.

For each `pipeline_defs/architectures/<name>/`: the container would accept the
declaration; trained on Split's real outputs the way its container trains (harness.py),
packaged as model.tar.gz and served the way batch transform calls it, the model answers
one probability in [0, 1] per validation row, in row order, and the Evaluate step scores
it above AUC_FLOOR. A distributed architecture also trains on several instances, each
reading only its shards of the train channel.

AUC_FLOOR: on this data (4,000 generated products, package type mailer, 5% of labels
flipped) both hgb and xgboost score 0.91-0.93 across data seeds (7, 11, 23); a model that
learned nothing scores 0.5, and broken plumbing far less than 0.85 (tried on xgboost:
feature columns shifted by one at serving 0.60, a feature trained as the label 0.29,
answers out of order by one row 0.51).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pipeline_defs.steps import evaluate
from pkgml_contracts.architectures import Architecture, parse_declaration
from tests.architectures import harness

# The container saves `xgboost-model` without an extension: XGBoost 3 warns (UBJSON).
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*Saving model in the UBJSON:UserWarning"),
    # one worker builds the module's models (`make test` runs with --dist loadgroup)
    pytest.mark.xdist_group("architecture-contract"),
]

ARCHITECTURES = harness.architectures()
NAMES = sorted(ARCHITECTURES)
DISTRIBUTED = [name for name in NAMES if ARCHITECTURES[name].distributed]
# Built-in algorithms served by a program of their own (the PackageModel step ships it).
BUILTIN_PROGRAMS = [
    name
    for name in NAMES
    if ARCHITECTURES[name].mode == "builtin" and ARCHITECTURES[name].serving_program
]
AUC_FLOOR = 0.85
BATCH_LINES = 250  # rows per MultiRecord request
SINGLE_ROWS = 25  # rows also sent one per request
HOSTS = 3  # instances of the distributed run


@dataclass(frozen=True)
class Served:
    """One architecture trained, packaged and served on the validation rows."""

    architecture: Architecture
    model_dir: Path  # the packaged model, as the serving container sees it
    ids: list[str]
    batch_lines: list[int]
    batch_responses: list[bytes]
    single_positions: list[int]
    single_responses: list[bytes]


def train_and_serve(
    architecture: Architecture, data: Path, work: Path, *, hosts: int = 1
) -> Served:
    """Train (on `hosts` instances), package and serve `architecture` (see harness.py)."""
    runner = harness.runner_for(architecture)
    trained = runner.train(
        architecture,
        harness.ARCHITECTURES_DIR / architecture.name,
        data,
        work / "train",
        harness.hyperparameter_texts(architecture),
        hosts=hosts,
    )
    model_dir = harness.package_model(trained, work, architecture)
    transform = harness.TransformInput.read(data, architecture.inputs)
    batches = transform.batches(BATCH_LINES)
    positions = sorted(set(np.linspace(0, len(transform.rows) - 1, SINGLE_ROWS).astype(int)))
    singles = [transform.rows[p] for p in positions]  # no trailing newline
    responses = runner.serve(architecture, model_dir, [*batches, *singles], work / "serve")
    return Served(
        architecture=architecture,
        model_dir=model_dir,
        ids=transform.ids,
        batch_lines=[len(b.splitlines()) for b in batches],
        batch_responses=responses[: len(batches)],
        single_positions=[int(p) for p in positions],
        single_responses=responses[len(batches) :],
    )


def batch_scores(served: Served) -> list[float]:
    scores: list[float] = []
    for body, lines in zip(served.batch_responses, served.batch_lines, strict=True):
        scores += harness.response_scores(body, lines)
    return scores


def roc_auc(served: Served, data: Path, folder: Path) -> float:
    """The Evaluate step's ROC AUC of the joined transform output."""
    harness.write_joined_predictions(served.ids, batch_scores(served), folder)
    metrics = evaluate.evaluate(data / "validation", folder)["metrics"]
    assert metrics["row_count"] == len(served.ids)
    return float(metrics["roc_auc"])


@pytest.fixture(scope="module")
def all_served(
    request: pytest.FixtureRequest, split_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Served | BaseException]:
    """Every selected architecture trained and served, side by side (the work is mostly in
    subprocesses or releases the GIL): {name: Served, or the error its tests report}."""
    wanted = sorted(
        {
            item.callspec.params["served"]
            for item in request.session.items
            if "served" in getattr(getattr(item, "callspec", None), "params", {})
        }
    )
    folders = {name: tmp_path_factory.mktemp(name) for name in wanted}

    def attempt(name: str) -> Served | BaseException:
        try:
            return train_and_serve(ARCHITECTURES[name], split_data, folders[name])
        except Exception as error:  # reported by the architecture's own tests
            return error

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(wanted, pool.map(attempt, wanted), strict=True))


@pytest.fixture(scope="module", params=NAMES)
def served(request: pytest.FixtureRequest, all_served: dict[str, Served | BaseException]) -> Served:
    result = all_served[request.param]
    if isinstance(result, BaseException):
        raise result
    return result


@pytest.mark.parametrize("name", NAMES)
def test_the_declaration_round_trips_and_its_container_accepts_it(name: str) -> None:
    architecture = ARCHITECTURES[name]
    assert parse_declaration(architecture.to_json(), name) == architecture
    harness.runner_for(architecture).check_declaration(
        architecture, harness.ARCHITECTURES_DIR / name
    )


def test_the_artifact_is_what_the_serving_container_loads(served: Served) -> None:
    harness.runner_for(served.architecture).check_artifact(served.architecture, served.model_dir)


def test_one_probability_per_validation_row(served: Served) -> None:
    scores = batch_scores(served)  # one response line per request line, or it raises
    assert len(scores) == len(served.ids)
    assert all(math.isfinite(s) and 0.0 <= s <= 1.0 for s in scores)
    assert len(set(scores)) > 10  # a model, not a constant


def test_batch_answers_keep_the_row_order(served: Served) -> None:
    singles = {
        position: harness.response_scores(body, 1)[0]
        for position, body in zip(served.single_positions, served.single_responses, strict=True)
    }
    # Enough distinct scores among the sampled rows for a reordering to show.
    assert len({round(s, 6) for s in singles.values()}) >= 10
    assert harness.order_mismatches(batch_scores(served), singles) == []


def test_evaluate_scores_it_above_the_floor(
    served: Served, split_data: Path, tmp_path: Path
) -> None:
    assert roc_auc(served, split_data, tmp_path / "predictions") > AUC_FLOOR


@pytest.mark.parametrize("served", BUILTIN_PROGRAMS, indirect=True)
def test_a_builtin_models_serving_program_answers_as_the_containers_own_serving(
    served: Served, split_data: Path
) -> None:
    """Same rows, same booster: the program's probabilities are the float32 values the
    container's own serving (no SAGEMAKER_PROGRAM) would answer, line for line."""
    booster = harness.XGBoostBuiltinRunner.load(served.model_dir)
    batches = harness.TransformInput.read(split_data, served.architecture.inputs).batches(
        BATCH_LINES
    )
    container = [
        score
        for body, lines in zip(batches, served.batch_lines, strict=True)
        for score in harness.response_scores(harness.xgboost_batch_response(booster, body), lines)
    ]
    np.testing.assert_array_equal(
        np.asarray(batch_scores(served), dtype=np.float32), np.asarray(container, dtype=np.float32)
    )


@pytest.mark.parametrize("name", DISTRIBUTED)
def test_distributed_training_uses_every_instance(
    name: str, split_data: Path, tmp_path: Path
) -> None:
    served = train_and_serve(ARCHITECTURES[name], split_data, tmp_path, hosts=HOSTS)
    assert len(batch_scores(served)) == len(served.ids)
    assert roc_auc(served, split_data, tmp_path / "predictions") > AUC_FLOOR
