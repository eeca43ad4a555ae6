"""A processing job's ExitMessage: the text a step script leaves for SageMaker to show.

SageMaker keeps the first 1 KB of `/opt/ml/output/message` as the job's ExitMessage
(DescribeProcessingJob); the notifier quotes it and `ops status` shows it. Step scripts
(Prepare, Load) write it just before they fail; the rehearsal reads it back the same way.
Standard library only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

FILE: Final = "/opt/ml/output/message"
MAX_BYTES: Final = 1000


def cut(message: str) -> str:
    """`message` within MAX_BYTES of UTF-8, whole characters only."""
    return message.encode()[:MAX_BYTES].decode(errors="ignore")


def write(path: Path, message: str) -> str:
    """`cut(message)` into `path` (best effort: an unwritable path is reported on stderr,
    the step's own error still stands); the text written."""
    text = cut(message)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"could not write {path}: {error}", file=sys.stderr)
    return text
