"""load: the Data API batch, the merge SQL run for real on DuckDB, errors, backoff, validation.

DuckDB stands in for Redshift: the stage table and COPY are the only translated statements
(the CSV files are inserted with read_csv); the checks, DELETEs and INSERT are the very text
load.py sends, with `:name` turned into DuckDB's `$name` and GETDATE() switched by dialect.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from botocore.stub import ANY, Stubber

from pipeline_defs.step_builders import LIB_DIR
from pipeline_defs.steps import load

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/pkgml-dev-mailer/3"
ROLE = "arn:aws:iam::123456789012:role/pkgml-dev-redshift"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pkgml/redshift-AbCdEf"
TARGET = "ml.package_type_predictions"


def _spec(**overrides: Any) -> load.LoadSpec:
    values: dict[str, Any] = {
        "predictions_uri": "s3://pkgml-dev-data/predictions/pkgml-dev-mailer-inference/run-1",
        "run_id": "run-1",
        "run_kind": "inference-daily",
        "package_type": "mailer",
        "model_package_arn": ARN,
        "model_package_version": 3,
        "copy_iam_role": ROLE,
        "region": "us-east-1",
    }
    values.update(overrides)
    return load.LoadSpec(**values)


CONNECTION = load.Connection(database="dev", cluster_identifier="pkgml-dev", secret_arn=SECRET)


class FakeDataApi:
    """Records calls; describe_statement walks through the given statuses."""

    def __init__(self, statuses: list[str], error: str | None = None) -> None:
        self.statuses = list(statuses)
        self.error = error
        self.batches: list[dict[str, Any]] = []
        self.describes = 0
        self.cancelled: list[str] = []

    def batch_execute_statement(self, **kwargs: Any) -> dict[str, Any]:
        self.batches.append(kwargs)
        return {"Id": "stmt-1"}

    def describe_statement(self, Id: str) -> dict[str, Any]:
        self.describes += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        description: dict[str, Any] = {"Id": Id, "Status": status}
        sqls = self.batches[-1]["Sqls"] if self.batches else ["a", "b", "c"]
        if status == "FINISHED":
            description["SubStatements"] = [
                {"Id": f"{Id}:{i + 1}", "Status": "FINISHED", "ResultRows": _rows(sql)}
                for i, sql in enumerate(sqls)
            ]
        elif status in load.TERMINAL_FAILURES:
            description["Error"] = self.error
            description["SubStatements"] = [
                {"Status": "FINISHED", "QueryString": sqls[0]},
                {"Status": "FAILED", "QueryString": sqls[1], "Error": self.error},
                {"Status": "ABORTED", "QueryString": sqls[2]},
            ]
        return description

    def cancel_statement(self, Id: str) -> dict[str, Any]:
        self.cancelled.append(Id)
        return {"Status": True}


def _rows(sql: str) -> int:
    """Rows a statement affects in the fake: 1,200 copied and inserted, 800 replaced."""
    if sql.startswith(("COPY", "INSERT")):
        return 1200
    return 800 if sql.startswith("DELETE") and "IN (SELECT" in sql else 0


class FakeClock:
    """time.monotonic and time.sleep over a counter."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --- the Data API request ------------------------------------------------------------


