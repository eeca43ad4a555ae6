"""The executor on small handcrafted definitions with tiny inline step scripts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from rehearsal.executor import DefinitionError, LocalAws, PipelineExecutor, load_definition
from tests.rehearsal.conftest import (
    CODE,
    IN,
    OUT,
    ROLE,
    definition,
    emit,
    output_of,
    output_uri,
    processing,
    read_json,
)


def echo(name: str, source: str, **kwargs: Any) -> dict[str, Any]:
    """An echo.py step reading `source`'s result and writing its own."""
    return processing(
        name,
        "echo.py",
        ["--in", f"{IN}/source", "--out", f"{OUT}/result"],
        inputs=[("source", output_of(source), f"{IN}/source")],
        outputs=[("result", output_uri(name), f"{OUT}/result")],
        **kwargs,
    )


def condition(if_steps: list[Any], else_steps: list[Any], threshold: float = 0.5) -> dict[str, Any]:
    """Gate: Emit's metrics.auc >= threshold."""
    return {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": {
                        "Std:JsonGet": {
                            "PropertyFile": {"Get": "Steps.Emit.PropertyFiles.Result"},
                            "Path": "metrics.auc",
                        }
                    },
                    "RightValue": threshold,
                }
            ],
            "IfSteps": if_steps,
            "ElseSteps": else_steps,
        },
    }


def test_steps_run_in_dependency_order_and_pass_data(
    aws: LocalAws, executor: PipelineExecutor
) -> None:
    """Document order C, B, A; data (Get) and DependsOn edges make it A, B, C."""
    steps = [
        emit("C", "late", depends_on=["B"]),
        echo("B", "A"),
        emit("A", "first"),
    ]
    record = executor.start(definition(steps), pipeline_name="order")
    assert record.status == "Succeeded", record.table()
    assert list(record.steps) == ["A", "B", "C"]
    assert read_json(aws, "s3://art/out/run-1/B/result.json") == {
        "value": "first",
        "metrics": {"auc": None},
        "seen": True,
    }
    assert record.step("A").outputs["result"] == "s3://art/out/run-1/A"


@pytest.mark.parametrize(
    ("score", "taken", "skipped"), [("0.9", "High", "Low"), ("0.1", "Low", "High")]
)
def test_condition_runs_one_branch_from_a_property_file(
    executor: PipelineExecutor, score: str, taken: str, skipped: str
) -> None:
    """JsonGet on the property file decides; the other branch is Skipped, not run."""
    steps = [
        emit("Emit", {"Get": "Parameters.Score"}),
        condition([emit("High", "high")], [emit("Low", "low")]),
    ]
    record = executor.start(
        definition(steps, Score="0.5"), pipeline_name="gate", parameters={"Score": score}
    )
    assert record.status == "Succeeded", record.table()
    assert record.step("Gate").outputs == {"outcome": taken == "High"}
    assert record.step(taken).status == "Succeeded"
    assert record.step(skipped).status == "Skipped"
    assert record.step("Emit").property_files["Result"]["metrics"]["auc"] == float(score)


def test_std_join_and_parameter_overrides(aws: LocalAws, executor: PipelineExecutor) -> None:
    """Join renders parameters; overrides arrive as strings and are typed; defaults apply."""
    joined = {
        "Std:Join": {
            "On": "/",
            "Values": [{"Get": "Parameters.RunId"}, "x", {"Get": "Parameters.Ratio"}],
        }
    }
    steps = [emit("Emit", joined)]
    text = definition(steps, Ratio=0.25)
    default = executor.start(text, pipeline_name="join")
    assert read_json(aws, "s3://art/out/run-1/Emit/result.json")["value"] == "run-1/x/0.25"
    assert default.parameters == {"RunId": "run-1", "Ratio": 0.25}
    override = executor.start(
        text, pipeline_name="join", parameters={"RunId": "run-7", "Ratio": "0.5"}
    )
    assert override.parameters == {"RunId": "run-7", "Ratio": 0.5}
    assert read_json(aws, "s3://art/out/run-7/Emit/result.json")["value"] == "run-7/x/0.5"


def test_parameter_errors_are_definition_errors(executor: PipelineExecutor) -> None:
    """Unknown names, values of the wrong type and missing required values are refused."""
    text = definition([emit("Emit", "x")], Ratio=0.25)
    with pytest.raises(DefinitionError, match="unknown parameter"):
        executor.start(text, pipeline_name="p", parameters={"Nope": "1"})
    with pytest.raises(DefinitionError, match="is not a Float"):
        executor.start(text, pipeline_name="p", parameters={"Ratio": "high"})
    required = json.loads(text)
    required["Parameters"].append({"Name": "Manifest", "Type": "String"})
    with pytest.raises(DefinitionError, match="'Manifest' has no default"):
        executor.start(json.dumps(required), pipeline_name="p")


