"""Regenerate the documentation derived from the architecture folders (`make docs`).

- README.md, between `<!-- architectures:begin -->` and `<!-- architectures:end -->`:
  one row per architecture (framework, mode, processors, distributed, inputs, stages,
  spot, hyperparameters).
- lambda_src/trigger/RUN_FILE.md, between the same markers: each architecture's
  hyperparameter table, rendered by the trigger's own `runfile_docs` module.

`--check` changes nothing and exits 1 when a file is stale (the tests run it).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline_defs.architectures import ARCHITECTURES_DIR  # noqa: E402
from pkgml_contracts.architectures import Architecture, discover  # noqa: E402

BEGIN, END = "<!-- architectures:begin -->", "<!-- architectures:end -->"
README = ROOT / "README.md"
RUN_FILE_DOC = ROOT / "lambda_src" / "trigger" / "RUN_FILE.md"
RUN_FILE_RENDERER = ROOT / "lambda_src" / "trigger" / "runfile_docs.py"


def readme_table(architectures: Mapping[str, Architecture]) -> str:
    """The README's table of architectures."""
    rows = [
        "| architecture | image | mode | processors | distributed | inputs | stages | spot "
        "| hyperparameters |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, a in sorted(architectures.items()):
        rows.append(
            f"| `{name}` | {a.framework} {a.framework_version} | {a.mode} | "
            f"{', '.join(a.processors)} | {'yes' if a.distributed else 'no'} | "
            f"{', '.join(a.inputs)} | {' -> '.join(s.name for s in a.stages)} | "
            f"{'yes' if a.spot else 'no'} | "
            f"{', '.join(f'`{h.name}`' for h in a.hyperparameters) or '-'} |"
        )
    summaries = [f"- `{name}`: {a.summary}" for name, a in sorted(architectures.items())]
    return "\n".join([*rows, "", *summaries])


def _run_file_renderer() -> Callable[[Mapping[str, Architecture]], str] | None:
    if not RUN_FILE_RENDERER.is_file():
        return None
    spec = importlib.util.spec_from_file_location("runfile_docs_for_tools", RUN_FILE_RENDERER)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    renderer: Callable[[Mapping[str, Architecture]], str] = module.render_architecture_tables
    return renderer


def replace_section(text: str, body: str, where: str) -> str:
    """`text` with the marked section replaced by `body`; ValueError without markers."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"{where}: missing the markers {BEGIN} ... {END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{body.strip()}\n{END}{tail}"


def documents(root: Path = ARCHITECTURES_DIR) -> dict[Path, str]:
    """{file: its regenerated text} for every derived document."""
    architectures = discover(root)
    rendered = {README: replace_section(README.read_text(), readme_table(architectures), "README")}
    renderer = _run_file_renderer()
    if renderer is not None:
        rendered[RUN_FILE_DOC] = replace_section(
            RUN_FILE_DOC.read_text(), renderer(architectures), "RUN_FILE.md"
        )
    return rendered


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) every derived document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in documents().items():
        if path.read_text() != text:
            stale.append(path)
            if not args.check:
                path.write_text(text)
    for path in stale:
        verb = "stale" if args.check else "updated"
        print(f"{verb}: {path.relative_to(ROOT)}")
    if args.check and stale:
        print("run `make docs` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
