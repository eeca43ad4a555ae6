"""Load step: batch-transform predictions -> the Redshift target table, in one transaction.

Runs as `python3 /opt/ml/processing/input/code/load.py` in a SageMaker Processing job; it
reads nothing locally: Redshift COPYs the `*.out` files (`product_id,score` lines) straight
from `--predictions-uri` through the Redshift Data API.

Semantics: the target keeps ONE row per (product_id, package_type), the prediction of the
most recently loaded run. A load replaces the rows of the products it scores and any row
left by an earlier attempt of the same run; products it does not score keep their rows.
A rerun of the same run therefore replaces, never duplicates, and a second run replaces
the first for the products they share.

One `batch_execute_statement` call (the Data API runs the list as a single transaction:
any failure rolls all of it back, so the table is never half-loaded):

1. `CREATE TEMP TABLE pkgml_stage_predictions (product_id, score)` (session-scoped)
2. `COPY pkgml_stage_predictions FROM '<predictions-uri>/' IAM_ROLE ... FORMAT AS CSV`
   (one COPY of every file under the prefix, in parallel across slices)
3. check: an id twice in the predictions -> the statement fails (cast error naming the id)
4. check: a score outside [0, 1] or NaN -> the statement fails the same way
5. `DELETE FROM <target> WHERE package_type = :package_type AND run_id = :run_id`
6. `DELETE FROM <target> WHERE package_type = :package_type AND product_id IN (staged ids)`
7. `INSERT INTO <target> SELECT product_id, :package_type, score, :model_package_arn,
   :model_package_version, :run_id, :run_kind, GETDATE() FROM pkgml_stage_predictions`

(`--create-table` puts predictions_table.sql's CREATE TABLE IF NOT EXISTS first. The file
ships in this script's code bundle, which the job mounts at LIB_DIR (on PYTHONPATH), while
the script itself runs alone from /opt/ml/processing/input/code/; so the file is looked
for beside the script, then in each PYTHONPATH folder, then in LIB_DIR.) Values
from arguments are validated with strict patterns; those in DML travel as Data API
`Parameters` (`:name`), or, with a botocore too old to send Parameters in a batch, as
quoted literals of the same validated values. COPY accepts no parameters: its S3 prefix,
role and region are validated and quoted; the target table name is validated and quoted.

Then `describe_statement` is polled with exponential backoff (1 s doubling to 30 s) until a
deadline (`--timeout-seconds`, default 3600; the statement is cancelled when it passes).
Data API calls per load: 1 + polls, independent of row and file counts. FAILED/ABORTED
raise LoadError with Redshift's `Error` text and the failing sub-statement.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pkgml_contracts import exit_message, metrics
from pkgml_contracts.data_quality import DRIFT_ACTIONS

DEFAULT_DRIFT_DIR = "/opt/ml/processing/output/drift"
# SageMaker copies the first 1 KB of this file into the Processing job's ExitMessage.
DEFAULT_MESSAGE_FILE = exit_message.FILE

Dialect = Literal["redshift", "duckdb"]

STAGE_TABLE = "pkgml_stage_predictions"
MAX_BATCH_STATEMENTS = 40
DDL_FILE = "predictions_table.sql"
# Where the Processing job mounts this script's whole code bundle (=
# pipeline_defs.step_builders.LIB_DIR, also on the job's PYTHONPATH); the script itself
# runs from .../input/code/.
LIB_DIR = "/opt/ml/processing/input/lib"
CHECK_PREFIX = "pkgml load check failed: "

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")
RUN_KIND = re.compile(r"[a-z][a-z0-9-]{0,31}")
PACKAGE_TYPE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")  # as stacks.settings: 'mailer-xl'

TABLE = re.compile(r"[a-z_][a-z0-9_$]{0,126}(\.[a-z_][a-z0-9_$]{0,126})?")
DATABASE = re.compile(r"[a-z_][a-z0-9_$]{0,126}")
MODEL_PACKAGE_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[A-Za-z0-9](-*[A-Za-z0-9]){0,62}"
    r"/\d{1,10}"
)
S3_PREFIX = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*()=+-]+)*/?")
IAM_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
CLUSTER = re.compile(r"[a-z][a-z0-9-]{0,62}")
WORKGROUP = re.compile(r"[a-z0-9-]{3,64}")
SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+"
)
DB_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_$.@+-]{0,127}")
_PARAMETER = re.compile(r"(?<![:\w]):([a-z_]+)\b")

TERMINAL_FAILURES = ("FAILED", "ABORTED")


class LoadError(RuntimeError):
    """The load statement failed, was aborted or timed out; the table is unchanged."""


def _check(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{what} {value!r} does not match {pattern.pattern}")
    return value


def quote_identifier(name: str) -> str:
    """`schema.table` -> `"schema"."table"` after validating against TABLE."""
    _check(TABLE, name, "table")
    return ".".join(f'"{part}"' for part in name.split("."))


def quote_literal(value: str) -> str:
    """A SQL string literal (quotes doubled; callers pass validated values only)."""
    if "\\" in value:
        raise ValueError(f"backslash in SQL value {value!r}")
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, kw_only=True)
class LoadSpec:
    """What one load writes and from where; every value validated (ValueError)."""

    predictions_uri: str
    run_id: str
    run_kind: str
    package_type: str
    model_package_arn: str
    model_package_version: int
    target_table: str = "ml.package_type_predictions"
    copy_iam_role: str = "default"
    region: str | None = None

    def __post_init__(self) -> None:
        """Validate every value that reaches SQL."""
        _check(S3_PREFIX, self.predictions_uri, "predictions URI")
        _check(RUN_ID, self.run_id, "run id")
        _check(RUN_KIND, self.run_kind, "run kind")
        _check(PACKAGE_TYPE, self.package_type, "package type")
        _check(MODEL_PACKAGE_ARN, self.model_package_arn, "model package ARN")
        if not 1 <= self.model_package_version < 2**31:
            raise ValueError(f"model package version {self.model_package_version} is not 1..2^31")
        _check(TABLE, self.target_table, "target table")
        if self.copy_iam_role != "default":
            _check(IAM_ROLE_ARN, self.copy_iam_role, "COPY IAM role")
        if self.region is not None:
            _check(REGION, self.region, "region")

    @property
    def copy_prefix(self) -> str:
        """The predictions URI with a trailing '/': run-1 must not also COPY run-10's files."""
        return self.predictions_uri.rstrip("/") + "/"

    def parameters(self) -> dict[str, str]:
        """The DML parameters (Data API values are strings; SQL casts the version)."""
        return {
            "package_type": self.package_type,
            "run_id": self.run_id,
            "run_kind": self.run_kind,
            "model_package_arn": self.model_package_arn,
            "model_package_version": str(self.model_package_version),
        }


