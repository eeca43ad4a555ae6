"""RegisterModel step: create_model_package in the local Model Registry (the request is
validated as the service would); the package's description becomes the properties."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from rehearsal.executor.errors import StepError
from rehearsal.executor.jobs import JobRunner
from rehearsal.executor.records import StepRecord


def run(
    runner: JobRunner, execution_id: str, record: StepRecord, args: dict[str, Any], work: Path
) -> None:
    """Register the model package described by the resolved CreateModelPackage `args`."""
    registry = runner.aws.registry
    try:
        arn = registry.create_model_package(**args)["ModelPackageArn"]
    except Exception as error:
        raise StepError(f"RegisterModel step {record.name!r}: {error}") from error
    package = registry.describe_model_package(ModelPackageName=arn)
    record.properties = {k: v for k, v in package.items() if not isinstance(v, dt.datetime)}
    record.outputs = {
        "model_package_arn": arn,
        "version": package["ModelPackageVersion"],
        "approval": package["ModelApprovalStatus"],
    }
