"""The step builders both pipelines use: images, caching, retries, jobs, models, outputs.

Conventions both pipelines follow (the builders' docstrings draw the step graphs):

- Step code: one content-addressed folder per entry script (`pipeline_defs.placeholders`).
  A Processing step runs `code/<hash>/<script>.py` and also mounts the whole folder at
  `/opt/ml/processing/input/lib` with `PYTHONPATH` pointing there, so sibling imports
  (`import features`) work.
- Outputs: `s3://<artifacts>/pipelines/<pipeline name>/<RunId>/<step>/<output>/`. RunId,
  not the execution id: a step's cache key includes its output URIs, so a key holding the
  execution id could never hit; with RunId a re-run of the same run (new execution, same
  RunId and inputs) reuses every cached step and its outputs, while two runs never share
  a prefix. The trigger starts one execution per RunId at a time.
- Every Processing/Training/Transform step gets a CacheConfig and two retry policies
  (SageMaker job errors and step errors, each with max_attempts only); CreateModel and
  RegisterModel steps get the step-error policy only (the service rejects the job policy
  there) and no CacheConfig (the service does not cache them).
- Encryption: every job's volume and output use the KMS placeholder key.

Importing this module is cheap: the SDK is imported only inside the functions, which run
under `sdk_session.sdk_build()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from pipeline_defs.inputs import InferencePipelineInputs, TrainingPipelineInputs
from pipeline_defs.placeholders import (
    Placeholders,
    code_prefix_uri,
    code_uri,
    pipeline_output_root,
)
from pipeline_defs.sdk_workarounds import (
    count_parameter_transform_step_class,
    raw_request_step_class,
)
from pkgml_contracts.names import predictions_prefix

MAX_PAYLOAD_MB: Final = 6
"""Batch transform request size; SageMaker's limit is MaxConcurrentTransforms x this <= 100."""
MAX_CONCURRENT_TRANSFORMS: Final = 100 // MAX_PAYLOAD_MB

PROCESSING_ROOT: Final = "/opt/ml/processing"
LIB_DIR: Final = f"{PROCESSING_ROOT}/input/lib"


def framework_image(region: str, framework: str, version: str, instance_type: str) -> str:
    """The SageMaker framework container an architecture trains and serves in."""
    if framework == "sklearn":
        return sklearn_image(region, version, instance_type)
    from sagemaker.core import image_uris

    return str(
        image_uris.retrieve(framework, region=region, version=version, instance_type=instance_type)
    )


def sklearn_image(region: str, version: str, instance_type: str) -> str:
    """The SageMaker scikit-learn image URI (training, processing and serving are one image)."""
    from sagemaker.core import image_uris

    return str(
        image_uris.retrieve(
            "sklearn", region=region, version=version, py_version="py3", instance_type=instance_type
        )
    )


def cache_config(expiry: str, *, enabled: bool = True) -> Any:
    """CacheConfig for a job step (enabled, expiring after the ISO 8601 duration)."""
    from sagemaker.mlops.workflow.steps import CacheConfig

    return CacheConfig(enable_caching=enabled, expire_after=expiry if enabled else None)


def step_retry_policy() -> Any:
    """Retry throttling and service faults: 5 attempts, 10 s doubling."""
    from sagemaker.mlops.workflow.retry import StepExceptionTypeEnum, StepRetryPolicy

    return StepRetryPolicy(
        exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
        interval_seconds=10,
        backoff_rate=2.0,
        max_attempts=5,
    )


def job_retry_policies() -> list[Any]:
    """Job-step retries: capacity/internal/limit (4 attempts, 60 s doubling), then step errors."""
    from sagemaker.mlops.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
    )

    job_policy = SageMakerJobStepRetryPolicy(
        exception_types=[
            SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
            SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
            SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
        ],
        interval_seconds=60,
        backoff_rate=2.0,
        max_attempts=4,
    )
    return [job_policy, step_retry_policy()]