def test_one_batch_with_the_exact_statement_sequence_and_parameters() -> None:
    client, clock = FakeDataApi(["SUBMITTED", "STARTED", "FINISHED"]), FakeClock()
    summary = load.load(client, _spec(), CONNECTION, sleep=clock.sleep, clock=clock.clock)
    assert len(client.batches) == 1 and client.describes == 3
    request = client.batches[0]
    target = '"ml"."package_type_predictions"'
    stage = load.STAGE_TABLE
    assert request["Sqls"] == [
        f"CREATE TEMP TABLE {stage} (product_id VARCHAR(64) NOT NULL, "
        "score DOUBLE PRECISION NOT NULL) DISTKEY(product_id)",
        f"COPY {stage} (product_id, score) FROM "
        "'s3://pkgml-dev-data/predictions/pkgml-dev-mailer-inference/run-1/' "
        f"IAM_ROLE '{ROLE}' FORMAT AS CSV REGION 'us-east-1' COMPUPDATE OFF STATUPDATE OFF",
        "SELECT CAST('pkgml load check failed: duplicate product_id ' || product_id AS INTEGER) "
        f"FROM (SELECT product_id FROM {stage} GROUP BY product_id HAVING COUNT(*) > 1) "
        "AS duplicates LIMIT 1",
        "SELECT CAST('pkgml load check failed: score outside [0, 1] for product_id ' || "
        f"product_id AS INTEGER) FROM {stage} WHERE NOT (score >= 0 AND score <= 1) LIMIT 1",
        f"DELETE FROM {target} WHERE package_type = :package_type AND run_id = :run_id",
        f"DELETE FROM {target} WHERE package_type = :package_type "
        f"AND product_id IN (SELECT product_id FROM {stage})",
        f"INSERT INTO {target} (product_id, package_type, score, model_package_arn, "
        "model_package_version, run_id, run_kind, loaded_at) SELECT product_id, :package_type, "
        "score, :model_package_arn, CAST(:model_package_version AS INTEGER), :run_id, "
        f":run_kind, GETDATE() FROM {stage}",
    ]
    assert {p["name"]: p["value"] for p in request["Parameters"]} == {
        "package_type": "mailer",
        "run_id": "run-1",
        "run_kind": "inference-daily",
        "model_package_arn": ARN,
        "model_package_version": "3",
    }
    assert request["ClusterIdentifier"] == "pkgml-dev" and request["SecretArn"] == SECRET
    assert request["Database"] == "dev" and "WorkgroupName" not in request
    assert summary["rows_copied"] == summary["rows_inserted"] == 1200
    assert summary["rows_deleted_replaced"] == 800 and clock.sleeps == [1.0, 2.0]


def test_request_is_valid_for_the_real_api_model() -> None:
    client = boto3.client("redshift-data", region_name="us-east-1")
    spec = _spec(copy_iam_role="default", region=None)
    connection = load.Connection(database="dev", workgroup="pkgml-dev")
    with Stubber(client) as stub:
        stub.add_response(
            "batch_execute_statement",
            {"Id": "11111111-2222-3333-4444-555555555555"},
            {
                "Sqls": load.load_statements(spec),
                "Parameters": ANY,
                "Database": "dev",
                "WorkgroupName": "pkgml-dev",
                "StatementName": "pkgml-load-mailer-run-1",
                "WithEvent": False,
                "ClientToken": ANY,
            },
        )
        stub.add_response(
            "describe_statement",
            {"Id": "11111111-2222-3333-4444-555555555555", "Status": "FINISHED"},
            {"Id": "11111111-2222-3333-4444-555555555555"},
        )
        load.load(client, spec, connection, sleep=lambda _: None)
        stub.assert_no_pending_responses()
    assert "IAM_ROLE default FORMAT AS CSV COMPUPDATE" in load.copy_statement(spec)


class _OldModel:
    """A botocore service model from before BatchExecuteStatement took Parameters."""

    class _Operation:
        class input_shape:  # mimics botocore's attribute name
            members = ("Sqls", "Database", "ClusterIdentifier", "SecretArn")

    def operation_model(self, name: str) -> Any:
        return self._Operation()


def test_old_botocore_gets_validated_literals_instead_of_parameters() -> None:
    client = FakeDataApi(["FINISHED"])
    client.meta = type("Meta", (), {"service_model": _OldModel()})()  # type: ignore[attr-defined]
    load.load(client, _spec(), CONNECTION, sleep=lambda _: None)
    request = client.batches[0]
    assert "Parameters" not in request and "ClientToken" not in request
    assert not any(re.search(r"(?<![:\w]):[a-z_]+", sql) for sql in request["Sqls"])
    assert f"'{ARN}', CAST('3' AS INTEGER), 'run-1', 'inference-daily'" in request["Sqls"][-1]


