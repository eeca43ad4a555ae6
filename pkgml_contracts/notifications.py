"""What every publisher of a human-facing SNS message must respect.

SNS requires a `Subject` of fewer than 100 characters, printable ASCII on one line, and
a message body that encodes as UTF-8 (a lone surrogate such as "\\udc80", valid in JSON,
does not, and makes the publish raise).
"""

from __future__ import annotations

import re
from typing import Final

SUBJECT_MAX: Final = 99
_NOT_PRINTABLE: Final = re.compile(r"[^ -~]")


def sns_subject(text: str) -> str:
    """`text` as a valid SNS subject: unprintable characters as '?', cut to 99 with '...'."""
    subject = _NOT_PRINTABLE.sub("?", " ".join(text.split()))
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 3] + "..."
    return subject or "(no subject)"


def encodable(text: str) -> str:
    """`text` with every character UTF-8 cannot encode (lone surrogates) escaped visibly."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
