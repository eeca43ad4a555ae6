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

from pkgml_env import (
    BUCKET,
    NAME,
    TOPIC_ARN,
    ConfigError,
    integer,
    key_prefix,
    log_level,
    matching,
    package_types,
    required,
)
from runfile import RUN_KINDS

MAX_QUARANTINE_PREFIX = 256
_PIPELINE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}")


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


def _json(env: Mapping[str, str], name: str, form: str) -> Any:
    try:
        return json.loads(required(env, name))
    except ValueError:
        raise ConfigError(f"{name}: must be JSON, {form}") from None


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
        data_bucket=matching(env, "DATA_BUCKET", BUCKET, "an S3 bucket name"),
        pipelines={k: dict(v) for k, v in pipelines.items()},
        package_types=types,
        alert_topic_arn=matching(env, "ALERT_TOPIC_ARN", TOPIC_ARN, "an SNS topic ARN"),
        max_run_file_bytes=integer(env, "MAX_RUN_FILE_BYTES", 65536, 64, 10 * 1024 * 1024),
        runs_prefix=prefixes["RUNS_PREFIX"],
        quarantine_prefix=prefixes["QUARANTINE_PREFIX"],
        state_prefix=prefixes["STATE_PREFIX"],
        claim_lease_seconds=integer(env, "CLAIM_LEASE_SECONDS", 900, 60, 86400),
        log_level=level,
    )