def test_create_table_prepends_the_ddl_file_for_the_target() -> None:
    statements = load.load_statements(_spec(target_table="analytics.scores"), create_table=True)
    assert statements[0].startswith('CREATE TABLE IF NOT EXISTS "analytics"."scores" (')
    assert "DISTKEY (product_id)" in statements[0] and "--" not in statements[0]
    assert len(statements) == 8 <= load.MAX_BATCH_STATEMENTS
    client = FakeDataApi(["FINISHED"])
    summary = load.load(client, _spec(), CONNECTION, create_table=True, sleep=lambda _: None)
    assert summary["rows_copied"] == summary["rows_inserted"] == 1200
    assert client.batches[0]["Sqls"][0].startswith("CREATE TABLE IF NOT EXISTS")


def test_the_ddl_comes_from_the_sql_file() -> None:
    sql_file = Path(load.__file__).with_name(load.DDL_FILE)
    statement = load.create_table_statement("ml.preds")
    assert statement.startswith('CREATE TABLE IF NOT EXISTS "ml"."preds"') or statement.startswith(
        "CREATE TABLE IF NOT EXISTS ml.preds"
    )
    assert "DISTKEY (product_id)" in statement and "DISTKEY (product_id)" in sql_file.read_text()


def test_runs_as_a_script_alone_in_its_code_folder(tmp_path: Path) -> None:
    shutil.copy(load.__file__, tmp_path / "load.py")
    result = subprocess.run(  # noqa: S603 (fixed command)
        [sys.executable, str(tmp_path / "load.py"), "--help"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    )
    assert "--copy-iam-role" in result.stdout


# --- --create-table in the Processing job's real layout ------------------------------
# SageMaker downloads the code file alone to /opt/ml/processing/input/code/ and runs it
# from there; the script's whole bundle (with predictions_table.sql) is mounted at
# LIB_DIR, which is on PYTHONPATH (pipeline_defs.step_builders.processing_step_args).


class _DataApiServer:
    """A local Redshift Data API endpoint: records BatchExecuteStatement, says FINISHED."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                action = self.headers["X-Amz-Target"].rsplit(".", 1)[-1]
                owner.requests.append((action, body))
                if action == "BatchExecuteStatement":
                    reply: dict[str, Any] = {"Id": "stmt-1"}
                else:
                    reply = {"Id": body.get("Id"), "Status": "FINISHED", "SubStatements": []}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _DataApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _job_layout(root: Path) -> tuple[Path, Path]:
    """(code dir, lib dir) as SageMaker lays them out for the Load step."""
    from stacks.components.step_code import bundle_name, code_bundles

    code, lib = root / "input" / "code", root / "input" / "lib"
    code.mkdir(parents=True)
    shutil.copy(Path(load.__file__), code / "load.py")  # the code input: the file alone
    for path in code_bundles()["load"]:  # the lib input: the whole bundle
        (lib / bundle_name(path)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, lib / bundle_name(path))
    return code, lib


def _run_load_script(
    code: Path, cwd: Path, extra_env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    arguments = [
        "--predictions-uri", "s3://pkgml-dev-data/predictions/p/run-1",
        "--run-id", "run-1", "--run-kind", "inference-daily", "--package-type", "mailer",
        "--model-package-arn", ARN, "--model-package-version", "3",
        "--database", "dev", "--workgroup", "pkgml-dev", "--region", "us-east-1",
        "--create-table", "--timeout-seconds", "30",
    ]  # fmt: skip
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    return subprocess.run(  # noqa: S603 (fixed command)
        [sys.executable, str(code / "load.py"), *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_jobs_lib_folder_is_the_common_one() -> None:
    assert load.LIB_DIR == LIB_DIR


def test_create_table_in_the_processing_job_layout(tmp_path: Path) -> None:
    code, lib = _job_layout(tmp_path / "opt" / "ml" / "processing")
    assert sorted(p.name for p in code.iterdir()) == ["load.py"]
    assert (lib / load.DDL_FILE).is_file() and not (code / load.DDL_FILE).exists()
    with _DataApiServer() as api:
        result = _run_load_script(
            code,
            tmp_path,
            {"PYTHONPATH": str(lib), "AWS_ENDPOINT_URL_REDSHIFT_DATA": api.url},
        )
    assert result.returncode == 0, result.stderr
    actions = [action for action, _ in api.requests]
    assert actions == ["BatchExecuteStatement", "DescribeStatement"]
    first = api.requests[0][1]["Sqls"][0]
    assert first.startswith('CREATE TABLE IF NOT EXISTS "ml"."package_type_predictions" (')
    assert "DISTKEY (product_id)" in first and "SORTKEY (package_type, product_id)" in first


def test_create_table_without_the_bundle_names_every_place_searched(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(Path(load.__file__), code / "load.py")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _run_load_script(
        code, tmp_path, {"PYTHONPATH": str(elsewhere), "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("FileNotFoundError: ") and load.DDL_FILE in last
    for folder in (str(code), str(elsewhere), LIB_DIR):
        assert folder in last


def test_the_ddl_is_found_on_pythonpath(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script_dir, lib = tmp_path / "code", tmp_path / "lib"
    script_dir.mkdir()
    lib.mkdir()
    (lib / load.DDL_FILE).write_text(
        "-- test copy\nCREATE TABLE IF NOT EXISTS ml.t (product_id VARCHAR(64) NOT NULL)\n"
    )
    monkeypatch.setattr(load, "__file__", str(script_dir / "load.py"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "missing"), str(lib)]))
    assert load.create_table_statement("ml.preds") == (
        'CREATE TABLE IF NOT EXISTS "ml"."preds" (product_id VARCHAR(64) NOT NULL)'
    )


# --- failures, polling -----------------------------------------------------------------


@pytest.mark.parametrize("status", ["FAILED", "ABORTED"])
def test_failure_surfaces_redshift_error_text(status: str) -> None:
    error = "S3ServiceException:Access Denied,Status 403"
    client = FakeDataApi(["STARTED", status], error=error)
    with pytest.raises(load.LoadError, match=status) as raised:
        load.load(client, _spec(), CONNECTION, sleep=lambda _: None)
    message = str(raised.value)
    assert error in message and "[statement 2: " in message
    assert "COPY pkgml_stage_predictions (product_id, score) FROM" in message
    assert "rolled back" in message


def test_backoff_grows_caps_and_respects_the_deadline() -> None:
    client, clock = FakeDataApi(["STARTED"]), FakeClock()
    backoff = load.Backoff(initial=1.0, factor=2.0, maximum=30.0, timeout=100.0)
    with pytest.raises(load.LoadError, match="still STARTED after 100 s"):
        load.wait(client, "stmt-1", backoff=backoff, sleep=clock.sleep, clock=clock.clock)
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 9.0]
    assert sum(clock.sleeps) == 100.0 and client.cancelled == ["stmt-1"]
    assert client.describes == len(clock.sleeps) + 1


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("run_id", "run-1'; DROP TABLE x; --"),
        ("run_kind", "Daily"),
        ("package_type", "mailer'"),
        ("model_package_arn", "arn:aws:sagemaker:us-east-1:1:model-package/x/1"),
        ("predictions_uri", "s3://bkt/predictions/it's"),
        ("predictions_uri", "https://bkt/predictions"),
        ("target_table", 'ml."x"'),
        ("copy_iam_role", "arn:aws:iam::123456789012:user/me"),
        ("region", "us-east-1'"),
        ("model_package_version", 0),
    ],
)
def test_values_reaching_sql_are_validated(field: str, value: Any) -> None:
    with pytest.raises(ValueError):
        _spec(**{field: value})


def test_connection_combinations() -> None:
    assert load.Connection(database="dev", workgroup="wg-1").request() == {
        "Database": "dev",
        "WorkgroupName": "wg-1",
    }
    for bad in (
        {"database": "dev"},
        {"database": "dev", "cluster_identifier": "c", "workgroup": "wg-1"},
        {"database": "dev", "cluster_identifier": "c"},
        {"database": "dev", "workgroup": "wg-1", "db_user": "u"},
        {"database": "dev", "cluster_identifier": "c", "secret_arn": SECRET, "db_user": "u"},
        {"database": "Dev;", "workgroup": "wg-1"},
    ):
        with pytest.raises(ValueError):
            load.Connection(**bad)


class RecordingCloudWatch:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        return {}


def test_main_parses_the_builders_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    client = FakeDataApi(["FINISHED"])
    cloudwatch = RecordingCloudWatch()
    load.main(
        [
            "--predictions-uri",
            "s3://pkgml-dev-data/predictions/p/run-7",
            "--run-id",
            "run-7",
            "--run-kind",
            "inference-monthly",
            "--package-type",
            "box",
            "--model-package-arn",
            ARN,
            "--model-package-version",
            "12",
            "--database",
            "dev",
            "--cluster-identifier",
            "pkgml-dev",
            "--db-user",
            "pkgml_loader",
            "--target-table",
            TARGET,
            "--copy-iam-role",
            ROLE,
            "--region",
            "eu-west-1",
        ],
        client=client,
        cloudwatch=cloudwatch,
    )
    # the rows this run inserted, for the dashboard (pkgml_contracts.metrics)
    assert cloudwatch.calls == [
        {
            "Namespace": "PackagingML/Inference",
            "MetricData": [
                {
                    "MetricName": "PredictionsLoaded",
                    "Dimensions": [
                        {"Name": "PackageType", "Value": "box"},
                        {"Name": "RunKind", "Value": "inference-monthly"},
                    ],
                    "Value": 1200.0,
                    "Unit": "Count",
                }
            ],
        }
    ]
    request = client.batches[0]
    assert request["DbUser"] == "pkgml_loader" and "SecretArn" not in request
    assert "REGION 'eu-west-1'" in request["Sqls"][1]
    assert json.loads(capsys.readouterr().out)["run_id"] == "run-7"


# --- the merge SQL, executed on DuckDB -------------------------------------------------


def _duckdb_target(path: Path) -> None:
    """The DDL file's table in DuckDB (Redshift's distribution and sort clauses dropped)."""
    ddl = load.create_table_statement(TARGET)
    ddl = re.sub(r"DISTSTYLE \w+|DISTKEY\s*\([^)]*\)|SORTKEY\s*\([^)]*\)", "", ddl)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA ml")
        con.execute(ddl)


def _run_on_duckdb(
    database: Path, spec: load.LoadSpec, files: list[Path], *, fail_before: int | None = None
) -> None:
    """The load as one DuckDB transaction; `fail_before`: inject an error before merge[i]."""
    statements = load.merge_statements(spec, "duckdb")
    if fail_before is not None:
        statements.insert(fail_before, "SELECT CAST('injected failure' AS INTEGER)")
    with duckdb.connect(str(database)) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(load.stage_statement("duckdb"))
            con.execute(
                f"INSERT INTO {load.STAGE_TABLE} SELECT * FROM read_csv($files, header = false, "
                "columns = {'product_id': 'VARCHAR', 'score': 'DOUBLE'})",
                {"files": [str(f) for f in files]},
            )
            for sql in statements:
                names = load.referenced_parameters([sql])
                values = {k: v for k, v in spec.parameters().items() if k in names}
                con.execute(re.sub(r"(?<![:\w]):([a-z_]+)\b", r"$\1", sql), values)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


def _predictions(folder: Path, rows: dict[str, float], files: int = 2) -> list[Path]:
    """`*.out` files of `product_id,score` lines, as batch transform writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    items = list(rows.items())
    paths = []
    for index in range(files):
        path = folder / f"part-algo-1-{index:05d}.csv.out"
        path.write_text("".join(f"{k},{v!r}\n" for k, v in items[index::files]))
        paths.append(path)
    return paths


