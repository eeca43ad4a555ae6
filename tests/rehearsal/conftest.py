"""Fixtures for the rehearsal tests: a local world with tiny step scripts, definition builders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rehearsal.executor import LocalAws, PipelineExecutor

BUCKET = "art"
CODE = f"s3://{BUCKET}/code/v1/"
ROLE = "arn:aws:iam::123456789012:role/test"
IN = "/opt/ml/processing/input"
OUT = "/opt/ml/processing/output"

SCRIPTS = {
    # --out DIR --value V: writes DIR/result.json; a numeric value also lands in metrics.auc.
    "emit.py": """
import argparse, json, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--value")
args = parser.parse_args()
out = pathlib.Path(args.out)
out.mkdir(parents=True, exist_ok=True)
try:
    auc = float(args.value)
except ValueError:
    auc = None
(out / "result.json").write_text(json.dumps({"value": args.value, "metrics": {"auc": auc}}))
print("emitted", args.value)
""",
    # --in DIR --out DIR: copies result.json, adding "seen": true.
    "echo.py": """
import argparse, json, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--in", dest="source")
parser.add_argument("--out")
args = parser.parse_args()
document = json.loads((pathlib.Path(args.source) / "result.json").read_text())
document["seen"] = True
pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
(pathlib.Path(args.out) / "result.json").write_text(json.dumps(document))
""",
    "boom.py": """
raise ValueError("boom: the input is bad")
""",
    # Uses boto3 the way step scripts do: S3 reads the local tree, other services are refused.
    "aws.py": """
import sys, boto3
body = boto3.client("s3").get_object(Bucket="art", Key="data/hello.txt")["Body"].read()
print("s3 says", body.decode())
try:
    boto3.client("dynamodb")
except NotImplementedError as error:
    print("refused:", error)
    sys.exit(0)
sys.exit("dynamodb was not refused")
""",
    # A framework-style training + serving script without third-party imports.
    "toy.py": """
import argparse, json, os, pathlib, shutil

def model_fn(model_dir):
    return json.loads((pathlib.Path(model_dir) / "model.json").read_text())

def input_fn(body, content_type):
    assert content_type == "text/csv", content_type
    return [[float(x) for x in line.split(",")] for line in body.splitlines() if line]

def predict_fn(rows, model):
    return [sum(row) * model["factor"] for row in rows]

def output_fn(prediction, accept):
    return "".join(f"{value}\\n" for value in prediction), accept

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--factor", type=float)
    args = parser.parse_args()
    train = pathlib.Path(os.environ["SM_CHANNEL_TRAIN"])
    assert (train / "rows.csv").is_file(), list(train.iterdir())
    assert json.loads(os.environ["SM_HPS"]) == {"factor": args.factor}
    model_dir = pathlib.Path(os.environ["SM_MODEL_DIR"])
    (model_dir / "model.json").write_text(json.dumps({"factor": args.factor}))
    (model_dir / "code").mkdir()
    shutil.copy(__file__, model_dir / "code" / "toy.py")
""",
}


def processing(
    name: str,
    script: str,
    args: Sequence[Any] = (),
    *,
    inputs: Sequence[tuple[str, Any, str]] = (),
    outputs: Sequence[tuple[str, Any, str]] = (),
    cache: str | None = None,
    property_files: Sequence[tuple[str, str, str]] = (),
    depends_on: Sequence[str] = (),
) -> dict[str, Any]:
    """A Processing step like the SDK emits: python3 <script>, S3 inputs/outputs."""

    def s3_input(input_name: str, uri: Any, local: str) -> dict[str, Any]:
        return {
            "InputName": input_name,
            "S3Input": {
                "S3Uri": uri,
                "LocalPath": local,
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
                "S3CompressionType": "None",
            },
        }

    step: dict[str, Any] = {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": "local",
                "ContainerEntrypoint": ["python3", f"{IN}/code/{script}"],
                "ContainerArguments": list(args),
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                    "VolumeSizeInGB": 1,
                }
            },
            "RoleArn": ROLE,
            "Environment": {"PYTHONPATH": f"{IN}/lib"},
            "ProcessingInputs": [
                *(s3_input(*spec) for spec in inputs),
                s3_input("lib", CODE, f"{IN}/lib"),
                s3_input("code", CODE + script, f"{IN}/code"),
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": output_name,
                        "S3Output": {"S3Uri": uri, "LocalPath": local, "S3UploadMode": "EndOfJob"},
                    }
                    for output_name, uri, local in outputs
                ]
            },
        },
    }
    if cache:
        step["CacheConfig"] = {"Enabled": True, "ExpireAfter": cache}
    if property_files:
        step["PropertyFiles"] = [
            {"PropertyFileName": file_name, "OutputName": output, "FilePath": path}
            for file_name, output, path in property_files
        ]
    if depends_on:
        step["DependsOn"] = list(depends_on)
    return step


def output_uri(step: str) -> dict[str, Any]:
    """Std:Join s3://art/out/<RunId>/<step>."""
    return {
        "Std:Join": {"On": "/", "Values": [f"s3://{BUCKET}/out", {"Get": "Parameters.RunId"}, step]}
    }


def output_of(step: str, name: str = "result") -> dict[str, str]:
    """Get of a Processing step's output URI."""
    return {"Get": f"Steps.{step}.ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"}


def emit(name: str, value: Any, **kwargs: Any) -> dict[str, Any]:
    """An emit.py step writing result.json (property file 'Result')."""
    return processing(
        name,
        "emit.py",
        ["--out", f"{OUT}/result", "--value", value],
        outputs=[("result", output_uri(name), f"{OUT}/result")],
        property_files=[("Result", "result", "result.json")],
        **kwargs,
    )


def definition(steps: list[dict[str, Any]], **defaults: Any) -> str:
    """A definition JSON text with a RunId parameter (default 'run-1') and more string ones."""
    parameters = [{"Name": "RunId", "Type": "String", "DefaultValue": "run-1"}]
    for name, value in defaults.items():
        kind = "Float" if isinstance(value, float) else "String"
        parameters.append({"Name": name, "Type": kind, "DefaultValue": value})
    return json.dumps({"Version": "2020-12-01", "Parameters": parameters, "Steps": steps})


@pytest.fixture
def aws(tmp_path: Path) -> LocalAws:
    """A local world with bucket 'art' holding SCRIPTS under s3://art/code/v1/."""
    world = LocalAws(root=tmp_path / "world")
    world.s3.ensure_bucket(BUCKET)
    for name, text in SCRIPTS.items():
        world.s3.write_bytes(CODE + name, text.lstrip().encode())
    return world


@pytest.fixture
def executor(aws: LocalAws) -> PipelineExecutor:
    """An executor over `aws` whose cache keys include the code's content."""
    return PipelineExecutor(aws, code_prefixes=(CODE,), max_step_seconds=120)


def read_json(aws: LocalAws, uri: str) -> Any:
    """A JSON object from the local S3."""
    return json.loads(aws.s3.read_bytes(uri))


def pytest_configure(config: pytest.Config) -> None:
    """Register the `rehearsal` marker (the end-to-end scenario test)."""
    config.addinivalue_line("markers", "rehearsal: the end-to-end local rehearsal (about a minute)")
