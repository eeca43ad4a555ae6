"""What a configuration change does to every stack, offline (no AWS credentials).

    python tools/offline_diff.py [-c key=value ...] [--base REV]      (make diff ARGS='...')

Synthesizes the app twice: the baseline, from `cdk.json` as committed at REV (default
HEAD; no `-c` values), and the change, from the working tree's `cdk.json` plus the `-c`
values, exactly as the CDK CLI passes them. Both use the working tree's code. Then prints,
per stack, the resources added, removed and changed, each changed property with its old
and new value; a property holding JSON (a pipeline definition, a dashboard body) is
compared inside, so a hyperparameter change shows as the one parameter that moved.

`cdk diff` needs credentials because it compares with the deployed stack; this compares
two synths of this repository, which is what a reviewer of a configuration change wants.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

SHOWN = 100  # characters of a value shown in a change line


@dataclass
class StackDiff:
    """The differences of one stack between two synths."""

    name: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def stack_templates(assembly: Path) -> dict[str, Path]:
    """{display name (e.g. Delivery/Dev/Ml): template file} of a cloud assembly, nested
    assemblies (CDK stages) included."""
    manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
    found: dict[str, Path] = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact["type"] == "aws:cloudformation:stack":
            name = artifact.get("displayName", artifact_id)
            found[name] = assembly / properties["templateFile"]
        elif artifact["type"] == "cdk:cloud-assembly":
            found.update(stack_templates(assembly / properties["directoryName"]))
    return found


def _as_json(value: Any) -> Any:
    """A string holding a JSON object or list, parsed; anything else unchanged."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def changes(old: Any, new: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, old, new) of every leaf that differs; JSON held in strings is compared inside.
    A missing side is None."""
    old, new = _as_json(old), _as_json(new)
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            yield from changes(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from changes(a, b, f"{path}[{index}]")
    elif old != new:
        yield path, old, new


def _token_text(part: Any) -> str:
    """A CloudFormation intrinsic inside an Fn::Join as quote-free text, e.g. ${GetAtt:Role.Arn}."""
    if isinstance(part, dict) and len(part) == 1:
        ((function, argument),) = part.items()
        if function == "Ref":
            return f"${{Ref:{argument}}}"
        if function == "Fn::GetAtt" and isinstance(argument, list):
            return "${GetAtt:" + ".".join(str(a) for a in argument) + "}"
        return "${" + function.removeprefix("Fn::") + "}"
    return "${token}"


def _joined(value: Any) -> Any:
    """An Fn::Join of text and intrinsics as one string (intrinsics as ${...}), so a JSON
    document the stack assembles from parts (a pipeline definition) can be parsed."""
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        if isinstance(separator, str) and isinstance(parts, list):
            return separator.join(p if isinstance(p, str) else _token_text(p) for p in parts)
    return value


def _named_lists(value: Any) -> Any:
    """Lists of objects that each have a unique "Name" (pipeline steps and parameters) as
    {name: object}, so an inserted step does not shift every later one."""
    value = _joined(value)
    if isinstance(value, dict):
        return {key: _named_lists(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_named_lists(item) for item in value]
        names = [item.get("Name") for item in items if isinstance(item, dict)]
        if (
            items
            and len(names) == len(items)
            and None not in names
            and len(set(names)) == len(names)
        ):
            return {f"Name={name}": item for name, item in zip(names, items, strict=True)}
        return items
    if isinstance(value, str) and value[:1] in "{[":
        parsed = _as_json(value)
        return _named_lists(parsed) if parsed is not value else value
    return value


def diff_templates(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> StackDiff:
    """The resource-level difference of two templates of one stack (Resources, Outputs)."""
    result = StackDiff(name)
    for section in ("Resources", "Outputs"):
        before, after = old.get(section, {}), new.get(section, {})
        prefix = "" if section == "Resources" else "Output "
        result.added += [f"{prefix}{key}" for key in sorted(set(after) - set(before))]
        result.removed += [f"{prefix}{key}" for key in sorted(set(before) - set(after))]
        for key in sorted(set(before) & set(after)):
            found = list(changes(_named_lists(before[key]), _named_lists(after[key])))
            if found:
                kind = after[key].get("Type", "") if section == "Resources" else "Output"
                result.changed[f"{prefix}{key} ({kind})"] = found
    return result


def diff_assemblies(baseline: Path, changed: Path) -> list[StackDiff]:
    """Per stack (by display name), what differs; stacks only on one side count as added
    or removed whole."""
    before, after = stack_templates(baseline), stack_templates(changed)
    result = []
    for name in sorted(set(before) | set(after)):
        old = json.loads(before[name].read_text()) if name in before else {}
        new = json.loads(after[name].read_text()) if name in after else {}
        result.append(diff_templates(name, old, new))
    return result


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def render(diffs: Sequence[StackDiff]) -> str:
    """cdk-diff-like text: [+] added, [-] removed, [~] changed with old -> new."""
    lines = []
    for stack in diffs:
        if not stack:
            continue
        lines.append(f"Stack {stack.name}")
        lines += [f"[+] {key}" for key in stack.added]
        lines += [f"[-] {key}" for key in stack.removed]
        for resource, found in stack.changed.items():
            lines.append(f"[~] {resource}")
            for path, old, new in found:
                lines.append(f"    {path}: {_short(old)} -> {_short(new)}")
    count = sum(1 for stack in diffs if stack)
    lines.append(f"Number of stacks with differences: {count}")
    return "\n".join(lines)


def parse_context_flags(values: Sequence[str]) -> dict[str, str]:
    """`-c key=value` flags -> {key: value}, as the CDK CLI passes them (strings)."""
    from stacks.settings import parse_overrides

    return parse_overrides(values)


def committed_context(revision: str) -> dict[str, Any]:
    """The `context` of cdk.json as committed at `revision`."""
    shown = subprocess.run(  # noqa: S603
        ["git", "show", f"{revision}:cdk.json"],  # noqa: S607
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        raise SystemExit(f"cannot read cdk.json at {revision!r}: {shown.stderr.strip()}")
    return dict(json.loads(shown.stdout)["context"])


def synthesize(context: Mapping[str, Any], outdir: Path) -> None:
    """`python app.py` (what `cdk synth` runs) into `outdir` with `context`."""
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip() or f"synth failed ({done.returncode})")


def main(argv: Sequence[str] | None = None) -> int:
    """Synthesize the baseline and the change, print the per-stack difference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--base", default="HEAD", help="git revision of the baseline cdk.json")
    args = parser.parse_args(argv)
    from stacks.settings import ConfigError, cdk_json_context

    try:
        overrides = parse_context_flags(args.context)
        changed_context = {**cdk_json_context(), **overrides}
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    baseline_context = committed_context(args.base)
    with tempfile.TemporaryDirectory(prefix="pkgml-diff-") as tmp:
        outdirs = {"baseline": Path(tmp) / "baseline", "changed": Path(tmp) / "changed"}
        print(f"synthesizing the baseline (cdk.json at {args.base}) and the change ...")
        with ThreadPoolExecutor(max_workers=2) as pool:  # two processes, one per core
            list(
                pool.map(
                    synthesize,
                    [baseline_context, changed_context],
                    [outdirs["baseline"], outdirs["changed"]],
                )
            )
        print(render(diff_assemblies(outdirs["baseline"], outdirs["changed"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