@dataclass(frozen=True, kw_only=True)
class Connection:
    """Data API target: cluster (secret or db_user) xor workgroup (secret or IAM)."""

    database: str
    cluster_identifier: str | None = None
    workgroup: str | None = None
    secret_arn: str | None = None
    db_user: str | None = None

    def __post_init__(self) -> None:
        """The same combinations pipeline_defs.inputs.RedshiftTarget accepts."""
        _check(DATABASE, self.database, "database")
        if (self.cluster_identifier is None) == (self.workgroup is None):
            raise ValueError("give exactly one of --cluster-identifier and --workgroup")
        if self.secret_arn and self.db_user:
            raise ValueError("give --secret-arn or --db-user, not both")
        if self.db_user and not self.cluster_identifier:
            raise ValueError("--db-user needs --cluster-identifier")
        if self.cluster_identifier and not (self.secret_arn or self.db_user):
            raise ValueError("a cluster needs --secret-arn or --db-user")
        if self.cluster_identifier:
            _check(CLUSTER, self.cluster_identifier, "cluster identifier")
        if self.workgroup:
            _check(WORKGROUP, self.workgroup, "workgroup")
        if self.secret_arn:
            _check(SECRET_ARN, self.secret_arn, "secret ARN")
        if self.db_user:
            _check(DB_USER, self.db_user, "db user")

    def request(self) -> dict[str, str]:
        """The Data API connection arguments that are set."""
        values = {
            "Database": self.database,
            "ClusterIdentifier": self.cluster_identifier,
            "WorkgroupName": self.workgroup,
            "SecretArn": self.secret_arn,
            "DbUser": self.db_user,
        }
        return {key: value for key, value in values.items() if value}


