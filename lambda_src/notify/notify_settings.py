"""The notifier's configuration, read once from environment variables and validated.

Every variable is documented in `notify_handler.py`. A bad value raises `ConfigError`
naming the variable and the accepted form, so the function fails at init, loudly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Topic = Literal["alerts", "decisions"]

_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
_PACKAGE_TYPE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
_CONSOLE_BASE = re.compile(r"https://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~%/-]*)?")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class ConfigError(RuntimeError):
    """An environment variable is missing or invalid."""


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

    @property
    def prefix(self) -> str:
        """Name prefix of this environment's pipelines, groups and alarms, e.g. 'pkgml-dev'."""
        return f"{self.project}-{self.environment}"

    def topic_arn(self, topic: Topic) -> str:
        """The SNS topic ARN a routed notification goes to."""
        return self.decisions_topic_arn if topic == "decisions" else self.alerts_topic_arn


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name}: required environment variable is not set")
    return value


def _matching(value: str, name: str, pattern: re.Pattern[str], form: str) -> str:
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


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in _TRUE + _FALSE:
        raise ConfigError(f"{name}: must be true or false (got {raw!r})")
    return raw in _TRUE


def _package_types(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("PACKAGE_TYPES", "").strip()
    if not raw:
        return ()
    form = 'a JSON list of distinct lowercase package types, e.g. ["mailer","bag"]'
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError(f"PACKAGE_TYPES: must be {form}") from None
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(p, str) and _PACKAGE_TYPE.fullmatch(p) for p in value)
        or len(set(value)) != len(value)
    ):
        raise ConfigError(f"PACKAGE_TYPES: must be {form}")
    return tuple(value)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables; ConfigError names the bad variable."""
    region = env.get("REGION", "").strip() or env.get("AWS_REGION", "").strip()
    if not region:
        raise ConfigError("REGION: required environment variable is not set (nor AWS_REGION)")
    console_base = env.get("CONSOLE_BASE", "").strip().rstrip("/") or None
    if console_base is not None:
        _matching(console_base, "CONSOLE_BASE", _CONSOLE_BASE, "an https:// URL")
    log_level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
    if log_level not in _LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL: must be one of {', '.join(_LOG_LEVELS)}")
    topic_form = "an SNS topic ARN"
    return Settings(
        environment=_matching(
            _required(env, "ENVIRONMENT"), "ENVIRONMENT", _NAME, "a lowercase name, e.g. 'dev'"
        ),
        project=_matching(
            _required(env, "PROJECT"), "PROJECT", _NAME, "a lowercase name, e.g. 'pkgml'"
        ),
        region=_matching(region, "REGION", _REGION, "an AWS region, e.g. 'us-east-1'"),
        alerts_topic_arn=_matching(
            _required(env, "ALERTS_TOPIC_ARN"), "ALERTS_TOPIC_ARN", _TOPIC_ARN, topic_form
        ),
        decisions_topic_arn=_matching(
            _required(env, "DECISIONS_TOPIC_ARN"), "DECISIONS_TOPIC_ARN", _TOPIC_ARN, topic_form
        ),
        console_base=console_base,
        package_types=_package_types(env),
        lookups=_bool(env, "LOOKUPS", True),
        decision_max_bytes=_int(env, "DECISION_MAX_BYTES", 65536, 1024, 1024 * 1024),
        lookup_timeout_seconds=_int(env, "LOOKUP_TIMEOUT_SECONDS", 3, 1, 20),
        log_level=log_level,
    )
