"""Architectures as plugins (issue 13): a training run names its model's architecture and
hyperparameters; the trigger validates them against the deployed architectures' catalog and
starts each package type's execution in that architecture's training pipeline.

Most tests use a synthetic catalog (the real `hgb` plus `distgb`, a distributed test
architecture with one hyperparameter of every type), so they do not depend on which other
architectures are declared; the examples and RUN_FILE.md are checked against the real ones.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from runfile import (
    Reason,
    RunFileError,
    RunKey,
    decode_json,
    parse_run_file,
    pipeline_parameters,
)
from runfile_docs import (
    BEGIN_MARKER,
    END_MARKER,
    RUN_FILE_MD,
    marked_section,
    render_architecture_tables,
    replace_marked_section,
)
from trigger_service import Clients, Trigger
from trigger_settings import ConfigError, load_settings

from pkgml_contracts.architectures import (
    Architecture,
    catalog_json,
    discover,
    parse_declaration,
)
from tests.lambdas.conftest import (
    ARCHITECTURES_DIR,
    BUCKET,
    EXAMPLES_DIR,
    PACKAGE_TYPES,
    PIPELINE_ROLE_ARN,
    PIPELINES,
    TRIGGER_DIR,
    TRIGGER_ENV,
    all_pipeline_names,
    architecture_pipelines,
    deployment,
    example,
    executions,
    fresh_import,
    keys,
    notified,
    put_manifest,
    sent_events,
)
from tests.lambdas.test_trigger import Recorder, event, markers, upload, with_manifest

HGB = discover(ARCHITECTURES_DIR)["hgb"]
DISTGB = parse_declaration(
    {
        "name": "distgb",
        "summary": "a distributed test architecture | with a pipe in its summary",
        "image": {"framework": "xgboost", "version": "1.7-1"},
        "mode": "builtin",
        "processors": ["cpu"],
        "distributed": True,
        "inputs": ["tabular"],
        "stages": [{"name": "Train"}],
        "serving": {},
        "spot": True,
        "fixed_hyperparameters": {"objective": "multi:softprob"},
        "hyperparameters": {
            "num_round": {
                "type": "integer",
                "default": 100,
                "minimum": 1,
                "maximum": 2000,
                "description": "boosting rounds",
            },
            "eta": {
                "type": "number",
                "default": 0.3,
                "minimum": 0.001,
                "maximum": 1,
                "description": "step size | shrinkage",
            },
            "max_depth": {
                "type": "integer",
                "default": 6,
                "minimum": 1,
                "maximum": 16,
                "description": "maximum tree depth",
            },
            "tree_method": {
                "type": "string",
                "default": "hist",
                "choices": ["hist", "approx"],
                "description": "how splits are found",
            },
            "use_gpu": {"type": "boolean", "default": False, "description": "train on GPUs"},
        },
    }
)
TEST_CATALOG: dict[str, Architecture] = {"distgb": DISTGB, "hgb": HGB}
# mailer, sioc: hgb configured, distgb deployed too; bag: hgb only; box: distgb configured.
TEST_DEFAULTS = {"mailer": "hgb", "bag": "hgb", "box": "distgb", "sioc": "hgb"}
TEST_DEPLOYED = {
    "mailer": ("hgb", "distgb"),
    "bag": ("hgb",),
    "box": ("distgb", "hgb"),
    "sioc": ("hgb", "distgb"),
}
TEST_PIPELINES = architecture_pipelines(TEST_DEFAULTS, TEST_DEPLOYED)

BASE = example("training-2026-11-23.json")  # no parameters


def training(
    package_types: list[str] | None = None,
    model: Any = None,
    parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    if package_types is not None:
        document["package_types"] = package_types
    if model is not None:
        document["model"] = model
    if parameters is not None:
        document["parameters"] = parameters
    return document


def parse(document: Any, deployed: Any = None) -> Any:
    return parse_run_file(
        document,
        expected=RunKey(document["kind"], document["run_id"]),
        data_bucket=BUCKET,
        configured_package_types=PACKAGE_TYPES,
        deployment=deployed or deployment(TEST_CATALOG, TEST_DEFAULTS, TEST_DEPLOYED),
    )


def rejected(document: Any) -> RunFileError:
    with pytest.raises(RunFileError) as caught:
        parse(document)
    return caught.value


def sent(run: Any, package_type: str) -> dict[str, str]:
    return {p["Name"]: p["Value"] for p in pipeline_parameters(run, package_type)}


# --- model.architecture ----------------------------------------------------------------


def test_named_architecture_trains_every_package_type_of_the_run() -> None:
    run = parse(
        training(
            ["mailer", "box"],
            {"architecture": "distgb", "hyperparameters": {"num_round": 50, "eta": 0.05}},
        )
    )
    for package_type in ("mailer", "box"):
        model = run.models[package_type]
        assert model.architecture is DISTGB
        assert dict(model.hyperparameters) == {"num_round": 50, "eta": 0.05}
        params = sent(run, package_type)
        assert params["NumRound"] == "50" and params["Eta"] == "0.05"
        assert not {"MaxIter", "LearningRate", "MaxDepth"} & set(params)


def test_without_a_named_architecture_each_package_type_trains_its_configured_one() -> None:
    run = parse(training())
    assert {p: m.architecture.name for p, m in run.models.items()} == TEST_DEFAULTS
    assert all(dict(m.hyperparameters) == {} for m in run.models.values())


def test_model_without_architecture_gives_the_configured_ones_hyperparameters() -> None:
    run = parse(training(["mailer", "bag"], {"hyperparameters": {"max_depth": 4}}))
    assert {p: m.architecture.name for p, m in run.models.items()} == {
        "mailer": "hgb",
        "bag": "hgb",
    }
    assert sent(run, "bag")["MaxDepth"] == "4"


def test_every_hyperparameter_type_travels_as_its_text() -> None:
    hyperparameters = {"num_round": 7, "eta": 0.5, "tree_method": "approx", "use_gpu": True}
    run = parse(training(["box"], {"architecture": "distgb", "hyperparameters": hyperparameters}))
    params = sent(run, "box")
    assert {k: params[k] for k in ("NumRound", "Eta", "TreeMethod", "UseGpu")} == {
        "NumRound": "7",
        "Eta": "0.5",
        "TreeMethod": "approx",
        "UseGpu": "true",
    }


def test_an_architecture_not_deployed_for_a_package_type_is_refused_naming_it() -> None:
    error = rejected(training(["mailer", "bag"], {"architecture": "distgb"}))
    assert (error.reason, error.field) == (Reason.ARCHITECTURE_NOT_DEPLOYED, "model.architecture")
    assert "'distgb'" in error.message and "bag" in error.message
    assert "mailer" not in error.message.split("deployed:")[0]  # mailer has it
    assert "bag: hgb" in error.message  # what bag has instead


def test_an_architecture_deployed_for_every_package_type_of_the_run_is_accepted() -> None:
    run = parse(training(["mailer", "sioc"], {"architecture": "distgb"}))
    assert run.package_types == ("mailer", "sioc")


def test_an_unknown_architecture_is_not_deployed_listing_what_is() -> None:
    error = rejected(training(None, {"architecture": "catboost"}))
    assert error.reason == Reason.ARCHITECTURE_NOT_DEPLOYED
    for package_type in PACKAGE_TYPES:
        assert package_type in error.message


def test_the_default_run_covers_every_package_type_so_names_every_one_missing_it() -> None:
    error = rejected(training(None, {"architecture": "distgb"}))
    assert error.reason == Reason.ARCHITECTURE_NOT_DEPLOYED
    assert "bag" in error.message


@pytest.mark.parametrize("model", [{}, {"architecture": "hgb"}, {"hyperparameters": {}}])
@pytest.mark.parametrize(
    "name", ["inference-daily-2026-11-24.json", "inference-monthly-2026-12-01.json"]
)
def test_model_in_an_inference_run_is_not_for_kind_even_empty(model: Any, name: str) -> None:
    document = example(name)
    document["model"] = model
    with pytest.raises(RunFileError) as caught:
        parse(document)
    assert (caught.value.reason, caught.value.field) == (Reason.NOT_FOR_KIND, "model")


# --- hyperparameters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hyperparameters", "reason", "field", "says"),
    [
        ({"gamma": 1}, Reason.SCHEMA_VIOLATION, "gamma", "num_round, eta, max_depth"),
        ({"max_iter": 10}, Reason.SCHEMA_VIOLATION, "max_iter", "distgb has no hyperparameter"),
        ({"eta": 5}, Reason.OUT_OF_RANGE, "eta", "a number from 0.001 to 1"),
        ({"eta": 0}, Reason.OUT_OF_RANGE, "eta", "a number from 0.001 to 1"),
        ({"num_round": 0}, Reason.OUT_OF_RANGE, "num_round", "an integer from 1 to 2000"),
        ({"num_round": 10**400}, Reason.OUT_OF_RANGE, "num_round", "an integer from 1 to 2000"),
        ({"num_round": 2.0}, Reason.SCHEMA_VIOLATION, "num_round", "an integer from 1 to 2000"),
        ({"num_round": "50"}, Reason.SCHEMA_VIOLATION, "num_round", "an integer"),
        ({"num_round": True}, Reason.SCHEMA_VIOLATION, "num_round", "an integer"),
        ({"eta": "fast"}, Reason.SCHEMA_VIOLATION, "eta", "a number from 0.001 to 1"),
        ({"tree_method": "exact"}, Reason.OUT_OF_RANGE, "tree_method", "one of hist, approx"),
        ({"tree_method": 1}, Reason.SCHEMA_VIOLATION, "tree_method", "one of hist, approx"),
        ({"use_gpu": 1}, Reason.SCHEMA_VIOLATION, "use_gpu", "true or false"),
    ],
)
def test_hyperparameters_are_checked_against_the_named_architecture(
    hyperparameters: dict[str, Any], reason: str, field: str, says: str
) -> None:
    error = rejected(
        training(["box"], {"architecture": "distgb", "hyperparameters": hyperparameters})
    )
    path = f"model.hyperparameters.{field}"
    assert (error.reason, error.field) == (reason, path)
    assert path in error.message and says in error.message
    assert str(error).count(path) == 1  # the contract's message names the path once
    assert len(error.message) < 300


@pytest.mark.parametrize(
    ("name", "literal"),
    [
        (name, literal)
        for name in ("num_round", "eta")
        for literal in (str(10**400), str(-(10**400)), "9" * 5000)
    ]
    + [("eta", "1e400"), ("eta", "-1e400")],
)
def test_huge_numbers_are_out_of_range(name: str, literal: str) -> None:
    document = training(["box"], {"architecture": "distgb", "hyperparameters": {name: "__X__"}})
    body = json.dumps(document).replace('"__X__"', literal).encode()
    with pytest.raises(RunFileError) as caught:
        parse(decode_json(body))
    assert (caught.value.reason, caught.value.field) == (
        Reason.OUT_OF_RANGE,
        f"model.hyperparameters.{name}",
    )
    assert len(caught.value.message) < 200


def test_hyperparameters_must_be_an_object() -> None:
    error = rejected(training(["box"], {"architecture": "distgb", "hyperparameters": [1]}))
    assert (error.reason, error.field) == (Reason.SCHEMA_VIOLATION, "model.hyperparameters")


@pytest.mark.parametrize(
    "model", [{"architecture": "hgb"}, {"hyperparameters": {"max_depth": 3}}, {}]
)
def test_model_and_parameters_hyperparameters_together_are_refused(model: Any) -> None:
    document = training(["mailer"], model, {"hyperparameters": {"max_depth": 3}})
    error = rejected(document)
    assert (error.reason, error.field) == (Reason.SCHEMA_VIOLATION, "parameters.hyperparameters")
    assert "model.hyperparameters" in error.message


def test_parameters_hyperparameters_are_checked_per_package_types_configured_one() -> None:
    document = training(None, None, {"hyperparameters": {"max_iter": 10}})
    error = rejected(document)  # box trains distgb, which has no max_iter
    assert (error.reason, error.field) == (
        Reason.SCHEMA_VIOLATION,
        "parameters.hyperparameters.max_iter",
    )
    assert "box" in error.message and "distgb" in error.message
    run = parse(training(["mailer", "bag", "sioc"], None, {"hyperparameters": {"max_iter": 10}}))
    assert {sent(run, p)["MaxIter"] for p in run.package_types} == {"10"}


def test_a_name_shared_by_the_configured_architectures_goes_to_each_in_its_own_range() -> None:
    run = parse(training(["mailer", "box"], None, {"hyperparameters": {"max_depth": 12}}))
    assert sent(run, "mailer")["MaxDepth"] == sent(run, "box")["MaxDepth"] == "12"
    error = rejected(training(["mailer", "box"], None, {"hyperparameters": {"max_depth": 20}}))
    assert (error.reason, error.field) == (
        Reason.OUT_OF_RANGE,
        "parameters.hyperparameters.max_depth",
    )  # hgb takes up to 32, distgb up to 16
    assert "box" in error.message


# --- training_instance_count and distribution ------------------------------------------


def test_more_than_one_instance_needs_a_distributed_architecture() -> None:
    error = rejected(training(["mailer"], None, {"training_instance_count": 2}))
    assert (error.reason, error.field) == (
        Reason.OUT_OF_RANGE,
        "parameters.training_instance_count",
    )
    assert "hgb" in error.message and "one instance" in error.message
    assert "distgb" in error.message  # what would take the count


def test_the_distributed_list_comes_from_the_deployment() -> None:
    only_hgb = deployment({"hgb": HGB}, dict.fromkeys(PACKAGE_TYPES, "hgb"))
    with pytest.raises(RunFileError) as caught:
        parse(training(["mailer"], None, {"training_instance_count": 3}), only_hgb)
    assert caught.value.reason == Reason.OUT_OF_RANGE
    assert "distgb" not in caught.value.message
    assert "no architecture deployed for mailer is distributed" in caught.value.message


def test_a_configured_non_distributed_type_refuses_a_count_even_beside_a_distributed_one() -> None:
    error = rejected(training(["mailer", "box"], None, {"training_instance_count": 2}))
    assert error.reason == Reason.OUT_OF_RANGE and "mailer" in error.message


def test_distributed_architectures_get_the_count_and_others_never_do() -> None:
    run = parse(training(["mailer", "box"], None, {"training_instance_count": 1}))
    assert "TrainingInstanceCount" not in sent(run, "mailer")  # hgb: no such parameter
    assert sent(run, "box")["TrainingInstanceCount"] == "1"  # distgb configured for box
    run = parse(training(["box"], {"architecture": "distgb"}, {"training_instance_count": 4}))
    assert sent(run, "box")["TrainingInstanceCount"] == "4"
    named = parse(training(["mailer"], {"architecture": "distgb"}, {"training_instance_count": 4}))
    assert sent(named, "mailer")["TrainingInstanceCount"] == "4"


def test_pipeline_parameters_refuse_a_package_type_outside_the_run() -> None:
    run = parse(training(["mailer"]))
    with pytest.raises(ValueError, match="box"):
        pipeline_parameters(run, "box")


# --- examples and the real catalog -------------------------------------------------------


def test_the_architecture_examples_name_declared_architectures() -> None:
    """Every examples/run_files/*.json naming model.architecture names a declared one."""
    documents = {p.name: json.loads(p.read_text()) for p in EXAMPLES_DIR.glob("*.json")}
    named = {
        name: document["model"]["architecture"]
        for name, document in documents.items()
        if "architecture" in document.get("model", {})
    }
    assert named, "no example names an architecture"
    declared = discover(ARCHITECTURES_DIR)
    missing = {name: arch for name, arch in named.items() if arch not in declared}
    assert not missing, f"examples name undeclared architectures: {missing}"


# --- the trigger: routing, quarantine ---------------------------------------------------


@pytest.fixture
def arch_env(aws: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    """TRIGGER_ENV for the synthetic deployment, its catalog file, and its pipelines in moto."""
    path = tmp_path / "architectures.json"
    path.write_text(catalog_json(TEST_CATALOG), encoding="utf-8")
    existing = set(all_pipeline_names())  # the `aws` fixture made these
    for routes in TEST_PIPELINES.values():
        for name in sorted(set(routes.values()) - existing):
            aws["sagemaker"].create_pipeline(
                PipelineName=name, PipelineDefinition="{}", RoleArn=PIPELINE_ROLE_ARN
            )
    return {
        **TRIGGER_ENV,
        "ARCHITECTURE_PIPELINES": json.dumps(TEST_PIPELINES),
        "DEFAULT_ARCHITECTURES": json.dumps(TEST_DEFAULTS),
        "ARCHITECTURES_FILE": str(path),
    }


def arch_trigger(aws: dict[str, Any], env: dict[str, str], sagemaker: Any = None) -> Trigger:
    clients = Clients(s3=aws["s3"], sagemaker=sagemaker or aws["sagemaker"], events=aws["events"])
    return Trigger(load_settings(env), clients, logging.getLogger("test.trigger"))


def test_a_named_architecture_starts_its_own_training_pipelines(
    aws: dict[str, Any], arch_env: dict[str, str]
) -> None:
    document = with_manifest(
        aws,
        training(
            ["mailer", "box"],
            {"architecture": "distgb", "hyperparameters": {"eta": 0.1, "use_gpu": False}},
        ),
    )
    recorder = Recorder(aws["sagemaker"])
    summary = arch_trigger(aws, arch_env, recorder).handle(event(upload(aws, document)))

    assert summary["started"] == 2
    started = {c["PipelineName"]: c for c in recorder.calls}
    # distgb is mailer's extra architecture but box's configured one (the base name)
    assert set(started) == {"pkgml-dev-mailer-training-distgb", "pkgml-dev-box-training"}
    assert TEST_PIPELINES["box"]["distgb"] == PIPELINES["training"]["box"]
    for call in started.values():
        params = {p["Name"]: p["Value"] for p in call["PipelineParameters"]}
        assert params["Eta"] == "0.1" and params["UseGpu"] == "false"
    assert executions(aws["sagemaker"], PIPELINES["training"]["mailer"]) == []
    assert {m["package_type"]: m["architecture"] for m in markers(aws)} == {
        "mailer": "distgb",
        "box": "distgb",
    }
    assert {m["pipeline"] for m in markers(aws)} == set(started)


def test_without_a_named_architecture_each_type_starts_its_configured_pipeline(
    aws: dict[str, Any], arch_env: dict[str, str]
) -> None:
    document = with_manifest(aws, training())
    recorder = Recorder(aws["sagemaker"])
    summary = arch_trigger(aws, arch_env, recorder).handle(event(upload(aws, document)))
    assert summary["started"] == 4
    assert sorted(c["PipelineName"] for c in recorder.calls) == sorted(
        PIPELINES["training"].values()
    )


def test_parameters_differ_per_package_type(aws: dict[str, Any], arch_env: dict[str, str]) -> None:
    document = with_manifest(
        aws,
        training(
            ["mailer", "box"],
            None,
            {"training_instance_count": 1, "hyperparameters": {"max_depth": 5}},
        ),
    )
    recorder = Recorder(aws["sagemaker"])
    arch_trigger(aws, arch_env, recorder).handle(event(upload(aws, document)))
    names = {
        c["PipelineName"]: {p["Name"] for p in c["PipelineParameters"]} for c in recorder.calls
    }
    assert "TrainingInstanceCount" not in names[PIPELINES["training"]["mailer"]]
    assert "TrainingInstanceCount" in names[PIPELINES["training"]["box"]]
    assert all("MaxDepth" in n for n in names.values())


def test_architecture_not_deployed_is_quarantined_and_starts_nothing(
    aws: dict[str, Any], arch_env: dict[str, str]
) -> None:
    document = with_manifest(aws, training(["mailer", "bag"], {"architecture": "distgb"}))
    recorder = Recorder(aws["sagemaker"])
    summary = arch_trigger(aws, arch_env, recorder).handle(event(upload(aws, document)))
    assert summary["quarantined"] == 1 and recorder.calls == []
    assert summary["outcomes"][0]["reason"] == Reason.ARCHITECTURE_NOT_DEPLOYED
    [report_key] = [k for k in keys(aws["s3"], "quarantine/") if k.endswith(".error.json")]
    report = json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=report_key)["Body"].read())
    assert report["field"] == "model.architecture" and "bag" in report["message"]
    [sent] = sent_events()
    assert sent["detail"] == report
    alert = notified(sent)
    assert "architecture_not_deployed" in alert.subject and report["message"] in alert.body


def test_an_unencodable_architecture_name_still_gives_a_report_and_an_alert(
    aws: dict[str, Any], arch_env: dict[str, str]
) -> None:
    document = with_manifest(aws, training(["mailer"], {"architecture": "x\udc80"}))
    body = json.dumps(document).encode()  # ASCII JSON: the surrogate is a \udc80 escape
    rec = upload(aws, body, f"runs/training/{document['run_id']}.json")
    summary = arch_trigger(aws, arch_env).handle(event(rec))
    assert summary["outcomes"][0]["reason"] == Reason.ARCHITECTURE_NOT_DEPLOYED
    [sent] = sent_events()
    message = notified(sent).body
    assert "\\udc80" in message and message.encode("utf-8")


def test_handler_loads_the_catalog_at_cold_start(
    aws: dict[str, Any], arch_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = fresh_import("trigger_handler", monkeypatch, arch_env)
    assert set(handler.SETTINGS.deployment.catalog) == {"hgb", "distgb"}
    put_manifest(aws["s3"], BASE["data"]["manifest"])
    document = training(["box"], {"architecture": "distgb"})
    assert handler.handler(event(upload(aws, document)), None)["started"] == 1
    assert len(executions(aws["sagemaker"], PIPELINES["training"]["box"])) == 1


# --- settings ----------------------------------------------------------------------------


def bad_env(tmp_path: Path, catalog_text: str | None = None, **override: Any) -> dict[str, str]:
    path = tmp_path / "architectures.json"
    path.write_text(
        catalog_json(TEST_CATALOG) if catalog_text is None else catalog_text, encoding="utf-8"
    )
    env = {
        **TRIGGER_ENV,
        "ARCHITECTURE_PIPELINES": json.dumps(TEST_PIPELINES),
        "DEFAULT_ARCHITECTURES": json.dumps(TEST_DEFAULTS),
        "ARCHITECTURES_FILE": str(path),
    }
    for key, value in override.items():
        env[key] = value if isinstance(value, str) else json.dumps(value)
    return env


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def _with(mapping: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**copy.deepcopy(mapping), key: value}


BAD_SETTINGS = [
    # (id, catalog text or None, overrides, variable named)
    ("pipelines not json", None, {"ARCHITECTURE_PIPELINES": "{"}, "ARCHITECTURE_PIPELINES"),
    ("pipelines unset", None, {"ARCHITECTURE_PIPELINES": ""}, "ARCHITECTURE_PIPELINES"),
    ("pipelines not object", None, {"ARCHITECTURE_PIPELINES": [1]}, "ARCHITECTURE_PIPELINES"),
    ("package type missing", None,
     {"ARCHITECTURE_PIPELINES": _without(TEST_PIPELINES, "bag")}, "ARCHITECTURE_PIPELINES"),
    ("package type extra", None,
     {"ARCHITECTURE_PIPELINES": _with(TEST_PIPELINES, "tube", {"hgb": "pkgml-dev-tube-training"})},
     "ARCHITECTURE_PIPELINES"),
    ("no architecture for a type", None,
     {"ARCHITECTURE_PIPELINES": _with(TEST_PIPELINES, "bag", {})}, "ARCHITECTURE_PIPELINES"),
    ("architecture not in catalog", None,
     {"ARCHITECTURE_PIPELINES": _with(TEST_PIPELINES, "bag",
                                      {"hgb": "pkgml-dev-bag-training",
                                       "catboost": "pkgml-dev-bag-training-catboost"})},
     "ARCHITECTURE_PIPELINES"),
    ("bad pipeline name", None,
     {"ARCHITECTURE_PIPELINES": _with(TEST_PIPELINES, "bag", {"hgb": "bag training!"})},
     "ARCHITECTURE_PIPELINES"),
    ("one pipeline for two architectures", None,
     {"ARCHITECTURE_PIPELINES": _with(TEST_PIPELINES, "mailer",
                                      {"hgb": "pkgml-dev-mailer-training",
                                       "distgb": "pkgml-dev-mailer-training"})},
     "ARCHITECTURE_PIPELINES"),
    ("defaults not json", None, {"DEFAULT_ARCHITECTURES": "hgb"}, "DEFAULT_ARCHITECTURES"),
    ("defaults unset", None, {"DEFAULT_ARCHITECTURES": ""}, "DEFAULT_ARCHITECTURES"),
    ("default missing", None,
     {"DEFAULT_ARCHITECTURES": _without(TEST_DEFAULTS, "sioc")}, "DEFAULT_ARCHITECTURES"),
    ("default not deployed", None,
     {"DEFAULT_ARCHITECTURES": _with(TEST_DEFAULTS, "bag", "distgb")}, "DEFAULT_ARCHITECTURES"),
    ("default not a string", None,
     {"DEFAULT_ARCHITECTURES": _with(TEST_DEFAULTS, "bag", ["hgb"])}, "DEFAULT_ARCHITECTURES"),
    ("default's pipeline is not the training pipeline", None,
     {"DEFAULT_ARCHITECTURES": _with(TEST_DEFAULTS, "mailer", "distgb")},
     "DEFAULT_ARCHITECTURES"),
    ("catalog missing", None, {"ARCHITECTURES_FILE": "/nonexistent/architectures.json"},
     "ARCHITECTURES_FILE"),
    ("catalog not json", "{", {}, "ARCHITECTURES_FILE"),
    ("catalog not an object", "[]", {}, "ARCHITECTURES_FILE"),
    ("catalog declaration invalid", json.dumps({"hgb": {"name": "hgb"}}), {},
     "ARCHITECTURES_FILE"),
    ("catalog name differs from its key",
     json.dumps({"hgb": DISTGB.to_json(), "distgb": DISTGB.to_json()}), {},
     "ARCHITECTURES_FILE"),
    ("catalog lacks a deployed architecture", catalog_json({"hgb": HGB}), {},
     "ARCHITECTURE_PIPELINES"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("catalog_text", "override", "variable"),
    [pytest.param(c, o, v, id=i) for i, c, o, v in BAD_SETTINGS],
)
def test_bad_architecture_configuration_names_the_variable(
    tmp_path: Path, catalog_text: str | None, override: dict[str, Any], variable: str
) -> None:
    env = bad_env(tmp_path, catalog_text, **override)
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)


def test_good_architecture_configuration_loads(tmp_path: Path) -> None:
    settings = load_settings(bad_env(tmp_path))
    # (the catalog's JSON sorts keys: compare declarations, not hyperparameter order)
    catalog = settings.deployment.catalog
    assert {n: a.to_json() for n, a in catalog.items()} == {
        n: a.to_json() for n, a in TEST_CATALOG.items()
    }
    assert settings.deployment.configured == TEST_DEFAULTS
    assert settings.deployment.deployed["box"][0] == "distgb"  # configured first
    assert set(settings.deployment.deployed["bag"]) == {"hgb"}
    assert settings.architecture_pipelines == TEST_PIPELINES


def test_the_catalog_defaults_to_architectures_json_beside_the_modules(tmp_path: Path) -> None:
    env = _without(bad_env(tmp_path), "ARCHITECTURES_FILE")
    with pytest.raises(ConfigError, match="ARCHITECTURES_FILE") as caught:
        load_settings(env)  # the source folder ships no catalog; the stack adds it
    assert str(TRIGGER_DIR / "architectures.json") in str(caught.value)
    assert not (TRIGGER_DIR / "architectures.json").exists()


# --- RUN_FILE.md: the architecture tables are generated ----------------------------------


def test_run_file_md_architecture_tables_match_the_declarations() -> None:
    rendered = render_architecture_tables(discover(ARCHITECTURES_DIR))
    documented = marked_section(RUN_FILE_MD.read_text(encoding="utf-8"))
    assert documented == rendered, (
        f"{RUN_FILE_MD.name}'s section between {BEGIN_MARKER} and {END_MARKER} is out of date "
        "with pipeline_defs/architectures/*/architecture.json; regenerate it with: "
        "python -m tools.docs"
    )


