"""The rehearsal scenario: its plans and flags (fast), and one end-to-end run (`-m rehearsal`
selects it, `-m "not rehearsal"` skips it).

The end-to-end test runs the cross-architecture plan, which holds every check of the
standard one and more: week 1 hgb approved (first model), day-1 inference by it and the
same run again (no duplicates, cached Prepare), week 2 a multimodal challenger approved
over it, day-2 inference by the multimodal package (its container, serving code and text
column), week 3 a built-in XGBoost challenger (two emulated hosts) on drifted, noisy data
rejected with the gate's reasons, champion unchanged; then the same-data gate both ways:
week 4 multimodal on harder data (more labels flipped, unexplained) approved on the same
rows although the stored comparison would have rejected it, week 5 a weak multimodal
model (one split) on clean data rejected on the same rows although the stored comparison
would have approved it (both read from decision.json); day 3 a drifted batch under
DriftAction=block loads nothing (earlier rows kept), week 6 a broken extract stops at the
data-quality check. The standard plan (`make rehearse`)
runs the same week and day code with one architecture. Durations are reported, never
asserted: `make bench` is where durations are measured.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from rehearsal import plan as plan_module
from rehearsal import scenario
from rehearsal.__main__ import configs, copy_reports, parse_args
from rehearsal.gate_scores import gate_scores
from rehearsal.plan import (
    APPROVE,
    BROKEN,
    CLEAN,
    DEGRADED,
    EASIER,
    HARDER,
    REJECT,
    STOPPED,
    WEAK_HYPERPARAMETERS,
    InferenceDay,
    ScenarioConfig,
    TrainingWeek,
    check_config,
    plan,
    weak_hyperparameters,
)
from rehearsal.scenario import run_scenario
from rehearsal.setup import names, prepare_workdir


def test_the_standard_plan_trains_one_architecture_twice_then_infers_twice() -> None:
    items = plan(ScenarioConfig(workdir=Path("w"), architecture="multimodal"))
    assert [item.label for item in items] == [
        "week 1 training",
        "week 2 training (drifted, noisy labels)",
        "daily inference",
        "daily inference again (same RunId)",
        "daily inference (drifted batch, DriftAction=block)",
        "week 3 training (broken extract: no weight_kg)",
    ]
    weeks = [item for item in items if isinstance(item, TrainingWeek)]
    assert [(w.architecture, w.data, w.expect) for w in weeks] == [
        ("multimodal", CLEAN, APPROVE),
        ("multimodal", DEGRADED, REJECT),
        ("multimodal", BROKEN, STOPPED),
    ]
    days = [item for item in items if isinstance(item, InferenceDay)]
    assert [(d.key, d.repeat, d.drift, d.drift_action) for d in days] == [
        ("day-1", False, 0.0, ""),
        ("day-1", True, 0.0, ""),
        ("day-2", False, 1.0, "block"),
    ]


def test_the_cross_architecture_plan_changes_champion_rejects_then_judges_on_same_rows() -> None:
    items = plan(ScenarioConfig(workdir=Path("w"), cross_architectures=("hgb", "xgboost")))
    weeks = [item for item in items if isinstance(item, TrainingWeek)]
    assert [(w.architecture, w.expect, w.stored_verdict) for w in weeks] == [
        ("hgb", APPROVE, ""),
        ("xgboost", APPROVE, ""),
        ("hgb", REJECT, ""),  # C defaults to A
        # the same-data gate both ways, with B (the champion's architecture)
        ("xgboost", APPROVE, REJECT),
        ("xgboost", REJECT, APPROVE),
        # the data checks: a broken extract stops before training
        ("xgboost", STOPPED, ""),
    ]
    assert [w.data for w in weeks] == [CLEAN, "comparable", DEGRADED, HARDER, EASIER, BROKEN]
    assert weeks[1].seed == weeks[0].seed != weeks[2].seed  # the same products: comparable
    assert len({w.seed for w in weeks}) == 5  # weeks 3 to 6: new products each
    assert weeks[1].key != weeks[0].key  # extracted again, its own manifest and RunId
    assert [w.hyperparameters for w in weeks] == (
        [()] * 4 + [weak_hyperparameters("xgboost")] + [()]
    )
    assert [type(item).__name__[0] for item in items] == [
        "T", "I", "I", "T", "I", "T", "T", "T", "I", "T",
    ]  # fmt: skip
    day3 = items[-2]
    assert isinstance(day3, InferenceDay)
    assert (day3.drift, day3.drift_action, day3.repeat) == (1.0, "block", False)
    third = plan(
        ScenarioConfig(workdir=Path("w"), cross_architectures=("hgb", "xgboost", "multimodal"))
    )
    assert [i.architecture for i in third if isinstance(i, TrainingWeek)][2] == "multimodal"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"architecture": "lightgbm"}, "unknown architecture"),
        ({"cross_architectures": ("hgb", "hgb")}, "B different from A"),
        ({"cross_architectures": ("hgb",)}, "A,B or A,B,C"),
        ({"package_types": ("Crate",)}, "each 1-16 lowercase letters"),
        ({"package_types": ()}, "give at least one"),
        ({"training_instance_count": 0}, "at least 1"),
        ({"harder_noise": 0.5}, "label noise"),
    ],
)
def test_unusable_configurations_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_config(ScenarioConfig(workdir=Path("w"), **changes))  # type: ignore[arg-type]


def test_weak_hyperparameters_are_declared_and_accepted_by_every_architecture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline_defs.architectures import architectures

    known = architectures()
    assert set(WEAK_HYPERPARAMETERS) <= set(known)
    for name, architecture in known.items():
        declared = {h.name: h for h in architecture.hyperparameters}
        weak = weak_hyperparameters(name)
        assert weak, name
        for key, text in weak:
            item = declared[key]  # a declared hyperparameter (KeyError otherwise)
            value = int(text) if item.type == "integer" else float(text)
            assert item.check(value, f"{name}.{key}") == value
    # An architecture without an entry: every integer hyperparameter at its minimum.
    monkeypatch.setattr(plan_module, "WEAK_HYPERPARAMETERS", {})
    assert weak_hyperparameters("hgb") == (("max_iter", "1"), ("max_depth", "1"))


def _decision(**changes: object) -> dict[str, object]:
    """A decision.json as Compare writes it (a champion; the same-data check passed)."""
    checks = [
        {"name": "min_score", "passed": True, "skipped": False},
        {"name": "max_score_drop", "passed": True, "skipped": False},
        {"name": "max_label_shift", "passed": True, "skipped": False},
    ]
    document: dict[str, object] = {
        "decision": "approve",
        "comparison": "same_data",
        "challenger_score": 0.801,
        "champion_score": 0.893,
        "criteria": {"max_score_drop": 0.02, "min_score": 0.7},
        "tolerance": 1e-9,
        "checks": checks,
        "same_data": {
            "challenger_score": 0.801,
            "champion_score": 0.797,
            "difference": 0.004,
            "interval": [-0.03, 0.038],
            "confidence": 0.95,
            "rows": 1200,
        },
    }
    document.update(changes)
    return document


def test_gate_scores_show_the_stored_and_the_same_data_comparison() -> None:
    scores = gate_scores(_decision())
    assert scores is not None
    assert scores.stored_drop == pytest.approx(0.092)
    assert scores.stored_verdict == REJECT  # a drop of 0.092 over the 0.02 limit
    assert scores.text() == (
        "stored: champion 0.893 (its own week) vs challenger 0.801 -> drop +0.092, over the "
        "0.020 limit; same rows: challenger 0.801 vs champion 0.797 on 1,200 rows, "
        "difference +0.004, 95 % interval [-0.030, +0.038]; judged on the same rows"
    )


def test_gate_scores_say_what_the_stored_comparison_would_have_decided() -> None:
    within = gate_scores(_decision(challenger_score=0.88))
    assert within is not None and within.stored_verdict == APPROVE
    at_the_limit = gate_scores(_decision(champion_score=0.90, challenger_score=0.88))
    assert at_the_limit is not None and at_the_limit.stored_verdict == APPROVE
    assert "drop +0.020, within the 0.020 limit" in at_the_limit.text()
    # Another check failed: the stored comparison would have rejected too.
    failed = _decision(challenger_score=0.88)
    failed["checks"] = [
        {"name": "max_score_drop", "passed": False, "skipped": False},
        {"name": "max_label_shift", "passed": False, "skipped": False},
    ]
    assert (scores := gate_scores(failed)) is not None and scores.stored_verdict == REJECT
    # Skipped checks do not count.
    skipped = _decision(challenger_score=0.88)
    skipped["checks"] = [{"name": "max_input_size_change", "passed": False, "skipped": True}]
    assert (scores := gate_scores(skipped)) is not None and scores.stored_verdict == APPROVE


def test_gate_scores_without_same_data_scores_or_a_champion() -> None:
    stored = gate_scores(_decision(comparison="stored", same_data=None))
    assert stored is not None
    assert stored.text().endswith("same rows: not measured; judged on the stored scores")
    assert gate_scores(_decision(champion_score=None, same_data=None)) is None  # first model
    assert gate_scores({}) is None  # Compare did not run


def test_a_week_detail_names_the_failed_checks_and_shows_both_comparisons() -> None:
    from rehearsal.executor import ExecutionRecord

    record = ExecutionRecord("p", "e", "arn", {}, {})
    rejected = _decision(decision="reject")
    rejected["checks"] = [
        {"name": "max_score_drop", "passed": False, "skipped": False, "message": "drop"},
        {"name": "max_label_shift", "passed": False, "skipped": False, "message": "shift 0.2"},
    ]
    scores = gate_scores(rejected)
    assert scores is not None
    assert scenario._decision_detail(rejected, record, scores) == (
        "decision reject (failed: max_score_drop, max_label_shift): shift 0.2 | " + scores.text()
    )
    approved = _decision()
    assert scenario._decision_detail(approved, record, gate_scores(approved)) == (
        "decision approve | " + scores.text()
    )
    first = {"decision": "approve", "reasons": ["first model of the group"]}
    assert scenario._decision_detail(first, record) == (
        "decision approve: first model of the group"
    )


def test_pipelines_are_named_as_the_ml_stack_names_them() -> None:
    """The configured architecture trains in the package type's pipeline, others in
    '<it>-<architecture>'; every one registers into the package type's group."""
    assert names("mailer") == {
        "training": "pkgml-rehearsal-mailer-training",
        "inference": "pkgml-rehearsal-mailer-inference",
        "group": "pkgml-rehearsal-mailer",
    }
    assert names("mailer", "xgboost")["training"] == "pkgml-rehearsal-mailer-training-xgboost"
    assert names("mailer", "xgboost")["group"] == "pkgml-rehearsal-mailer"


