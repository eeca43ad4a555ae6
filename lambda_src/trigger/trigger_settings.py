"""The trigger's configuration, read once from environment variables and validated.

Every variable is documented in `trigger_handler.py`. A bad value raises `ConfigError`
naming the variable and the accepted form, so the function fails at init, loudly.

The deployed architectures' catalog (`architectures.json`, written beside these modules by
the stack in `pkgml_contracts.architectures.catalog_json` form) is read here too, once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pkgml_env import (
    BUCKET,
    NAME,
    ConfigError,
    integer,
    key_prefix,
    log_level,
    matching,
    package_types,
    required,
)
from runfile import RUN_KINDS, Deployment

from pkgml_contracts.architectures import Architecture, ArchitectureError, from_json_catalog

MAX_QUARANTINE_PREFIX = 256
_PIPELINE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}")
# The stack ships the deployed architectures' catalog beside the modules.
DEFAULT_ARCHITECTURES_FILE = Path(__file__).resolve().parent / "architectures.json"


@dataclass(frozen=True)
class Settings:
    """Validated trigger configuration."""

    environment: str
    project: str
    data_bucket: str
    pipelines: Mapping[str, Mapping[str, str]]
    package_types: tuple[str, ...]
    # {package type: {architecture: training pipeline}}: every deployed architecture
    architecture_pipelines: Mapping[str, Mapping[str, str]]
    deployment: Deployment
    max_run_file_bytes: int = 65536
    runs_prefix: str = "runs/"
    quarantine_prefix: str = "quarantine/"
    state_prefix: str = "trigger-state/"
    claim_lease_seconds: int = 900
    log_level: str = "INFO"

    def pipeline(self, kind: str, package_type: str, architecture: str | None = None) -> str:
        """The pipeline a run of `kind` starts for `package_type`; training: the training
        pipeline of `architecture` (default: the package type's configured one)."""
        if kind != "training":
            return self.pipelines[kind][package_type]
        name = architecture or self.deployment.configured[package_type]
        return self.architecture_pipelines[package_type][name]


def _json(env: Mapping[str, str], name: str, form: str) -> Any:
    try:
        return json.loads(required(env, name))
    except ValueError:
        raise ConfigError(f"{name}: must be JSON, {form}") from None


def _catalog(env: Mapping[str, str]) -> dict[str, Architecture]:
    """The architectures' catalog from ARCHITECTURES_FILE (default: beside the modules)."""
    path = Path(env.get("ARCHITECTURES_FILE", "").strip() or DEFAULT_ARCHITECTURES_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"ARCHITECTURES_FILE: {path} does not exist (the stack writes architectures.json "
            "beside the trigger's modules; set ARCHITECTURES_FILE to read another file)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"ARCHITECTURES_FILE: cannot read {path} ({exc})") from None
    try:
        catalog = from_json_catalog(text)
    except (ArchitectureError, ValueError, AttributeError, TypeError, RecursionError) as exc:
        raise ConfigError(
            f"ARCHITECTURES_FILE: {path} is not an architecture catalog "
            f"({{name: declaration}}, pkgml_contracts.architectures.catalog_json): {exc}"
        ) from None
    for name, architecture in catalog.items():
        if architecture.name != name:
            raise ConfigError(
                f"ARCHITECTURES_FILE: {path}: entry {name!r} declares {architecture.name!r}"
            )
    return catalog


def _architecture_pipelines(
    env: Mapping[str, str],
    types: tuple[str, ...],
    catalog: Mapping[str, Architecture],
) -> dict[str, dict[str, str]]:
    form = (
        '{"<package type>": {"<architecture>": "<training pipeline name>"}} for every '
        "package type, every deployed architecture"
    )
    value = _json(env, "ARCHITECTURE_PIPELINES", form)
    if not isinstance(value, dict) or set(value) != set(types):
        raise ConfigError(
            f"ARCHITECTURE_PIPELINES: must be {form}; exactly the PACKAGE_TYPES "
            f"({', '.join(types)})"
        )
    seen: dict[str, str] = {}
    for package_type in types:
        routes = value[package_type]
        where = f"ARCHITECTURE_PIPELINES[{package_type!r}]"
        if not isinstance(routes, dict) or not routes:
            raise ConfigError(f"{where}: must map at least one architecture to its pipeline")
        for architecture, name in routes.items():
            if architecture not in catalog:
                raise ConfigError(
                    f"{where}[{architecture!r}]: not in the architecture catalog "
                    f"(ARCHITECTURES_FILE has: {', '.join(sorted(catalog)) or 'none'})"
                )
            if not isinstance(name, str) or not _PIPELINE_NAME.fullmatch(name):
                raise ConfigError(f"{where}[{architecture!r}]: must be a SageMaker pipeline name")
            if name in seen:
                raise ConfigError(
                    f"{where}[{architecture!r}]: {name!r} is also the pipeline of {seen[name]}; "
                    "each architecture trains in its own pipeline"
                )
            seen[name] = f"{package_type}/{architecture}"
    return value


def _default_architectures(
    env: Mapping[str, str],
    types: tuple[str, ...],
    architecture_pipelines: Mapping[str, Mapping[str, str]],
    pipelines: Mapping[str, Mapping[str, str]],
) -> dict[str, str]:
    form = '{"<package type>": "<configured architecture>"} for every package type'
    value = _json(env, "DEFAULT_ARCHITECTURES", form)
    if not isinstance(value, dict) or set(value) != set(types):
        raise ConfigError(
            f"DEFAULT_ARCHITECTURES: must be {form}; exactly the PACKAGE_TYPES ({', '.join(types)})"
        )
    for package_type in types:
        name = value[package_type]
        where = f"DEFAULT_ARCHITECTURES[{package_type!r}]"
        deployed = architecture_pipelines[package_type]
        if not isinstance(name, str) or name not in deployed:
            raise ConfigError(
                f"{where}: must be one of the architectures deployed for {package_type} "
                f"(ARCHITECTURE_PIPELINES: {', '.join(deployed)})"
            )
        # The configured architecture trains in the package type's training pipeline.
        if deployed[name] != pipelines["training"][package_type]:
            raise ConfigError(
                f"{where}: {name!r} trains in {deployed[name]!r} (ARCHITECTURE_PIPELINES), but "
                f"PIPELINES['training'][{package_type!r}] is "
                f"{pipelines['training'][package_type]!r}; they must be the same pipeline"
            )
    return value


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables; ConfigError names the bad variable."""
    types = package_types(env)

    pipelines_form = (
        '{"<run kind>": {"<package type>": "<pipeline name>"}} for every run kind '
        f"({', '.join(RUN_KINDS)}) and every package type"
    )
    pipelines = _json(env, "PIPELINES", pipelines_form)
    if not isinstance(pipelines, dict) or set(pipelines) != set(RUN_KINDS):
        raise ConfigError(f"PIPELINES: must be {pipelines_form}")
    for kind, routes in pipelines.items():
        if not isinstance(routes, dict) or set(routes) != set(types):
            raise ConfigError(f"PIPELINES[{kind!r}]: must map exactly the PACKAGE_TYPES")
        for package_type, name in routes.items():
            if not isinstance(name, str) or not _PIPELINE_NAME.fullmatch(name):
                raise ConfigError(
                    f"PIPELINES[{kind!r}][{package_type!r}]: must be a SageMaker pipeline name"
                )

    catalog = _catalog(env)
    architecture_pipelines = _architecture_pipelines(env, types, catalog)
    defaults = _default_architectures(env, types, architecture_pipelines, pipelines)
    deployment = Deployment(
        catalog=catalog,
        deployed={
            p: (defaults[p], *sorted(set(architecture_pipelines[p]) - {defaults[p]})) for p in types
        },
        configured=defaults,
    )

    prefixes = {
        "RUNS_PREFIX": key_prefix(env, "RUNS_PREFIX", "runs/"),
        "QUARANTINE_PREFIX": key_prefix(env, "QUARANTINE_PREFIX", "quarantine/"),
        "STATE_PREFIX": key_prefix(env, "STATE_PREFIX", "trigger-state/"),
    }
    # A quarantine key is the prefix, a 64-character hash folder and a readable tail, and
    # must stay within S3's 1,024-byte key limit (trigger_quarantine.quarantine_key).
    if len(prefixes["QUARANTINE_PREFIX"]) > MAX_QUARANTINE_PREFIX:
        raise ConfigError(f"QUARANTINE_PREFIX: must be at most {MAX_QUARANTINE_PREFIX} characters")
    # Overlap would loop: a quarantined copy under runs/ would trigger this function again.
    for name, value in prefixes.items():
        for other, other_value in prefixes.items():
            if name != other and value.startswith(other_value):
                raise ConfigError(f"{name}: must not lie under {other} ({value!r})")

    level = log_level(env)

    return Settings(
        environment=matching(env, "ENVIRONMENT", NAME, "a lowercase name, e.g. 'dev'"),
        project=matching(env, "PROJECT", NAME, "a lowercase name, e.g. 'pkgml'"),
        data_bucket=matching(env, "DATA_BUCKET", BUCKET, "an S3 bucket name"),
        pipelines={k: dict(v) for k, v in pipelines.items()},
        package_types=types,
        architecture_pipelines={p: dict(r) for p, r in architecture_pipelines.items()},
        deployment=deployment,
        max_run_file_bytes=integer(env, "MAX_RUN_FILE_BYTES", 65536, 64, 10 * 1024 * 1024),
        runs_prefix=prefixes["RUNS_PREFIX"],
        quarantine_prefix=prefixes["QUARANTINE_PREFIX"],
        state_prefix=prefixes["STATE_PREFIX"],
        claim_lease_seconds=integer(env, "CLAIM_LEASE_SECONDS", 900, 60, 86400),
        log_level=level,
    )
