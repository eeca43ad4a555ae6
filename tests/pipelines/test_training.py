"""The training pipeline's shape: steps, parameters, gate, registration, golden text."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipeline_defs.architectures import architectures
from pipeline_defs.placeholders import Placeholders, architecture_code_uri
from pipeline_defs.steps import compare
from pipeline_defs.training import parameter_names, step_names
from tests.pipelines.conftest import Built
from tests.pipelines.definition import all_steps, step_references, steps_by_name

GOLDEN = Path(__file__).parent / "golden" / "training_us-east-1.json"
HGB = architectures()["hgb"]
STEP_NAMES = step_names(HGB)


def _doc(training: dict[str, Built]) -> dict[str, Any]:
    return training["us-east-1"].doc


def test_steps_in_order(training: dict[str, Built]) -> None:
    assert [s["Name"] for s in all_steps(_doc(training))] == list(STEP_NAMES)
    assert [s["Name"] for s in _doc(training)["Steps"]] == [
        "ResolveChampion",
        "Split",
        "DataQuality",
        "CreateModel",
        "EvaluateTransform",
        "Evaluate",
        "Compare",
        "Gate",
    ]


def test_dependencies(training: dict[str, Built]) -> None:
    steps = steps_by_name(_doc(training))
    assert {name: step_references(step) for name, step in steps.items()} == {
        "ResolveChampion": set(),
        "Split": {"ResolveChampion"},
        "DataQuality": {"Split"},
        "DataQualityFailed": {"Split"},
        "ScoreChampion": {"ResolveChampion", "Split"},
        "Train": {"Split"},
        "CreateModel": {"Train"},
        "EvaluateTransform": {"CreateModel", "Split"},
        "Evaluate": {"EvaluateTransform", "ScoreChampion", "Split"},
        "Compare": {"Evaluate", "Split"},
        "Gate": {"Compare"},
        "RegisterApproved": {"Train", "Split", "Evaluate", "Compare"},
        "RegisterRejected": {"Train", "Split", "Evaluate", "Compare"},
    }


def test_parameters_are_the_trigger_contract(training: dict[str, Built]) -> None:
    parameters = {
        p["Name"]: (p["Type"], p.get("DefaultValue")) for p in _doc(training)["Parameters"]
    }
    assert tuple(parameters) == parameter_names(HGB)
    # hgb trains on one instance: its pipeline has no TrainingInstanceCount.
    assert parameters == {
        "InputManifestUri": ("String", None),
        "RunId": ("String", None),
        "ValidationRatio": ("Float", 0.2),
        "TrainingInstanceType": ("String", "ml.m5.xlarge"),
        "TransformInstanceType": ("String", "ml.m5.xlarge"),
        "TransformInstanceCount": ("Integer", 1),
        "MaxIter": ("Integer", 200),
        "LearningRate": ("Float", 0.1),
        "MaxDepth": ("Integer", 6),
        "MaxScoreDrop": ("Float", 0.02),
        "MinScore": ("Float", 0.7),
        "MaxLabelShift": ("Float", 0.1),
        "MaxLabelCountChange": ("Float", 0.5),
        "MaxInputSizeChange": ("Float", 0.5),
    }


def test_gate_routes_on_the_decision_file_without_failing(training: dict[str, Built]) -> None:
    steps = steps_by_name(_doc(training))
    # the only Fail step is the data-quality one: a rejection is data, not a failure
    assert [s["Name"] for s in steps.values() if s["Type"] == "Fail"] == ["DataQualityFailed"]
    assert steps["Compare"]["PropertyFiles"] == [
        {"PropertyFileName": "GateDecision", "OutputName": "decision", "FilePath": "decision.json"}
    ]
    assert steps["Evaluate"]["PropertyFiles"][0]["PropertyFileName"] == "EvaluationReport"
    gate = steps["Gate"]["Arguments"]
    assert gate["Conditions"] == [
        {
            "Type": "Equals",
            "LeftValue": {
                "Std:JsonGet": {
                    "PropertyFile": {"Get": "Steps.Compare.PropertyFiles.GateDecision"},
                    "Path": "decision",
                }
            },
            "RightValue": compare.APPROVE,
        }
    ]
    assert [s["Name"] for s in gate["IfSteps"]] == ["RegisterApproved"]
    assert [s["Name"] for s in gate["ElseSteps"]] == ["RegisterRejected"]


def test_registration_carries_what_compare_reads(training: dict[str, Built]) -> None:
    steps = steps_by_name(_doc(training))
    for name, status in (("RegisterApproved", "Approved"), ("RegisterRejected", "Rejected")):
        args = steps[name]["Arguments"]
        assert args["ModelPackageGroupName"] == "pkgml-dev-mailer"
        assert args["ModelApprovalStatus"] == status
        metadata = args["CustomerMetadataProperties"]
        assert {compare.EVALUATION_URI_KEY, compare.STATISTICS_URI_KEY} <= set(metadata)
        assert metadata["architecture"] == "hgb"
        assert "Parameters.MaxIter" in json.dumps(metadata["hyperparameters"])
        assert metadata["run_id"] == {"Get": "Parameters.RunId"}
        assert "decision_s3_uri" in metadata
        assert metadata["report_s3_uri"]["Std:Join"]["Values"][-1] == "report.html"
        quality = args["ModelMetrics"]["ModelQuality"]["Statistics"]
        assert quality["S3Uri"] == metadata[compare.EVALUATION_URI_KEY]
        container = args["InferenceSpecification"]["Containers"][0]
        assert container["ModelDataUrl"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
        assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"


def test_compare_gets_every_criterion(training: dict[str, Built]) -> None:
    args = steps_by_name(_doc(training))["Compare"]["Arguments"]["AppSpecification"]
    arguments = args["ContainerArguments"]
    for flag, parameter in (
        ("--max-score-drop", "MaxScoreDrop"),
        ("--min-score", "MinScore"),
        ("--max-label-shift", "MaxLabelShift"),
        ("--max-label-count-change", "MaxLabelCountChange"),
        ("--max-input-size-change", "MaxInputSizeChange"),
    ):
        value = arguments[arguments.index(flag) + 1]
        assert value == {"Std:Join": {"On": "", "Values": [{"Get": f"Parameters.{parameter}"}]}}
    parsed = compare.parse_args(
        [a if isinstance(a, str) else "0.1" for a in arguments]
    )  # every flag we pass exists in compare.py
    assert parsed.model_package_group == "pkgml-dev-mailer"


def test_training_runs_train_py_from_the_code_channel(training: dict[str, Built]) -> None:
    args = steps_by_name(_doc(training))["Train"]["Arguments"]
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in args["InputDataConfig"]
    }
    assert channels["code"] == architecture_code_uri(HGB)
    assert args["ResourceConfig"]["InstanceCount"] == 1
    assert args["HyperParameters"]["sagemaker_program"] == "train.py"
    assert args["HyperParameters"]["sagemaker_submit_directory"] == "/opt/ml/input/data/code"
    assert args["RoleArn"] == Placeholders.ROLE_ARN
    assert args["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}


def test_golden_definition(training: dict[str, Built]) -> None:
    """Unintended changes show here; regenerate with UPDATE_GOLDEN=1 and review the diff."""
    normalized = json.dumps(_doc(training), indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(normalized)
    assert GOLDEN.read_text() == normalized


def test_the_champion_scores_the_same_rows_in_its_own_image(training: dict[str, Built]) -> None:
    """ResolveChampion -> Split writes the champion's rows -> ScoreChampion runs in the image
    ResolveChampion returned -> Evaluate reads both models' scores; Compare is told how to
    compare."""
    steps = steps_by_name(_doc(training))
    resolve = steps["ResolveChampion"]
    assert resolve["FunctionArn"] == Placeholders.RESOLVE_FUNCTION_ARN
    assert resolve["Arguments"]["allow_none"] == "true"
    processing_image = steps["Split"]["Arguments"]["AppSpecification"]["ImageUri"]
    assert resolve["Arguments"]["fallback_image"] == processing_image
    outputs = {o["OutputName"] for o in resolve["OutputParameters"]}
    assert outputs == {"model_package_arn", "model_package_version", "architecture",
                       "with_text", "baseline_s3_uri", "score_baseline_s3_uri",
                       "image"}  # fmt: skip

    split_arguments = steps["Split"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    flag = split_arguments.index("--champion-with-text")
    assert split_arguments[flag + 1] == {
        "Get": "Steps.ResolveChampion.OutputParameters['with_text']"
    }

    score = steps["ScoreChampion"]["Arguments"]
    assert score["AppSpecification"]["ImageUri"] == {
        "Get": "Steps.ResolveChampion.OutputParameters['image']"
    }
    arguments = score["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--model-package-arn") + 1] == {
        "Get": "Steps.ResolveChampion.OutputParameters['model_package_arn']"
    }
    [features] = [i for i in score["ProcessingInputs"] if i["InputName"] == "champion_features"]
    assert "champion_features" in json.dumps(features["S3Input"]["S3Uri"])
    # cached: a retried execution with the same champion and rows does not score again
    assert steps["ScoreChampion"]["CacheConfig"]["Enabled"] is True

    evaluate = steps["Evaluate"]["Arguments"]
    assert "--champion-dir" in evaluate["AppSpecification"]["ContainerArguments"]
    assert "champion" in {i["InputName"] for i in evaluate["ProcessingInputs"]}
    compare_arguments = steps["Compare"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert compare_arguments[compare_arguments.index("--comparison") + 1] == "same_data"
    assert (
        compare.parse_args([a if isinstance(a, str) else "x" for a in compare_arguments]).comparison
        == "same_data"
    )


def test_a_bad_extract_stops_at_a_fail_step_with_splits_reason(
    training: dict[str, Built],
) -> None:
    """Split writes quality/quality.json; DataQuality routes on its `passed`; the steps that
    read Split's outputs first (ScoreChampion, Train) run only on the passed branch, and
    everything later depends on them; the Fail step's message carries Split's reason."""
    steps = steps_by_name(_doc(training))
    split = steps["Split"]
    assert {
        "PropertyFileName": "DataQualityReport",
        "OutputName": "quality",
        "FilePath": "quality.json",
    } in split["PropertyFiles"]
    arguments = split["Arguments"]["AppSpecification"]["ContainerArguments"]
    bounds = json.loads(arguments[arguments.index("--quality-bounds") + 1])
    assert bounds == {
        "max_duplicate_ids": 0,
        "max_invalid_rate": 0.01,
        "max_null_rate": 0.05,
        "min_rows": 500,
        "null_rates": {},
    }
    outputs = {o["OutputName"] for o in split["Arguments"]["ProcessingOutputConfig"]["Outputs"]}
    assert {"quality", "baseline"} <= outputs
    quality = steps["DataQuality"]["Arguments"]
    passed = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Split.PropertyFiles.DataQualityReport"},
            "Path": "passed",
        }
    }
    assert quality["Conditions"] == [{"Type": "Equals", "LeftValue": passed, "RightValue": True}]
    assert [s["Name"] for s in quality["IfSteps"]] == ["ScoreChampion", "Train"]
    assert quality["ElseSteps"] == [
        {
            "Name": "DataQualityFailed",
            "Type": "Fail",
            "Arguments": {
                "ErrorMessage": {
                    "Std:Join": {
                        "On": "",
                        "Values": [
                            "Data quality check failed in Split: ",
                            {
                                "Std:JsonGet": {
                                    "PropertyFile": {
                                        "Get": "Steps.Split.PropertyFiles.DataQualityReport"
                                    },
                                    "Path": "reason",
                                }
                            },
                        ],
                    }
                }
            },
        }
    ]


BASELINE_OUTPUT = "Steps.Split.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"
EVALUATION_OUTPUT = "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"


def test_the_package_carries_its_training_baseline(training: dict[str, Built]) -> None:
    steps = steps_by_name(_doc(training))
    for name in ("RegisterApproved", "RegisterRejected"):
        metadata = steps[name]["Arguments"]["CustomerMetadataProperties"]
        assert metadata["baseline_s3_uri"] == {
            "Std:Join": {
                "On": "",
                "Values": [
                    {"Get": BASELINE_OUTPUT},
                    "baseline.json",
                ],
            }
        }
        assert metadata["score_baseline_s3_uri"] == {
            "Std:Join": {"On": "", "Values": [{"Get": EVALUATION_OUTPUT}, "score_baseline.json"]}
        }
