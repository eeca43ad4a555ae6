"""A Redshift Data API client that runs the SQL on a local DuckDB file.

Statements run synchronously: `describe_statement` reports FINISHED or FAILED (with the
error) at once, as the service would after polling. `batch_execute_statement` runs its
statements in one transaction. Before running, Redshift SQL is rewritten for DuckDB:

- `COPY t [(cols)] FROM 's3://...' ... [FORMAT [AS]] CSV|PARQUET [DELIMITER 'x'] [IGNOREHEADER n]
  [MANIFEST]` -> `INSERT INTO t [(cols)] SELECT * FROM read_csv([...local files...])` with the
  target columns' types (an empty prefix fails as Redshift's COPY does);
  IAM_ROLE, REGION, TIMEFORMAT, COMPUPDATE, STATUPDATE and friends are accepted and ignored;
- GETDATE() / SYSDATE -> current_timestamp;
- DISTSTYLE, DISTKEY, SORTKEY, ENCODE, BACKUP clauses are dropped; `VARCHAR(MAX)` -> VARCHAR;
- `CREATE TEMP TABLE x (LIKE y)` -> `CREATE TEMP TABLE x AS SELECT * FROM y LIMIT 0`;
- named parameters `:name` -> DuckDB `$name` (Data API `Parameters` are strings).
Anything else is passed to DuckDB as written; what DuckDB rejects fails the statement.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from rehearsal.localaws import LocalS3, _Unsupported, client_error, service_model, split_uri

# Where a faithful rehearsal keeps the stand-in's DuckDB for the image's Python (see _duckdb).
STANDIN_PATH_VARIABLE = "REHEARSAL_STANDIN_PATH"
MAX_STATEMENT_BYTES = 100 * 1024
MAX_BATCH_STATEMENTS = 40

_COPY = re.compile(
    r"^\s*COPY\s+(?P<table>[\w.$\"]+)\s*(?:\((?P<columns>[^)]*)\))?\s+FROM\s+'(?P<uri>[^']+)'"
    r"(?P<options>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_OPTION_VALUE = r"\s+(?:AS\s+)?'(?P<v>[^']*)'"
_DROP_CLAUSES = (
    re.compile(r"\bDISTSTYLE\s+\w+", re.IGNORECASE),
    re.compile(r"\bDISTKEY\s*\(\s*\w+\s*\)", re.IGNORECASE),
    re.compile(r"\b(?:COMPOUND\s+|INTERLEAVED\s+)?SORTKEY\s*\([^)]*\)", re.IGNORECASE),
    re.compile(r"\bENCODE\s+\w+", re.IGNORECASE),
    re.compile(r"\bBACKUP\s+(?:YES|NO)\b", re.IGNORECASE),
    # Redshift does not enforce key constraints (they are planner hints); DuckDB would.
    re.compile(r",\s*(?:PRIMARY\s+KEY|UNIQUE)\s*\([^)]*\)", re.IGNORECASE),
    re.compile(r"\b(?:PRIMARY\s+KEY|UNIQUE)\b(?!\s*\()", re.IGNORECASE),
)
_LIKE_TABLE = re.compile(
    r"CREATE\s+(?P<temp>TEMP(?:ORARY)?\s+)?TABLE\s+(?P<name>[\w.$\"]+)\s*\(\s*LIKE\s+(?P<src>[\w.$\"]+)\s*\)",
    re.IGNORECASE,
)
_PARAMETER = re.compile(r"(?<![:\w]):(?P<name>[A-Za-z_]\w*)")
_STRING = re.compile(r"'(?:[^']|'')*'")

_STATEMENTS: dict[str, dict[str, Any]] = {}


def split_statements(sql: str) -> list[str]:
    """Statements of a SQL text split at semicolons outside literals; `--` comments dropped."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    position = 0
    while position < len(sql):
        char = sql[position]
        if not quoted and sql.startswith("--", position):
            end = sql.find("\n", position)
            position = len(sql) if end < 0 else end
            continue
        if char == "'":
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        position += 1
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _outside_strings(sql: str, rewrite: Any) -> str:
    """Apply rewrite(text) to the parts of sql outside '...' literals."""
    pieces, last = [], 0
    for match in _STRING.finditer(sql):
        pieces.append(rewrite(sql[last : match.start()]))
        pieces.append(match.group(0))
        last = match.end()
    pieces.append(rewrite(sql[last:]))
    return "".join(pieces)


def _rewrite_plain(text: str) -> str:
    text = re.sub(r"\bGETDATE\s*\(\s*\)", "current_timestamp", text, flags=re.IGNORECASE)
    text = re.sub(r"\bSYSDATE\b", "current_timestamp", text, flags=re.IGNORECASE)
    text = re.sub(r"\bVARCHAR\s*\(\s*MAX\s*\)", "VARCHAR", text, flags=re.IGNORECASE)
    for clause in _DROP_CLAUSES:
        text = clause.sub("", text)
    text = _LIKE_TABLE.sub(
        lambda m: f"CREATE {m['temp'] or ''}TABLE {m['name']} AS SELECT * FROM {m['src']} LIMIT 0",
        text,
    )
    return _PARAMETER.sub(lambda m: f"${m['name']}", text)


