"""Environment-variable validation shared by the functions' settings modules.

Standard library only. Every helper reads one variable (blank counts as unset) and raises
`ConfigError` naming the variable and the accepted form, so a function fails at init, loudly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
PACKAGE_TYPE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
PREFIX = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
PACKAGE_TYPES_FORM = 'a JSON list of distinct lowercase package types, e.g. ["mailer","bag"]'
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class ConfigError(RuntimeError):
    """An environment variable is missing or invalid."""


def get(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, stripped, or None when it is unset or blank."""
    return env.get(name, "").strip() or None


def required(env: Mapping[str, str], name: str, form: str = "") -> str:
    """The variable's value; ConfigError (with the accepted form, if given) when unset."""
    value = get(env, name)
    if value is None:
        hint = f" ({form})" if form else ""
        raise ConfigError(f"{name}: required environment variable is not set{hint}")
    return value


def check(value: str, name: str, pattern: re.Pattern[str], form: str) -> str:
    """`value` if it fully matches `pattern`, else ConfigError naming `name` and `form`."""
    if not pattern.fullmatch(value):
        raise ConfigError(f"{name}: must be {form} (got {value!r})")
    return value


def matching(env: Mapping[str, str], name: str, pattern: re.Pattern[str], form: str) -> str:
    """A required variable that must fully match `pattern`."""
    return check(required(env, name, form), name, pattern, form)


def optional(env: Mapping[str, str], name: str, pattern: re.Pattern[str], form: str) -> str | None:
    """An optional variable that, when set, must fully match `pattern`; else None."""
    value = get(env, name)
    return None if value is None else check(value, name, pattern, form)


def integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer from `low` to `high` inclusive, or `default` when unset."""
    raw = get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be an integer from {low} to {high} (got {raw!r})")
    return value


def boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A true/false flag (1/0, true/false, yes/no, on/off), or `default` when unset."""
    raw = (get(env, name) or "").lower()
    if not raw:
        return default
    if raw not in _TRUE + _FALSE:
        raise ConfigError(f"{name}: must be true or false (got {raw!r})")
    return raw in _TRUE


def key_prefix(env: Mapping[str, str], name: str, default: str) -> str:
    """An S3 key prefix ending in '/', or `default` when unset."""
    value = get(env, name) or default
    if not PREFIX.fullmatch(value):
        raise ConfigError(f"{name}: must be a key prefix ending in '/', e.g. {default!r}")
    return value


def package_types(
    env: Mapping[str, str], default: tuple[str, ...] | None = None
) -> tuple[str, ...]:
    """PACKAGE_TYPES, a JSON list of distinct names; required unless a `default` is given."""
    if default is not None and get(env, "PACKAGE_TYPES") is None:
        return default
    try:
        value = json.loads(required(env, "PACKAGE_TYPES", PACKAGE_TYPES_FORM))
    except ValueError:
        value = None
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(p, str) and PACKAGE_TYPE.fullmatch(p) for p in value)
        or len(set(value)) != len(value)
    ):
        raise ConfigError(f"PACKAGE_TYPES: must be {PACKAGE_TYPES_FORM}")
    return tuple(value)


def log_level(env: Mapping[str, str]) -> str:
    """LOG_LEVEL, upper-cased, one of LOG_LEVELS; INFO when unset."""
    level = (get(env, "LOG_LEVEL") or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL: must be one of {', '.join(LOG_LEVELS)}")
    return level
