"""Run file schema v1: every rule rejects with its reason code and field; mapping to
pipeline parameters; the examples are valid."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from runfile import (
    Reason,
    RunFileError,
    RunKey,
    decode_json,
    parse_run_file,
    parse_run_key,
    pipeline_parameters,
    validate_manifest,
)

from tests.lambdas.conftest import BUCKET, EXAMPLES_DIR, PACKAGE_TYPES, example

TRAINING = example("training-2026-11-23-deeper-trees.json")
MONTHLY = example("inference-monthly-2026-12-01.json")


def parse(document: Any) -> Any:
    """Parse as if uploaded under the key its own kind and run_id name."""
    if isinstance(document, dict):
        expected = RunKey(kind=document["kind"], run_id=document["run_id"])
    else:
        expected = RunKey("training", TRAINING["run_id"])
    return parse_run_file(
        document,
        expected=expected,
        data_bucket=BUCKET,
        configured_package_types=PACKAGE_TYPES,
    )


def changed(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of base with the dotted path set (value ... = delete)."""
    document = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return document


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES_DIR.glob("*.json")))
def test_every_example_is_valid_and_named_after_its_run_id(name: str) -> None:
    document = example(name)
    run = parse(document)
    assert name == f"{run.run_id}.json"
    assert set(run.package_types) <= set(PACKAGE_TYPES)


def test_defaults_start_every_configured_package_type() -> None:
    run = parse(example("training-2026-11-23.json"))
    assert run.package_types == PACKAGE_TYPES
    assert pipeline_parameters(run) == [
        {"Name": "InputManifestUri", "Value": run.manifest_uri},
        {"Name": "RunId", "Value": "training-2026-11-23"},
    ]


def test_training_parameters_map_to_pipeline_parameter_names() -> None:
    params = {p["Name"]: p["Value"] for p in pipeline_parameters(parse(TRAINING))}
    assert params == {
        "InputManifestUri": "s3://pkgml-dev-data/unload/training/training-2026-11-23/manifest",
        "RunId": "training-2026-11-23-deeper-trees",
        "ValidationRatio": "0.2",
        "TrainingInstanceType": "ml.m5.2xlarge",
        "TrainingInstanceCount": "2",
        "MaxIter": "400",
        "LearningRate": "0.05",
        "MaxDepth": "8",
        "MaxScoreDrop": "0.02",
        "MinScore": "0.8",
    }


def test_inference_parameters_map_to_pipeline_parameter_names() -> None:
    params = {p["Name"]: p["Value"] for p in pipeline_parameters(parse(MONTHLY))}
    assert params == {
        "InputManifestUri": MONTHLY["data"]["manifest"],
        "RunId": "inference-monthly-2026-12-01",
        "TransformInstanceType": "ml.m5.xlarge",
        "TransformInstanceCount": "4",
        "PrepareInstanceCount": "4",
        "RunKind": "inference-monthly",
    }


def test_package_types_follow_configuration_order() -> None:
    run = parse(changed(TRAINING, "package_types", ["box", "mailer"]))
    assert run.package_types == ("mailer", "box")


def test_run_file_is_frozen() -> None:
    run = parse(TRAINING)
    with pytest.raises(AttributeError):
        run.run_id = "other"


def T(path: str, value: Any) -> tuple[dict[str, Any], RunKey]:
    """The training example changed at path, and the key it is uploaded under."""
    return changed(TRAINING, path, value), RunKey("training", TRAINING["run_id"])


def M(path: str, value: Any) -> tuple[dict[str, Any], RunKey]:
    """The monthly inference example changed at path, and its key."""
    return changed(MONTHLY, path, value), RunKey("inference-monthly", MONTHLY["run_id"])


