"""One definition of the gate's criteria, read by the settings, the trigger, the training
pipeline's builder and the Compare step."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from ops.runfiles import trigger_rules
from pipeline_defs import training
from pipeline_defs.inputs import GateDefaults
from pipeline_defs.steps import compare
from pkgml_contracts import gate
from stacks.settings import GateCriteria, GateSettings

GOLDEN = Path(__file__).resolve().parents[1] / "pipelines" / "golden" / "training_us-east-1.json"


@pytest.fixture(scope="module")
def runfile() -> ModuleType:
    """The trigger's run-file rules, loaded as the ops CLI loads them."""
    return trigger_rules()


def test_the_criteria() -> None:
    assert gate.NAMES == (
        "max_score_drop",
        "min_score",
        "max_label_shift",
        "max_label_count_change",
        "max_input_size_change",
    )
    assert gate.DEFAULTS == {
        "max_score_drop": 0.02,
        "min_score": 0.70,
        "max_label_shift": 0.10,
        "max_label_count_change": 0.5,
        "max_input_size_change": 0.5,
    }
    assert gate.PRIMARY_METRIC == "roc_auc"
    assert gate.DEVIATIONS == (
        "score_drop",
        "label_shift",
        "label_count_change",
        "input_size_change",
    )


def test_each_criterion_is_consistent() -> None:
    for item in gate.CRITERIA:
        assert item.accepts(item.default), item.name
        assert item.low == 0
        # the pipeline parameter is the name in CamelCase; the option in kebab-case
        assert item.parameter == "".join(part.title() for part in item.name.split("_"))
        assert item.argument == "--" + item.name.replace("_", "-")
        if item.deviation is not None:
            assert item.name == f"max_{item.deviation}"
    assert len(set(gate.PARAMETER_NAMES)) == len(gate.CRITERIA)


def test_accepts_is_inclusive_and_refuses_non_finite() -> None:
    drop = gate.criterion("max_score_drop")
    assert drop.accepts(0.0) and drop.accepts(1.0)
    assert not drop.accepts(-0.001) and not drop.accepts(1.001)
    assert not drop.accepts(float("nan")) and not drop.accepts(float("inf"))
    assert gate.criterion("max_input_size_change").accepts(100)


def test_an_unknown_criterion_is_named() -> None:
    with pytest.raises(KeyError, match="max_score_drop"):
        gate.criterion("max_drop")


# --- the consumers ------------------------------------------------------------------------


def test_settings_defaults_and_ranges_are_the_contracts() -> None:
    assert GateSettings().model_dump(exclude={"by_package_type"}) == {
        **gate.DEFAULTS,
        "comparison": gate.DEFAULT_COMPARISON,
    }
    assert set(GateCriteria.model_fields) == {*gate.NAMES, "comparison"}
    assert set(GateSettings.model_fields) == {*gate.NAMES, "comparison", "by_package_type"}
    for item in gate.CRITERIA:
        for value in (item.low, item.high):
            assert getattr(GateSettings(**{item.name: value}), item.name) == value
            assert getattr(GateCriteria(**{item.name: value}), item.name) == value
        for value in (item.low - 0.001, item.high + 0.001):
            with pytest.raises(ValidationError):
                GateSettings(**{item.name: value})
            with pytest.raises(ValidationError):
                GateCriteria(**{item.name: value})


def test_pipeline_builder_defaults_and_ranges_are_the_contracts() -> None:
    assert dataclasses.asdict(GateDefaults()) == {
        **gate.DEFAULTS,
        "primary_metric": gate.PRIMARY_METRIC,
        "comparison": gate.DEFAULT_COMPARISON,
    }
    with pytest.raises(ValueError, match="comparison must be one of same_data, stored"):
        GateDefaults(comparison="median")
    for item in gate.CRITERIA:
        GateDefaults(**{item.name: item.high})
        with pytest.raises(ValueError, match=item.name):
            GateDefaults(**{item.name: item.high + 0.001})
    assert training.GATE_PARAMETER_NAMES == gate.PARAMETER_NAMES