def test_a_failing_step_stops_its_dependants_only(executor: PipelineExecutor) -> None:
    """Boom fails with its error; After is NotStarted; the independent Other still runs."""
    steps = [
        processing("Boom", "boom.py", outputs=[("result", output_uri("Boom"), f"{OUT}/result")]),
        echo("After", "Boom"),
        emit("Other", "independent"),
    ]
    record = executor.start(definition(steps), pipeline_name="fail")
    assert record.status == "Failed"
    assert record.step("Boom").status == "Failed"
    assert "ValueError: boom: the input is bad" in (record.step("Boom").failure_reason or "")
    assert record.step("After").status == "NotStarted"
    assert record.step("Other").status == "Succeeded"
    assert "Boom" in record.table() and "NotStarted" in record.table()


def test_cache_hits_on_identical_arguments_and_misses_on_changes(
    aws: LocalAws, executor: PipelineExecutor
) -> None:
    """Second run hits (no work folder, same outputs); a new argument or new code misses."""
    text = definition([emit("Emit", {"Get": "Parameters.Value"}, cache="P1D")], Value="a")
    first = executor.start(text, pipeline_name="cache")
    second = executor.start(text, pipeline_name="cache")
    changed = executor.start(text, pipeline_name="cache", parameters={"Value": "b"})
    assert (first.step("Emit").cache_hit, second.step("Emit").cache_hit) == (False, True)
    assert second.step("Emit").work_dir is None
    assert second.step("Emit").property_files == first.step("Emit").property_files
    assert changed.step("Emit").cache_hit is False
    aws.s3.write_bytes(CODE + "emit.py", aws.s3.read_bytes(CODE + "emit.py") + b"\n# v2\n")
    recoded = executor.start(text, pipeline_name="cache", parameters={"Value": "b"})
    assert recoded.step("Emit").cache_hit is False
    assert "hit" in second.table()


def test_cache_is_off_without_cache_config_and_expires(executor: PipelineExecutor) -> None:
    """No CacheConfig: always runs; ExpireAfter PT0S: an entry is never fresh."""
    plain = definition([emit("Emit", "x")])
    expired = definition([emit("Emit", "x", cache="PT0S")])
    assert executor.start(plain, pipeline_name="c").step("Emit").cache_hit is None
    assert executor.start(plain, pipeline_name="c").step("Emit").work_dir is not None
    executor.start(expired, pipeline_name="c")
    assert executor.start(expired, pipeline_name="c").step("Emit").cache_hit is False


def test_unsupported_step_type_fails_naming_the_step(executor: PipelineExecutor) -> None:
    """A Tuning step fails with a clear message; its independent sibling still runs."""
    steps = [{"Name": "Tune", "Type": "Tuning", "Arguments": {}}, emit("Emit", "x")]
    record = executor.start(definition(steps), pipeline_name="u")
    assert record.status == "Failed"
    reason = record.step("Tune").failure_reason or ""
    assert "'Tune'" in reason and "'Tuning'" in reason and "does not emulate" in reason
    assert record.step("Emit").status == "Succeeded"


