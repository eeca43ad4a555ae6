"""The local stand-ins: Redshift Data API on DuckDB, the registry, S3 prefix semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from rehearsal.localaws import LocalModelRegistry, LocalS3
from rehearsal.redshift_data import FakeRedshiftData, split_statements

CONNECTION = {"WorkgroupName": "local", "Database": "dev"}


@pytest.fixture
def s3(tmp_path: Path) -> LocalS3:
    """A tree with bucket b."""
    tree = LocalS3(tmp_path / "s3")
    tree.ensure_bucket("b")
    return tree


def test_s3_prefix_takes_every_key_that_starts_with_it(s3: LocalS3, tmp_path: Path) -> None:
    """As S3Prefix does: `p/data` also matches `p/data_extra/...`; a full key is one file."""
    for key in ("p/data/a.csv", "p/data_extra/b.csv", "p/other/c.csv"):
        s3.write_bytes(f"s3://b/{key}", b"x")
    got = s3.download_prefix("s3://b/p/data", tmp_path / "in")
    assert sorted(p.relative_to(tmp_path / "in").as_posix() for p in got) == [
        "_extra/b.csv",
        "a.csv",
    ]
    one = s3.download_prefix("s3://b/p/other/c.csv", tmp_path / "one")
    assert [p.name for p in one] == ["c.csv"]


def test_data_api_copy_parameters_and_redshift_isms(s3: LocalS3, tmp_path: Path) -> None:
    """A load-like batch: DDL with Redshift clauses, COPY from a prefix, :params, GETDATE."""
    s3.write_bytes("s3://b/pred/run-1/part-0.csv.out", b"p1,0.25\np2,0.75\n")
    client = FakeRedshiftData(tmp_path / "w.duckdb", s3=s3)
    ddl = (
        "-- the target's DDL (it's Redshift's)\n"
        "CREATE TABLE IF NOT EXISTS t (id VARCHAR(64) NOT NULL, score DOUBLE PRECISION, "
        "run_id VARCHAR(MAX), loaded_at TIMESTAMP, PRIMARY KEY (id)) DISTSTYLE KEY DISTKEY (id) "
        "SORTKEY (id);"
    )
    created = client.execute_statement(Sql=ddl, **CONNECTION)
    assert client.describe_statement(Id=created["Id"])["Status"] == "FINISHED"
    batch = [
        "CREATE TEMP TABLE stage (id VARCHAR(64), score DOUBLE PRECISION) DISTKEY(id)",
        "COPY stage (id, score) FROM 's3://b/pred/run-1/' IAM_ROLE default FORMAT AS CSV "
        "REGION 'us-east-1' COMPUPDATE OFF STATUPDATE OFF",
        "DELETE FROM t WHERE run_id = :run_id",
        "INSERT INTO t SELECT id, score, :run_id, GETDATE() FROM stage",
    ]
    parameters = [{"name": "run_id", "value": "run-1"}]
    for deleted in (0, 2):  # the same batch twice: replaced, not duplicated
        statement = client.batch_execute_statement(Sqls=batch, Parameters=parameters, **CONNECTION)
        description = client.describe_statement(Id=statement["Id"])
        assert description["Status"] == "FINISHED", description
        rows = [sub["ResultRows"] for sub in description["SubStatements"]]
        assert rows[1:] == [2, deleted, 2]
    query = client.execute_statement(Sql="SELECT count(*), sum(score) FROM t", **CONNECTION)
    rows = client.get_statement_result(Id=query["Id"])["Records"]
    assert rows == [[{"longValue": 2}, {"doubleValue": 1.0}]]


def test_data_api_failure_rolls_the_batch_back(s3: LocalS3, tmp_path: Path) -> None:
    """A failing statement: FAILED with the error, earlier ones of the batch undone."""
    client = FakeRedshiftData(tmp_path / "w.duckdb", s3=s3)
    client.execute_statement(Sql="CREATE TABLE t (id VARCHAR)", **CONNECTION)
    statement = client.batch_execute_statement(
        Sqls=["INSERT INTO t VALUES ('a')", "COPY t FROM 's3://b/nothing/' IAM_ROLE default CSV"],
        **CONNECTION,
    )
    description = client.describe_statement(Id=statement["Id"])
    assert description["Status"] == "FAILED"
    assert "does not exist" in description["Error"]
    query = client.execute_statement(Sql="SELECT count(*) FROM t", **CONNECTION)
    assert client.get_statement_result(Id=query["Id"])["Records"] == [[{"longValue": 0}]]


def test_split_statements_ignores_semicolons_in_literals_and_comments() -> None:
    """Comments may hold quotes and semicolons."""
    assert split_statements("-- it's; a comment\nSELECT ';' ; SELECT 2;") == [
        "SELECT ';'",
        "SELECT 2",
    ]


def test_registry_versions_status_and_sorting(tmp_path: Path) -> None:
    """Versions count up per group; list filters by status and sorts newest first."""
    registry = LocalModelRegistry(tmp_path / "registry.json")
    registry.create_model_package_group(ModelPackageGroupName="g")
    for status in ("Approved", "Rejected", "Approved"):
        registry.create_model_package(ModelPackageGroupName="g", ModelApprovalStatus=status)
    listed = registry.list_model_packages(
        ModelPackageGroupName="g",
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )["ModelPackageSummaryList"]
    assert [s["ModelPackageVersion"] for s in listed] == [3]
    assert listed[0]["ModelPackageArn"].endswith(":model-package/g/3")
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="does not exist"):
        registry.create_model_package(ModelPackageGroupName="missing")