# --- SQL ------------------------------------------------------------------------------


def stage_statement(dialect: Dialect = "redshift") -> str:
    """CREATE TEMP TABLE for the staged predictions (dropped with the session)."""
    distribution = " DISTKEY(product_id)" if dialect == "redshift" else ""
    return (
        f"CREATE TEMP TABLE {STAGE_TABLE} "
        f"(product_id VARCHAR(64) NOT NULL, score DOUBLE PRECISION NOT NULL){distribution}"
    )


def copy_statement(spec: LoadSpec) -> str:
    """COPY every file under the predictions prefix into the stage table (Redshift only)."""
    role = "default" if spec.copy_iam_role == "default" else quote_literal(spec.copy_iam_role)
    region = f" REGION {quote_literal(spec.region)}" if spec.region else ""
    return (
        f"COPY {STAGE_TABLE} (product_id, score) FROM {quote_literal(spec.copy_prefix)} "
        f"IAM_ROLE {role} FORMAT AS CSV{region} COMPUPDATE OFF STATUPDATE OFF"
    )


def merge_statements(spec: LoadSpec, dialect: Dialect = "redshift") -> list[str]:
    """Checks, deletes and insert after the stage is filled; `:name` parameters (module doc).

    The only dialect difference is the load time function (DuckDB has no GETDATE()).
    """
    target = quote_identifier(spec.target_table)
    now = "GETDATE()" if dialect == "redshift" else "CAST(now() AS TIMESTAMP)"
    return [
        # A failing cast is the one way a plain SQL batch can abort on a data condition;
        # the message names the offending id and rolls the transaction back.
        f"SELECT CAST('{CHECK_PREFIX}duplicate product_id ' || product_id AS INTEGER) "
        f"FROM (SELECT product_id FROM {STAGE_TABLE} GROUP BY product_id "
        "HAVING COUNT(*) > 1) AS duplicates LIMIT 1",
        f"SELECT CAST('{CHECK_PREFIX}score outside [0, 1] for product_id ' || product_id "
        f"AS INTEGER) FROM {STAGE_TABLE} WHERE NOT (score >= 0 AND score <= 1) LIMIT 1",
        f"DELETE FROM {target} WHERE package_type = :package_type AND run_id = :run_id",
        f"DELETE FROM {target} WHERE package_type = :package_type "
        f"AND product_id IN (SELECT product_id FROM {STAGE_TABLE})",
        f"INSERT INTO {target} (product_id, package_type, score, model_package_arn, "
        "model_package_version, run_id, run_kind, loaded_at) "
        "SELECT product_id, :package_type, score, :model_package_arn, "
        f"CAST(:model_package_version AS INTEGER), :run_id, :run_kind, {now} "
        f"FROM {STAGE_TABLE}",
    ]


def ddl_candidates() -> list[Path]:
    """Where predictions_table.sql may be, in search order (no duplicates): beside this
    script (a checkout), each PYTHONPATH folder, then LIB_DIR (the job's bundle)."""
    folders = [Path(__file__).resolve().parent]
    folders += [Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    folders.append(Path(LIB_DIR))
    return [folder / DDL_FILE for folder in dict.fromkeys(folders)]


def predictions_table_sql() -> str:
    """predictions_table.sql from the first place ddl_candidates() names that has it."""
    candidates = ddl_candidates()
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise FileNotFoundError(
        f"{DDL_FILE} (needed by --create-table) is in none of: "
        f"{', '.join(str(p.parent) for p in candidates)}; it ships in load.py's code bundle, "
        f"which the Processing job mounts at {LIB_DIR}"
    )


def create_table_statement(target_table: str, text: str | None = None) -> str:
    """The predictions table's CREATE TABLE (comments dropped) for the given target table."""
    text = predictions_table_sql() if text is None else text
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    statement, count = re.subn(
        r"CREATE TABLE IF NOT EXISTS\s+[a-z_][a-z0-9_$.]*",
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(target_table)}",
        body.strip().rstrip(";").strip(),
    )
    if count != 1 or ";" in statement:
        raise ValueError(f"{DDL_FILE} must hold exactly one CREATE TABLE IF NOT EXISTS")
    return statement