def _table(database: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database)) as con:
        return con.execute(
            "SELECT product_id, package_type, score, run_id, model_package_version, run_kind "
            "FROM ml.package_type_predictions ORDER BY package_type, product_id"
        ).fetchall()


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Path]:
    """A DuckDB file with the target table holding one 'box' row of another pipeline."""
    database = tmp_path / "warehouse.duckdb"
    _duckdb_target(database)
    with duckdb.connect(str(database)) as con:
        con.execute(
            "INSERT INTO ml.package_type_predictions VALUES "
            "('p1', 'box', 0.9, 'arn:box', 1, 'run-0', 'inference-daily', now())"
        )
    yield database


def test_rerun_of_the_same_run_keeps_one_row_per_product(warehouse: Path, tmp_path: Path) -> None:
    files = _predictions(tmp_path / "run-1", {"p1": 0.5, "p2": 0.25, "p3": 0.125})
    for _ in range(3):
        _run_on_duckdb(warehouse, _spec(), files)
    rows = _table(warehouse)
    assert [(r[0], r[1]) for r in rows] == [
        ("p1", "box"),
        ("p1", "mailer"),
        ("p2", "mailer"),
        ("p3", "mailer"),
    ]
    assert rows[1] == ("p1", "mailer", 0.5, "run-1", 3, "inference-daily")


