"""The notifier's configuration, read once from environment variables and validated.

Every variable is documented in `notify_handler.py`. A bad value raises `ConfigError`
naming the variable and the accepted form, so the function fails at init, loudly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pkgml_env import (
    BUCKET,
    NAME,
    TOPIC_ARN,
    ConfigError,
    boolean,
    check,
    get,
    integer,
    log_level,
    matching,
    optional,
    package_types,
)

Topic = Literal["alerts", "decisions"]

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_CONSOLE_BASE = re.compile(r"https://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~%/-]*)?")


@dataclass(frozen=True)
class Settings:
    """Validated notifier configuration (defaults: lookups on, 64 KiB decision files, 3 s)."""

    environment: str
    project: str
    region: str
    alerts_topic_arn: str
    decisions_topic_arn: str
    console_base: str | None = None
    package_types: tuple[str, ...] = ()
    lookups: bool = True
    decision_max_bytes: int = 65536
    lookup_timeout_seconds: int = 3
    log_level: str = "INFO"
    artifacts_bucket: str | None = None  # where a run's drift.json is (no drift news without)

    @property
    def prefix(self) -> str:
        """Name prefix of this environment's pipelines, groups and alarms, e.g. 'pkgml-dev'."""
        return f"{self.project}-{self.environment}"

    def topic_arn(self, topic: Topic) -> str:
        """The SNS topic ARN a routed notification goes to."""
        return self.decisions_topic_arn if topic == "decisions" else self.alerts_topic_arn


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables; ConfigError names the bad variable."""
    region = get(env, "REGION") or get(env, "AWS_REGION")
    if not region:
        raise ConfigError("REGION: required environment variable is not set (nor AWS_REGION)")
    console_base = (get(env, "CONSOLE_BASE") or "").rstrip("/") or None
    if console_base is not None:
        check(console_base, "CONSOLE_BASE", _CONSOLE_BASE, "an https:// URL")
    level = log_level(env)
    topic_form = "an SNS topic ARN"
    return Settings(
        environment=matching(env, "ENVIRONMENT", NAME, "a lowercase name, e.g. 'dev'"),
        project=matching(env, "PROJECT", NAME, "a lowercase name, e.g. 'pkgml'"),
        region=check(region, "REGION", _REGION, "an AWS region, e.g. 'us-east-1'"),
        alerts_topic_arn=matching(env, "ALERTS_TOPIC_ARN", TOPIC_ARN, topic_form),
        decisions_topic_arn=matching(env, "DECISIONS_TOPIC_ARN", TOPIC_ARN, topic_form),
        console_base=console_base,
        package_types=package_types(env, default=()),
        lookups=boolean(env, "LOOKUPS", True),
        decision_max_bytes=integer(env, "DECISION_MAX_BYTES", 65536, 1024, 1024 * 1024),
        lookup_timeout_seconds=integer(env, "LOOKUP_TIMEOUT_SECONDS", 3, 1, 20),
        log_level=level,
        artifacts_bucket=optional(env, "ARTIFACTS_BUCKET", BUCKET, "an S3 bucket name"),
    )
