"""Model step (CreateModel): validate the request and record the model (its container's
environment and model data, or those of the model package it names) in `models.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rehearsal.executor.errors import StepError, UnsupportedError
from rehearsal.executor.jobs import JobRunner, job_name
from rehearsal.executor.records import StepRecord
from rehearsal.localaws import validate_request


def run(
    runner: JobRunner, execution_id: str, record: StepRecord, args: dict[str, Any], work: Path
) -> None:
    """Create the model described by the resolved CreateModel `args`."""
    name = record.name
    if "Containers" in args:
        raise UnsupportedError(f"Model step {name!r}: multi-container models are not emulated")
    model_name = job_name(execution_id, name)
    validate = {**args, "ModelName": model_name}
    try:
        validate_request("CreateModel", validate)
    except Exception as error:
        raise StepError(f"Model step {name!r}: {error}") from error
    container = dict(args.get("PrimaryContainer", {}))
    if "ModelPackageName" in container:
        try:
            package = runner.aws.registry.describe_model_package(
                ModelPackageName=container["ModelPackageName"]
            )
        except Exception as error:
            raise StepError(f"Model step {name!r}: {error}") from error
        containers = package.get("InferenceSpecification", {}).get("Containers", [])
        if len(containers) != 1:
            raise UnsupportedError(f"Model step {name!r}: package has {len(containers)} containers")
        container = {**containers[0], "ModelPackageName": container["ModelPackageName"]}
    if not container.get("ModelDataUrl"):
        raise StepError(f"Model step {name!r}: the container has no ModelDataUrl")
    model = {"ModelName": model_name, "PrimaryContainer": container, "Request": args}
    models_file = runner.aws.models_file
    models = json.loads(models_file.read_text()) if models_file.is_file() else {}
    models[model_name] = model
    models_file.write_text(json.dumps(models, indent=1, default=str))
    record.properties = {
        **args,
        "ModelName": model_name,
        "ModelArn": runner.arn("model", model_name),
    }
    record.outputs = {"model_name": model_name, "model_data": container["ModelDataUrl"]}
