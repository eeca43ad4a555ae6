"""Lambda assets: each function folder + lambda_src/shared, and nothing it imports is missing."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from stacks.components.function import CONTRACTS_SOURCE, LAMBDA_SOURCE, lambda_asset_dir

FUNCTIONS = sorted(
    p.name
    for p in LAMBDA_SOURCE.iterdir()
    if p.is_dir() and p.name not in ("shared",) and not p.name.startswith((".", "__"))
)
# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = {"boto3", "botocore"}


def top_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("folder", FUNCTIONS)
def test_every_import_resolves_inside_the_asset(folder):
    asset = lambda_asset_dir(folder)
    modules = {p.stem for p in asset.glob("*.py")}
    packages = {p.parent.name for p in asset.glob("*/__init__.py")}
    allowed = modules | packages | RUNTIME_PACKAGES | set(sys.stdlib_module_names)
    for path in asset.rglob("*.py"):
        missing = top_level_imports(path) - allowed
        assert not missing, f"{folder}/{path.name} imports {missing}, which will not ship"


def test_the_shared_contracts_ship_as_a_package_with_every_function():
    for folder in FUNCTIONS:
        package = lambda_asset_dir(folder) / "pkgml_contracts"
        assert (package / "__init__.py").is_file()
        assert {p.name for p in CONTRACTS_SOURCE.glob("*.py")} == {
            p.name for p in package.glob("*.py")
        }
        assert {"gate.py", "metrics.py", "names.py", "runs.py", "registry.py"} <= {
            p.name for p in package.glob("*.py")
        }


def test_shared_logger_ships_with_every_function():
    assert FUNCTIONS == ["extract", "notify", "resolve_model", "trigger"]
    for folder in FUNCTIONS:
        assert (lambda_asset_dir(folder) / "pkgml_log.py").is_file()


def test_staging_is_content_addressed(tmp_path):
    first, again = lambda_asset_dir("trigger"), lambda_asset_dir("trigger")
    assert first == again
    assert not any(p.name == "__pycache__" for p in first.iterdir())
