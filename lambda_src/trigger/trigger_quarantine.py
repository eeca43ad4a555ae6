"""Quarantine of a rejected run file: copy, event, report; each step safe to repeat.

    quarantine/<sha256 of the key>/<tail of the key>              the copy
    quarantine/<sha256 of the key>/<tail of the key>.error.json   the report

The folder is derived from the original key alone, so the key always fits S3's 1,024
bytes (whatever the original's length), every retry and every later version of the same
file land in the same place, and two keys never share a folder. The report records the
original key in full.

Order: report already there for this version -> done (a duplicate delivery). Else copy
(skipped if the copy of this version is there already), put the "Run File Quarantined"
event (`pkgml_contracts.notifications`: the notify function words the alert), then write
the report, whose JSON is the event's detail. Any failure raises (an event EventBridge did
not take too), so Lambda retries; the retry finds the copy and does not make another, and
puts the event because the report is missing. If only the report write failed, the retry
puts the event a second time: a duplicate alert rather than none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from pkgml_log import log_event
from runfile import RunFileError
from trigger_settings import Settings

from pkgml_contracts.notifications import RunFileQuarantined, put_event

S3_KEY_MAX_BYTES = 1024
REPORT_SUFFIX = ".error.json"
TAIL_MAX_BYTES = 100
MAX_COPY_BYTES = 5 * 1024**3  # CopyObject's limit; larger objects are reported, not copied
SOURCE_VERSION = "source-version"  # user metadata on the copy: the version it was made from

# (s3 error, bucket, key) -> True if the error means "no such object"
Absent = Callable[[ClientError, str, str], bool]


@dataclass(frozen=True)
class Rejected:
    """The run-file version being quarantined, as the trigger found it."""

    bucket: str
    key: str
    version: str  # the S3 version id, or "etag:<etag>" on an unversioned bucket
    etag: str
    size: int
    content_type: str | None = None


def quarantine_key(prefix: str, key: str) -> str:
    """`<prefix><sha256 of key>/<tail>`, at most 1,024 bytes with the report suffix.

    The tail is the end of the key's last segment (at most 100 bytes, whole characters),
    so people can still recognise the file.
    """
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    budget = S3_KEY_MAX_BYTES - len(f"{prefix}{digest}/{REPORT_SUFFIX}".encode())
    name = key.rstrip("/").rpartition("/")[2]
    encoded = name.encode("utf-8", "surrogatepass")
    raw = encoded[len(encoded) - max(0, min(TAIL_MAX_BYTES, budget)) :]
    tail = raw.decode("utf-8", "ignore")  # drops a character cut in half at the start
    if tail in ("", ".", ".."):
        tail = "run-file"
    return f"{prefix}{digest}/{tail}"


def iso_time(epoch: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class Quarantine:
    """Quarantines rejected run files with injected clients, settings and clock."""

    def __init__(
        self,
        settings: Settings,
        s3: Any,
        events: Any,
        logger: logging.Logger,
        absent: Absent,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.s3 = s3
        self.events = events
        self.logger = logger
        self.absent = absent
        self.clock = clock

    def __call__(self, rejected: Rejected, error: RunFileError) -> None:
        """Copy, event, report (see the module docstring); keep the original."""
        s = self.settings
        copy_key = quarantine_key(s.quarantine_prefix, rejected.key)
        report_key = f"{copy_key}{REPORT_SUFFIX}"
        fields = {"key": rejected.key, "version": rejected.version, "reason": error.reason,
                  "field": error.field, "message": error.message}  # fmt: skip
        if self._already_reported(report_key, rejected.version):
            log_event(self.logger, "run_file.quarantine_duplicate", logging.WARNING, **fields)
            return
        copied = rejected.size <= MAX_COPY_BYTES
        if copied and not self._copied(copy_key, rejected.version):
            self._copy(rejected, copy_key)
        event = RunFileQuarantined(
            environment=s.environment,
            reason=error.reason,
            message=error.message,
            field=error.field or None,
            bucket=rejected.bucket,
            key=rejected.key,
            version=rejected.version,
            etag=rejected.etag,
            quarantined_copy=f"s3://{s.data_bucket}/{copy_key}" if copied else None,
            report=f"s3://{s.data_bucket}/{report_key}",
            time=iso_time(self.clock()),
        )
        # The event before the report: if the report write fails, the retry puts the event
        # again (a duplicate alert) rather than never.
        put_event(self.events, s.project, event)
        self.s3.put_object(
            Bucket=s.data_bucket,
            Key=report_key,
            Body=json.dumps(event.detail(), indent=2, ensure_ascii=False).encode("utf-8"),
            ContentType="application/json",
        )
        log_event(self.logger, "run_file.quarantined", logging.WARNING, **fields,
                  copy=copy_key if copied else None, report=report_key)  # fmt: skip

    def _copy(self, rejected: Rejected, copy_key: str) -> None:
        source = {"Bucket": rejected.bucket, "Key": rejected.key}
        if not rejected.version.startswith("etag:"):
            source["VersionId"] = rejected.version
        self.s3.copy_object(
            Bucket=self.settings.data_bucket,
            Key=copy_key,
            CopySource=source,
            MetadataDirective="REPLACE",
            Metadata={SOURCE_VERSION: rejected.version},
            ContentType=rejected.content_type or "application/octet-stream",
        )

    def _copied(self, copy_key: str, version: str) -> bool:
        """True if the copy of this version exists (an earlier attempt got that far)."""
        bucket = self.settings.data_bucket
        try:
            head = self.s3.head_object(Bucket=bucket, Key=copy_key)
        except ClientError as exc:
            if self.absent(exc, bucket, copy_key):
                return False
            raise
        return bool((head.get("Metadata") or {}).get(SOURCE_VERSION) == version)

    def _already_reported(self, report_key: str, version: str) -> bool:
        bucket = self.settings.data_bucket
        try:
            body = self.s3.get_object(Bucket=bucket, Key=report_key)
        except ClientError as exc:
            if self.absent(exc, bucket, report_key):
                return False
            raise
        try:
            previous = json.loads(body["Body"].read())
        except ValueError:
            return False
        original = previous.get("original") if isinstance(previous, dict) else None
        return isinstance(original, dict) and original.get("version") == version
