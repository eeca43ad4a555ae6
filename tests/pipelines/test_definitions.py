"""Checks that hold for both pipeline definitions (built once per session, two regions)."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline_defs.placeholders import (
    Placeholders,
    code_prefix_uri,
    code_uri,
    placeholder_values,
)
from pipeline_defs.step_builders import MAX_CONCURRENT_TRANSFORMS, MAX_PAYLOAD_MB
from tests.pipelines.conftest import NETWORK_ATTEMPTS, REGIONS, Built
from tests.pipelines.definition import (
    JOB_TYPES,
    MODEL_TYPES,
    all_steps,
    gets,
    model_containers,
    step_references,
    steps_by_name,
    strings,
)

KINDS = ("training", "inference")
UNCACHED = {"Compare", "Load"}  # their real inputs live outside their arguments
KMS = Placeholders.KMS_KEY_ARN


@pytest.fixture(params=KINDS)
def built(request: pytest.FixtureRequest) -> dict[str, Built]:
    """{region: definition} of one pipeline kind."""
    return request.getfixturevalue(request.param)


def test_no_network_during_builds(training: dict[str, Built], inference: dict[str, Built]) -> None:
    assert NETWORK_ATTEMPTS == []


def test_every_reference_names_an_existing_thing(built: dict[str, Built]) -> None:
    doc = built["us-east-1"].doc
    parameters = {p["Name"] for p in doc["Parameters"]}
    steps = steps_by_name(doc)
    property_files = {
        (step["Name"], pf["PropertyFileName"])
        for step in steps.values()
        for pf in step.get("PropertyFiles", [])
    }
    references = list(gets(doc["Steps"]))
    assert references
    for ref in references:
        kind, _, rest = ref.partition(".")
        if kind == "Parameters":
            assert rest in parameters, ref
        elif kind == "Execution":
            assert rest in {"PipelineExecutionId", "PipelineExecutionArn", "PipelineName"}, ref
        elif kind == "Steps":
            name, _, path = rest.partition(".")
            assert name in steps, ref
            if path.startswith("PropertyFiles."):
                assert (name, path.removeprefix("PropertyFiles.")) in property_files, ref
        else:
            pytest.fail(f"unexpected reference {ref}")


def test_references_point_backwards(built: dict[str, Built]) -> None:
    order = [step["Name"] for step in all_steps(built["us-east-1"].doc)]
    for position, step in enumerate(all_steps(built["us-east-1"].doc)):
        for name in step_references(step):
            assert order.index(name) < position, f"{step['Name']} reads {name} from later"


def test_job_steps_cache_and_retry(built: dict[str, Built]) -> None:
    steps = all_steps(built["us-east-1"].doc)
    assert any(step["Type"] in JOB_TYPES for step in steps)
    for step in steps:
        if step["Type"] in JOB_TYPES:
            expected = (
                {"Enabled": False}
                if step["Name"] in UNCACHED
                else {"Enabled": True, "ExpireAfter": "P30D"}
            )
            assert step["CacheConfig"] == expected, step["Name"]
            exception_types = [p["ExceptionType"] for p in step["RetryPolicies"]]
            assert exception_types == [
                [
                    "SageMaker.CAPACITY_ERROR",
                    "SageMaker.JOB_INTERNAL_ERROR",
                    "SageMaker.RESOURCE_LIMIT",
                ],
                ["Step.SERVICE_FAULT", "Step.THROTTLING"],
            ], step["Name"]
        elif step["Type"] in MODEL_TYPES:
            assert "CacheConfig" not in step  # the service does not cache these
            assert [p["ExceptionType"] for p in step["RetryPolicies"]] == [
                ["Step.SERVICE_FAULT", "Step.THROTTLING"]
            ], step["Name"]
        for policy in step.get("RetryPolicies", []):
            assert ("MaxAttempts" in policy) != ("ExpireAfterMin" in policy), step["Name"]


def test_kms_on_every_job_volume_and_output(built: dict[str, Built]) -> None:
    for step in all_steps(built["us-east-1"].doc):
        args = step["Arguments"]
        if step["Type"] == "Processing":
            assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS
            if "ProcessingOutputConfig" in args:  # Load has no outputs
                assert args["ProcessingOutputConfig"]["KmsKeyId"] == KMS
        elif step["Type"] == "Training":
            assert args["ResourceConfig"]["VolumeKmsKeyId"] == KMS
            assert args["OutputDataConfig"]["KmsKeyId"] == KMS
        elif step["Type"] == "Transform":
            assert args["TransformResources"]["VolumeKmsKeyId"] == KMS
            assert args["TransformOutput"]["KmsKeyId"] == KMS


def test_images_match_the_region(built: dict[str, Built]) -> None:
    for region in REGIONS:
        doc = built[region].doc
        images = [
            value
            for value in strings(doc["Steps"])
            if ".dkr.ecr." in value or "sagemaker-scikit-learn" in value
        ]
        assert images
        for image in images:
            assert re.fullmatch(
                rf"\d{{12}}\.dkr\.ecr\.{region}\.amazonaws\.com/sagemaker-scikit-learn:1\.9-0-cpu-py3",
                image,
            ), image


def test_processing_steps_run_code_from_the_code_folder(built: dict[str, Built]) -> None:
    for step in all_steps(built["us-east-1"].doc):
        if step["Type"] != "Processing":
            continue
        args = step["Arguments"]
        script = Path(args["AppSpecification"]["ContainerEntrypoint"][-1]).name
        inputs = {i["InputName"]: i["S3Input"] for i in args["ProcessingInputs"]}
        assert inputs["code"]["S3Uri"] == code_uri(script)
        assert inputs["lib"]["S3Uri"] == code_prefix_uri(script)
        assert inputs["lib"]["LocalPath"] == args["Environment"]["PYTHONPATH"]


def test_every_s3_uri_is_s3_and_nothing_local(built: dict[str, Built]) -> None:
    text = built["us-east-1"].text
    for forbidden in ("/tmp", "file://", str(Path.home()), os.getcwd(), ".venv"):
        assert forbidden not in text
    for value in strings(built["us-east-1"].doc["Steps"]):
        if "://" in value:
            assert value.startswith("s3://"), value


def test_deterministic_text(built: dict[str, Built], request: pytest.FixtureRequest) -> None:
    from pipeline_defs.inference import build_inference_pipeline
    from pipeline_defs.training import build_training_pipeline
    from tests.pipelines.conftest import inference_inputs, training_inputs

    kind = request.node.callspec.params["built"]
    again = (
        build_training_pipeline(training_inputs())
        if kind == "training"
        else build_inference_pipeline(inference_inputs())
    )
    assert again == built["us-east-1"].text


def test_definition_size(built: dict[str, Built]) -> None:
    for definition in built.values():
        assert len(definition.text.encode()) < 100_000


def test_placeholders_replace_cleanly(built: dict[str, Built]) -> None:
    values = placeholder_values()
    assert set(values) == {
        "ROLE_ARN",
        "ARTIFACTS_BUCKET",
        "DATA_BUCKET",
        "KMS_KEY_ARN",
        "RESOLVE_FUNCTION_ARN",
        "CODE_PREFIX",
        "REDSHIFT_ROLE_ARN",
    }
    for name, value in values.items():
        others = [v for n, v in values.items() if n != name]
        assert not any(value in other for other in others), f"{name} is inside another"
    text = built["eu-west-1"].text
    for value in values.values():
        text = text.replace(value, "REPLACED")
    assert "placeholder" not in text
    assert "000000000000" not in text


def test_transform_settings(built: dict[str, Built]) -> None:
    assert MAX_CONCURRENT_TRANSFORMS * MAX_PAYLOAD_MB <= 100
    transforms = [s for s in all_steps(built["us-east-1"].doc) if s["Type"] == "Transform"]
    assert len(transforms) == 1
    args = transforms[0]["Arguments"]
    assert args["TransformInput"]["SplitType"] == "Line"
    assert args["TransformInput"]["ContentType"] == "text/csv"
    assert args["BatchStrategy"] == "MultiRecord"
    assert args["MaxPayloadInMB"] == MAX_PAYLOAD_MB
    assert args["MaxConcurrentTransforms"] == MAX_CONCURRENT_TRANSFORMS
    assert args["TransformOutput"]["AssembleWith"] == "Line"
    assert args["DataProcessing"] == {
        "InputFilter": "$[1:]",
        "OutputFilter": "$[0,-1]",
        "JoinSource": "Input",
    }
    assert args["TransformResources"]["InstanceCount"] == {
        "Get": "Parameters.TransformInstanceCount"
    }
    assert args["TransformResources"]["InstanceType"] == {"Get": "Parameters.TransformInstanceType"}


def test_outputs_are_keyed_by_run_id(built: dict[str, Built]) -> None:
    def joins(value: Any) -> list[list[Any]]:
        found: list[list[Any]] = []
        if isinstance(value, dict):
            if "Std:Join" in value and value["Std:Join"]["On"] == "/":
                found.append(value["Std:Join"]["Values"])
            for item in value.values():
                found.extend(joins(item))
        elif isinstance(value, list):
            for item in value:
                found.extend(joins(item))
        return found

    doc = built["us-east-1"].doc
    roots = [v for v in joins(doc["Steps"]) if isinstance(v[0], str) and "/pipelines/" in v[0]]
    assert roots
    for values in roots:
        assert values[0] == f"s3://{Placeholders.ARTIFACTS_BUCKET}/pipelines/{doc_name(doc)}"
        assert values[1] == {"Get": "Parameters.RunId"}
    assert "PipelineExecutionId" not in str(roots)


def doc_name(doc: dict[str, Any]) -> str:
    """The pipeline name, read back from the output prefix of the first job step."""
    text = str(next(s for s in doc["Steps"] if s["Type"] == "Processing"))
    match = re.search(r"/pipelines/([A-Za-z0-9-]+)'", text)
    assert match
    return match.group(1)


def test_modules_import_without_the_sdk() -> None:
    code = (
        "import sys, pipeline_defs.training, pipeline_defs.inference;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sagemaker', 'boto3')];"
        "assert not bad, bad"
    )
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "AWS_DEFAULT_REGION"}
    subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True)  # noqa: S603


def _joins(node: Any) -> list[dict[str, Any]]:
    """Every Std:Join in a definition (depth first)."""
    found = []
    if isinstance(node, dict):
        if node.get("Std:Join"):
            found.append(node["Std:Join"])
        for value in node.values():
            found += _joins(value)
    elif isinstance(node, list):
        for value in node:
            found += _joins(value)
    return found


def test_no_join_builds_a_double_slash(built: dict[str, Built]) -> None:
    """Output folders end with '/': joining on '/' after one would make `a//b`, another key."""
    for definition in built.values():
        document = json.loads(definition.text)
        for join in _joins(document):
            values = join["Values"]
            for left, right in itertools.pairwise(values):
                is_folder = isinstance(left, dict) and str(left.get("Get", "")).endswith(
                    "S3Output.S3Uri"
                )
                assert not (is_folder and join["On"] == "/" and right != ""), join
                assert not (isinstance(left, str) and left.endswith("/") and join["On"] == "/")


def test_every_model_installs_its_code_without_build_isolation(
    training: dict[str, Built], inference: dict[str, Built]
) -> None:
    """Models run network-isolated; the scikit-learn serving stack pip-installs the model's
    code folder, and pip's build isolation would fetch setuptools from the index (fails).
    tests/containers/ runs that install offline with these very variables."""
    for region in REGIONS:
        steps = steps_by_name(training[region].doc)
        registered_groups = {
            steps[name]["Arguments"]["ModelPackageGroupName"]
            for name, _ in model_containers(training[region].doc)
            if steps[name]["Type"] == "RegisterModel"
        }
        checked = 0
        for built in (training[region], inference[region]):
            for name, step in steps_by_name(built.doc).items():
                if step["Type"] == "Model":
                    assert step["Arguments"]["EnableNetworkIsolation"] is True, name
            for name, container in model_containers(built.doc):
                if "ModelPackageName" in container:
                    # A model from a package runs the package's container environment:
                    # a version registered by the training pipeline of the same group.
                    resolve = steps_by_name(built.doc)["Resolve"]["Arguments"]
                    assert resolve["model_package_group"] in registered_groups, name
                    assert (
                        container.get("Environment", {}).get("PIP_NO_BUILD_ISOLATION", "false")
                        == "false"
                    ), name
                else:
                    assert container["Environment"]["PIP_NO_BUILD_ISOLATION"] == "false", name
                checked += 1
        assert checked == 4  # training: CreateModel + 2 registrations; inference: CreateModel