def load_statements(spec: LoadSpec, *, create_table: bool = False) -> list[str]:
    """The whole Redshift batch, in order (module doc), with `:name` parameters."""
    statements = [
        *([create_table_statement(spec.target_table)] if create_table else []),
        stage_statement("redshift"),
        copy_statement(spec),
        *merge_statements(spec, "redshift"),
    ]
    if len(statements) > MAX_BATCH_STATEMENTS:
        raise ValueError(f"{len(statements)} statements exceed the Data API batch limit")
    return statements


def bind_literals(sql: str, parameters: dict[str, str]) -> str:
    """Replace `:name` by the quoted value (for clients that cannot send batch Parameters)."""

    def literal(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in parameters:
            raise KeyError(f"SQL names parameter :{name} that was not given")
        return quote_literal(parameters[name])

    return _PARAMETER.sub(literal, sql)


def referenced_parameters(statements: Sequence[str]) -> set[str]:
    """Names used as `:name` in the statements."""
    return {name for sql in statements for name in _PARAMETER.findall(sql)}


# --- Data API -------------------------------------------------------------------------


def _accepts(client: Any, operation: str, member: str) -> bool:
    """Whether the client's API model has `member` on `operation` (fakes: assume yes)."""
    model = getattr(getattr(client, "meta", None), "service_model", None)
    if model is None:
        return True
    return member in model.operation_model(operation).input_shape.members


def submit(
    client: Any, spec: LoadSpec, connection: Connection, *, create_table: bool = False
) -> str:
    """One batch_execute_statement (a single transaction); returns the statement id."""
    statements = load_statements(spec, create_table=create_table)
    parameters = spec.parameters()
    assert referenced_parameters(statements) == set(parameters)  # the API rejects unused ones
    request: dict[str, Any] = {
        **connection.request(),
        "StatementName": f"pkgml-load-{spec.package_type}-{spec.run_id}",
        "WithEvent": False,
    }
    if _accepts(client, "BatchExecuteStatement", "Parameters"):
        request["Sqls"] = statements
        request["Parameters"] = [{"name": k, "value": v} for k, v in parameters.items()]
    else:
        request["Sqls"] = [bind_literals(sql, parameters) for sql in statements]
    if _accepts(client, "BatchExecuteStatement", "ClientToken"):
        request["ClientToken"] = str(uuid.uuid4())  # botocore's own retries stay one batch
    return str(client.batch_execute_statement(**request)["Id"])


@dataclass(frozen=True)
class Backoff:
    """Polling schedule: first wait, growth factor, longest wait, overall deadline (s)."""

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 30.0
    timeout: float = 3600.0


def _failure(description: dict[str, Any]) -> str:
    """Redshift's error text, with the failing sub-statement's position and first words."""
    message = str(description.get("Error") or "no error text")
    for position, sub in enumerate(description.get("SubStatements") or [], start=1):
        if sub.get("Status") in TERMINAL_FAILURES or sub.get("Error"):
            query = " ".join(str(sub.get("QueryString", "")).split())[:120]
            detail = sub.get("Error") or sub.get("Status")
            message += f" [statement {position}: {query!r}: {detail}]"
            break
    return message


def wait(
    client: Any,
    statement_id: str,
    *,
    backoff: Backoff = Backoff(),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll describe_statement until FINISHED (returned); LoadError on failure or deadline."""
    deadline = clock() + backoff.timeout
    delay = backoff.initial
    while True:
        description: dict[str, Any] = client.describe_statement(Id=statement_id)
        status = description.get("Status")
        if status == "FINISHED":
            return description
        if status in TERMINAL_FAILURES:
            raise LoadError(
                f"load statement {statement_id} {status}: {_failure(description)}; "
                "the transaction was rolled back, the target table is unchanged"
            )
        remaining = deadline - clock()
        if remaining <= 0:
            _cancel(client, statement_id)
            raise LoadError(
                f"load statement {statement_id} still {status} after {backoff.timeout:g} s; "
                "cancel requested (an uncommitted transaction rolls back)"
            )
        sleep(min(delay, remaining))
        delay = min(delay * backoff.factor, backoff.maximum)


def _cancel(client: Any, statement_id: str) -> None:
    """Best-effort cancel_statement (needs redshift-data:CancelStatement)."""
    try:
        client.cancel_statement(Id=statement_id)
    except Exception as error:  # the timeout is the error that matters
        print(f"cancel_statement({statement_id}) failed: {error}", file=sys.stderr)


def summarize(description: dict[str, Any], *, create_table: bool = False) -> dict[str, Any]:
    """Row counts from the finished batch's sub-statements (copied, deleted, inserted)."""
    rows = [sub.get("ResultRows") for sub in description.get("SubStatements") or []]
    first = 1 if create_table else 0
    named = (
        "staged",
        "copied",
        "duplicate_check",
        "score_check",
        "deleted_same_run",
        "deleted_replaced",
        "inserted",
    )
    counts = dict(zip(named, rows[first:], strict=False))
    return {
        "statement_id": description.get("Id"),
        "rows_copied": counts.get("copied"),
        "rows_deleted_same_run": counts.get("deleted_same_run"),
        "rows_deleted_replaced": counts.get("deleted_replaced"),
        "rows_inserted": counts.get("inserted"),
        "duration_ns": description.get("Duration"),
    }


def load(
    client: Any,
    spec: LoadSpec,
    connection: Connection,
    *,
    create_table: bool = False,
    backoff: Backoff = Backoff(),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Submit the batch, wait for it, return the summary (LoadError when it did not commit)."""
    statement_id = submit(client, spec, connection, create_table=create_table)
    description = wait(client, statement_id, backoff=backoff, sleep=sleep, clock=clock)
    return {
        "run_id": spec.run_id,
        "package_type": spec.package_type,
        "target_table": spec.target_table,
        **summarize(description, create_table=create_table),
    }


def _version(value: str) -> int:
    """argparse type: the model package version (Resolve returns it as a string)."""
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"model package version {value!r} is not an integer"
        ) from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Arguments (see the inference builder); COPY role 'default', 1 h deadline."""
    parser = argparse.ArgumentParser(description="COPY predictions into Redshift (one txn).")
    parser.add_argument("--predictions-uri", required=True, help="S3 prefix of *.out files")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--run-kind", required=True)
    parser.add_argument("--package-type", required=True)
    parser.add_argument("--model-package-arn", required=True)
    parser.add_argument("--model-package-version", required=True, type=_version)
    parser.add_argument("--database", required=True)
    parser.add_argument("--cluster-identifier")
    parser.add_argument("--workgroup")
    parser.add_argument("--secret-arn")
    parser.add_argument("--db-user")
    parser.add_argument("--target-table", default="ml.package_type_predictions")
    parser.add_argument(
        "--copy-iam-role",
        default="default",
        help="role ARN Redshift assumes for COPY, or 'default' (the cluster's default role)",
    )
    parser.add_argument("--region", default=None)
    parser.add_argument("--create-table", action="store_true", help="CREATE TABLE IF NOT EXISTS")
    parser.add_argument("--timeout-seconds", type=float, default=3600.0)
    parser.add_argument("--no-metrics", action="store_true", help="skip the CloudWatch metrics")
    parser.add_argument(
        "--profiles-dir",
        type=Path,
        default=None,
        help="Prepare's summary output (<host>/profile.json): judge input drift before loading",
    )
    parser.add_argument("--execution-arn", default=None, help="named in a blocked load's advice")
    parser.add_argument(
        "--predictions-dir",
        type=Path,
        default=None,
        help="the transform's output (*.out), to judge the predicted scores' drift",
    )
    parser.add_argument(
        "--score-baseline-uri",
        default="none",
        help="the champion's score_baseline.json (s3://...), or 'none'",
    )
    parser.add_argument("--drift-dir", type=Path, default=Path(DEFAULT_DRIFT_DIR))
    parser.add_argument("--drift-action", choices=DRIFT_ACTIONS, default="warn")
    parser.add_argument("--drift-limits", default="{}", help="profile_limits.DriftLimits as JSON")
    parser.add_argument(
        "--message-file",
        type=Path,
        default=Path(DEFAULT_MESSAGE_FILE),
        help="where a blocked load's reason goes (the Processing job's ExitMessage)",
    )
    return parser.parse_args(argv)


def publish_loaded(
    cloudwatch: Any, summary: dict[str, Any], run_kind: str
) -> dict[str, Any] | None:
    """PredictionsLoaded (`pkgml_contracts.metrics`): the rows this run inserted; the
    datum sent, or None when the summary has no count."""
    rows = summary.get("rows_inserted")
    if not isinstance(rows, int):
        return None
    datum = {
        "MetricName": metrics.PREDICTIONS_LOADED,
        "Dimensions": [
            {"Name": name, "Value": value}
            for name, value in metrics.inference_dimensions(
                summary["package_type"], run_kind
            ).items()
        ],
        "Value": float(rows),
        "Unit": "Count",
    }
    cloudwatch.put_metric_data(Namespace=metrics.INFERENCE_NAMESPACE, MetricData=[datum])
    return datum


def main(
    argv: list[str] | None = None,
    *,
    client: Any = None,
    cloudwatch: Any = None,
    s3: Any = None,
) -> dict[str, Any]:
    """Entry point: validate, load, publish the rows loaded, print the summary as JSON."""
    args = parse_args(argv)
    spec = LoadSpec(
        predictions_uri=args.predictions_uri,
        run_id=args.run_id,
        run_kind=args.run_kind,
        package_type=args.package_type,
        model_package_arn=args.model_package_arn,
        model_package_version=args.model_package_version,
        target_table=args.target_table,
        copy_iam_role=args.copy_iam_role,
        region=args.region,
    )
    connection = Connection(
        database=args.database,
        cluster_identifier=args.cluster_identifier,
        workgroup=args.workgroup,
        secret_arn=args.secret_arn,
        db_user=args.db_user,
    )
    if not args.no_metrics and cloudwatch is None:
        import boto3

        cloudwatch = boto3.client("cloudwatch", region_name=args.region)
    judged = None
    if args.profiles_dir is not None:
        drift = _drift_module()
        score_baseline = None
        if args.score_baseline_uri not in ("", "none"):
            if s3 is None:
                import boto3

                s3 = boto3.client("s3", region_name=args.region)
            score_baseline = drift.read_s3_json(s3, args.score_baseline_uri)
        profiles = drift.read_profiles(args.profiles_dir)
        judged = drift.judge(
            profiles,
            limits_json=args.drift_limits,
            action=args.drift_action,
            execution_arn=args.execution_arn,
            predictions_dir=args.predictions_dir,
            score_baseline=score_baseline,
        )
        drift.write(judged, args.drift_dir)
        print(json.dumps({k: judged.get(k) for k in ("verdict", "action", "loaded", "summary")}))
        if not args.no_metrics:
            data = drift.drift_metrics(judged, args.package_type, args.run_kind)
            if data:
                cloudwatch.put_metric_data(Namespace=metrics.INFERENCE_NAMESPACE, MetricData=data)
        failure = drift.quality_failure(profiles)
        if failure is not None:
            exit_message.write(args.message_file, failure)
            raise drift.DataQualityError(failure)
        if not judged["loaded"]:
            message = drift.blocked_message(judged)
            exit_message.write(args.message_file, message)
            raise drift.DriftBlockedError(message)
    if client is None:
        import boto3

        client = boto3.client("redshift-data", region_name=args.region)
    summary = load(
        client,
        spec,
        connection,
        create_table=args.create_table,
        backoff=Backoff(timeout=args.timeout_seconds),
    )
    if judged is not None:
        summary["drift"] = judged["verdict"]
    if not args.no_metrics:
        publish_loaded(cloudwatch, summary, args.run_kind)
    print(json.dumps(summary))
    return summary


def _drift_module() -> Any:
    """drift.py (and drift_stats.py, score_stats.py, numpy, pyarrow), imported only when drift
    is judged: the load itself needs nothing but botocore."""
    if __package__:
        from . import drift
    else:  # run as a script: the sibling modules sit on PYTHONPATH (the code bundle)
        import drift  # type: ignore[no-redef]
    return drift


if __name__ == "__main__":
    main()