def network_config(subnets: tuple[str, ...], security_groups: tuple[str, ...]) -> Any:
    """Processing NetworkConfig: inter-container encryption on; VPC when subnets are given."""
    from sagemaker.core.network import NetworkConfig

    return NetworkConfig(
        enable_network_isolation=False,
        encrypt_inter_container_traffic=True,
        subnets=list(subnets) or None,
        security_group_ids=list(security_groups) or None,
    )


def vpc_config(subnets: tuple[str, ...], security_groups: tuple[str, ...]) -> dict[str, Any]:
    """{'VpcConfig': {...}} for a CreateModel request, or {} without a VPC."""
    if not subnets:
        return {}
    return {"VpcConfig": {"SecurityGroupIds": list(security_groups), "Subnets": list(subnets)}}


def predictions_uri(pipeline_name: str, run_id: Any) -> Any:
    """Join: s3://<data>/predictions/<pipeline>/<RunId>/: where Redshift's COPY may read."""
    from sagemaker.core.workflow.functions import Join

    # Trailing '/': run 'x' must not COPY the files of run 'x-rerun' (same prefix).
    return Join(
        on="/",
        values=[f"s3://{Placeholders.DATA_BUCKET}/{predictions_prefix(pipeline_name)}", run_id, ""],
    )


def s3_output_uri(pipeline_name: str, run_id: Any, step: str, output: str) -> Any:
    """Join: s3://<artifacts>/pipelines/<pipeline>/<RunId>/<step>/<output>/."""
    from sagemaker.core.workflow.functions import Join

    # The trailing '/' keeps S3 prefixes disjoint: `.../validation/` must not also match
    # `.../validation_features/...` when a later step reads the prefix.
    return Join(on="/", values=[pipeline_output_root(pipeline_name), run_id, step, output, ""])


@dataclass(frozen=True)
class ScriptRun:
    """One Processing step: a script from the code folder with its inputs and outputs."""

    script: str
    inputs: Sequence[tuple[str, Any, str]] = ()  # (name, S3 URI, local path)
    outputs: Sequence[tuple[str, Any, str]] = ()  # (name, S3 URI, local path)
    arguments: Sequence[Any] = ()
    env: tuple[tuple[str, str], ...] = ()
    instance_count: Any = 1  # an int or a pipeline parameter


@dataclass(frozen=True, kw_only=True)
class JobOptions:
    """What every Processing job of a pipeline shares."""

    image_uri: str
    instance_type: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    max_runtime_seconds: int
    region: str


def job_options_for(
    inputs: TrainingPipelineInputs | InferencePipelineInputs, *, max_runtime_seconds: int
) -> JobOptions:
    """Processing job options of a pipeline: the sklearn image for its region and version."""
    return JobOptions(
        image_uri=sklearn_image(
            inputs.region, inputs.sklearn_version, inputs.processing_instance_type
        ),
        instance_type=inputs.processing_instance_type,
        subnets=inputs.subnets,
        security_groups=inputs.security_groups,
        max_runtime_seconds=max_runtime_seconds,
        region=inputs.region,
    )


def processing_step_args(session: Any, run: ScriptRun, options: JobOptions) -> Any:
    """ScriptProcessor.run(...) step arguments: python3 <script>, code folder on PYTHONPATH."""
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )

    processor = ScriptProcessor(
        role=Placeholders.ROLE_ARN,
        image_uri=options.image_uri,
        command=["python3"],
        instance_count=run.instance_count,
        instance_type=options.instance_type,
        volume_kms_key=Placeholders.KMS_KEY_ARN,
        output_kms_key=Placeholders.KMS_KEY_ARN,
        max_runtime_in_seconds=options.max_runtime_seconds,
        sagemaker_session=session,
        # AWS_DEFAULT_REGION: scripts' boto3 clients reach the regional endpoints (a VPC
        # may only have regional S3 / SageMaker endpoints).
        env={
            "PYTHONPATH": LIB_DIR,
            "PYTHONUNBUFFERED": "1",
            "AWS_DEFAULT_REGION": options.region,
            **dict(run.env),
        },
        network_config=network_config(options.subnets, options.security_groups),
    )
    inputs = [
        ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=uri,
                local_path=local_path,
                s3_data_type="S3Prefix",
                s3_input_mode="File",
                s3_data_distribution_type="FullyReplicated",
            ),
        )
        for name, uri, local_path in (*run.inputs, ("lib", code_prefix_uri(run.script), LIB_DIR))
    ]
    outputs = [
        ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=uri, local_path=local_path, s3_upload_mode="EndOfJob"
            ),
        )
        for name, uri, local_path in run.outputs
    ]
    return processor.run(
        code=code_uri(run.script),
        inputs=inputs,
        outputs=outputs,
        arguments=list(run.arguments),
    )


