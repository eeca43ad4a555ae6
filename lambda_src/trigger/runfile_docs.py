"""RUN_FILE.md's generated part: one hyperparameter table per architecture.

RUN_FILE.md holds, between the lines `BEGIN_MARKER` and `END_MARKER`, exactly
`render_architecture_tables(discover(pipeline_defs/architectures))`. `python -m tools.docs`
rewrites that section (`replace_marked_section`); a test fails when it is out of date, so
the documented hyperparameters are always the declared ones.

Standard library and `pkgml_contracts` only, like `runfile.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from pkgml_contracts.architectures import Architecture, Hyperparameter

BEGIN_MARKER: Final = "<!-- architectures:begin -->"
END_MARKER: Final = "<!-- architectures:end -->"
RUN_FILE_MD: Final = Path(__file__).resolve().with_name("RUN_FILE.md")

_HEADER = (
    "| hyperparameter | type | default | range / choices | description | pipeline parameter |\n"
    "|---|---|---|---|---|---|\n"
)


def _cell(text: str) -> str:
    """Text safe inside a table cell: one line, `|` escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _number(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def _accepted(item: Hyperparameter) -> str:
    if item.type in ("integer", "number"):
        return f"{_number(item.minimum)} - {_number(item.maximum)}"
    if item.type == "boolean":
        return "true, false"
    return ", ".join(f"`{_cell(choice)}`" for choice in item.choices)


def _row(item: Hyperparameter) -> str:
    cells = (
        f"`{item.name}`",
        item.type,
        f"`{_cell(json.dumps(item.default))}`",
        _accepted(item),
        _cell(item.description),
        f"`{item.parameter_name}`",
    )
    return "| " + " | ".join(cells) + " |\n"


def _section(architecture: Architecture) -> str:
    a = architecture
    if a.distributed:
        scale = (
            "**Distributed**: trains on `training_instance_count` instances (the training "
            "data is sharded across them)."
        )
    else:
        scale = (
            "**Not distributed**: trains on one instance; `training_instance_count` above 1 "
            "is refused (`out_of_range`), and 1 is not passed on."
        )
    processors = ", ".join(a.processors)
    lines = [
        f"### `{a.name}`\n",
        "\n",
        f"{_cell(a.summary)}\n",
        "\n",
        f"{scale} Reads: {', '.join(a.inputs)}. Image: {a.framework} {a.framework_version} "
        f"({processors}).\n",
    ]
    if a.fixed_hyperparameters:
        fixed = ", ".join(f"`{_cell(k)}` = `{_cell(v)}`" for k, v in a.fixed_hyperparameters)
        lines += ["\n", f"Fixed, not settable per run: {fixed}.\n"]
    lines.append("\n")
    if a.hyperparameters:
        lines += [_HEADER, *(_row(item) for item in a.hyperparameters)]
    else:
        lines.append("No hyperparameters are settable per run.\n")
    return "".join(lines)


def render_architecture_tables(architectures: Mapping[str, Architecture]) -> str:
    """The Markdown of every architecture (sorted by name): heading, summary, distribution,
    and its hyperparameters' table (name, type, default, range or choices, description,
    pipeline parameter), sections apart by a blank line, ending in one newline: what sits
    between the marker lines (`tools/docs.py` writes `BEGIN\n<this, stripped>\n<END>`)."""
    return "\n".join(_section(architectures[name]) for name in sorted(architectures))


def _bounds(document: str) -> tuple[int, int]:
    """Start and end offsets of the text between the marker lines."""
    begin, end = document.find(BEGIN_MARKER), document.find(END_MARKER)
    if (
        begin < 0
        or end < begin
        or document.count(BEGIN_MARKER) != 1
        or document.count(END_MARKER) != 1
    ):
        raise ValueError(f"expected one {BEGIN_MARKER} marker line, later one {END_MARKER}")
    start = begin + len(BEGIN_MARKER)
    if document.startswith("\n", start):
        start += 1
    return start, end


def marked_section(document: str) -> str:
    """The text between the marker lines (ValueError if the markers are not there once)."""
    start, end = _bounds(document)
    return document[start:end]


def replace_marked_section(document: str, rendered: str) -> str:
    """`document` with the text between the marker lines replaced by `rendered`."""
    start, end = _bounds(document)
    if not rendered.endswith("\n"):
        rendered += "\n"
    return document[:start] + rendered + document[end:]
