"""Run file schema v1: every rule rejects with its reason code and field; mapping to
pipeline parameters; the examples are valid."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from runfile import (
    TRAINING_KINDS,
    Reason,
    RunFileError,
    RunKey,
    decode_json,
    parse_run_file,
    parse_run_key,
    pipeline_parameters,
    validate_manifest,
)

from pkgml_contracts.instance_types import InstanceTypeError, check_instance_type, supported
from tests.lambdas.conftest import BUCKET, EXAMPLES_DIR, PACKAGE_TYPES, deployment, example

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
        deployment=deployment(),
    )


def sent(run: Any, package_type: str = "mailer") -> dict[str, str]:
    """{pipeline parameter: value} the trigger sends for one package type."""
    return {p["Name"]: p["Value"] for p in pipeline_parameters(run, package_type)}


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
    """Against the architectures declared now (every one deployed for every package type)."""
    document = example(name)
    run = parse(document)
    assert name == f"{run.run_id}.json"
    assert set(run.package_types) <= set(PACKAGE_TYPES)
    for package_type in run.package_types:
        pipeline_parameters(run, package_type)


def test_defaults_start_every_configured_package_type() -> None:
    run = parse(example("training-2026-11-23.json"))
    assert run.package_types == PACKAGE_TYPES
    for package_type in PACKAGE_TYPES:
        assert run.models[package_type].architecture.name == "hgb"  # each type's configured
        assert pipeline_parameters(run, package_type) == [
            {"Name": "InputManifestUri", "Value": run.manifest_uri},
            {"Name": "RunId", "Value": "training-2026-11-23"},
        ]


def test_training_parameters_map_to_pipeline_parameter_names() -> None:
    params = sent(parse(TRAINING), "box")
    assert params == {
        "InputManifestUri": "s3://pkgml-dev-data/unload/training/training-2026-11-23/manifest",
        "RunId": "training-2026-11-23-deeper-trees",
        "ValidationRatio": "0.2",
        "TrainingInstanceType": "ml.m5.2xlarge",
        "MaxIter": "400",
        "LearningRate": "0.05",
        "MaxDepth": "8",
        "MaxScoreDrop": "0.02",
        "MinScore": "0.8",
    }


def test_inference_parameters_map_to_pipeline_parameter_names() -> None:
    run = parse(MONTHLY)
    params = sent(run, "sioc")
    assert run.models == {}
    assert all(sent(run, p) == params for p in PACKAGE_TYPES)
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
    ("instance count 2 on hgb (not distributed)",
     T("parameters.training_instance_count", 2),
     Reason.OUT_OF_RANGE, "parameters.training_instance_count"),
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
    ("hyperparameters not object", T("parameters.hyperparameters", [1]),
     Reason.SCHEMA_VIOLATION, "parameters.hyperparameters"),
    ("model on inference", M("model", {"architecture": "hgb"}), Reason.NOT_FOR_KIND,
     "model"),
    ("model unknown key", T("model", {"arch": "hgb"}), Reason.SCHEMA_VIOLATION,
     "model.arch"),
    ("model not object", T("model", "hgb"), Reason.SCHEMA_VIOLATION, "model"),
    ("architecture not string", T("model", {"architecture": 1}),
     Reason.SCHEMA_VIOLATION, "model.architecture"),
    ("architecture unknown", T("model", {"architecture": "gbm"}),
     Reason.ARCHITECTURE_NOT_DEPLOYED, "model.architecture"),
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
            deployment=deployment(),
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


# --- inputs that once escaped as crashes (issue 12) -------------------------------------


def training_text(path: str, literal: str) -> bytes:
    """The training example with `path` set to a raw JSON literal (e.g. 10**400 written out)."""
    marker = "__LITERAL__"
    text = json.dumps(changed(TRAINING, path, marker))
    return text.replace(json.dumps(marker), literal).encode()


NUMERIC_FIELDS = [
    "parameters.validation_ratio",
    "parameters.training_instance_count",
    "parameters.transform_instance_count",
    "parameters.hyperparameters.max_iter",
    "parameters.hyperparameters.learning_rate",
    "parameters.hyperparameters.max_depth",
    "parameters.thresholds.max_score_drop",
    "parameters.thresholds.min_score",
    "parameters.thresholds.max_label_shift",
    "parameters.thresholds.max_label_count_change",
    "parameters.thresholds.max_input_size_change",
]


@pytest.mark.parametrize("path", NUMERIC_FIELDS)
@pytest.mark.parametrize(
    "literal",
    [
        pytest.param(str(10**400), id="1e400-as-integer"),
        pytest.param(str(-(10**400)), id="minus-1e400-as-integer"),
        pytest.param("9" * 5000, id="more-digits-than-int-converts"),
    ],
)
def test_integers_beyond_float_range_are_out_of_range(path: str, literal: str) -> None:
    with pytest.raises(RunFileError) as caught:
        parse(decode_json(training_text(path, literal)))
    assert (caught.value.reason, caught.value.field) == (Reason.OUT_OF_RANGE, path)
    assert len(caught.value.message) < 200  # the value is shown shortened, not in full


@pytest.mark.parametrize(
    "path", [p for p in NUMERIC_FIELDS if not p.endswith(("count", "max_iter", "max_depth"))]
)
def test_decimals_overflowing_to_infinity_are_out_of_range(path: str) -> None:
    with pytest.raises(RunFileError) as caught:
        parse(decode_json(training_text(path, "1e400")))
    assert (caught.value.reason, caught.value.field) == (Reason.OUT_OF_RANGE, path)


@pytest.mark.parametrize("literal", [str(10**400), "9" * 5000])
def test_schema_version_beyond_float_range_is_unsupported(literal: str) -> None:
    with pytest.raises(RunFileError) as caught:
        parse(decode_json(training_text("schema_version", literal)))
    assert caught.value.reason == Reason.UNSUPPORTED_SCHEMA_VERSION
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 50000, id="open-arrays"),
        pytest.param(b'{"a":' * 10000 + b"1" + b"}" * 10000, id="closed-objects"),
        pytest.param(
            training_text("parameters.thresholds.min_score", "[" * 5000 + "]" * 5000),
            id="inside-a-valid-file",
        ),
    ],
)
def test_deeply_nested_json_is_not_json(body: bytes) -> None:
    assert len(body) <= 65536  # within the size cap: only the nesting is wrong
    with pytest.raises(RunFileError) as caught:
        decode_json(body)
    assert caught.value.reason == Reason.NOT_JSON
    assert "nest" in caught.value.message


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    document = decode_json(json.dumps({"note": "[" * 1000 + "{" * 1000}).encode())
    assert document == {"note": "[" * 1000 + "{" * 1000}


@pytest.mark.parametrize("body", [b"[" * 50000, b'{"entries":' + b"[" * 50000])
def test_deeply_nested_manifest_is_invalid(body: bytes) -> None:
    with pytest.raises(RunFileError) as caught:
        validate_manifest(body)
    assert caught.value.reason == Reason.MANIFEST_INVALID


@pytest.mark.parametrize("group", ["hyperparameters", "thresholds"])
def test_empty_training_group_in_an_inference_run_is_not_for_kind(group: str) -> None:
    document, expected = M(f"parameters.{group}", {})
    with pytest.raises(RunFileError) as caught:
        parse_run_file(
            document,
            expected=expected,
            data_bucket=BUCKET,
            configured_package_types=PACKAGE_TYPES,
            deployment=deployment(),
        )
    assert (caught.value.reason, caught.value.field) == (
        Reason.NOT_FOR_KIND,
        f"parameters.{group}",
    )


def test_empty_groups_in_a_training_run_change_nothing() -> None:
    document = changed(
        changed(TRAINING, "parameters.hyperparameters", {}), "parameters.thresholds", {}
    )
    names = set(sent(parse(document)))
    assert names.isdisjoint({"MaxIter", "LearningRate", "MaxDepth", "MaxScoreDrop", "MinScore"})
    assert "TrainingInstanceType" in names


# --- instance types: the shared contract decides ----------------------------------------

INSTANCE_TYPE_FIELDS = [
    # (run file, dotted field, job the type runs)
    (TRAINING, "parameters.training_instance_type", "training"),
    (TRAINING, "parameters.transform_instance_type", "transform"),
    (MONTHLY, "parameters.transform_instance_type", "transform"),
]


def instance_type_error(base: dict[str, Any], path: str, value: Any) -> RunFileError:
    with pytest.raises(RunFileError) as caught:
        parse(changed(base, path, value))
    assert caught.value.field == path
    return caught.value


@pytest.mark.parametrize(("base", "path", "job"), INSTANCE_TYPE_FIELDS)
def test_instance_storage_families_are_refused_naming_the_family(
    base: dict[str, Any], path: str, job: str
) -> None:
    error = instance_type_error(base, path, "ml.m5d.xlarge")
    assert error.reason == Reason.OUT_OF_RANGE
    assert "ml.m5d" in error.message and "local instance storage" in error.message
    assert check_message("ml.m5d.xlarge", job) == error.message


def check_message(value: str, job: str) -> str:
    with pytest.raises(InstanceTypeError) as caught:
        check_instance_type(value, job)
    return str(caught.value)


@pytest.mark.parametrize(("base", "path", "job"), INSTANCE_TYPE_FIELDS)
@pytest.mark.parametrize("value", ["ml.p3.2xlarge", "ml.t3.nano", "ml.zz9.xlarge"])
def test_gpu_unknown_or_unoffered_types_are_out_of_range(
    base: dict[str, Any], path: str, job: str, value: str
) -> None:
    error = instance_type_error(base, path, value)
    assert error.reason == Reason.OUT_OF_RANGE
    assert error.message == check_message(value, job)


@pytest.mark.parametrize(("base", "path", "job"), INSTANCE_TYPE_FIELDS)
@pytest.mark.parametrize("value", ["m5.xlarge", "ml.m5.xlarge ", 5, None])
def test_malformed_instance_types_are_schema_violations(
    base: dict[str, Any], path: str, job: str, value: Any
) -> None:
    assert instance_type_error(base, path, value).reason == Reason.SCHEMA_VIOLATION


@pytest.mark.parametrize(("base", "path", "job"), INSTANCE_TYPE_FIELDS)
def test_every_type_the_contract_supports_is_accepted(
    base: dict[str, Any], path: str, job: str
) -> None:
    for value in supported(job):
        parse(changed(base, path, value))


def test_each_field_is_checked_for_its_own_job() -> None:
    only_training = sorted(set(supported("training")) - set(supported("transform")))
    assert only_training  # e.g. ml.c5n.*: training offers it, batch transform does not
    parse(changed(TRAINING, "parameters.training_instance_type", only_training[0]))
    error = instance_type_error(TRAINING, "parameters.transform_instance_type", only_training[0])
    assert error.reason == Reason.OUT_OF_RANGE


def test_every_instance_type_parameter_is_checked_by_the_contract() -> None:
    import runfile

    fields = {name for name in runfile._PARAMETERS if name.endswith("_instance_type")}
    assert fields == set(runfile.INSTANCE_TYPE_JOBS)
    for name in fields:
        kind = "training" if TRAINING_KINDS & runfile._PARAMETERS[name][1] else MONTHLY["kind"]
        base = TRAINING if kind == "training" else MONTHLY
        error = instance_type_error(base, f"parameters.{name}", "ml.m5d.xlarge")
        assert "ml.m5d" in error.message


def test_nesting_past_the_parsers_recursion_is_not_json_even_without_the_depth_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import runfile

    monkeypatch.setattr(runfile, "MAX_JSON_DEPTH", 10**9)
    with pytest.raises(RunFileError) as caught:
        decode_json(b"[" * 50000)
    assert caught.value.reason == Reason.NOT_JSON
