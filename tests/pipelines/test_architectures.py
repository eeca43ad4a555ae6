"""The training pipeline derived from each declared architecture (built, not emulated)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from pipeline_defs.architectures import architectures
from pipeline_defs.placeholders import architecture_code_uri
from pipeline_defs.train_steps import PACKAGE_STEP, packages_serving_code
from pipeline_defs.training import build_training_pipeline, parameter_names, step_names
from tests.pipelines.conftest import training_inputs
from tests.pipelines.definition import all_steps, steps_by_name


def build(**overrides: Any) -> dict[str, Any]:
    return json.loads(build_training_pipeline(training_inputs(**overrides)))


@pytest.fixture(scope="module", params=sorted(architectures()))
def built(request: pytest.FixtureRequest) -> tuple[Any, dict[str, Any]]:
    architecture = architectures()[request.param]
    return architecture, build(architecture=architecture)


def test_steps_and_parameters_follow_the_declaration(built):
    architecture, doc = built
    assert [s["Name"] for s in all_steps(doc)] == list(step_names(architecture))
    assert tuple(p["Name"] for p in doc["Parameters"]) == parameter_names(architecture)
    defaults = {p["Name"]: p.get("DefaultValue") for p in doc["Parameters"]}
    for item in architecture.hyperparameters:
        assert defaults[item.parameter_name] == item.default, item.name


def test_each_stage_trains_in_the_architectures_image_with_its_hyperparameters(built):
    architecture, doc = built
    steps = steps_by_name(doc)
    for index, stage in enumerate(architecture.stages):
        args = steps[stage.name]["Arguments"]
        image = args["AlgorithmSpecification"]["TrainingImage"]
        repository = {"sklearn": "sagemaker-scikit-learn", "xgboost": "sagemaker-xgboost"}
        assert f"/{repository[architecture.framework]}:{architecture.framework_version}" in image
        hyper = args["HyperParameters"]
        for item in architecture.hyperparameters:
            assert f"Parameters.{item.parameter_name}" in json.dumps(hyper[item.name])
        for name, value in architecture.fixed_hyperparameters:
            assert hyper[name] == value
        channels = {c["ChannelName"]: c for c in args["InputDataConfig"]}
        if architecture.mode == "script":
            assert hyper["sagemaker_program"] == stage.program
            assert "code" in channels
        if index:
            previous = architecture.stages[index - 1].name
            assert channels["previous"]["DataSource"]["S3DataSource"]["S3Uri"] == {
                "Get": f"Steps.{previous}.ModelArtifacts.S3ModelArtifacts"
            }
        last = index == len(architecture.stages) - 1
        assert args["OutputDataConfig"]["CompressionType"] == ("GZIP" if last else "NONE")


def test_distribution_follows_the_declaration(built):
    architecture, doc = built
    train = steps_by_name(doc)["Train"]["Arguments"]
    channel = next(c for c in train["InputDataConfig"] if c["ChannelName"] == "train")
    distribution = channel["DataSource"]["S3DataSource"]["S3DataDistributionType"]
    count = train["ResourceConfig"]["InstanceCount"]
    if architecture.distributed:
        assert distribution == "ShardedByS3Key"
        assert count == {"Get": "Parameters.TrainingInstanceCount"}
    else:
        assert distribution == "FullyReplicated"
        assert count == 1


def test_models_serve_from_the_architectures_container(built):
    architecture, doc = built
    steps = steps_by_name(doc)
    container = steps["CreateModel"]["Arguments"]["PrimaryContainer"]
    train_image = steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert container["Image"] == train_image
    environment = container["Environment"]
    if architecture.serving_program is not None:
        # The program runs from the model's code/ (network isolation: no S3 download),
        # installed offline by the serving stack (see step_builders.serving_environment).
        assert environment["SAGEMAKER_PROGRAM"] == architecture.serving_program
        assert environment["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
        assert environment["PIP_NO_BUILD_ISOLATION"] == "false"
        # A caller that sends no Accept header gets CSV, not the toolkit's JSON default
        # (which the serving programs refuse).
        assert environment["SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"] == "text/csv"
    else:
        assert "SAGEMAKER_PROGRAM" not in environment
    registered = steps["RegisterApproved"]["Arguments"]
    assert registered["CustomerMetadataProperties"]["architecture"] == architecture.name
    package = registered["InferenceSpecification"]["Containers"][0]
    assert package["Environment"] == environment
    assert package["ModelDataUrl"] == container["ModelDataUrl"]
    assert steps["CreateModel"]["Arguments"]["EnableNetworkIsolation"] is True


def test_a_builtin_model_with_a_serving_program_gets_its_code_from_package_model(built):
    architecture, doc = built
    steps = steps_by_name(doc)
    model_data = steps["CreateModel"]["Arguments"]["PrimaryContainer"]["ModelDataUrl"]
    if not packages_serving_code(architecture):
        assert PACKAGE_STEP not in steps
        assert model_data == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
        return
    package = steps[PACKAGE_STEP]["Arguments"]
    inputs = {i["InputName"]: i["S3Input"] for i in package["ProcessingInputs"]}
    assert inputs["model"]["S3Uri"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    assert inputs["serving_code"]["S3Uri"] == architecture_code_uri(architecture)
    assert inputs["code"]["S3Uri"].endswith("/package_model.py")
    arguments = package["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--program") + 1] == architecture.serving_program
    assert {o["OutputName"] for o in package["ProcessingOutputConfig"]["Outputs"]} == {"model"}
    output = f"Steps.{PACKAGE_STEP}.ProcessingOutputConfig.Outputs['model'].S3Output.S3Uri"
    assert model_data == {"Std:Join": {"On": "", "Values": [{"Get": output}, "model.tar.gz"]}}
    assert steps[PACKAGE_STEP]["CacheConfig"]["Enabled"] is True
    assert steps[PACKAGE_STEP]["RetryPolicies"]


def test_builtin_architectures_read_splits_label_first_csv():
    builtin = [a for a in architectures().values() if a.mode == "builtin"]
    assert builtin, "expected at least one built-in architecture (xgboost)"
    assert packages_serving_code(architectures()["xgboost"])  # served by xgboost_serve.py
    for architecture in builtin:
        doc = build(architecture=architecture)
        steps = steps_by_name(doc)
        outputs = {
            o["OutputName"]
            for o in steps["Split"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
        }
        assert {"train_csv", "validation_csv"} <= outputs
        channels = {c["ChannelName"]: c for c in steps["Train"]["Arguments"]["InputDataConfig"]}
        assert channels["train"]["ContentType"] == "text/csv"
        assert "train_csv" in json.dumps(channels["train"]["DataSource"])


def test_spot_is_opt_in_and_visible_in_the_definition():
    spot_capable = [a for a in architectures().values() if a.spot]
    assert spot_capable, "expected a spot-capable architecture (xgboost)"
    architecture = spot_capable[0]
    off = steps_by_name(build(architecture=architecture))["Train"]["Arguments"]
    assert "EnableManagedSpotTraining" not in off
    on = steps_by_name(build(architecture=architecture, spot=True, spot_max_wait_seconds=1800))
    args = on["Train"]["Arguments"]
    assert args["EnableManagedSpotTraining"] is True
    assert args["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    assert "checkpoints" in json.dumps(args["CheckpointConfig"]["S3Uri"])
    stopping = args["StoppingCondition"]
    assert stopping["MaxWaitTimeInSeconds"] == stopping["MaxRuntimeInSeconds"] + 1800


def test_spot_is_ignored_for_an_architecture_that_cannot_resume():
    hgb = architectures()["hgb"]
    assert not hgb.spot
    args = steps_by_name(build(architecture=hgb, spot=True))["Train"]["Arguments"]
    assert "EnableManagedSpotTraining" not in args


def test_configured_hyperparameters_become_the_pipelines_defaults():
    doc = build(hyperparameter_defaults=(("max_iter", 55),))
    defaults = {p["Name"]: p.get("DefaultValue") for p in doc["Parameters"]}
    assert defaults["MaxIter"] == 55


def test_invalid_configured_hyperparameters_are_refused():
    with pytest.raises(ValueError, match="max_iter"):
        training_inputs(hyperparameter_defaults=(("max_iter", 0),))
    hgb = architectures()["hgb"]
    with pytest.raises(ValueError, match="no hyperparameter"):
        training_inputs(
            architecture=dataclasses.replace(hgb), hyperparameter_defaults=(("depth", 3),)
        )


def test_text_architectures_get_the_text_column_from_split(built):
    architecture, doc = built
    arguments = steps_by_name(doc)["Split"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    if "text" in architecture.inputs:
        assert arguments[arguments.index("--with-text") + 1] == "true"
    else:
        assert "--with-text" not in arguments