def test_renderer_lists_every_hyperparameter_with_type_default_range_and_description() -> None:
    text = render_architecture_tables({"hgb": HGB, "distgb": DISTGB})
    assert text.index("`distgb`") < text.index("`hgb`")  # sorted by name
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("| `num_round`"))
    assert [c.strip() for c in row.strip("|").split(" | ")] == [
        "`num_round`", "integer", "`100`", "1 - 2000", "boosting rounds", "`NumRound`",
    ]  # fmt: skip
    eta = next(line for line in lines if line.startswith("| `eta`"))
    assert "0.001 - 1" in eta and "step size \\| shrinkage" in eta  # a | in text is escaped
    assert '`"hist"`' in text and "`hist`, `approx`" in text
    assert "`false`" in text and "true, false" in text
    assert "a distributed test architecture \\| with a pipe" in text
    for name in ("max_iter", "learning_rate", "max_depth"):
        assert f"| `{name}` |" in text
    # the distribution note says which architectures take training_instance_count > 1
    distgb_section, hgb_section = text.split("### `hgb`")
    assert "trains on `training_instance_count` instances" in distgb_section
    assert "trains on one instance" in hgb_section


def test_replace_marked_section_rewrites_only_between_the_markers() -> None:
    document = f"intro\n{BEGIN_MARKER}\nold\n{END_MARKER}\noutro\n"
    replaced = replace_marked_section(document, "new table\n")
    assert replaced == f"intro\n{BEGIN_MARKER}\nnew table\n{END_MARKER}\noutro\n"
    assert marked_section(replaced) == "new table\n"
    with pytest.raises(ValueError, match="marker"):
        marked_section("no markers here")


def test_every_reason_code_is_documented() -> None:
    text = RUN_FILE_MD.read_text(encoding="utf-8")
    codes = {v for k, v in vars(Reason).items() if k.isupper()}
    assert Reason.ARCHITECTURE_NOT_DEPLOYED in codes
    missing = sorted(c for c in codes if f"| `{c}` |" not in text)
    assert not missing, f"reason codes missing from RUN_FILE.md's table: {missing}"
