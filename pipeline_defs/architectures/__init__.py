"""Model architectures: one folder each, discovered from their `architecture.json`.

`ARCHITECTURES_DIR/<name>/` holds the declaration, the training program(s) and the
serving code of one architecture (contract: `pkgml_contracts/architectures.py`). Adding
a folder adds an architecture: the training pipelines, the run-file schema, the docs and
the contract tests are derived from it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pkgml_contracts.architectures import Architecture, discover

ARCHITECTURES_DIR = Path(__file__).resolve().parent


def architectures(root: Path | None = None) -> dict[str, Architecture]:
    """{name: Architecture} of every architecture folder under `root` (default: this
    package's folder; read once per root)."""
    return _discover(root or ARCHITECTURES_DIR)


@cache
def _discover(root: Path) -> dict[str, Architecture]:
    return discover(root)
