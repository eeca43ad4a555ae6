"""Documents derived from the architecture folders are fresh, and a new folder is all it takes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pkgml_contracts.architectures import discover
from tools import docs
from tools.new_architecture import scaffold


def test_committed_documents_are_fresh():
    stale = [
        str(path.relative_to(docs.ROOT))
        for path, text in docs.documents().items()
        if path.read_text() != text
    ]
    assert stale == [], "run `make docs` and commit the result"


def test_the_readme_lists_every_architecture():
    section = docs.README.read_text().split(docs.BEGIN)[1].split(docs.END)[0]
    for folder in sorted(docs.ARCHITECTURES_DIR.glob("*/architecture.json")):
        assert f"| `{folder.parent.name}` |" in section


def test_a_missing_marker_is_an_error():
    with pytest.raises(ValueError, match="missing the markers"):
        docs.replace_section("no markers here", "table", "README")


def test_scaffolded_architecture_is_valid_and_documented(tmp_path: Path):
    root = tmp_path / "architectures"
    shutil.copytree(docs.ARCHITECTURES_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    folder = scaffold("throwaway", root)
    assert sorted(p.name for p in folder.iterdir()) == ["architecture.json", "model.py"]
    rendered = docs.readme_table(discover(root))
    assert "| `throwaway` | sklearn 1.9-0 | script |" in rendered


@pytest.mark.parametrize("name", ["X", "a", "has_underscore", "-lead"])
def test_scaffold_refuses_bad_names(tmp_path: Path, name: str):
    with pytest.raises(ValueError, match="architecture name"):
        scaffold(name, tmp_path)


def test_scaffold_refuses_an_existing_folder(tmp_path: Path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(ValueError, match="exists already"):
        scaffold("taken", tmp_path)
