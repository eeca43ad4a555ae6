"""Print a short human summary of a synthesized cloud assembly (`make synth`'s last step)."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path


def stacks_in(assembly: Path) -> list[dict[str, object]]:
    """Every stack of the assembly and its nested (stage) assemblies, in manifest order."""
    manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
    found: list[dict[str, object]] = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        kind = artifact.get("type")
        props = artifact.get("properties", {})
        if kind == "cdk:cloud-assembly":
            found.extend(stacks_in(assembly / props["directoryName"]))
        elif kind == "aws:cloudformation:stack":
            template_path = assembly / props["templateFile"]
            template = json.loads(template_path.read_text(encoding="utf-8"))
            resources = template.get("Resources", {})
            found.append(
                {
                    "id": artifact_id,
                    "name": props.get("stackName", artifact_id),
                    "environment": artifact.get("environment", "?"),
                    "resources": len(resources),
                    "types": Counter(r["Type"] for r in resources.values()),
                    "pipelines": [
                        (
                            str(r["Properties"].get("PipelineName", "?")),
                            str(r["Properties"].get("PipelineDescription", "")),
                        )
                        for r in resources.values()
                        if r["Type"] == "AWS::SageMaker::Pipeline"
                    ],
                    "template": str(template_path),
                }
            )
    return found


def summary(assembly: Path) -> str:
    """The table `make synth` prints: environment, stack, resource count, template path."""
    stacks = stacks_in(assembly)
    if not stacks:
        raise SystemExit(f"no stacks found in {assembly}: did synthesis run?")
    rows = [("environment", "stack", "resources", "template")]
    rows += [
        (str(s["environment"]), str(s["name"]), str(s["resources"]), str(s["template"]))
        for s in stacks
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    environments = sorted({str(s["environment"]) for s in stacks})
    total = sum(int(str(s["resources"])) for s in stacks)
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        f"{len(stacks)} stacks, {total} resources, {len(environments)} environments: "
        + ", ".join(environments)
    )
    lines.append(f"templates are under {assembly}/")
    training = [
        (name, match["architecture"])
        for s in stacks
        for name, description in s["pipelines"]  # type: ignore[attr-defined]
        if (match := _TRAINING.search(description))
    ]
    if training:
        width = max(len(name) for name, _ in training)
        lines += ["", "training pipelines and their model architecture:"]
        lines += [f"  {name.ljust(width)}  {architecture}" for name, architecture in training]
    return "\n".join(lines)


_TRAINING = re.compile(r"training \((?P<architecture>[a-z0-9-]+)\)")


def main(argv: list[str] | None = None) -> int:
    """Entry point: `python tools/synth_summary.py cdk.out`."""
    args = sys.argv[1:] if argv is None else argv
    print(summary(Path(args[0] if args else "cdk.out")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
