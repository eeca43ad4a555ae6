"""Helpers that read a parsed pipeline definition."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

JOB_TYPES = ("Processing", "Training", "Transform")
MODEL_TYPES = ("Model", "RegisterModel")
_STEP_REF = re.compile(r"^Steps\.([A-Za-z0-9_-]+)\.(.*)$")


def all_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step, including those nested in condition branches, in document order."""

    def walk(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for step in steps:
            yield step
            if step["Type"] == "Condition":
                yield from walk(step["Arguments"].get("IfSteps", []))
                yield from walk(step["Arguments"].get("ElseSteps", []))

    return list(walk(doc["Steps"]))


def steps_by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{step name: step} over all steps."""
    return {step["Name"]: step for step in all_steps(doc)}


def gets(value: Any) -> Iterator[str]:
    """Every {"Get": ...} reference inside a JSON value."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            yield value["Get"]
        for item in value.values():
            yield from gets(item)
    elif isinstance(value, list):
        for item in value:
            yield from gets(item)


def step_references(step: dict[str, Any]) -> set[str]:
    """Names of the steps a step reads from (its data dependencies), plus DependsOn."""
    own = {k: v for k, v in step.items() if k not in ("IfSteps", "ElseSteps")}
    if step["Type"] == "Condition":
        own = {"Conditions": step["Arguments"]["Conditions"]}
    names = {m.group(1) for ref in gets(own) if (m := _STEP_REF.match(ref))}
    return names | set(step.get("DependsOn", []))


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
