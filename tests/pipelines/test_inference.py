"""The inference pipeline's shape: steps, parameters, resolve, predict, load arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline_defs.inference import PARAMETER_NAMES, STEP_NAMES, build_inference_pipeline
from pipeline_defs.inputs import RedshiftTarget
from pipeline_defs.placeholders import Placeholders
from tests.pipelines.conftest import Built, inference_inputs
from tests.pipelines.definition import all_steps, step_references, steps_by_name


def _doc(inference: dict[str, Built]) -> dict[str, Any]:
    return inference["us-east-1"].doc


def _arguments(step: dict[str, Any]) -> list[Any]:
    return list(step["Arguments"]["AppSpecification"]["ContainerArguments"])


def _flag(arguments: list[Any], flag: str) -> Any:
    return arguments[arguments.index(flag) + 1]


def test_steps_in_order(inference: dict[str, Built]) -> None:
    assert [s["Name"] for s in all_steps(_doc(inference))] == list(STEP_NAMES)


def test_dependencies(inference: dict[str, Built]) -> None:
    steps = steps_by_name(_doc(inference))
    assert {name: step_references(step) for name, step in steps.items()} == {
        # Prepare writes the text column when the champion's architecture reads it
        "Prepare": {"Resolve"},
        "Resolve": set(),
        "CreateModel": {"Resolve"},
        "Predict": {"CreateModel", "Prepare"},
        # Load judges drift on every Prepare host's profile before it loads
        "Load": {"Predict", "Prepare", "Resolve"},
    }


def test_parameters(inference: dict[str, Built]) -> None:
    parameters = {
        p["Name"]: (p["Type"], p.get("DefaultValue")) for p in _doc(inference)["Parameters"]
    }
    assert tuple(parameters) == PARAMETER_NAMES
    assert parameters == {
        "InputManifestUri": ("String", None),
        "RunId": ("String", None),
        "TransformInstanceType": ("String", "ml.m5.xlarge"),
        "TransformInstanceCount": ("Integer", 1),
        "RunKind": ("String", "inference-daily"),
        "PrepareInstanceCount": ("Integer", 1),
        "DriftAction": ("String", "warn"),
    }


def test_prepare_scales_out_by_parameter(inference: dict[str, Built]) -> None:
    prepare = steps_by_name(_doc(inference))["Prepare"]
    cluster = prepare["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceCount"] == {"Get": "Parameters.PrepareInstanceCount"}
    manifest = next(
        i for i in prepare["Arguments"]["ProcessingInputs"] if i["InputName"] == "manifest"
    )
    # every instance reads the manifest; prepare.py shards the files it lists
    assert manifest["S3Input"]["S3DataDistributionType"] == "FullyReplicated"


def test_resolve_and_create_model(inference: dict[str, Built]) -> None:
    steps = steps_by_name(_doc(inference))
    resolve = steps["Resolve"]
    assert resolve["FunctionArn"] == Placeholders.RESOLVE_FUNCTION_ARN
    assert resolve["Arguments"] == {"model_package_group": "pkgml-dev-mailer"}
    assert [o["OutputName"] for o in resolve["OutputParameters"]] == [
        "model_package_arn",
        "model_package_version",
        "architecture",
        "with_text",
        "baseline_s3_uri",
        "score_baseline_s3_uri",
    ]
    arguments = steps["Prepare"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--with-text") + 1] == {
        "Get": "Steps.Resolve.OutputParameters['with_text']"
    }
    model = steps["CreateModel"]["Arguments"]
    assert model["PrimaryContainer"] == {
        "ModelPackageName": {"Get": "Steps.Resolve.OutputParameters['model_package_arn']"}
    }
    assert model["VpcConfig"] == {
        "SecurityGroupIds": ["sg-0a"],
        "Subnets": ["subnet-0a", "subnet-0b"],
    }


def test_prepare_and_load_arguments(inference: dict[str, Built]) -> None:
    steps = steps_by_name(_doc(inference))
    prepare = _arguments(steps["Prepare"])
    assert _flag(prepare, "--target-file-mb") == "64"
    assert _flag(prepare, "--package-type") == "mailer"
    load = _arguments(steps["Load"])
    assert _flag(load, "--predictions-uri") == {"Get": "Steps.Predict.TransformOutput.S3OutputPath"}
    assert _flag(load, "--run-id") == {"Get": "Parameters.RunId"}
    assert _flag(load, "--run-kind") == {"Get": "Parameters.RunKind"}
    assert _flag(load, "--model-package-version") == {
        "Get": "Steps.Resolve.OutputParameters['model_package_version']"
    }
    assert _flag(load, "--cluster-identifier") == "pkgml-dev-cluster"
    assert _flag(load, "--target-table") == "ml.package_type_predictions"
    assert "--workgroup" not in load and "--db-user" not in load
    network = steps["Load"]["Arguments"]["NetworkConfig"]
    assert network["VpcConfig"]["Subnets"] == ["subnet-0a", "subnet-0b"]


def test_serverless_target_without_vpc() -> None:
    redshift = RedshiftTarget(database="dev", workgroup="pkgml-dev")
    assert redshift.load_arguments() == [
        "--database",
        "dev",
        "--workgroup",
        "pkgml-dev",
        "--target-table",
        "ml.package_type_predictions",
    ]


@pytest.mark.parametrize(
    "values",
    [
        {"database": "dev"},
        {"database": "dev", "cluster_identifier": "c", "workgroup": "w", "secret_arn": "s"},
        {"database": "dev", "cluster_identifier": "c"},
        {"database": "dev", "workgroup": "w", "db_user": "u"},
        {"database": "dev", "workgroup": "w", "target_table": "bad table"},
    ],
)
def test_redshift_target_rejects_bad_combinations(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RedshiftTarget(**values)


def test_builder_is_importable_lazily() -> None:
    assert callable(build_inference_pipeline)
    assert inference_inputs().redshift.database == "analytics"


def test_prepare_checks_quality_and_histograms_against_the_champions_baseline(
    inference: dict[str, Built],
) -> None:
    prepare = steps_by_name(_doc(inference))["Prepare"]
    assert json.loads(_flag(_arguments(prepare), "--quality-bounds")) == {
        "max_duplicate_ids": 0,
        "max_invalid_rate": 0.01,
        "max_null_rate": 0.05,
        "min_rows": 1,
        "null_rates": {},
    }
    assert _flag(_arguments(prepare), "--baseline-uri") == {
        "Get": "Steps.Resolve.OutputParameters['baseline_s3_uri']"
    }


def test_load_judges_drift_on_every_prepare_host_before_loading(
    inference: dict[str, Built],
) -> None:
    load = steps_by_name(_doc(inference))["Load"]
    inputs = {i["InputName"]: i for i in load["Arguments"]["ProcessingInputs"]}
    assert inputs["profiles"]["S3Input"]["S3Uri"] == {
        "Get": "Steps.Prepare.ProcessingOutputConfig.Outputs['summary'].S3Output.S3Uri"
    }
    assert inputs["profiles"]["S3Input"]["LocalPath"] == "/opt/ml/processing/input/profiles"
    assert _flag(_arguments(load), "--profiles-dir") == "/opt/ml/processing/input/profiles"
    assert _flag(_arguments(load), "--drift-action") == {"Get": "Parameters.DriftAction"}
    assert json.loads(_flag(_arguments(load), "--drift-limits")) == {
        "category_distance": 0.2,
        "min_rows": 1000,
        "psi": 0.25,
        "psi_moderate": 0.1,
    }
    assert _flag(_arguments(load), "--execution-arn") == {"Get": "Execution.PipelineExecutionArn"}
    # the predicted scores, judged against the champion's validation scores
    assert inputs["predictions"]["S3Input"]["S3Uri"] == {
        "Get": "Steps.Predict.TransformOutput.S3OutputPath"
    }
    assert _flag(_arguments(load), "--predictions-dir") == "/opt/ml/processing/input/predictions"
    assert _flag(_arguments(load), "--score-baseline-uri") == {
        "Get": "Steps.Resolve.OutputParameters['score_baseline_s3_uri']"
    }
    outputs = {o["OutputName"] for o in load["Arguments"]["ProcessingOutputConfig"]["Outputs"]}
    assert outputs == {"drift"}