def test_flags() -> None:
    default = configs(parse_args([]), Path("w"))
    assert [(label, c.architecture, c.cross_architectures) for label, c in default] == [
        ("hgb", "hgb", ())
    ]
    cross = configs(parse_args(["--cross-architecture"]), Path("w"))
    assert cross[0][1].cross_architectures == ("hgb", "multimodal")
    chosen = configs(parse_args(["--cross-architecture", "hgb,xgboost"]), Path("w"))
    assert chosen[0][1].cross_architectures == ("hgb", "xgboost")
    every = configs(parse_args(["--all-architectures", "--rows", "500"]), Path("w"))
    assert [label for label, _ in every] == ["hgb", "multimodal", "xgboost"]
    assert {c.workdir for _, c in every} == {
        Path("w") / n for n in ("hgb", "multimodal", "xgboost")
    }
    assert {c.training_rows for _, c in every} == {500}
    with pytest.raises(SystemExit):
        parse_args(["--architecture", "hgb", "--all-architectures"])
    with pytest.raises(SystemExit):
        parse_args(["--cross-architecture", "hgb"])


def test_package_types_follow_cdk_json(monkeypatch) -> None:
    """The rehearsal offers cdk.json's package_types; one added there can be rehearsed."""
    import rehearsal.__main__ as cli
    from rehearsal.plan import configured_package_types

    assert configured_package_types() == ("mailer", "bag", "box", "sioc")
    monkeypatch.setattr(cli, "configured_package_types", lambda: ("mailer", "tube"))
    ((_, tube),) = configs(parse_args(["--package-type", "tube"]), Path("w"))
    assert tube.package_types == ("tube",)
    ((_, every),) = configs(parse_args(["--all"]), Path("w"))
    assert every.package_types == ("mailer", "tube")
    assert configs(parse_args([]), Path("w"))[0][1].package_types == ("mailer",)
    with pytest.raises(SystemExit):
        parse_args(["--package-type", "crate"])  # not configured


