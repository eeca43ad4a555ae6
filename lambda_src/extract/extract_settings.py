"""The extract runner's configuration, read once from environment variables and validated.

Every variable is documented in `extract_handler.py`. A bad value raises `ConfigError`
naming the variable and the accepted form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pkgml_env import (
    BUCKET,
    NAME,
    ConfigError,
    get,
    integer,
    key_prefix,
    log_level,
    matching,
    optional,
    package_types,
)

_STATEMENT_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")
# A key ARN (single- or multi-Region key): S3 resolves a bare key id in the caller's account.
KMS_KEY_ARN = re.compile(
    r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/"
    r"(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
_SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+"
)
_CLUSTER = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_WORKGROUP = re.compile(r"[a-z0-9-]{3,63}")
_DB_NAME = re.compile(r"[a-z_][a-z0-9_$]{0,126}")


@dataclass(frozen=True)
class Settings:
    """Validated extract-runner configuration."""

    environment: str
    project: str
    data_bucket: str
    unload_role_arn: str
    kms_key_arn: str
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
    sweep_after_seconds: int = 900
    log_level: str = "INFO"
    function_name: str | None = None  # this runner (Lambda's AWS_LAMBDA_FUNCTION_NAME)

    def statement_name(self, run_id: str, attempt: str) -> str:
        """StatementName of one attempt of a run's UNLOAD:
        '<STATEMENT_PREFIX>extract-<run_id>.<attempt>' (the claim names the attempt)."""
        return f"{self.statement_prefix}extract-{run_id}.{attempt}"


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables; ConfigError names the bad variable."""
    environment = matching(env, "ENVIRONMENT", NAME, "a lowercase name, e.g. 'dev'")
    cluster_id = optional(env, "REDSHIFT_CLUSTER_ID", _CLUSTER, "a Redshift cluster identifier")
    workgroup = optional(env, "REDSHIFT_WORKGROUP", _WORKGROUP, "a Redshift Serverless workgroup")
    if (cluster_id is None) == (workgroup is None):
        raise ConfigError(
            "REDSHIFT_CLUSTER_ID / REDSHIFT_WORKGROUP: set exactly one "
            "(a provisioned cluster or a Serverless workgroup)"
        )
    secret_arn = optional(env, "REDSHIFT_SECRET_ARN", _SECRET_ARN, "a Secrets Manager secret ARN")
    db_user = optional(env, "REDSHIFT_DB_USER", _DB_NAME, "a database user")
    if secret_arn and db_user:
        raise ConfigError("REDSHIFT_SECRET_ARN / REDSHIFT_DB_USER: set one, not both")
    if workgroup and db_user:
        raise ConfigError("REDSHIFT_DB_USER: only for a provisioned cluster (not a workgroup)")
    if cluster_id and not (secret_arn or db_user):
        raise ConfigError(
            "REDSHIFT_SECRET_ARN / REDSHIFT_DB_USER: a provisioned cluster needs one of them"
        )

    types = package_types(env)

    runs_prefix = key_prefix(env, "RUNS_PREFIX", "runs/")
    state_prefix = key_prefix(env, "EXTRACT_STATE_PREFIX", "extract-state/")
    if state_prefix.startswith(runs_prefix) or runs_prefix.startswith(state_prefix):
        raise ConfigError("EXTRACT_STATE_PREFIX: must not overlap RUNS_PREFIX")

    level = log_level(env)

    statement_prefix = get(env, "STATEMENT_PREFIX") or f"pkgml-{environment}-"
    if not _STATEMENT_PREFIX.fullmatch(statement_prefix):
        raise ConfigError(
            f"STATEMENT_PREFIX: must be letters, digits, '.', '_', '-', e.g. 'pkgml-{environment}-'"
        )

    return Settings(
        environment=environment,
        project=matching(env, "PROJECT", NAME, "a lowercase name, e.g. 'pkgml'"),
        data_bucket=matching(env, "DATA_BUCKET", BUCKET, "an S3 bucket name"),
        unload_role_arn=matching(env, "REDSHIFT_UNLOAD_ROLE_ARN", ROLE_ARN, "an IAM role ARN"),
        kms_key_arn=matching(env, "UNLOAD_KMS_KEY_ARN", KMS_KEY_ARN, "a KMS key ARN"),
        database=matching(env, "REDSHIFT_DATABASE", _DB_NAME, "a database name, e.g. 'dev'"),
        package_types=types,
        cluster_id=cluster_id,
        workgroup=workgroup,
        secret_arn=secret_arn,
        db_user=db_user,
        max_file_size_mb=integer(env, "UNLOAD_MAX_FILE_SIZE_MB", 256, 5, 6200),
        statement_prefix=statement_prefix,
        runs_prefix=runs_prefix,
        state_prefix=state_prefix,
        claim_lease_seconds=integer(env, "CLAIM_LEASE_SECONDS", 900, 60, 86400),
        sweep_after_seconds=integer(env, "SWEEP_AFTER_SECONDS", 900, 60, 86400),
        log_level=level,
        function_name=get(env, "AWS_LAMBDA_FUNCTION_NAME"),
    )
