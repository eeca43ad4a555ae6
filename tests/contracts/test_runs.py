"""Run kinds and run ids: one definition for the trigger, the extract, the stacks and ops."""

from __future__ import annotations

import logging
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from ops.cli import build_parser
from ops.runfiles import trigger_rules
from pkgml_contracts import runs
from pkgml_contracts.names import DataPrefixes, run_file_key
from stacks.components.scheduled_extract import SCHEDULED_KINDS
from stacks.naming import pipelines_by_run_kind
from stacks.settings import SchedulesSettings

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"
for folder in ("shared", "extract"):
    if str(LAMBDA_SRC / folder) not in sys.path:
        sys.path.insert(0, str(LAMBDA_SRC / folder))

import extract_service  # noqa: E402
import extract_settings  # noqa: E402
import extract_sql  # noqa: E402

BUCKET = "pkgml-dev-data-222222222222-us-east-1"


@pytest.fixture(scope="module")
def runfile() -> ModuleType:
    """The trigger's run-file rules, loaded as the ops CLI loads them."""
    return trigger_rules()


def test_the_kinds() -> None:
    assert runs.RUN_KINDS == ("training", "inference-daily", "inference-monthly")
    assert set(runs.RUN_KINDS) == runs.TRAINING_KINDS | runs.INFERENCE_KINDS
    assert not runs.TRAINING_KINDS & runs.INFERENCE_KINDS
    assert runs.PIPELINE_KINDS == ("training", "inference")


def test_each_kind_starts_one_pipeline() -> None:
    assert {k: runs.pipeline_for_run(k) for k in runs.RUN_KINDS} == {
        "training": "training",
        "inference-daily": "inference",
        "inference-monthly": "inference",
    }
    with pytest.raises(KeyError):
        runs.pipeline_for_run("inference")


def test_setting_keys() -> None:
    assert [runs.setting_key(k) for k in runs.RUN_KINDS] == [
        "training",
        "inference_daily",
        "inference_monthly",
    ]
    with pytest.raises(ValueError, match="unknown run kind"):
        runs.setting_key("weekly")


def test_scheduled_run_ids() -> None:
    run_id = runs.scheduled_run_id("inference-daily", date(2026, 11, 23))
    assert run_id == "inference-daily-2026-11-23"
    assert runs.SCHEDULED_RUN_ID.fullmatch(run_id)
    assert runs.RUN_ID_PATTERN.fullmatch(run_id)
    assert not runs.SCHEDULED_RUN_ID.fullmatch("weekly-2026-11-23")
    assert not runs.SCHEDULED_RUN_ID.fullmatch("training-2026-1-23")


@pytest.mark.parametrize(
    ("run_id", "valid"),
    [("a", True), ("x" * 63, True), ("x" * 64, False), ("-a", False), ("a_b", False)],
)
def test_run_id_pattern(run_id: str, valid: bool) -> None:
    assert bool(runs.RUN_ID_PATTERN.fullmatch(run_id)) is valid


# --- the consumers ------------------------------------------------------------------------


def test_the_trigger_accepts_exactly_the_contracts_kinds(runfile: ModuleType) -> None:
    assert runfile.RUN_KINDS == runs.RUN_KINDS
    assert runfile.TRAINING_KINDS == runs.TRAINING_KINDS
    assert runfile.INFERENCE_KINDS == runs.INFERENCE_KINDS
    assert set(runfile.DATASETS_FOR_KIND) == set(runs.RUN_KINDS)
    for kind in runs.RUN_KINDS:
        key = runfile.parse_run_key(run_file_key(kind, "r-1"), DataPrefixes.RUNS)
        assert (key.kind, key.run_id) == (kind, "r-1")
    with pytest.raises(runfile.RunFileError):
        runfile.parse_run_key(run_file_key("inference", "r-1"), DataPrefixes.RUNS)


def test_the_routing_table_has_every_kind() -> None:
    table = pipelines_by_run_kind("pkgml", "dev", ("mailer",))
    assert tuple(table) == runs.RUN_KINDS
    assert table["inference-daily"] == table["inference-monthly"]


def test_every_kind_has_a_schedule_and_a_query() -> None:
    assert tuple(SCHEDULED_KINDS.values()) == runs.RUN_KINDS
    assert set(SCHEDULED_KINDS) <= set(SchedulesSettings.model_fields)
    assert tuple(extract_sql.load_templates()) == runs.RUN_KINDS


def test_ops_offers_exactly_the_contracts_kinds() -> None:
    parser = build_parser()
    run = parser._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    kind = next(a for a in run._actions if a.dest == "kind")
    assert tuple(kind.choices) == runs.RUN_KINDS


@pytest.mark.parametrize("kind", runs.RUN_KINDS)
def test_what_the_extract_writes_the_trigger_accepts(kind: str, runfile: ModuleType) -> None:
    """The scheduled extract's run id, run-file key and manifest URI pass the trigger's rules
    for the same kind."""
    request = extract_service.parse_start_event(
        {"kind": kind, "run_date": "2026-11-23"}, date(2026, 11, 24)
    )
    assert request.run_id == f"{kind}-2026-11-23"
    settings = extract_settings.load_settings(
        {
            "ENVIRONMENT": "dev",
            "DATA_BUCKET": BUCKET,
            "PROJECT": "pkgml",
            "PACKAGE_TYPES": '["mailer"]',
            "REDSHIFT_UNLOAD_ROLE_ARN": "arn:aws:iam::123456789012:role/unload",
            "UNLOAD_KMS_KEY_ARN": (
                "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
            ),
            "REDSHIFT_DATABASE": "analytics",
            "REDSHIFT_CLUSTER_ID": "warehouse",
            "REDSHIFT_SECRET_ARN": (
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:pkgml/redshift-AbCdEf"
            ),
        }
    )
    extractor = extract_service.Extractor(
        settings,
        extract_service.Clients(s3=None, redshift_data=None, events=None),
        logging.getLogger("test"),
    )
    key = runfile.parse_run_key(extractor.run_file_key(kind, request.run_id), settings.runs_prefix)
    assert (key.kind, key.run_id) == (kind, request.run_id)
    manifest = runfile.MANIFEST_PATTERN.fullmatch(extractor.manifest_uri(kind, request.run_id))
    assert manifest is not None and manifest["bucket"] == BUCKET
    assert manifest["dataset"] in runfile.DATASETS_FOR_KIND[kind]
    statement = settings.statement_name(request.run_id, "0123456789ab")
    assert extractor.run_id_of(statement) == request.run_id
