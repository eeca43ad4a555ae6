"""The trigger's configuration, read once from environment variables and validated.

Every variable is documented in `trigger_handler.py`. A bad value raises `ConfigError`
naming the variable and the accepted form, so the function fails at init, loudly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runfile import RUN_KINDS

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ENVIRONMENT = re.compile(r"[a-z][a-z0-9-]{0,31}")
_PACKAGE_TYPE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_PIPELINE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}")
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
_PREFIX = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(RuntimeError):
    """An environment variable is missing or invalid."""


@dataclass(frozen=True)
class Settings:
    """Validated trigger configuration."""

    environment: str
    data_bucket: str
    pipelines: Mapping[str, Mapping[str, str]]
    package_types: tuple[str, ...]
    alert_topic_arn: str
    max_run_file_bytes: int = 65536
    runs_prefix: str = "runs/"
    quarantine_prefix: str = "quarantine/"
    state_prefix: str = "trigger-state/"
    claim_lease_seconds: int = 900
    log_level: str = "INFO"


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name}: required environment variable is not set")
    return value


def _matching(env: Mapping[str, str], name: str, pattern: re.Pattern[str], form: str) -> str:
    value = _required(env, name)
    if not pattern.fullmatch(value):
        raise ConfigError(f"{name}: must be {form} (got {value!r})")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be an integer from {low} to {high} (got {raw!r})")
    return value


def _prefix(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not _PREFIX.fullmatch(value):
        raise ConfigError(f"{name}: must be a key prefix ending in '/', e.g. {default!r}")
    return value


def _json(env: Mapping[str, str], name: str, form: str) -> Any:
    try:
        return json.loads(_required(env, name))
    except ValueError:
        raise ConfigError(f"{name}: must be JSON, {form}") from None


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables; ConfigError names the bad variable."""
    types_form = 'a JSON list of package type names, e.g. ["mailer","bag"]'
    package_types = _json(env, "PACKAGE_TYPES", types_form)
    if (
        not isinstance(package_types, list)
        or not package_types
        or not all(isinstance(p, str) and _PACKAGE_TYPE.fullmatch(p) for p in package_types)
        or len(set(package_types)) != len(package_types)
    ):
        raise ConfigError(f"PACKAGE_TYPES: must be {types_form}, distinct, lowercase")

    pipelines_form = (
        '{"<run kind>": {"<package type>": "<pipeline name>"}} for every run kind '
        f"({', '.join(RUN_KINDS)}) and every package type"
    )
    pipelines = _json(env, "PIPELINES", pipelines_form)
    if not isinstance(pipelines, dict) or set(pipelines) != set(RUN_KINDS):
        raise ConfigError(f"PIPELINES: must be {pipelines_form}")
    for kind, routes in pipelines.items():
        if not isinstance(routes, dict) or set(routes) != set(package_types):
            raise ConfigError(f"PIPELINES[{kind!r}]: must map exactly the PACKAGE_TYPES")
        for package_type, name in routes.items():
            if not isinstance(name, str) or not _PIPELINE_NAME.fullmatch(name):
                raise ConfigError(
                    f"PIPELINES[{kind!r}][{package_type!r}]: must be a SageMaker pipeline name"
                )

    prefixes = {
        "RUNS_PREFIX": _prefix(env, "RUNS_PREFIX", "runs/"),
        "QUARANTINE_PREFIX": _prefix(env, "QUARANTINE_PREFIX", "quarantine/"),
        "STATE_PREFIX": _prefix(env, "STATE_PREFIX", "trigger-state/"),
    }
    # Overlap would loop: a quarantined copy under runs/ would trigger this function again.
    for name, value in prefixes.items():
        for other, other_value in prefixes.items():
            if name != other and value.startswith(other_value):
                raise ConfigError(f"{name}: must not lie under {other} ({value!r})")

    log_level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
    if log_level not in _LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL: must be one of {', '.join(_LOG_LEVELS)}")

    return Settings(
        environment=_matching(env, "ENVIRONMENT", _ENVIRONMENT, "a lowercase name, e.g. 'dev'"),
        data_bucket=_matching(env, "DATA_BUCKET", _BUCKET, "an S3 bucket name"),
        pipelines={k: dict(v) for k, v in pipelines.items()},
        package_types=tuple(package_types),
        alert_topic_arn=_matching(env, "ALERT_TOPIC_ARN", _TOPIC_ARN, "an SNS topic ARN"),
        max_run_file_bytes=_int(env, "MAX_RUN_FILE_BYTES", 65536, 64, 10 * 1024 * 1024),
        runs_prefix=prefixes["RUNS_PREFIX"],
        quarantine_prefix=prefixes["QUARANTINE_PREFIX"],
        state_prefix=prefixes["STATE_PREFIX"],
        claim_lease_seconds=_int(env, "CLAIM_LEASE_SECONDS", 900, 60, 86400),
        log_level=log_level,
    )
