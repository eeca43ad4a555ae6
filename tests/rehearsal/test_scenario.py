"""The rehearsal scenario: its plans and flags (fast), and one end-to-end run (`-m rehearsal`
selects it, `-m "not rehearsal"` skips it).

The end-to-end test runs the cross-architecture plan, which holds every check of the
standard one and more: week 1 hgb approved (first model), day-1 inference by it and the
same run again (no duplicates, cached Prepare), week 2 a multimodal challenger approved
over it, day-2 inference by the multimodal package (its container, serving code and text
column), week 3 a built-in XGBoost challenger (two emulated hosts) on drifted, noisy data
rejected with the gate's reasons, champion unchanged. The standard plan (`make rehearse`)
runs the same week and day code with one architecture. Durations are reported, never
asserted: `make bench` is where durations are measured.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from rehearsal.__main__ import configs, parse_args
from rehearsal.scenario import (
    APPROVE,
    DEGRADED,
    REJECT,
    InferenceDay,
    ScenarioConfig,
    TrainingWeek,
    check_config,
    names,
    plan,
    prepare_workdir,
    run_scenario,
)


def test_the_standard_plan_trains_one_architecture_twice_then_infers_twice() -> None:
    items = plan(ScenarioConfig(workdir=Path("w"), architecture="multimodal"))
    assert [item.label for item in items] == [
        "week 1 training",
        "week 2 training (drifted, noisy labels)",
        "daily inference",
        "daily inference again (same RunId)",
    ]
    weeks = [item for item in items if isinstance(item, TrainingWeek)]
    assert [(w.architecture, w.expect) for w in weeks] == [
        ("multimodal", APPROVE),
        ("multimodal", REJECT),
    ]
    days = [item for item in items if isinstance(item, InferenceDay)]
    assert [(d.key, d.repeat) for d in days] == [("day-1", False), ("day-1", True)]


def test_the_cross_architecture_plan_changes_champion_then_rejects() -> None:
    items = plan(ScenarioConfig(workdir=Path("w"), cross_architectures=("hgb", "xgboost")))
    weeks = [item for item in items if isinstance(item, TrainingWeek)]
    assert [(w.architecture, w.expect) for w in weeks] == [
        ("hgb", APPROVE),
        ("xgboost", APPROVE),
        ("hgb", REJECT),  # C defaults to A
    ]
    assert weeks[2].data == DEGRADED
    assert weeks[1].seed == weeks[0].seed != weeks[2].seed  # the same products: comparable
    assert weeks[1].key != weeks[0].key  # extracted again, its own manifest and RunId
    assert [type(item).__name__[0] for item in items] == ["T", "I", "I", "T", "I", "T"]
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
        ({"package_types": ("crate",)}, "package types"),
        ({"training_instance_count": 0}, "at least 1"),
    ],
)
def test_unusable_configurations_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_config(ScenarioConfig(workdir=Path("w"), **changes))  # type: ignore[arg-type]


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


@pytest.mark.rehearsal
@pytest.mark.slow
def test_rehearsal_cross_architecture_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """See the module doc; small data (1,200 products a week, 300 a day)."""
    # One OpenMP thread per step: two pytest workers share two cores, and spinning
    # OpenMP threads on a busy machine turn seconds of training into tens.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    lines: list[str] = []
    began = time.monotonic()
    result = run_scenario(
        ScenarioConfig(
            workdir=prepare_workdir(tmp_path / "rehearsal"),
            cross_architectures=("hgb", "multimodal", "xgboost"),
            training_rows=1_200,
            inference_rows=300,
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
    print(f"rehearsal cross-architecture scenario: {elapsed:.0f} s", file=sys.stderr)
