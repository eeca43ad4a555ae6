"""Resource names: built once, parsed back by the notify Lambda, used as-is by ops.

Round trips over the synthesized app's own pipelines are in `test_agreement.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline_defs.placeholders import pipeline_output_root
from pkgml_contracts import names
from pkgml_contracts.names import PipelineName
from stacks import naming

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"
for folder in ("shared", "notify"):
    if str(LAMBDA_SRC / folder) not in sys.path:
        sys.path.insert(0, str(LAMBDA_SRC / folder))

import notify_core  # noqa: E402
from notify_settings import Settings  # noqa: E402


def test_built_names() -> None:
    assert names.resource_prefix("pkgml", "dev") == "pkgml-dev"
    assert names.pipeline_name("pkgml", "dev", "training", "mailer") == "pkgml-dev-mailer-training"
    assert names.pipeline_name("pkgml", "dev", "inference", "bag") == "pkgml-dev-bag-inference"
    assert names.model_package_group_name("pkgml", "dev", "box") == "pkgml-dev-box"
    assert names.training_pipeline_name("pkgml", "dev", "box", "hgb", "hgb") == (
        "pkgml-dev-box-training"
    )
    assert names.training_pipeline_name("pkgml", "dev", "box", "xgboost", "hgb") == (
        "pkgml-dev-box-training-xgboost"
    )
    assert names.bucket_name("pkgml", "dev", "data", "123456789012", "us-east-1") == (
        "pkgml-dev-data-123456789012-us-east-1"
    )
    with pytest.raises(ValueError, match="63"):
        names.bucket_name("p" * 30, "dev", "artifacts", "123456789012", "ap-southeast-2")


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("pkgml-dev-mailer-training", PipelineName("mailer", "training", None)),
        ("pkgml-dev-mailer-inference", PipelineName("mailer", "inference", None)),
        ("pkgml-dev-mailer-training-xgboost", PipelineName("mailer", "training", "xgboost")),
        ("PKGML-DEV-Mailer-Training", PipelineName("mailer", "training", None)),
        (
            "pkgml-dev-small-box-training-multi-modal",
            PipelineName("small-box", "training", "multi-modal"),
        ),
    ],
)
def test_pipeline_names_parse(name: str, parsed: PipelineName) -> None:
    assert names.parse_pipeline_name(name, "pkgml-dev") == parsed


@pytest.mark.parametrize(
    "name",
    [
        "pkgml-prod-mailer-training",
        "pkgml-dev-mailer",
        "pkgml-dev-training",
        "pkgml-devx-a-training",
    ],
)
def test_other_names_do_not_parse(name: str) -> None:
    assert names.parse_pipeline_name(name, "pkgml-dev") is None


def test_every_built_pipeline_name_parses_back() -> None:
    for package_type in ("mailer", "small-box", "a1"):
        for architecture in ("hgb", "xgboost", "multimodal"):
            built = names.training_pipeline_name("pkgml", "dev", package_type, architecture, "hgb")
            assert names.parse_pipeline_name(built, "pkgml-dev") == PipelineName(
                package_type, "training", None if architecture == "hgb" else architecture
            )
        built = names.pipeline_name("pkgml", "dev", "inference", package_type)
        assert names.parse_pipeline_name(built, "pkgml-dev") == PipelineName(
            package_type, "inference", None
        )


def test_group_names_parse() -> None:
    group = names.model_package_group_name("pkgml", "dev", "mailer")
    assert names.parse_group_name(group, "pkgml-dev") == "mailer"
    assert names.parse_group_name("PKGML-DEV-Mailer", "pkgml-dev") == "mailer"
    assert names.parse_group_name("pkgml-prod-mailer", "pkgml-dev") is None
    assert names.parse_group_name("pkgml-dev-", "pkgml-dev") is None
    assert names.owned("pkgml-dev-x", "pkgml-dev") and not names.owned("pkgml-devx", "pkgml-dev")


def test_key_layouts() -> None:
    assert names.run_file_key("training", "r1") == "runs/training/r1.json"
    assert names.pipeline_outputs_prefix("p") == "pipelines/p"
    assert names.predictions_prefix("p") == "predictions/p"
    for holder in (names.DataPrefixes, names.ArtifactPrefixes):
        for key, value in vars(holder).items():
            if key.isupper():
                assert value.endswith("/") and not value.startswith("/"), key


def test_the_stacks_and_the_pipelines_use_these_names() -> None:
    assert naming.pipeline_name is names.pipeline_name
    assert naming.training_pipeline_name is names.training_pipeline_name
    assert naming.model_package_group_name is names.model_package_group_name
    assert naming.DataPrefixes is names.DataPrefixes
    assert naming.ArtifactPrefixes is names.ArtifactPrefixes
    assert pipeline_output_root("pkgml-dev-mailer-training").endswith(
        "/" + names.pipeline_outputs_prefix("pkgml-dev-mailer-training")
    )


def notify_settings(package_types: tuple[str, ...] = ("mailer", "small-box")) -> Settings:
    return Settings(
        environment="dev",
        project="pkgml",
        region="us-east-1",
        alerts_topic_arn="arn:aws:sns:us-east-1:123456789012:a",
        decisions_topic_arn="arn:aws:sns:us-east-1:123456789012:d",
        package_types=package_types,
    )


def test_the_notify_parser_reads_the_contracts_names() -> None:
    s = notify_settings()
    built = names.training_pipeline_name("pkgml", "dev", "small-box", "xgboost", "hgb")
    parsed = notify_core.parse_pipeline_name(built, s)
    assert parsed is not None
    assert (parsed.package_type, parsed.kind, parsed.architecture) == (
        "small-box",
        "training",
        "xgboost",
    )
    assert notify_core.parse_pipeline_name("pkgml-prod-mailer-training", s) is None
    unknown = notify_core.parse_pipeline_name("pkgml-dev-sioc-training", s)
    assert unknown is not None and unknown.package_type is None and unknown.kind is None
