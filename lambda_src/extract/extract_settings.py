"""The extract runner's configuration, read once from environment variables and validated.

Every variable is documented in `extract_handler.py`. A bad value raises `ConfigError`
naming the variable and the accepted form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ENVIRONMENT = re.compile(r"[a-z][a-z0-9-]{0,31}")
_STATEMENT_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_PACKAGE_TYPE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")
_SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+"
)
_CLUSTER = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_WORKGROUP = re.compile(r"[a-z0-9-]{3,63}")
_DB_NAME = re.compile(r"[a-z_][a-z0-9_$]{0,126}")
_PREFIX = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(RuntimeError):
    """An environment variable is missing or invalid."""


@dataclass(frozen=True)
class Settings:
    """Validated extract-runner configuration."""

    environment: str
    data_bucket: str
    alert_topic_arn: str
    unload_role_arn: str
    database: str
    package_types: tuple[str, ...]
    cluster_id: str | None = None
    workgroup: str | None = None
    secret_arn: str | None = None
    db_user: str | None = None
    max_file_size_mb: int = 256
    statement_prefix: str = "pkgml-"
    runs_prefix: str = "runs/"
    state_prefix: str = "extract-state/"
    claim_lease_seconds: int = 900
    log_level: str = "INFO"

    def statement_name(self, run_id: str) -> str:
        """StatementName of a run's UNLOAD: '<STATEMENT_PREFIX>extract-<run_id>'."""
        return f"{self.statement_prefix}extract-{run_id}"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _matching(
    env: Mapping[str, str], name: str, pattern: re.Pattern[str], form: str, required: bool = True
) -> str | None:
    value = _get(env, name)
    if value is None:
        if required:
            raise ConfigError(f"{name}: required environment variable is not set ({form})")
        return None
    if not pattern.fullmatch(value):
        raise ConfigError(f"{name}: must be {form} (got {value!r})")
    return value


def _required(env: Mapping[str, str], name: str, pattern: re.Pattern[str], form: str) -> str:
    value = _matching(env, name, pattern, form)
    assert value is not None
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be an integer from {low} to {high} (got {raw!r})")
    return value


def _prefix(env: Mapping[str, str], name: str, default: str) -> str:
    value = _get(env, name) or default
    if not _PREFIX.fullmatch(value):
        raise ConfigError(f"{name}: must be a key prefix ending in '/', e.g. {default!r}")
    return value


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables; ConfigError names the bad variable."""
    environment = _required(env, "ENVIRONMENT", _ENVIRONMENT, "a lowercase name, e.g. 'dev'")
    cluster_id = _matching(
        env, "REDSHIFT_CLUSTER_ID", _CLUSTER, "a Redshift cluster identifier", required=False
    )
    workgroup = _matching(
        env, "REDSHIFT_WORKGROUP", _WORKGROUP, "a Redshift Serverless workgroup", required=False
    )
    if (cluster_id is None) == (workgroup is None):
        raise ConfigError(
            "REDSHIFT_CLUSTER_ID / REDSHIFT_WORKGROUP: set exactly one "
            "(a provisioned cluster or a Serverless workgroup)"
        )
    secret_arn = _matching(
        env, "REDSHIFT_SECRET_ARN", _SECRET_ARN, "a Secrets Manager secret ARN", required=False
    )
    db_user = _matching(env, "REDSHIFT_DB_USER", _DB_NAME, "a database user", required=False)
    if secret_arn and db_user:
        raise ConfigError("REDSHIFT_SECRET_ARN / REDSHIFT_DB_USER: set one, not both")
    if workgroup and db_user:
        raise ConfigError("REDSHIFT_DB_USER: only for a provisioned cluster (not a workgroup)")
    if cluster_id and not (secret_arn or db_user):
        raise ConfigError(
            "REDSHIFT_SECRET_ARN / REDSHIFT_DB_USER: a provisioned cluster needs one of them"
        )

    form = 'a JSON list of package type names, e.g. ["mailer","bag"]'
    try:
        package_types = json.loads(_get(env, "PACKAGE_TYPES") or "null")
    except ValueError:
        package_types = None
    if (
        not isinstance(package_types, list)
        or not package_types
        or not all(isinstance(p, str) and _PACKAGE_TYPE.fullmatch(p) for p in package_types)
        or len(set(package_types)) != len(package_types)
    ):
        raise ConfigError(f"PACKAGE_TYPES: must be {form}, distinct, lowercase")

    runs_prefix = _prefix(env, "RUNS_PREFIX", "runs/")
    state_prefix = _prefix(env, "EXTRACT_STATE_PREFIX", "extract-state/")
    if state_prefix.startswith(runs_prefix) or runs_prefix.startswith(state_prefix):
        raise ConfigError("EXTRACT_STATE_PREFIX: must not overlap RUNS_PREFIX")

    log_level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in _LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL: must be one of {', '.join(_LOG_LEVELS)}")

    statement_prefix = _get(env, "STATEMENT_PREFIX") or f"pkgml-{environment}-"
    if not _STATEMENT_PREFIX.fullmatch(statement_prefix):
        raise ConfigError(
            f"STATEMENT_PREFIX: must be letters, digits, '.', '_', '-', e.g. 'pkgml-{environment}-'"
        )

    return Settings(
        environment=environment,
        data_bucket=_required(env, "DATA_BUCKET", _BUCKET, "an S3 bucket name"),
        alert_topic_arn=_required(env, "ALERT_TOPIC_ARN", _TOPIC_ARN, "an SNS topic ARN"),
        unload_role_arn=_required(env, "REDSHIFT_UNLOAD_ROLE_ARN", ROLE_ARN, "an IAM role ARN"),
        database=_required(env, "REDSHIFT_DATABASE", _DB_NAME, "a database name, e.g. 'dev'"),
        package_types=tuple(package_types),
        cluster_id=cluster_id,
        workgroup=workgroup,
        secret_arn=secret_arn,
        db_user=db_user,
        max_file_size_mb=_int(env, "UNLOAD_MAX_FILE_SIZE_MB", 256, 5, 6200),
        statement_prefix=statement_prefix,
        runs_prefix=runs_prefix,
        state_prefix=state_prefix,
        claim_lease_seconds=_int(env, "CLAIM_LEASE_SECONDS", 900, 60, 86400),
        log_level=log_level,
    )
