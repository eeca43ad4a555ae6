"""JSON records in the data bucket; S3 conditional writes are the only lock.

`put_if` returns the new ETag, or None when the condition (If-None-Match / If-Match)
failed: someone else wrote the record first, and the caller decides what that means.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
DENIED = frozenset({"AccessDenied", "403"})
CONDITION_FAILED = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_error(exc: BaseException, codes: frozenset[str]) -> bool:
    """True if `exc` is a ClientError whose code or HTTP status is one of `codes`."""
    if not isinstance(exc, ClientError):
        return False
    status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return error_code(exc) in codes or status in codes


class Store:
    """Objects of one bucket as JSON records (`s3` is a boto3 client or a fake)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def absent(self, exc: ClientError, key: str, bucket: str | None = None) -> bool:
        """True if `exc` means the object does not exist (S3 says 403 for a missing key
        without s3:ListBucket; a listing scoped to the key tells the two apart)."""
        if is_error(exc, NOT_FOUND):
            return True
        if not is_error(exc, DENIED):
            return False
        listed = self.s3.list_objects_v2(Bucket=bucket or self.bucket, Prefix=key, MaxKeys=1)
        return not any(item.get("Key") == key for item in listed.get("Contents", []))

    def read(self, key: str, bucket: str | None = None) -> bytes | None:
        """The object's bytes, or None if it does not exist."""
        try:
            response = self.s3.get_object(Bucket=bucket or self.bucket, Key=key)
        except ClientError as exc:
            if self.absent(exc, key, bucket):
                return None
            raise
        return bytes(response["Body"].read())

    def get(self, key: str) -> tuple[dict[str, Any], str] | None:
        """(record, ETag), or None if it does not exist."""
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if self.absent(exc, key):
                return None
            raise
        return json.loads(response["Body"].read()), str(response.get("ETag", ""))

    def put(self, key: str, record: dict[str, Any], **condition: str) -> str:
        """Write `record`; returns the new ETag (a failed condition raises)."""
        response = self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=json.dumps(record, indent=2).encode("utf-8"),
            ContentType="application/json",
            **condition,
        )
        return str(response.get("ETag", ""))

    def put_if(self, key: str, record: dict[str, Any], **condition: str) -> str | None:
        """Write `record` if `condition` holds: the new ETag, or None if it did not."""
        try:
            return self.put(key, record, **condition)
        except ClientError as exc:
            if is_error(exc, CONDITION_FAILED):
                return None
            raise

    def exists(self, key: str) -> bool:
        """True if the object exists."""
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if self.absent(exc, key):
                return False
            raise
        return True

    def keys(self, prefix: str, modified_since: float) -> Iterator[str]:
        """Keys under `prefix` last written at or after `modified_since` (epoch seconds)."""
        since = datetime.fromtimestamp(modified_since, UTC)
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                if item["LastModified"] >= since:
                    yield str(item["Key"])