def _duckdb() -> Any:
    """DuckDB, the warehouse of this stand-in. In a faithful rehearsal the step runs in its
    image's packages, which have no DuckDB: the stand-in's own copy is then in the folder
    REHEARSAL_STANDIN_PATH names (containers/faithful.py), which only this import sees."""
    folder = os.environ.get(STANDIN_PATH_VARIABLE)
    if folder and folder not in sys.path:
        sys.path.append(folder)
    import duckdb

    return duckdb


class FakeRedshiftData(_Unsupported):
    """redshift-data execute/batch/describe/get_statement_result over a DuckDB file."""

    service = "redshift-data"

    def __init__(self, database: Path, *, s3: LocalS3) -> None:
        """Run statements on the DuckDB file `database`; COPY reads from `s3`."""
        self.database = Path(database)
        self._s3 = s3

    # --- the API ---------------------------------------------------------------------

    def execute_statement(self, **params: Any) -> dict[str, Any]:
        """Run one SQL text (autocommit); the outcome is in describe_statement."""
        self._check(params, "ExecuteStatement")
        sql = params["Sql"]
        return self._run([sql], params, batch=False)

    def batch_execute_statement(self, **params: Any) -> dict[str, Any]:
        """Run up to 40 statements in one transaction."""
        self._check(params, "BatchExecuteStatement")
        sqls = params["Sqls"]
        if not 1 <= len(sqls) <= MAX_BATCH_STATEMENTS:
            raise client_error(
                "ValidationException",
                f"Sqls holds {len(sqls)} statements; 1-{MAX_BATCH_STATEMENTS} allowed",
                "BatchExecuteStatement",
            )
        return self._run(list(sqls), params, batch=True)

    def describe_statement(self, *, Id: str) -> dict[str, Any]:
        """Status FINISHED or FAILED, Error, HasResultSet, ResultRows, SubStatements."""
        record = _STATEMENTS.get(Id.split(":")[0])
        if record is None:
            raise client_error(
                "ResourceNotFoundException", f"statement {Id} not found", "DescribeStatement"
            )
        if ":" in Id:
            return dict(record["SubStatements"][int(Id.split(":")[1]) - 1])
        return {k: v for k, v in record.items() if not k.startswith("_")}

    def get_statement_result(self, *, Id: str, **_: Any) -> dict[str, Any]:
        """The last result set of a FINISHED statement, in the Data API's record format."""
        record = _STATEMENTS.get(Id.split(":")[0])
        if record is None or record["Status"] != "FINISHED" or record["_result"] is None:
            raise client_error(
                "ValidationException", f"statement {Id} has no result set", "GetStatementResult"
            )
        columns, rows = record["_result"]
        return {
            "ColumnMetadata": [{"name": name, "typeName": kind} for name, kind in columns],
            "Records": [[_field(v) for v in row] for row in rows],
            "TotalNumRows": len(rows),
        }

    def cancel_statement(self, *, Id: str) -> dict[str, Any]:
        """Statements finish at once: nothing to cancel."""
        return {"Status": False}

    # --- running -----------------------------------------------------------------------

    @staticmethod
    def _check(params: dict[str, Any], operation: str) -> None:
        from botocore.validate import ParamValidator

        model = service_model("redshift-data")
        report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
        if report.has_errors():
            raise client_error("ValidationException", report.generate_report(), operation)
        if bool(params.get("ClusterIdentifier")) == bool(params.get("WorkgroupName")):
            raise client_error(
                "ValidationException",
                "give exactly one of ClusterIdentifier and WorkgroupName",
                operation,
            )
        if params.get("WorkgroupName") and params.get("DbUser"):
            raise client_error(
                "ValidationException", "DbUser is for provisioned clusters only", operation
            )
        if params.get("ClusterIdentifier") and not (
            params.get("SecretArn") or params.get("DbUser")
        ):
            raise client_error(
                "ValidationException",
                "a provisioned cluster needs SecretArn or DbUser",
                operation,
            )
        for sql in params.get("Sqls", [params.get("Sql", "")]):
            if len(sql.encode()) > MAX_STATEMENT_BYTES:
                raise client_error(
                    "ValidationException", "statement text exceeds 100 KB", operation
                )

    def _run(self, sqls: list[str], params: dict[str, Any], *, batch: bool) -> dict[str, Any]:
        duckdb = _duckdb()

        statement_id = str(uuid.uuid4())
        began = time.monotonic_ns()
        values = {p["name"]: p["value"] for p in params.get("Parameters", [])}
        record: dict[str, Any] = {
            "Id": statement_id,
            "Status": "FINISHED",
            "QueryString": "; ".join(sqls),
            "Database": params.get("Database"),
            "HasResultSet": False,
            "ResultRows": -1,
            "_result": None,
        }
        subs: list[dict[str, Any]] = []
        connection = duckdb.connect(str(self.database))
        try:
            if batch:
                connection.execute("BEGIN TRANSACTION")
            for number, sql in enumerate(sqls, start=1):
                sub: dict[str, Any] = {
                    "Id": f"{statement_id}:{number}",
                    "QueryString": sql,
                    "Status": "FINISHED",
                }
                subs.append(sub)
                try:
                    result, rows = self._execute(connection, sql, values)
                except Exception as error:
                    sub["Status"] = "FAILED"
                    sub["Error"] = f"{type(error).__name__}: {error}"
                    raise
                sub["ResultRows"] = rows
                sub["HasResultSet"] = result is not None
                if result is not None:
                    record["_result"] = result
                    record["HasResultSet"] = True
                record["ResultRows"] = rows
            if batch:
                connection.execute("COMMIT")
        except Exception as error:
            if batch:
                connection.execute("ROLLBACK")
                for sub in subs:
                    if sub["Status"] == "FINISHED":
                        sub["Status"] = "ABORTED"
            record["Status"] = "FAILED"
            record["Error"] = f"{type(error).__name__}: {error}"
        finally:
            connection.close()
        record["Duration"] = time.monotonic_ns() - began
        if batch:
            record["SubStatements"] = subs
        _STATEMENTS[statement_id] = record
        return {"Id": statement_id, "Database": params.get("Database")}

    def _execute(
        self, connection: Any, sql: str, values: dict[str, str]
    ) -> tuple[tuple[list[tuple[str, str]], list[tuple[Any, ...]]] | None, int]:
        """Run one or more statements of a SQL text; (last result set or None, row count)."""
        result: tuple[list[tuple[str, str]], list[tuple[Any, ...]]] | None = None
        rows = -1
        for statement in split_statements(sql):
            translated = self.translate(connection, statement)
            used = {name: values[name] for name in _PARAMETER.findall(statement) if name in values}
            missing = [n for n in _PARAMETER.findall(statement) if n not in values]
            if missing:
                raise ValueError(f"parameter(s) {missing} have no value")
            cursor = connection.execute(translated, used or None)
            if cursor is None or cursor.description is None:
                result, rows = None, -1
                continue
            fetched = cursor.fetchall()
            names = [(d[0], str(d[1])) for d in cursor.description]
            if len(names) == 1 and names[0][0] == "Count" and _is_dml(statement):
                result, rows = None, int(fetched[0][0]) if fetched else 0
            else:
                result, rows = (names, fetched), len(fetched)
        return result, rows

    def translate(self, connection: Any, statement: str) -> str:
        """DuckDB SQL for one Redshift statement (see the module doc)."""
        copy = _COPY.match(statement)
        if copy:
            return self._translate_copy(connection, copy)
        return _outside_strings(statement, _rewrite_plain)

    def _translate_copy(self, connection: Any, match: re.Match[str]) -> str:
        table, uri, options = match["table"], match["uri"], match["options"]
        columns = [c.strip() for c in (match["columns"] or "").split(",") if c.strip()]
        files = self._copy_files(uri, manifest=bool(re.search(r"\bMANIFEST\b", options, re.I)))
        listed = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
        target = f"{table} ({', '.join(columns)})" if columns else table
        if re.search(r"\bPARQUET\b", options, re.IGNORECASE):
            return f"INSERT INTO {target} SELECT * FROM read_parquet({listed})"
        if re.search(r"\b(JSON|AVRO|ORC)\b", options, re.IGNORECASE):
            raise ValueError(f"COPY format in {options.strip()!r} is not emulated (CSV, PARQUET)")
        delimiter = re.search(r"\bDELIMITER" + _OPTION_VALUE, options, re.IGNORECASE)
        header = re.search(r"\bIGNOREHEADER\s+(?:AS\s+)?(\d+)", options, re.IGNORECASE)
        described = connection.execute(f"DESCRIBE {table}").fetchall()
        types = {row[0]: row[1] for row in described}
        wanted = columns or [row[0] for row in described]
        unknown = [c for c in wanted if c not in types]
        if unknown:
            raise ValueError(f"COPY names column(s) {unknown} that {table} does not have")
        spec = "{" + ", ".join(f"'{c}': '{types[c]}'" for c in wanted) + "}"
        delim = (delimiter["v"] if delimiter else ",").replace("'", "''")
        skip = int(header.group(1)) if header else 0
        return (
            f"INSERT INTO {target} SELECT * FROM read_csv({listed}, header=false, "
            f"skip={skip}, delim='{delim}', quote='\"', columns={spec}, auto_detect=false)"
        )

    def _copy_files(self, uri: str, *, manifest: bool) -> list[Path]:
        if manifest:
            entries = json.loads(self._s3.read_bytes(uri))["entries"]
            return [self._s3.path(entry["url"]) for entry in entries]
        bucket, prefix = split_uri(uri)
        keys = self._s3.list_keys(bucket, prefix)
        if not keys:
            raise ValueError(f"The specified S3 prefix '{prefix}' does not exist (COPY from {uri})")
        return [self._s3.root / bucket / key for key in keys]


def _is_dml(statement: str) -> bool:
    return bool(re.match(r"\s*(INSERT|UPDATE|DELETE|COPY|MERGE)\b", statement, re.IGNORECASE))


def _field(value: Any) -> dict[str, Any]:
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}
