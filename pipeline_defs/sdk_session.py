"""Running the SageMaker SDK offline: its environment, its session, the definition text.

`pipeline.definition()` makes no network call when the session has a region and a default
bucket, the role is a full ARN, `SAGEMAKER_VALIDATE_ROLE=false`, and every code location
and input is an `s3://` URI (the placeholders are). `sdk_build` gives such a session with
the build speed-ups of `sdk_workarounds` applied, and mutes the SDK's logs and warnings.

Importing this module is cheap and has no side effects: the SDK (about 1.8 s to import,
and it needs a region at import) is imported only inside `sdk_build()` and
`pipeline_definition()`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from typing import Any, Final

from pipeline_defs.placeholders import Placeholders
from pipeline_defs.sdk_workarounds import patched_for_builds

# An explicit SDK config: no config files are read from the machine (deterministic), and
# telemetry is off (the SDK would otherwise call STS and an S3 endpoint in the background).
SDK_CONFIG: Final = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


def prepare_sdk_environment(region: str) -> None:
    """Before importing the SDK: SAGEMAKER_VALIDATE_ROLE=false and a region (setdefault both).

    Without a region `import sagemaker` raises NoRegionError; without the flag ModelTrainer
    asks IAM whether the role exists.
    """
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    os.environ.setdefault("AWS_DEFAULT_REGION", region)


@contextlib.contextmanager
def sdk_build(region: str) -> Iterator[Any]:
    """Yield a PipelineSession that works offline; SDK logs and warnings are muted meanwhile.

    Calls `prepare_sdk_environment` first; the SDK is patched
    (`sdk_workarounds.patched_for_builds`) while the session is in use.
    """
    prepare_sdk_environment(region)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import boto3
        from sagemaker.core.workflow.pipeline_context import PipelineSession

        loggers = [
            logging.getLogger(name)
            for name in list(logging.root.manager.loggerDict)
            if name == "sagemaker" or name.startswith("sagemaker.")
        ]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            with patched_for_builds():
                yield PipelineSession(
                    boto_session=boto3.Session(region_name=region),
                    default_bucket=Placeholders.ARTIFACTS_BUCKET,
                    sagemaker_config=SDK_CONFIG,
                )
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def pipeline_definition(session: Any, *, name: str, parameters: list[Any], steps: list[Any]) -> str:
    """pipeline.definition() with experiments off (no experiment/trial per execution)."""
    from sagemaker.mlops.workflow.pipeline import Pipeline

    pipeline = Pipeline(
        name=name,
        parameters=parameters,
        steps=steps,
        sagemaker_session=session,
        pipeline_experiment_config=None,
    )
    return str(pipeline.definition())
