"""Scaffold a model architecture: `make new-architecture NAME=<name>`.

Copies tools/architecture_template/ to pipeline_defs/architectures/<name>/ with the name
filled in: a working script-mode architecture (scikit-learn LogisticRegression) whose
declaration, training program and serving code you then replace. Nothing else needs
editing: pipelines, run-file validation, docs and contract tests are derived from the
folder; deploy it with one configuration line (see the printed next steps).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pkgml_contracts.architectures import NAME_PATTERN, discover  # noqa: E402

TEMPLATE = ROOT / "tools" / "architecture_template"
ARCHITECTURES = ROOT / "pipeline_defs" / "architectures"


def scaffold(name: str, root: Path = ARCHITECTURES, template: Path = TEMPLATE) -> Path:
    """Create `<root>/<name>/` from the template; ValueError for a bad or taken name."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"{name!r}: an architecture name is 2-20 lowercase letters, digits and '-', "
            "starting with a letter"
        )
    target = root / name
    if target.exists():
        raise ValueError(f"{target} exists already")
    target.mkdir(parents=True)
    for source in sorted(template.iterdir()):
        if source.is_file():
            text = source.read_text(encoding="utf-8").replace("__NAME__", name)
            (target / source.name).write_text(text, encoding="utf-8")
    try:
        discover(root)
    except ValueError:
        shutil.rmtree(target)
        raise
    return target


def main(argv: list[str] | None = None) -> int:
    """Entry point; prints what to do next."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the architecture's name, e.g. 'wide-deep'")
    args = parser.parse_args(argv)
    try:
        target = scaffold(args.name)
    except ValueError as error:
        print(f"new-architecture: {error}", file=sys.stderr)
        return 2
    print(f"created {target.relative_to(ROOT)}/ (architecture.json, model.py)")
    print("next:")
    print(f"  1. write your model in {target.relative_to(ROOT)}/model.py and its schema in")
    print("     architecture.json (hyperparameters, image, stages)")
    print("  2. make test         # the contract tests now cover it")
    print(f"  3. deploy it: -c environments.dev.ml.extra_architectures='[\"{args.name}\"]'")
    print(f"     or for one package type: -c environments.dev.models.box.architecture={args.name}")
    print(
        "  4. make docs         # regenerate the architecture tables in the README and RUN_FILE.md"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
