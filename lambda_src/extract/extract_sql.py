"""The UNLOAD statement, rendered from a versioned template with validated values only.

Values that reach the SQL: the run date, the package types from configuration, the S3
prefix derived from them, the role ARN, the KMS key ARN and the file size from
configuration. Nothing from an event does.
"""

from __future__ import annotations

import re
import string
from datetime import date
from pathlib import Path

from extract_settings import KMS_KEY_ARN, ROLE_ARN

from pkgml_contracts.runs import RUN_KINDS, setting_key

SQL_DIR = Path(__file__).resolve().parent / "sql"

_S3_PREFIX = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/unload/[a-z-]+/[a-z0-9-]+/")


def load_templates(directory: Path = SQL_DIR) -> dict[str, str]:
    """The versioned query templates, by run kind (file name: kind with '_' for '-')."""
    return {
        kind: (directory / f"{setting_key(kind)}.sql").read_text(encoding="utf-8")
        for kind in RUN_KINDS
    }


def render_query(template: str, *, run_date: date, package_types: tuple[str, ...]) -> str:
    """The SELECT: comment lines dropped, placeholders filled with validated values only."""
    body = "\n".join(
        line.rstrip() for line in template.splitlines() if not line.lstrip().startswith("--")
    ).strip()
    for value in package_types:
        if not re.fullmatch(r"[a-z0-9-]+", value):
            raise ValueError(f"package type {value!r} is not safe to render")
    query = string.Template(body).substitute(
        run_date=run_date.isoformat(),
        package_types=", ".join(f"'{p}'" for p in package_types),
    )
    if ";" in query or "\\" in query:
        raise ValueError("a query template must be one statement without ';' or backslashes")
    return query


def unload_statement(
    query: str, *, s3_prefix: str, role_arn: str, kms_key_arn: str, max_file_size_mb: int
) -> str:
    """UNLOAD ('<query, quotes doubled>') TO '<prefix>' ... FORMAT PARQUET MANIFEST ENCRYPTED.

    `ENCRYPTED KMS_KEY_ID` makes Redshift write SSE-KMS objects under the environment's
    key; without it UNLOAD writes SSE-S3, whatever the bucket's default encryption is.
    """
    if not _S3_PREFIX.fullmatch(s3_prefix):
        raise ValueError(f"unsafe S3 prefix {s3_prefix!r}")
    if not ROLE_ARN.fullmatch(role_arn):
        raise ValueError(f"unsafe role ARN {role_arn!r}")
    if not KMS_KEY_ARN.fullmatch(kms_key_arn):
        raise ValueError(f"unsafe KMS key ARN {kms_key_arn!r}")
    if not 5 <= max_file_size_mb <= 6200:
        raise ValueError("MAXFILESIZE must be 5-6200 MB")
    escaped = query.replace("'", "''")
    return (
        f"UNLOAD ('{escaped}')\n"
        f"TO '{s3_prefix}'\n"
        f"IAM_ROLE '{role_arn}'\n"
        f"FORMAT PARQUET\n"
        f"MANIFEST\n"
        f"ENCRYPTED\n"
        f"KMS_KEY_ID '{kms_key_arn}'\n"
        f"MAXFILESIZE {max_file_size_mb} MB\n"
        f"ALLOWOVERWRITE"
    )
