"""Global options: configuration and overrides, names, usage errors, output helpers."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ops.cli import build_parser
from ops.context import cdk_json_context, load_context
from ops.errors import UsageError
from ops.formatting import format_duration, table
from stacks.naming import bucket_name
from tests.ops.conftest import Names, Runner

REPO = Path(__file__).resolve().parents[2]


def test_reads_cdk_json_like_the_app_factory() -> None:
    from stacks.settings import cdk_json_context as app_context

    assert cdk_json_context() == app_context()
    assert cdk_json_context()["project"] == "pkgml"


def test_names_come_from_settings_and_overrides(names: Names) -> None:
    ctx = load_context(env_name="dev", package_types=None, region=None, overrides=[])
    assert ctx.data_bucket == names.data_bucket
    assert ctx.package_types == names.settings.package_types
    assert ctx.region == names.env.region

    prod = load_context(
        env_name="prod",
        package_types=["box"],
        region="eu-central-1",
        overrides=["project=acme", "environments.prod.account=444444444444"],
    )
    prod_env = prod.settings.environment("prod")
    assert prod.data_bucket == bucket_name("acme", "prod", "data", "444444444444", prod_env.region)
    assert prod.region == "eu-central-1"  # the API region only: names keep the configured one
    assert prod.pipeline_name("training", "box") == "acme-prod-box-training"
    assert prod.group_name("box") == "acme-prod-box"
    assert prod.single_package_type() == "box"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"env_name": "staging"},
        {"package_types": ["crate"]},
        {"region": "Europe"},
        {"overrides": ["project"]},
        {"overrides": ["environments.dev.account=123"]},
    ],
)
def test_bad_global_options_are_usage_errors(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "env_name": "dev",
        "package_types": None,
        "region": None,
        "overrides": [],
    }
    with pytest.raises(UsageError):
        load_context(**{**arguments, **kwargs})  # type: ignore[arg-type]


def test_global_options_before_or_after_the_command(cli: Runner, s3: object, names: Names) -> None:
    manifest = names.manifest()
    before = cli("--json", "--context", "project=acme", "run", "--kind", "training",
                 "--manifest", manifest, "--dry-run")  # fmt: skip
    assert before.code == 2  # the manifest names pkgml's bucket, not acme's
    after = cli("run", "--kind", "training", "--manifest", manifest, "--dry-run", "--json",
                "--package-type", "mailer")  # fmt: skip
    assert after.code == 0, after.err
    assert after.json()["run_file"]["package_types"] == ["mailer"]
    assert cli("--env", "staging", "models").code == 2
    assert cli().code == 2
    assert cli("--help").code == 0


def test_json_errors_are_json(cli: Runner) -> None:
    result = cli("--json", "approve", "1")
    assert result.code == 2
    assert result.json()["exit_code"] == 2
    assert "exactly one --package-type" in result.json()["error"]


def test_python_dash_m_ops_runs() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "ops", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0
    assert "rollback" in completed.stdout


def test_every_command_has_help() -> None:
    parser = build_parser()
    for command in ("status", "run", "retry", "models", "approve", "reject", "rollback"):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([command, "--help"])
        assert exit_info.value.code == 0


def test_table_and_durations() -> None:
    text = table(
        ["a", "bb"], [("x", None), ("longer", 0.5), ("t", datetime(2026, 1, 2, tzinfo=UTC))]
    )
    assert text.splitlines() == [
        "a       bb",
        "------  --------------------",
        "x       -",
        "longer  0.5000",
        "t       2026-01-02 00:00:00Z",
    ]
    assert [format_duration(s) for s in (None, 5, 65, 3725, 90000)] == [
        "-",
        "5s",
        "1m05s",
        "1h02m",
        "1d01h",
    ]
