"""One JSON line per log event, standard library only.

`log_event(logger, "run_file.started", level=logging.INFO, key=..., pipeline=...)` writes
`{"time": ..., "level": "INFO", "logger": ..., "event": "run_file.started", "key": ..., ...}`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_FIELDS_ATTR = "fields"
_CONTEXT: dict[str, Any] = {}


def set_context(**fields: Any) -> None:
    """Fields added to every following line (e.g. the invocation's request id)."""
    _CONTEXT.clear()
    _CONTEXT.update({k: v for k, v in fields.items() if v is not None})


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, event, then its fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        payload.update(_CONTEXT)
        payload.update(getattr(record, _FIELDS_ATTR, None) or {})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, separators=(",", ":"))


class _StdoutHandler(logging.StreamHandler):
    """Writes to the current sys.stdout (looked up per record, so test capture works)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def get_logger(name: str, level: str = "INFO") -> logging.Logger:
    """A logger with its own JSON handler on stdout; not propagated (no double lines)."""
    logger = logging.getLogger(name)
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def log_event(
    logger: logging.Logger, event: str, level: int = logging.INFO, /, **fields: Any
) -> None:
    """Log one event with structured fields."""
    logger.log(level, event, extra={_FIELDS_ATTR: fields})
