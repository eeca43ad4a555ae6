"""Helpers that read a parsed pipeline definition.

The walk itself (every step including condition branches, `{"Get": ...}` references, the
steps a step names) is `pipeline_defs.definition_graph`, shared with the rehearsal executor
and the diagrams; it is re-exported here under the names the tests use.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline_defs.definition_graph import all_steps, gets, step_dependencies, steps_by_name

__all__ = [
    "JOB_TYPES",
    "MODEL_TYPES",
    "all_steps",
    "gets",
    "model_containers",
    "step_references",
    "steps_by_name",
    "strings",
]

JOB_TYPES = ("Processing", "Training", "Transform")
MODEL_TYPES = ("Model", "RegisterModel")


def step_references(step: dict[str, Any]) -> set[str]:
    """Names of the steps a step reads from (its data dependencies), plus DependsOn."""
    return step_dependencies(step)


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def model_containers(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(step name, container) of every model a definition creates or registers: CreateModel
    steps' PrimaryContainer / Containers, RegisterModel steps' InferenceSpecification."""
    found = []
    for step in all_steps(doc):
        args = step["Arguments"]
        if step["Type"] == "Model":
            containers = [args["PrimaryContainer"]] if "PrimaryContainer" in args else []
            containers += args.get("Containers", [])
        elif step["Type"] == "RegisterModel":
            containers = args["InferenceSpecification"]["Containers"]
        else:
            continue
        found += [(step["Name"], container) for container in containers]
    return found