INVALID = [
    # (description, document, reason, field)
    ("unknown top-level key", T("extra", 1), Reason.SCHEMA_VIOLATION, "extra"),
    ("missing data", T("data", ...), Reason.SCHEMA_VIOLATION, "data"),
    ("missing kind", T("kind", ...), Reason.SCHEMA_VIOLATION, "kind"),
    ("schema v2", T("schema_version", 2), Reason.UNSUPPORTED_SCHEMA_VERSION,
     "schema_version"),
    ("schema version string", T("schema_version", "1"), Reason.SCHEMA_VIOLATION,
     "schema_version"),
    ("schema version bool", T("schema_version", True), Reason.SCHEMA_VIOLATION,
     "schema_version"),
    ("unknown kind", T("kind", "scoring"), Reason.UNKNOWN_KIND, "kind"),
    ("kind vs folder", T("kind", "inference-daily"), Reason.KEY_MISMATCH, "kind"),
    ("bad run id", T("run_id", "-starts-with-hyphen"), Reason.SCHEMA_VIOLATION,
     "run_id"),
    ("run id too long", T("run_id", "a" * 64), Reason.SCHEMA_VIOLATION, "run_id"),
    ("run id vs file", T("run_id", "other-run"), Reason.KEY_MISMATCH, "run_id"),
    ("manifest other bucket",
     T("data.manifest", "s3://elsewhere/unload/training/t-1/manifest"),
     Reason.SCHEMA_VIOLATION, "data.manifest"),
    ("manifest not s3", T("data.manifest", "/tmp/manifest"),
     Reason.SCHEMA_VIOLATION, "data.manifest"),
    ("manifest wrong dataset for kind",
     T("data.manifest", f"s3://{BUCKET}/unload/inference-daily/d-1/manifest"),
     Reason.SCHEMA_VIOLATION, "data.manifest"),
    ("manifest unknown key", T("data.prefix", "x"), Reason.SCHEMA_VIOLATION,
     "data.prefix"),
    ("package types empty", T("package_types", []), Reason.SCHEMA_VIOLATION,
     "package_types"),
    ("package type unknown", T("package_types", ["mailer", "crate"]),
     Reason.UNKNOWN_PACKAGE_TYPE, "package_types[1]"),
    ("package types repeated", T("package_types", ["bag", "bag"]),
     Reason.SCHEMA_VIOLATION, "package_types"),
    ("package type not string", T("package_types", [1]),
     Reason.SCHEMA_VIOLATION, "package_types[0]"),
    ("validation ratio low", T("parameters.validation_ratio", 0.01),
     Reason.OUT_OF_RANGE, "parameters.validation_ratio"),
    ("validation ratio high", T("parameters.validation_ratio", 0.51),
     Reason.OUT_OF_RANGE, "parameters.validation_ratio"),
    ("validation ratio string", T("parameters.validation_ratio", "0.2"),
     Reason.SCHEMA_VIOLATION, "parameters.validation_ratio"),
    ("instance type", T("parameters.training_instance_type", "m5.xlarge"),
     Reason.SCHEMA_VIOLATION, "parameters.training_instance_type"),
    ("instance count 0", T("parameters.training_instance_count", 0),
     Reason.OUT_OF_RANGE, "parameters.training_instance_count"),
    ("instance count 21", T("parameters.training_instance_count", 21),
     Reason.OUT_OF_RANGE, "parameters.training_instance_count"),
    ("instance count float", T("parameters.training_instance_count", 2.0),
     Reason.SCHEMA_VIOLATION, "parameters.training_instance_count"),
    ("transform count 51", M("parameters.transform_instance_count", 51),
     Reason.OUT_OF_RANGE, "parameters.transform_instance_count"),
    ("unknown parameter", T("parameters.epochs", 3), Reason.SCHEMA_VIOLATION,
     "parameters.epochs"),
    ("unknown hyperparameter", T("parameters.hyperparameters.gamma", 1),
     Reason.SCHEMA_VIOLATION, "parameters.hyperparameters.gamma"),
    ("learning rate 0", T("parameters.hyperparameters.learning_rate", 0),
     Reason.OUT_OF_RANGE, "parameters.hyperparameters.learning_rate"),
    ("max depth bool", T("parameters.hyperparameters.max_depth", True),
     Reason.SCHEMA_VIOLATION, "parameters.hyperparameters.max_depth"),
    ("max iter huge", T("parameters.hyperparameters.max_iter", 10**6),
     Reason.OUT_OF_RANGE, "parameters.hyperparameters.max_iter"),
    ("min score > 1", T("parameters.thresholds.min_score", 1.5),
     Reason.OUT_OF_RANGE, "parameters.thresholds.min_score"),
    ("unknown threshold", T("parameters.thresholds.max_auc", 0.1),
     Reason.SCHEMA_VIOLATION, "parameters.thresholds.max_auc"),
    ("training param on inference",
     M("parameters.training_instance_count", 2),
     Reason.NOT_FOR_KIND, "parameters.training_instance_count"),
    ("hyperparameters on inference",
     M("parameters.hyperparameters", {"max_depth": 3}),
     Reason.NOT_FOR_KIND, "parameters.hyperparameters.max_depth"),
    ("training threshold on inference", M("parameters.thresholds.min_score", 0.5),
     Reason.NOT_FOR_KIND, "parameters.thresholds.min_score"),
    ("prepare sizing on training", T("parameters.prepare_instance_count", 2),
     Reason.NOT_FOR_KIND, "parameters.prepare_instance_count"),
    ("gate threshold on inference",
     M("parameters.thresholds.max_label_shift", 0.1),
     Reason.NOT_FOR_KIND, "parameters.thresholds.max_label_shift"),
    ("parameters not object", T("parameters", [1]), Reason.SCHEMA_VIOLATION,
     "parameters"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "reason", "field"),
    [pytest.param(case, r, f, id=name) for name, case, r, f in INVALID],
)
def test_invalid_run_files_name_reason_and_field(
    case: tuple[dict[str, Any], RunKey], reason: str, field: str
) -> None:
    document, expected = case
    with pytest.raises(RunFileError) as caught:
        parse_run_file(
            document,
            expected=expected,
            data_bucket=BUCKET,
            configured_package_types=PACKAGE_TYPES,
        )
    assert (caught.value.reason, caught.value.field) == (reason, field)
    assert field in str(caught.value)


