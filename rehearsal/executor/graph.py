"""The graph the executor runs: a definition's steps (condition branches included), what
each waits for, and the order to run them in.

The walk itself is `pipeline_defs.definition_graph` (shared with the diagrams and the
definition tests); this module parses the JSON and turns a broken graph into a
`DefinitionError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline_defs import definition_graph
from rehearsal.executor.errors import DefinitionError


def load_definition(text: str, replacements: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse a definition after replacing each placeholder string (whole-string replace)."""
    for placeholder, value in (replacements or {}).items():
        text = text.replace(placeholder, value)
    document: dict[str, Any] = json.loads(text)
    if not isinstance(document.get("Steps"), list):
        raise DefinitionError("the definition has no Steps list")
    return document


@dataclass(frozen=True)
class ExecutionPlan:
    """Every step by name, the condition branch holding a step, what each step waits for
    (DependsOn, the steps it reads from, its condition step), and the run order: one step
    at a time, the first ready step in document order next."""

    steps: dict[str, dict[str, Any]]
    branch_of: dict[str, tuple[str, bool]]
    dependencies: dict[str, list[str]]
    order: list[str]

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> ExecutionPlan:
        """The plan of a parsed definition; DefinitionError when its graph is broken."""
        if not isinstance(document.get("Steps"), list):
            raise DefinitionError("the definition has no Steps list")
        try:
            steps = definition_graph.steps_by_name(document)
            dependencies = definition_graph.dependencies(document)
            order = definition_graph.topological_order(dependencies)
        except definition_graph.DefinitionGraphError as error:
            raise DefinitionError(str(error)) from error
        return cls(
            steps=steps,
            branch_of=definition_graph.branch_parents(document),
            dependencies=dependencies,
            order=order,
        )