def test_a_later_run_replaces_shared_products_and_keeps_others(
    warehouse: Path, tmp_path: Path
) -> None:
    _run_on_duckdb(warehouse, _spec(), _predictions(tmp_path / "r1", {"p1": 0.5, "p2": 0.25}))
    second = _spec(run_id="run-2", model_package_version=4, run_kind="inference-monthly")
    _run_on_duckdb(warehouse, second, _predictions(tmp_path / "r2", {"p2": 0.75, "p3": 0.0}))
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in _table(warehouse)] == [
        ("p1", "box", 0.9, "run-0", 1),
        ("p1", "mailer", 0.5, "run-1", 3),
        ("p2", "mailer", 0.75, "run-2", 4),
        ("p3", "mailer", 0.0, "run-2", 4),
    ]


def test_a_rerun_with_fewer_products_drops_the_runs_stale_rows(
    warehouse: Path, tmp_path: Path
) -> None:
    _run_on_duckdb(warehouse, _spec(), _predictions(tmp_path / "a", {"p1": 0.5, "p2": 0.25}))
    _run_on_duckdb(warehouse, _spec(), _predictions(tmp_path / "b", {"p2": 0.5}, files=1))
    assert [(r[0], r[1]) for r in _table(warehouse)] == [("p1", "box"), ("p2", "mailer")]


