"""Run files written by `ops run`, checked by the trigger's own rules.

The schema lives once, in `lambda_src/trigger/runfile.py` (standard library only, the
Lambda's asset folder). It is loaded here by path under a private module name, so the
CLI accepts exactly what the trigger accepts and nothing is duplicated.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from ops.errors import UsageError
from pipeline_defs.architectures import architectures
from stacks.settings import EnvironmentSettings

TRIGGER_RUNFILE = Path(__file__).resolve().parent.parent / "lambda_src" / "trigger" / "runfile.py"
_MODULE_NAME = "_ops_trigger_runfile"

# Reasons that depend on what is in S3 now (the operator may retry later): exit code 1.
STATE_REASONS = frozenset({"manifest_missing", "manifest_invalid", "manifest_empty"})


@functools.cache
def trigger_rules() -> ModuleType:
    """The trigger's runfile module (parse_run_key, parse_run_file, validate_manifest...)."""
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, TRIGGER_RUNFILE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the run-file rules from {TRIGGER_RUNFILE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE_NAME] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


def deployment(environment: EnvironmentSettings, package_types: Sequence[str]) -> Any:
    """The trigger's `Deployment` for an environment, as its stack configures the trigger:
    per package type its configured architecture and every deployed one, and their
    declarations (pipeline_defs/architectures)."""
    rules = trigger_rules()
    declared = architectures()
    deployed = {p: environment.deployed_architectures(p) for p in package_types}
    names = sorted({name for names in deployed.values() for name in names})
    return rules.Deployment(
        catalog={name: declared[name] for name in names},
        deployed=deployed,
        configured={p: environment.model_for(p).architecture for p in package_types},
    )


def parse_value(text: str) -> Any:
    """A --set value: JSON scalars (8, 0.05, true) become numbers/booleans, the rest strings."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if not isinstance(value, dict | list) else text


def parameters_from_sets(sets: Sequence[str]) -> dict[str, Any]:
    """`--set key=value` pairs -> the run file's `parameters` object (dotted keys nest).

    `hyperparameters.max_depth=8` -> {"hyperparameters": {"max_depth": 8}}; a leading
    `parameters.` is accepted. Which keys and values are allowed is the trigger's call.
    """
    parameters: dict[str, Any] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        key = key.strip().removeprefix("parameters.")
        parts = key.split(".")
        if not sep or not all(parts):
            raise UsageError(
                f"--set {item!r}: expected key=value, e.g. hyperparameters.max_depth=8"
            )
        node = parameters
        for index, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(parts[: index + 1])
                raise UsageError(f"--set {item!r}: {where} was already set to a single value")
            node = child
        if parts[-1] in node:
            raise UsageError(f"--set {item!r}: parameters.{key} is given twice")
        node[parts[-1]] = parse_value(raw)
    return parameters


def run_file_document(
    *,
    kind: str,
    run_id: str,
    manifest: str,
    package_types: Sequence[str] | None,
    parameters: dict[str, Any],
    architecture: str | None = None,
) -> dict[str, Any]:
    """The run file as the trigger reads it (schema version 1); optional parts only if set.

    With `architecture`, the run trains that architecture (`model.architecture`) and the
    `hyperparameters` of `parameters` move to `model.hyperparameters`, where the trigger
    expects them then.
    """
    rules = trigger_rules()
    document: dict[str, Any] = {
        "schema_version": rules.SCHEMA_VERSION,
        "kind": kind,
        "run_id": run_id,
        "data": {"manifest": manifest},
    }
    if package_types:
        document["package_types"] = list(package_types)
    parameters = dict(parameters)
    if architecture is not None:
        model: dict[str, Any] = {"architecture": architecture}
        if "hyperparameters" in parameters:
            model["hyperparameters"] = parameters.pop("hyperparameters")
        document["model"] = model
    if parameters:
        document["parameters"] = parameters
    return document


def encode(document: dict[str, Any]) -> bytes:
    """The bytes uploaded: indented UTF-8 JSON with a trailing newline."""
    return (json.dumps(document, indent=2, allow_nan=True) + "\n").encode("utf-8")