def test_a_bad_package_type_name_is_refused() -> None:
    from rehearsal.plan import ScenarioConfig, check_config

    with pytest.raises(ValueError, match="each 1-16 lowercase letters"):
        check_config(ScenarioConfig(workdir=Path("w"), package_types=("Tube",)))


def _faithful_reason() -> str | None:
    """None when the faithful mode can run here, else why not."""
    from containers import images, sandbox

    reason = sandbox.unavailable()
    if reason:
        return reason
    missing = sorted(
        {i.python for i in images.images().values() if images.find_python(i.python) is None}
    )
    return f"Python {', '.join(missing)} not installed" if missing else None


@pytest.mark.rehearsal
@pytest.mark.slow
def test_rehearsal_cross_architecture_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """See the module doc; small data (1,200 products a week, 300 a day).

    Faithful where this machine can (`--faithful`: every step in its image's own Python
    and packages, offline; containers/), else emulated, with a warning that says so."""
    # One OpenMP thread per step: two pytest workers share two cores, and spinning
    # OpenMP threads on a busy machine turn seconds of training into tens.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    faithful = _faithful_reason() is None
    images_used: list[str] = []
    if faithful:
        import containers.faithful

        real = containers.faithful.interpreter

        def recording() -> Any:
            command = real()

            def run(image: str) -> list[str]:
                images_used.append(image)
                return command(image)

            return run

        monkeypatch.setattr(containers.faithful, "interpreter", recording)
    else:
        warnings.warn(
            "NOT FAITHFUL: the rehearsal ran every step in this machine's Python, not in "
            f"the images' packages: {_faithful_reason()}",
            stacklevel=1,
        )
    lines: list[str] = []
    began = time.monotonic()
    result = run_scenario(
        ScenarioConfig(
            workdir=prepare_workdir(tmp_path / "rehearsal"),
            cross_architectures=("hgb", "multimodal", "xgboost"),
            training_rows=1_200,
            inference_rows=300,
            faithful=faithful,
        ),
        out=lines.append,
    )
    elapsed = time.monotonic() - began
    report = "\n".join(lines)
    assert result.ok, report
    assert [label for label, _ in result.runs] == [
        "week 1 training [hgb]",
        "day 1 inference",
        "day 1 inference again (same RunId)",
        "week 2 training [multimodal] (comparable data)",
        "day 2 inference",
        "week 3 training [xgboost] (drifted, noisy labels)",
        "week 4 training [multimodal] (harder: noisier labels)",
        "week 5 training [multimodal] (weak hyperparameters, clean labels)",
        "day 3 inference (drifted batch, DriftAction=block)",
        "week 6 training [multimodal] (broken extract: no weight_kg)",
    ]
    records = dict(result.runs)
    # The built-in challenger trained on two emulated hosts.
    assert (
        records["week 3 training [xgboost] (drifted, noisy labels)"].step("Train").outputs["hosts"]
        == 2
    )
    held = [e.description for e in result.expectations]
    by_v2 = "one prediction per product loaded, by the champion v2 (multimodal)"
    assert f"mailer: day 2 inference: {by_v2}" in held
    assert "mailer: champion unchanged (v2, multimodal, still serves)" in held
    # The same-data gate, from each week's decision.json: the harder week approved on the
    # same rows though its drop from the champion's stored score is over the limit ...
    decisions = {
        label: record.step("Compare").property_files["GateDecision"]
        for label, record in result.runs
        if label.startswith("week") and "broken extract" not in label
    }
    harder = decisions["week 4 training [multimodal] (harder: noisier labels)"]
    scores = gate_scores(harder)
    assert harder["decision"] == APPROVE and harder["comparison"] == "same_data"
    assert scores is not None and scores.stored_drop > scores.limit
    assert scores.stored_verdict == REJECT
    assert "mailer: the champion is now v4 (multimodal)" in held
    # ... and the easier week's weak challenger rejected on the same rows (the score check
    # alone) though it is within the limit of the (harder week's) stored score.
    easier = decisions["week 5 training [multimodal] (weak hyperparameters, clean labels)"]
    scores = gate_scores(easier)
    assert easier["decision"] == REJECT and easier["comparison"] == "same_data"
    failed = [c["name"] for c in easier["checks"] if not (c["passed"] or c["skipped"])]
    assert failed == ["max_score_drop"]
    assert scores is not None and scores.stored_drop <= scores.limit
    assert scores.stored_verdict == APPROVE
    assert "mailer: champion unchanged (v4, multimodal, still serves)" in held
    # The data checks: the drifted batch measured against v4's baseline and not loaded;
    # the broken extract stopped at the quality check, nothing trained.
    day3 = "mailer: day 3 inference (drifted batch, DriftAction=block)"
    assert f"{day3}: drift measured and the load blocked, naming the features" in held
    assert f"{day3}: nothing loaded; earlier predictions kept" in held
    week6 = "mailer: week 6 training [multimodal] (broken extract: no weight_kg)"
    assert f"{week6}: stops at the data-quality check, naming the column and the bound" in held
    assert f"{week6}: nothing was trained or registered" in held
    weak = records["week 5 training [multimodal] (weak hyperparameters, clean labels)"]
    assert {name: str(weak.parameters[name]) for name in ("MaxIter", "MaxDepth")} == {
        "MaxIter": "1",
        "MaxDepth": "1",
    }
    if faithful:
        # Every step ran in its image's packages: the scikit-learn image for processing
        # and the script-mode models, the XGBoost image for the built-in training, its
        # serving and the XGBoost champion's scoring.
        repositories = {uri.rsplit("/", 1)[-1] for uri in images_used}
        assert repositories == {
            "sagemaker-scikit-learn:1.9-0-cpu-py3",
            "sagemaker-xgboost:3.0-5",
        }, repositories
    print(
        f"rehearsal cross-architecture scenario ({'faithful' if faithful else 'emulated'}): "
        f"{elapsed:.0f} s",
        file=sys.stderr,
    )


def test_report_copies_of_package_types_with_the_same_run_id_stay_apart(tmp_path: Path) -> None:
    pages = []
    for pipeline in ("pkgml-rehearsal-mailer-training", "pkgml-rehearsal-bag-training"):
        folder = tmp_path / "s3" / pipeline / "training-week-1" / "Compare" / "decision"
        (folder / "charts").mkdir(parents=True)
        (folder / "report.html").write_text(pipeline)
        pages.append(folder / "report.html")
    copies = copy_reports(pages, tmp_path / "reports")
    assert [c.relative_to(tmp_path / "reports").as_posix() for c in copies] == [
        "pkgml-rehearsal-mailer-training/training-week-1/report.html",
        "pkgml-rehearsal-bag-training/training-week-1/report.html",
    ]
    assert [c.read_text() for c in copies] == [
        "pkgml-rehearsal-mailer-training",
        "pkgml-rehearsal-bag-training",
    ]
