"""The step graph of a parsed SageMaker pipeline definition (standard library only).

One walk of the definition JSON, shared by the rehearsal executor, the diagram renderer
(`tools/diagrams.py`) and the definition tests:

- every step, including those inside condition branches (`IfSteps` / `ElseSteps`, nested
  to any depth), in document order: a condition step comes before its branches, the
  if-branch before the else-branch;
- what a step reads: every `{"Get": "Steps.<name>.<path>"}` reference in the step itself
  (for a condition step: in its `Conditions` only, not in its branches' steps). A
  `Std:JsonGet` names its property file with such a Get, so it is covered too; `Get`s of
  `Parameters.*` and `Execution.*` name no step;
- what a step waits for: its `DependsOn`, the steps it reads from and, for a step inside a
  branch, the condition step that owns the branch;
- a topological order (`graphlib`): among the steps that are ready, the first in document
  order goes first, so the order is deterministic.

Broken graphs (a missing or repeated step name, a reference to an unknown step, a cycle)
raise `DefinitionGraphError`, a ValueError.
"""

from __future__ import annotations

import graphlib
import heapq
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

STEP_REFERENCE = re.compile(r"^Steps\.(?P<step>[A-Za-z0-9_-]+)\.(?P<path>.+)$")
BRANCHES = (("IfSteps", True), ("ElseSteps", False))


class DefinitionGraphError(ValueError):
    """The definition's step graph is unusable (missing or repeated name, unknown step, cycle)."""


def iter_steps(steps: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Every step of a `Steps` list, condition branches included, in document order (the
    definition's own dicts, not copies)."""
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments") or {}
            for branch, _ in BRANCHES:
                yield from iter_steps(arguments.get(branch, []))


def all_steps(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every step of a definition document, condition branches included, in document order."""
    return list(iter_steps(definition.get("Steps", [])))


def steps_by_name(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{step name: step} over every step, in document order; names must be unique strings."""
    found: dict[str, dict[str, Any]] = {}
    for step in all_steps(definition):
        name = step.get("Name")
        if not isinstance(name, str) or name in found:
            raise DefinitionGraphError(f"step name {name!r} is missing or repeated")
        found[name] = step
    return found


def branch_parents(definition: Mapping[str, Any]) -> dict[str, tuple[str, bool]]:
    """{step inside a condition branch: (condition step, True for IfSteps / False for Else)}."""
    parents: dict[str, tuple[str, bool]] = {}
    for step in all_steps(definition):
        if step.get("Type") != "Condition":
            continue
        arguments = step.get("Arguments") or {}
        for branch, outcome in BRANCHES:
            for child in arguments.get(branch, []):
                parents[child.get("Name")] = (step["Name"], outcome)
    return parents


def gets(value: Any) -> Iterator[str]:
    """Every `{"Get": "..."}` reference string inside a JSON value, in document order."""
    if isinstance(value, dict):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            yield value["Get"]
            return
        for item in value.values():
            yield from gets(item)
    elif isinstance(value, list):
        for item in value:
            yield from gets(item)


def own_part(step: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a step its references are read from: a condition step without its
    branches (its `Arguments` become just its `Conditions`), any other step whole."""
    own = dict(step)
    if step.get("Type") == "Condition":
        own["Arguments"] = {"Conditions": (step.get("Arguments") or {}).get("Conditions", [])}
    return own


def references(step: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(step name, property path) of every `Get "Steps.<name>.<path>"` the step reads, in
    document order (repeats kept)."""
    found = []
    for reference in gets(own_part(step)):
        match = STEP_REFERENCE.match(reference)
        if match:
            found.append((match["step"], match["path"]))
    return found


def step_dependencies(step: Mapping[str, Any]) -> set[str]:
    """The steps one step names itself: its DependsOn plus the steps it reads from."""
    return set(step.get("DependsOn", [])) | {name for name, _ in references(step)}


def dependencies(definition: Mapping[str, Any]) -> dict[str, list[str]]:
    """{step: sorted steps it waits for} for every step in document order: DependsOn, the
    steps it reads from and the condition step whose branch holds it. DefinitionGraphError
    when a step names one that does not exist."""
    steps = steps_by_name(definition)
    parents = branch_parents(definition)
    graph: dict[str, list[str]] = {}
    for name, step in steps.items():
        names = step_dependencies(step)
        if name in parents:
            names.add(parents[name][0])
        unknown = sorted(names - set(steps))
        if unknown:
            raise DefinitionGraphError(f"step {name!r} refers to unknown step(s) {unknown}")
        graph[name] = sorted(names)
    return graph


def topological_order(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """The nodes of {node: its predecessors} with every predecessor first; among ready
    nodes the one first in the mapping's order goes first. DefinitionGraphError on a cycle
    (or a predecessor that is not a node)."""
    position = {name: index for index, name in enumerate(graph)}
    unknown = sorted({p for ps in graph.values() for p in ps} - set(position))
    if unknown:
        raise DefinitionGraphError(f"unknown step(s) {unknown} in the dependencies")
    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        cycle = sorted(set(error.args[1]), key=position.__getitem__)
        raise DefinitionGraphError(f"dependency cycle among steps {cycle}") from error
    order: list[str] = []
    ready: list[tuple[int, str]] = []
    while sorter.is_active():
        for name in sorter.get_ready():
            heapq.heappush(ready, (position[name], name))
        _, name = heapq.heappop(ready)
        order.append(name)
        sorter.done(name)
    return order


def step_order(definition: Mapping[str, Any]) -> list[str]:
    """Every step name of a definition in topological order (see `topological_order`)."""
    return topological_order(dependencies(definition))
