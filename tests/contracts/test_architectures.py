"""The architecture declaration contract: what parses, what is refused, and why."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pkgml_contracts.architectures import (
    ArchitectureError,
    catalog_json,
    discover,
    from_json_catalog,
    parse_declaration,
)

ROOT = Path(__file__).resolve().parents[2] / "pipeline_defs" / "architectures"
VALID: dict[str, Any] = {
    "name": "demo",
    "summary": "a demo",
    "image": {"framework": "sklearn", "version": "1.9-0"},
    "mode": "script",
    "processors": ["cpu"],
    "distributed": False,
    "inputs": ["tabular"],
    "stages": [{"name": "Train", "program": "train.py"}],
    "serving": {"program": "train.py"},
    "spot": False,
    "fixed_hyperparameters": {},
    "hyperparameters": {
        "depth": {"type": "integer", "default": 3, "minimum": 1, "maximum": 8, "description": "d"},
        "rate": {
            "type": "number",
            "default": 0.1,
            "minimum": 0.0,
            "maximum": 1.0,
            "description": "r",
        },
        "loss": {
            "type": "string",
            "default": "log",
            "choices": ["log", "hinge"],
            "description": "l",
        },
        "early": {"type": "boolean", "default": True, "description": "e"},
    },
}


def changed(path: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node[part]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return document


def test_a_valid_declaration_round_trips():
    architecture = parse_declaration(VALID)
    assert parse_declaration(architecture.to_json()) == architecture
    assert [h.parameter_name for h in architecture.hyperparameters] == [
        "Depth", "Rate", "Loss", "Early"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        ("name", "Bad_Name", "name"),
        ("colour", "blue", "unknown keys"),
        ("spot", KeyError, "missing keys"),
        ("image.framework", "tensorflow", "framework"),
        ("mode", "magic", "mode"),
        ("processors", ["tpu"], "processors"),
        ("inputs", ["text"], "including 'tabular'"),
        ("stages", [{"name": "Fit", "program": "train.py"}], "last stage must be named 'Train'"),
        ("stages", [{"name": "Train", "program": "train.sh"}], ".py file"),
        ("serving", {}, "serving"),
        ("serving", {"program": "serve.sh"}, r"serving.program: a .py file"),
        ("serving", {"program": "sub/serve.py"}, r"serving.program: a .py file"),
        ("serving", {"program": "train.py", "port": 8080}, "serving"),
        ("hyperparameters.depth.maximum", 0, "minimum above maximum"),
        ("hyperparameters.depth.default", 99, "default: out of range"),
        ("hyperparameters.depth.description", "", "description"),
        ("hyperparameters.loss.choices", [], "choices"),
        ("fixed_hyperparameters", {"depth": "3"}, "both fixed and settable"),
    ],
)
def test_bad_declarations_name_the_field(path, value, words):
    with pytest.raises(ArchitectureError, match=words.replace("(", r"\(")):
        parse_declaration(changed(path, value))


BUILTIN: dict[str, Any] = {
    **VALID,
    "image": {"framework": "xgboost", "version": "3.0-5"},
    "mode": "builtin",
    "stages": [{"name": "Train"}],
}


@pytest.mark.parametrize(
    "serving", [{}, {"program": "serve.py"}], ids=["container's own", "own program"]
)
def test_a_builtin_architecture_may_declare_a_serving_program(serving):
    architecture = parse_declaration({**BUILTIN, "serving": serving})
    assert architecture.serving_program == serving.get("program")
    assert architecture.stages[0].program is None
    assert parse_declaration(architecture.to_json()) == architecture


@pytest.mark.parametrize(
    ("serving", "words"),
    [
        ({"program": "serve.sh"}, "serving.program: a .py file"),
        ({"program": None}, "serving.program: a .py file"),
        ({"image": "x"}, r"serving: \{\} \(the container's own serving\) or"),
    ],
)
def test_a_builtin_serving_declaration_is_checked(serving, words):
    with pytest.raises(ArchitectureError, match=words):
        parse_declaration({**BUILTIN, "serving": serving})


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"depth": 0}, "out of range; an integer from 1 to 8"),
        ({"depth": 2.5}, "must be an integer"),
        ({"depth": True}, "must be an integer"),
        ({"depth": 10**400}, "out of range"),
        ({"rate": float("nan")}, "finite"),
        ({"loss": "squared"}, "one of log, hinge"),
        ({"early": "yes"}, "true or false"),
        ({"width": 3}, "no hyperparameter 'width'"),
    ],
)
def test_values_are_checked_against_the_schema(values, words):
    with pytest.raises(ArchitectureError, match=words):
        parse_declaration(VALID).validate(values)


def test_valid_values_pass_unchanged():
    values = {"depth": 8, "rate": 0, "loss": "hinge", "early": False}
    assert parse_declaration(VALID).validate(values) == values


def test_every_shipped_architecture_is_valid_and_named_by_its_folder():
    found = discover(ROOT)
    assert {"hgb", "xgboost", "multimodal"} <= set(found)
    for name, architecture in found.items():
        assert (ROOT / name / "architecture.json").is_file()
        for stage in architecture.stages:
            assert stage.program is None or (ROOT / name / stage.program).is_file()
        if architecture.serving_program:
            assert (ROOT / name / architecture.serving_program).is_file()


def test_the_catalog_round_trips_in_declaration_order():
    found = discover(ROOT)
    assert from_json_catalog(catalog_json(found)) == found


def test_a_folder_must_match_its_declared_name(tmp_path: Path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "architecture.json").write_text(json.dumps(VALID))
    with pytest.raises(ArchitectureError, match="must equal its folder's name"):
        discover(tmp_path)