def test_unsupported_feature_fails_naming_the_step(executor: PipelineExecutor) -> None:
    """Two processing instances are not emulated."""
    step = emit("Wide", "x")
    step["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = 2
    record = executor.start(definition([step]), pipeline_name="u")
    assert "'Wide'" in (record.step("Wide").failure_reason or "")
    assert "InstanceCount 2" in (record.step("Wide").failure_reason or "")


def test_fail_step_ends_the_execution_failed(executor: PipelineExecutor) -> None:
    """The Fail step's resolved ErrorMessage is the reason."""
    message = {"Std:Join": {"On": " ", "Values": ["stopped for", {"Get": "Parameters.RunId"}]}}
    steps = [
        emit("Emit", "0.1"),
        condition([], [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": message}}]),
    ]
    record = executor.start(definition(steps), pipeline_name="f")
    assert record.status == "Failed"
    assert "stopped for run-1" in (record.step("Stop").failure_reason or "")


def test_lambda_step_outputs_feed_later_steps(aws: LocalAws) -> None:
    """A registered local function answers the Lambda step; its outputs are Get-able."""
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    calls: list[dict[str, Any]] = []

    def function(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(event)
        return {"answer": f"{event['question']}-42"}

    steps = [
        {
            "Name": "Ask",
            "Type": "Lambda",
            "FunctionArn": arn,
            "Arguments": {"question": {"Get": "Parameters.RunId"}},
            "OutputParameters": [{"OutputName": "answer", "OutputType": "String"}],
        },
        emit("Emit", {"Get": "Steps.Ask.OutputParameters['answer']"}),
    ]
    executor = PipelineExecutor(aws, lambdas={arn: function})
    record = executor.start(definition(steps), pipeline_name="l")
    assert record.status == "Succeeded", record.table()
    assert calls == [{"question": "run-1"}]
    assert read_json(aws, "s3://art/out/run-1/Emit/result.json")["value"] == "run-1-42"
    unknown = PipelineExecutor(aws).start(definition(steps[:1]), pipeline_name="l")
    assert "no local function registered" in (unknown.step("Ask").failure_reason or "")


def test_step_scripts_get_local_aws_clients(aws: LocalAws, executor: PipelineExecutor) -> None:
    """boto3 in a step reads the local S3; a service that is not emulated is refused."""
    aws.s3.write_bytes("s3://art/data/hello.txt", b"hello")
    record = executor.start(definition([processing("Aws", "aws.py")]), pipeline_name="a")
    assert record.status == "Succeeded", record.step("Aws").failure_reason
    log = (aws.root / "executions" / record.execution_id / "Aws" / "stdout.log").read_text()
    assert "s3 says hello" in log
    assert "'dynamodb' is not emulated" in log


def train_transform_register() -> list[dict[str, Any]]:
    """Training (toy.py), CreateModel, Transform with CSV filters, RegisterModel."""
    model_data = {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    environment = {
        "SAGEMAKER_PROGRAM": "toy.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    }
    return [
        {
            "Name": "Train",
            "Type": "Training",
            "Arguments": {
                "AlgorithmSpecification": {"TrainingImage": "local", "TrainingInputMode": "File"},
                "HyperParameters": {
                    "sagemaker_program": "toy.py",
                    "sagemaker_submit_directory": "/opt/ml/input/data/code",
                    "factor": {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.Factor"}]}},
                },
                "InputDataConfig": [
                    {
                        "ChannelName": name,
                        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
                    }
                    for name, uri in (("train", "s3://art/data/train"), ("code", CODE))
                ],
                "OutputDataConfig": {"S3OutputPath": "s3://art/models"},
                "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
                "RoleArn": ROLE,
                "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            },
            "CacheConfig": {"Enabled": True, "ExpireAfter": "P1D"},
        },
        {
            "Name": "Model",
            "Type": "Model",
            "Arguments": {
                "ExecutionRoleArn": ROLE,
                "PrimaryContainer": {
                    "Image": "local",
                    "ModelDataUrl": model_data,
                    "Environment": environment,
                },
            },
        },
        {
            "Name": "Score",
            "Type": "Transform",
            "Arguments": {
                "ModelName": {"Get": "Steps.Model.ModelName"},
                "BatchStrategy": "MultiRecord",
                "MaxPayloadInMB": 6,
                "DataProcessing": {
                    "InputFilter": "$[1:]",
                    "JoinSource": "Input",
                    "OutputFilter": "$[0,-1]",
                },
                "TransformInput": {
                    "ContentType": "text/csv",
                    "SplitType": "Line",
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://art/data/score/"}
                    },
                },
                "TransformOutput": {
                    "S3OutputPath": "s3://art/predictions",
                    "AssembleWith": "Line",
                    "Accept": "text/csv",
                },
                "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
            },
        },
        {
            "Name": "Register",
            "Type": "RegisterModel",
            "Arguments": {
                "ModelPackageGroupName": "toys",
                "ModelApprovalStatus": "Approved",
                "InferenceSpecification": {
                    "Containers": [
                        {"Image": "local", "ModelDataUrl": model_data, "Environment": environment}
                    ],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                "CustomerMetadataProperties": {
                    "run_id": {"Get": "Parameters.RunId"},
                    "execution": {"Get": "Execution.PipelineExecutionArn"},
                },
            },
            "DependsOn": ["Score"],
        },
    ]


def test_training_transform_and_registration(aws: LocalAws, executor: PipelineExecutor) -> None:
    """SM_* env + --key value hyperparameters, model.tar.gz, serving handlers, filters, registry."""
    aws.s3.write_bytes("s3://art/data/train/rows.csv", b"1,2\n")
    aws.s3.write_bytes("s3://art/data/score/part-0.csv", b"id-1,1,2\nid-2,3,4\n")
    aws.registry.create_model_package_group(ModelPackageGroupName="toys")
    text = definition(train_transform_register(), Factor=2.0)
    record = executor.start(text, pipeline_name="toy")
    assert record.status == "Succeeded", record.table() + str(
        [s.failure_reason for s in record.steps.values()]
    )
    artifact = record.step("Train").outputs["model"]
    assert artifact.startswith("s3://art/models/pipelines-") and artifact.endswith(
        "/output/model.tar.gz"
    )
    assert (
        aws.s3.read_bytes("s3://art/predictions/part-0.csv.out").decode() == "id-1,6.0\nid-2,14.0\n"
    )
    packages = aws.registry.packages("toys")
    assert [(p["ModelPackageVersion"], p["ModelApprovalStatus"]) for p in packages] == [
        (1, "Approved")
    ]
    assert packages[0]["CustomerMetadataProperties"] == {
        "run_id": "run-1",
        "execution": record.execution_arn,
    }
    again = executor.start(text, pipeline_name="toy")
    assert again.step("Train").cache_hit is True
    assert [p["ModelPackageVersion"] for p in aws.registry.packages("toys")] == [1, 2]


def test_register_model_request_is_validated(aws: LocalAws, executor: PipelineExecutor) -> None:
    """A request the service would reject (a non-string metadata value) fails the step."""
    aws.registry.create_model_package_group(ModelPackageGroupName="toys")
    step = {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": "toys",
            "CustomerMetadataProperties": {"version": 3},
        },
    }
    record = executor.start(definition([step]), pipeline_name="r")
    assert record.status == "Failed"
    assert "CustomerMetadataProperties.version" in (record.step("Register").failure_reason or "")


def test_placeholders_are_replaced_before_parsing() -> None:
    """load_definition does whole-string replacement, then parses."""
    text = json.dumps(
        {"Steps": [{"Name": "A", "Type": "Fail", "Arguments": {"ErrorMessage": "PH"}}]}
    )
    assert (
        load_definition(text, {"PH": "local"})["Steps"][0]["Arguments"]["ErrorMessage"] == "local"
    )
    with pytest.raises(DefinitionError, match="no Steps"):
        load_definition("{}")


def test_unknown_step_reference_is_a_definition_error(executor: PipelineExecutor) -> None:
    """A Get naming a step that does not exist is refused before anything runs."""
    with pytest.raises(DefinitionError, match="unknown step"):
        executor.start(definition([echo("B", "Missing")]), pipeline_name="x")


def test_uncompressed_model_output_is_a_folder(aws: LocalAws, executor: PipelineExecutor) -> None:
    """CompressionType NONE (an earlier training stage): the model folder's files under
    `<job>/output/model/`, which is the S3ModelArtifacts a next stage's channel reads."""
    aws.s3.write_bytes("s3://art/data/train/rows.csv", b"1,2\n")
    train = train_transform_register()[0]
    train["Arguments"]["OutputDataConfig"]["CompressionType"] = "NONE"
    record = executor.start(definition([train], Factor=2.0), pipeline_name="stage")
    assert record.status == "Succeeded", record.step("Train").failure_reason
    artifact = record.step("Train").outputs["model"]
    assert artifact.endswith("/output/model/")
    assert record.step("Train").properties["ModelArtifacts"]["S3ModelArtifacts"] == artifact
    assert read_json(aws, artifact + "model.json") == {"factor": 2.0}
    assert aws.s3.read_bytes(artifact + "code/toy.py").startswith(b"import argparse")


def test_each_step_is_reported_as_it_ends(aws: LocalAws) -> None:
    """The rehearsal's progress lines: pipeline, step, status, seconds, cache hits."""
    lines: list[str] = []
    executor = PipelineExecutor(aws, code_prefixes=(CODE,), max_step_seconds=120, log=lines.append)
    text = definition([emit("Emit", "0.1", cache="P1D")])
    executor.start(text, pipeline_name="progress")
    executor.start(text, pipeline_name="progress")
    assert len(lines) == 2
    assert re.fullmatch(r"progress Emit: Succeeded \(\d+\.\d s\)", lines[0]), lines[0]
    assert re.fullmatch(r"progress Emit: Succeeded \(0\.0 s, cached\)", lines[1]), lines[1]