@pytest.mark.parametrize("position", [2, 3, 4, 5])
def test_a_failure_mid_transaction_leaves_the_table_unchanged(
    warehouse: Path, tmp_path: Path, position: int
) -> None:
    _run_on_duckdb(warehouse, _spec(), _predictions(tmp_path / "r1", {"p1": 0.5, "p2": 0.25}))
    before = _table(warehouse)
    files = _predictions(tmp_path / "r2", {"p2": 0.75, "p3": 0.0})
    with pytest.raises(duckdb.Error, match="injected failure"):
        _run_on_duckdb(warehouse, _spec(run_id="run-2"), files, fail_before=position)
    assert _table(warehouse) == before


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"p1": 0.5, "p2": 0.25, "p9": 0.5}, "duplicate product_id p9"),
        ({"p1": 0.5, "p7": 1.5}, r"score outside \[0, 1\] for product_id p7"),
        ({"p1": 0.5, "p8": float("nan")}, r"score outside \[0, 1\] for product_id p8"),
    ],
)
def test_checks_abort_the_load_naming_the_product(
    warehouse: Path, tmp_path: Path, rows: dict[str, float], message: str
) -> None:
    before = _table(warehouse)
    files = _predictions(tmp_path / "bad", rows, files=1)
    if "p9" in rows:
        files += _predictions(tmp_path / "dup", {"p9": 0.75}, files=1)
    with pytest.raises(duckdb.Error, match=message):
        _run_on_duckdb(warehouse, _spec(), files)
    assert _table(warehouse) == before


def test_no_metrics_publishes_nothing_and_a_summary_without_a_count_nothing_either() -> None:
    cloudwatch = RecordingCloudWatch()
    no_count = {"package_type": "box", "rows_inserted": None}
    assert load.publish_loaded(cloudwatch, no_count, "inference-daily") is None
    assert cloudwatch.calls == []
    load.main(
        [
            "--predictions-uri", "s3://pkgml-dev-data/predictions/p/run-8", "--run-id", "run-8",
            "--run-kind", "inference-daily", "--package-type", "box",
            "--model-package-arn", ARN, "--model-package-version", "3", "--database", "dev",
            "--workgroup", "analytics", "--no-metrics",
        ],
        client=FakeDataApi(["FINISHED"]),
        cloudwatch=cloudwatch,
    )  # fmt: skip
    assert cloudwatch.calls == []