def test_compare_step_defaults_and_options_are_the_contracts() -> None:
    criteria = compare.Criteria()
    assert {name: getattr(criteria, name) for name in gate.NAMES} == gate.DEFAULTS
    assert criteria.primary_metric == gate.PRIMARY_METRIC
    assert criteria.comparison == gate.DEFAULT_COMPARISON
    options = [item for c in gate.CRITERIA for item in (c.argument, str(c.high))]
    args = compare.parse_args(["--package-type", "mailer", "--model-package-group", "g", *options])
    parsed = compare.criteria_from_args(args)
    assert {name: getattr(parsed, name) for name in gate.NAMES} == {
        c.name: c.high for c in gate.CRITERIA
    }
    # '' (a pipeline parameter left empty) falls back to the contract's default
    empty = compare.criteria_from_args(
        compare.parse_args(["--package-type", "mailer", "--model-package-group", "g"])
    )
    assert {name: getattr(empty, name) for name in gate.NAMES} == gate.DEFAULTS


def test_compare_reports_the_contracts_deviations() -> None:
    evidence = compare.Evidence(metrics={"roc_auc": 0.9}, label_counts={"0": 5, "1": 5})
    decision = compare.decide(evidence, None, compare.Criteria())
    assert tuple(decision.deviations) == gate.DEVIATIONS
    checks = [c.name for c in decision.checks]
    assert sorted(checks) == sorted(gate.NAMES)


def test_run_file_thresholds_are_the_contracts(runfile: ModuleType) -> None:
    assert tuple(f.name for f in dataclasses.fields(runfile.Thresholds)) == gate.NAMES
    check_of = runfile._THRESHOLDS
    assert tuple(check_of) == gate.NAMES
    for item in gate.CRITERIA:
        check, kinds = check_of[item.name]
        assert kinds == runfile.TRAINING_KINDS
        assert check(item.low, "p") == item.low and check(item.high, "p") == item.high
        for outside in (item.low - 0.001, item.high + 0.001):
            with pytest.raises(runfile.RunFileError) as raised:
                check(outside, "p")
            assert raised.value.reason == runfile.Reason.OUT_OF_RANGE


def test_run_file_thresholds_travel_under_the_pipelines_parameter_names(
    runfile: ModuleType,
) -> None:
    values = {c.name: float(c.high) for c in gate.CRITERIA}
    run = runfile.RunFile(
        kind="training",
        run_id="r1",
        manifest_uri="s3://b/unload/training/r1/manifest",
        package_types=("mailer",),
        parameters=runfile.Parameters(thresholds=runfile.Thresholds(**values)),
    )
    sent = {p["Name"]: p["Value"] for p in runfile.pipeline_parameters(run, "mailer")}
    assert {name: sent[name] for name in gate.PARAMETER_NAMES} == {
        c.parameter: repr(float(c.high)) for c in gate.CRITERIA
    }


def _text(value: Any) -> str:
    """A definition argument: a literal, or the pipeline parameter it reads."""
    if isinstance(value, str):
        return value
    found = re.search(r'"Get": "Parameters\.(\w+)"', json.dumps(value))
    assert found, value
    return f"Parameters.{found[1]}"


def test_the_built_pipeline_declares_and_passes_every_criterion() -> None:
    """The golden training definition (built with GateDefaults()): each criterion is a
    parameter defaulting to the contract's value, passed to Compare under its option."""
    definition = json.loads(GOLDEN.read_text())
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    assert {c.parameter: defaults[c.parameter] for c in gate.CRITERIA} == {
        c.parameter: c.default for c in gate.CRITERIA
    }
    names = [p["Name"] for p in definition["Parameters"]]
    assert tuple(names[-len(gate.CRITERIA) :]) == gate.PARAMETER_NAMES
    step = next(s for s in definition["Steps"] if s["Name"] == "Compare")
    arguments = [_text(a) for a in step["Arguments"]["AppSpecification"]["ContainerArguments"]]
    for item in gate.CRITERIA:
        at = arguments.index(item.argument)
        assert arguments[at + 1] == f"Parameters.{item.parameter}"
    assert arguments[arguments.index("--primary-metric") + 1] == gate.PRIMARY_METRIC