def create_model_step(name: str, *, request: dict[str, Any]) -> Any:
    """A CreateModel step ('Model' type) with the CreateModel request minus ModelName."""
    from sagemaker.mlops.workflow.steps import StepTypeEnum

    return raw_request_step_class()(
        name=name,
        step_type=StepTypeEnum.CREATE_MODEL,
        request=request,
        shape_name="DescribeModelOutput",
        retry_policies=[step_retry_policy()],
    )


def register_model_step(name: str, *, request: dict[str, Any]) -> Any:
    """A RegisterModel step with the CreateModelPackage request."""
    from sagemaker.mlops.workflow.steps import StepTypeEnum

    return raw_request_step_class()(
        name=name,
        step_type=StepTypeEnum.REGISTER_MODEL,
        request=request,
        shape_name="DescribeModelPackageOutput",
        retry_policies=[step_retry_policy()],
    )


def serving_environment(region: str, program: str) -> dict[str, str]:
    """Serving container env of an architecture with a serving program: `program`'s
    handlers from /opt/ml/model/code (inside model.tar.gz; train_steps.py puts it there).
    The XGBoost image's script mode uses the same serving stack as the scikit-learn one.

    Every model the pipelines create uses it (the training CreateModel, and the registered
    package's container, which the inference CreateModel runs). Models run with network
    isolation, and at start-up the scikit-learn serving stack (sagemaker-containers)
    writes a setup.py into a copy of the code folder and runs `python -m pip install .`
    there. Under pip's default build isolation that first downloads setuptools from the
    index, which network isolation forbids, so the model never starts.
    PIP_NO_BUILD_ISOLATION=false makes pip build with the image's own setuptools instead
    (pip reads a `no-*` option's environment value inverted: "false" switches isolation
    off). SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT=text/csv: a request without an Accept
    header (or with */*) is answered in CSV; the toolkit's default would be JSON, which
    the serving programs refuse (HTTP 500). Batch transform always sends Accept; a client
    of an endpoint serving the registered package may not. tests/containers/ starts the
    images' own serving stack, offline, with these variables.
    """
    return {
        "SAGEMAKER_PROGRAM": program,
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": region,
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
        "PIP_NO_BUILD_ISOLATION": "false",
    }


def transform_step(
    name: str,
    session: Any,
    *,
    model_name: Any,
    instance_type: Any,
    instance_count: Any,
    data: Any,
    output_path: Any,
    cache_expiry: str,
) -> Any:
    """A cached, retried TransformStep: CSV lines in, `<id>,<score>` lines out, KMS on."""
    from sagemaker.core.transformer import Transformer

    transformer = Transformer(
        model_name=model_name,
        instance_count=1,
        instance_type=instance_type,
        strategy="MultiRecord",
        assemble_with="Line",
        accept="text/csv",
        output_path=output_path,
        output_kms_key=Placeholders.KMS_KEY_ARN,
        volume_kms_key=Placeholders.KMS_KEY_ARN,
        max_payload=MAX_PAYLOAD_MB,
        max_concurrent_transforms=MAX_CONCURRENT_TRANSFORMS,
        sagemaker_session=session,
    )
    step_args = transformer.transform(
        data=data,
        data_type="S3Prefix",
        content_type="text/csv",
        split_type="Line",
        input_filter="$[1:]",
        join_source="Input",
        output_filter="$[0,-1]",
    )
    return count_parameter_transform_step_class()(
        name=name,
        step_args=step_args,
        instance_count=instance_count,
        cache_config=cache_config(cache_expiry),
        retry_policies=job_retry_policies(),
    )