def test_top_level_must_be_an_object() -> None:
    with pytest.raises(RunFileError) as caught:
        parse([TRAINING])
    assert caught.value.reason == Reason.SCHEMA_VIOLATION


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe{}", Reason.NOT_UTF8),
        (b"", Reason.NOT_JSON),
        (b"{not json", Reason.NOT_JSON),
        (b'{"a": NaN}', Reason.NOT_JSON),
        (b'{"a": 1, "a": 2}', Reason.NOT_JSON),
    ],
)
def test_decode_json_is_strict(body: bytes, reason: str) -> None:
    with pytest.raises(RunFileError) as caught:
        decode_json(body)
    assert caught.value.reason == reason


def test_decode_json_accepts_utf8_json() -> None:
    assert decode_json('{"note": "Größe"}'.encode()) == {"note": "Größe"}


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("runs/training.json", Reason.BAD_KEY),
        ("runs/training/sub/x.json", Reason.BAD_KEY),
        ("runs/training/x.txt", Reason.BAD_KEY),
        ("runs/training/bad id.json", Reason.BAD_KEY),
        ("runs/scoring/x.json", Reason.UNKNOWN_KIND),
    ],
)
def test_run_key_form(key: str, reason: str) -> None:
    with pytest.raises(RunFileError) as caught:
        parse_run_key(key, "runs/")
    assert caught.value.reason == reason


def test_run_key_parts() -> None:
    assert parse_run_key("runs/inference-daily/d-1.json", "runs/") == RunKey(
        "inference-daily", "d-1"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", Reason.MANIFEST_EMPTY),
        (b"[]", Reason.MANIFEST_INVALID),
        (b'{"files": []}', Reason.MANIFEST_INVALID),
        (b"\xff", Reason.MANIFEST_INVALID),
        (json.dumps({"entries": []}).encode(), Reason.MANIFEST_EMPTY),
    ],
)
def test_manifest_must_list_files(body: bytes, reason: str) -> None:
    with pytest.raises(RunFileError) as caught:
        validate_manifest(body)
    assert caught.value.reason == reason


def test_manifest_with_entries_is_accepted() -> None:
    assert validate_manifest(json.dumps({"entries": [{"url": "s3://b/k"}]}).encode()) == 1
