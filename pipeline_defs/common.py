"""What both pipeline builders share: the input contract, placeholders and SDK helpers.

The CDK side builds a pipeline definition offline by calling a builder with one of the
frozen input dataclasses below (it hashes `dataclasses.asdict(inputs)` to cache the text),
then replaces every `Placeholders` value in the returned JSON text with the matching CDK
token. Placeholders therefore stand for exactly the values that are tokens at synth time;
each is a whole string, none is a substring of another, and none names a real region or
account, so a plain string replace is safe.

Importing this module is cheap and has no side effects: the SageMaker SDK (about 1.8 s to
import, and it needs a region at import) is imported only inside `sdk_build()` and the
helpers that run under it.

Conventions both pipelines follow (the builders' docstrings draw the step graphs):

- Step code: one content-addressed folder `s3://<artifacts>/code/<code hash>/` holds every
  step script. A Processing step runs `code/<hash>/<script>.py` and also mounts the whole
  folder at `/opt/ml/processing/input/lib` with `PYTHONPATH` pointing there, so sibling
  imports (`import features`) work. The code's S3 URI is part of each step's cache key, so
  a redeploy with unchanged code keeps the cache and changed code misses it.
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
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pkgml_contracts import data_quality as dq_contract
from pkgml_contracts import gate as gate_contract
from pkgml_contracts.architectures import Architecture, ArchitectureError
from pkgml_contracts.names import pipeline_outputs_prefix, predictions_prefix

# Bundle names of architecture code (stacks/components/step_code.py builds them).
ARCHITECTURE_BUNDLE_PREFIX: Final = "arch-"

ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")
NAME = re.compile(r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,62}$")  # SageMaker pipeline/group names
# The same rule as stacks.settings: 1-16 lowercase letters, digits and single hyphens.
PACKAGE_TYPE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
SKLEARN_VERSION = re.compile(r"^\d+\.\d+-\d+$")
TABLE = re.compile(r"^[a-z_][a-z0-9_$]*(\.[a-z_][a-z0-9_$]*)?$")

MAX_PAYLOAD_MB: Final = 6
"""Batch transform request size; SageMaker's limit is MaxConcurrentTransforms x this <= 100."""
MAX_CONCURRENT_TRANSFORMS: Final = 100 // MAX_PAYLOAD_MB

PROCESSING_ROOT: Final = "/opt/ml/processing"
LIB_DIR: Final = f"{PROCESSING_ROOT}/input/lib"


class Placeholders:
    """Stand-ins for values that are CDK tokens at synth time; the CDK replaces each whole string.

    Region-neutral: the KMS key and Lambda ARNs carry `pkgml-placeholder-region`, not a real
    region, so one replacement table works for a definition built for any region.
    """

    ROLE_ARN: Final = "arn:aws:iam::000000000000:role/pkgml-placeholder-execution-role"
    ARTIFACTS_BUCKET: Final = "pkgml-placeholder-artifacts-bucket"
    DATA_BUCKET: Final = "pkgml-placeholder-data-bucket"
    KMS_KEY_ARN: Final = (
        "arn:aws:kms:pkgml-placeholder-region:000000000000:key/00000000-0000-0000-0000-000000000000"
    )
    RESOLVE_FUNCTION_ARN: Final = (
        "arn:aws:lambda:pkgml-placeholder-region:000000000000:function:pkgml-placeholder-resolve"
    )
    CODE_PREFIX: Final = "pkgml-placeholder-code-hash"
    REDSHIFT_ROLE_ARN: Final = "arn:aws:iam::000000000000:role/pkgml-placeholder-redshift-role"


def placeholder_values() -> dict[str, str]:
    """{constant name: placeholder string} for every placeholder, e.g. {'ROLE_ARN': 'arn:...'}."""
    return {
        name: value
        for name, value in vars(Placeholders).items()
        if name.isupper() and isinstance(value, str)
    }


def code_placeholder(script: str) -> str:
    """Placeholder of one script's code bundle, e.g. 'pkgml-placeholder-code-hash-split'.

    Each entry script ships in its own content-addressed folder holding the script and
    the sibling modules it imports, so a code change invalidates exactly the steps whose
    code changed (the step cache key includes the code's S3 URI).
    """
    stem = script.removesuffix(".py")
    _check(
        bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", stem)),
        f"script must be a Python file name or a bundle name, got {script!r}",
    )
    return f"{Placeholders.CODE_PREFIX}-{stem}"


def code_prefix_uri(script: str) -> str:
    """S3 URI of `script`'s code bundle folder (ends with '/')."""
    return f"s3://{Placeholders.ARTIFACTS_BUCKET}/code/{code_placeholder(script)}/"


def architecture_code_uri(architecture: Architecture) -> str:
    """S3 URI of an architecture's code bundle folder (its programs and the steps they use)."""
    return code_prefix_uri(f"{ARCHITECTURE_BUNDLE_PREFIX}{architecture.name}")


def code_uri(script: str) -> str:
    """S3 URI of one step script, e.g. code_uri('split.py')."""
    return code_prefix_uri(script) + script


def pipeline_output_root(pipeline_name: str) -> str:
    """s3://<artifacts>/pipelines/<pipeline name> (no trailing slash; RunId follows)."""
    return f"s3://{Placeholders.ARTIFACTS_BUCKET}/{pipeline_outputs_prefix(pipeline_name)}"


# --- the input contract --------------------------------------------------------------


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _default_quality_bounds(*, training: bool) -> str:
    return dq_contract.quality_bounds_json(
        min_rows=dq_contract.DEFAULT_MIN_ROWS_TRAINING
        if training
        else dq_contract.DEFAULT_MIN_ROWS_INFERENCE,
        max_null_rate=dq_contract.DEFAULT_MAX_NULL_RATE,
        null_rates={},
        max_invalid_rate=dq_contract.DEFAULT_MAX_INVALID_RATE,
        max_duplicate_ids=dq_contract.DEFAULT_MAX_DUPLICATE_IDS,
    )


def _check_json_object(text: str, label: str) -> None:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        value = None
    _check(isinstance(value, dict), f"{label} must be a JSON object, got {text!r}")


def _check_common(
    *,
    region: str,
    environment: str,
    package_type: str,
    pipeline_name: str,
    model_package_group: str,
    cache_expiry: str,
    sklearn_version: str,
    instance_types: Sequence[str],
    subnets: tuple[str, ...],
    security_groups: tuple[str, ...],
) -> None:
    _check(bool(REGION.fullmatch(region)), f"region {region!r} is not an AWS region name")
    _check(bool(NAME.fullmatch(environment)), f"environment {environment!r} is not a name")
    _check(
        bool(PACKAGE_TYPE.fullmatch(package_type)) and len(package_type) <= 16,
        f"bad package_type {package_type!r}: 1-16 lowercase letters, digits, single hyphens",
    )
    for label, value in (("pipeline_name", pipeline_name), ("group", model_package_group)):
        _check(bool(NAME.fullmatch(value)), f"{label} {value!r}: 1-63 of [A-Za-z0-9-]")
    _check(bool(ISO_DURATION.fullmatch(cache_expiry)), f"cache_expiry {cache_expiry!r}: ISO 8601")
    _check(bool(SKLEARN_VERSION.fullmatch(sklearn_version)), f"bad version {sklearn_version!r}")
    for instance_type in instance_types:
        _check(instance_type.startswith("ml."), f"instance type {instance_type!r} lacks 'ml.'")
    _check(
        isinstance(subnets, tuple) and isinstance(security_groups, tuple),
        "subnets and security_groups must be tuples (the inputs are hashed)",
    )
    _check(
        bool(subnets) == bool(security_groups),
        "give both subnets and security_groups (VPC mode) or neither",
    )


_GATE: Final = gate_contract.DEFAULTS


@dataclass(frozen=True, kw_only=True)
class GateDefaults:
    """Default champion/challenger criteria (pipeline parameter defaults; roc_auc, 0.02 drop).

    Names, defaults and ranges are `pkgml_contracts.gate`'s.
    """

    max_score_drop: float = _GATE["max_score_drop"]
    min_score: float = _GATE["min_score"]
    max_label_shift: float = _GATE["max_label_shift"]
    max_label_count_change: float = _GATE["max_label_count_change"]
    max_input_size_change: float = _GATE["max_input_size_change"]
    primary_metric: str = gate_contract.PRIMARY_METRIC
    comparison: str = gate_contract.DEFAULT_COMPARISON

    def __post_init__(self) -> None:
        """Every limit within its criterion's range; a metric name of [a-z0-9_]; a known
        comparison."""
        _check(
            self.comparison in gate_contract.COMPARISONS,
            f"comparison must be one of {', '.join(gate_contract.COMPARISONS)}",
        )
        for criterion in gate_contract.CRITERIA:
            _check(
                criterion.accepts(getattr(self, criterion.name)),
                f"{criterion.name} must be in [{criterion.low:g}, {criterion.high:g}]",
            )
        _check(
            bool(gate_contract.PRIMARY_METRIC_PATTERN.fullmatch(self.primary_metric)),
            "bad primary_metric",
        )


@dataclass(frozen=True, kw_only=True)
class TrainingPipelineInputs:
    """Deploy-time values of one package type's training pipeline for one architecture.

    `hyperparameter_defaults` overrides the architecture's own defaults (the configured
    `models.<package type>.hyperparameters`); `spot` opts in to managed spot training
    where the architecture supports it. Processing runs on scikit-learn 1.9-0, m5.xlarge.
    """

    region: str
    environment: str
    package_type: str
    pipeline_name: str
    model_package_group: str
    cache_expiry: str
    architecture: Architecture
    hyperparameter_defaults: tuple[tuple[str, Any], ...] = ()
    spot: bool = False
    spot_max_wait_seconds: int = 3600
    processing_instance_type: str = "ml.m5.xlarge"
    training_instance_type: str = "ml.m5.xlarge"
    transform_instance_type: str = "ml.m5.xlarge"
    sklearn_version: str = "1.9-0"
    gate: GateDefaults = field(default_factory=GateDefaults)
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    max_runtime_seconds: int = 86400
    operating_threshold: float = 0.5
    quality_bounds: str = field(default_factory=lambda: _default_quality_bounds(training=True))

    def __post_init__(self) -> None:
        """Validate names, durations, instance types and ranges; raises ValueError."""
        _check_common(
            region=self.region,
            environment=self.environment,
            package_type=self.package_type,
            pipeline_name=self.pipeline_name,
            model_package_group=self.model_package_group,
            cache_expiry=self.cache_expiry,
            sklearn_version=self.sklearn_version,
            instance_types=(
                self.processing_instance_type,
                self.training_instance_type,
                self.transform_instance_type,
            ),
            subnets=self.subnets,
            security_groups=self.security_groups,
        )
        _check(60 <= self.max_runtime_seconds <= 28 * 86400, "max_runtime_seconds: 60 s-28 days")
        _check(0.0 < self.operating_threshold < 1.0, "operating_threshold must be in (0, 1)")
        _check_json_object(self.quality_bounds, "quality_bounds")
        try:
            self.architecture.validate(
                dict(self.hyperparameter_defaults), f"{self.architecture.name} hyperparameters"
            )
        except ArchitectureError as error:
            raise ValueError(str(error)) from None
        _check(60 <= self.spot_max_wait_seconds <= 7 * 86400, "spot_max_wait_seconds: 60 s-7 days")


@dataclass(frozen=True, kw_only=True)
class RedshiftTarget:
    """Where the load step writes: a provisioned cluster or a serverless workgroup.

    Exactly one of cluster_identifier / workgroup. Credentials: secret_arn, or db_user
    (temporary credentials, cluster only), or neither for a workgroup (IAM identity).
    """

    database: str
    cluster_identifier: str | None = None
    workgroup: str | None = None
    secret_arn: str | None = None
    db_user: str | None = None
    target_table: str = "ml.package_type_predictions"

    def __post_init__(self) -> None:
        """Check the combination of connection values; raises ValueError."""
        _check(
            (self.cluster_identifier is None) != (self.workgroup is None), "cluster xor workgroup"
        )
        _check(not (self.secret_arn and self.db_user), "give secret_arn or db_user, not both")
        _check(
            self.db_user is None or self.cluster_identifier is not None, "db_user needs a cluster"
        )
        _check(
            self.cluster_identifier is None or bool(self.secret_arn or self.db_user),
            "a provisioned cluster needs secret_arn or db_user",
        )
        _check(bool(re.fullmatch(r"[a-z_][a-z0-9_$]*", self.database)), "bad database name")
        _check(bool(TABLE.fullmatch(self.target_table)), f"bad table {self.target_table!r}")

    def load_arguments(self) -> list[str]:
        """load.py connection arguments, only those set, in a fixed order."""
        pairs = (
            ("--database", self.database),
            ("--cluster-identifier", self.cluster_identifier),
            ("--workgroup", self.workgroup),
            ("--secret-arn", self.secret_arn),
            ("--db-user", self.db_user),
            ("--target-table", self.target_table),
        )
        return [item for flag, value in pairs if value for item in (flag, value)]


@dataclass(frozen=True, kw_only=True)
class InferencePipelineInputs:
    """Deploy-time values of one package type's inference pipeline (daily and monthly share it)."""

    region: str
    environment: str
    package_type: str
    pipeline_name: str
    model_package_group: str
    cache_expiry: str
    redshift: RedshiftTarget
    processing_instance_type: str = "ml.m5.xlarge"
    transform_instance_type: str = "ml.m5.xlarge"
    sklearn_version: str = "1.9-0"
    target_file_mb: int = 64
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    quality_bounds: str = field(default_factory=lambda: _default_quality_bounds(training=False))
    drift_action: str = dq_contract.DEFAULT_DRIFT_ACTION
    drift_limits: str = field(
        default_factory=lambda: dq_contract.drift_limits_json(
            psi=dq_contract.DEFAULT_PSI_LIMIT,
            category_distance=dq_contract.DEFAULT_CATEGORY_DISTANCE_LIMIT,
            min_rows=dq_contract.DEFAULT_DRIFT_MIN_ROWS,
            psi_moderate=dq_contract.DEFAULT_PSI_MODERATE,
        )
    )

    def __post_init__(self) -> None:
        """Validate names, durations, instance types and ranges; raises ValueError."""
        _check_common(
            region=self.region,
            environment=self.environment,
            package_type=self.package_type,
            pipeline_name=self.pipeline_name,
            model_package_group=self.model_package_group,
            cache_expiry=self.cache_expiry,
            sklearn_version=self.sklearn_version,
            instance_types=(self.processing_instance_type, self.transform_instance_type),
            subnets=self.subnets,
            security_groups=self.security_groups,
        )
        _check(1 <= self.target_file_mb <= 1024, "target_file_mb must be 1-1024 (MB)")
        _check_json_object(self.quality_bounds, "quality_bounds")
        _check_json_object(self.drift_limits, "drift_limits")
        _check(
            self.drift_action in dq_contract.DRIFT_ACTIONS,
            f"drift_action {self.drift_action!r}: one of {', '.join(dq_contract.DRIFT_ACTIONS)}",
        )


# --- running the SDK offline -----------------------------------------------------------

# An explicit SDK config: no config files are read from the machine (deterministic), and
# telemetry is off (the SDK would otherwise call STS and an S3 endpoint in the background).
_SDK_CONFIG: Final = {
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


_LOADERS: dict[Any, Any] = {}
_VALIDATED_CONFIGS: set[str] = set()


def _shared_loader(create: Callable[..., Any]) -> Callable[..., Any]:
    """botocore's `create_loader`, returning one loader per search path (per process)."""

    def shared(search_path_string: Any = None) -> Any:
        if search_path_string not in _LOADERS:
            _LOADERS[search_path_string] = create(search_path_string)
        return _LOADERS[search_path_string]

    return shared


def _validated_once(validate: Callable[..., Any]) -> Callable[..., None]:
    """`validate(config)`, skipped for a configuration (by its text) it already passed."""

    def validate_once(sagemaker_config: dict[str, Any] | None = None) -> None:
        key = f"{validate.__module__}:" + json.dumps(sagemaker_config, sort_keys=True, default=repr)
        if key not in _VALIDATED_CONFIGS:
            validate(sagemaker_config)
            _VALIDATED_CONFIGS.add(key)

    return validate_once


def _name_only(client_class: type) -> type:
    """`client_class` without its constructor: its methods (and their names) are all the
    step classes read from it."""

    class NameOnly(client_class):
        def __init__(self) -> None:  # no session, no boto3 clients
            pass

    return NameOnly


@contextlib.contextmanager
def sdk_build(region: str) -> Iterator[Any]:
    """Yield a PipelineSession that works offline; SDK logs and warnings are muted meanwhile.

    Calls `prepare_sdk_environment` first.
    """
    prepare_sdk_environment(region)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import boto3
        from sagemaker.core.config.config_manager import SageMakerConfig
        from sagemaker.core.workflow.pipeline_context import PipelineSession

        loggers = [
            logging.getLogger(name)
            for name in list(logging.root.manager.loggerDict)
            if name == "sagemaker" or name.startswith("sagemaker.")
        ]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        # The SDK re-validates its config against a large JSON schema on every lookup
        # (about 0.15 s each, ~70 per build) and once per session it creates (0.4 s):
        # each distinct configuration is validated once per process; an equal one (the
        # same text) would get the same verdict.
        from sagemaker.core.helper import session_helper

        validate = SageMakerConfig.__dict__["validate_sagemaker_config"]
        validate_session = session_helper.validate_sagemaker_config
        SageMakerConfig.validate_sagemaker_config = staticmethod(_validated_once(validate.__func__))
        session_helper.validate_sagemaker_config = _validated_once(validate_session)
        # The SDK creates several boto3 sessions per build (its step classes make their
        # own), and each new botocore session parses the service models and endpoints
        # JSON again (about 90 % of a build's time). Those files do not change within a
        # process: every botocore session made during a build shares one data loader.
        # The image lookups build their own loader (`botocore.loaders.create_loader`) and
        # parse the endpoints file each time: the same shared loader serves them.
        import botocore.loaders
        import botocore.session

        create_loader = botocore.session.create_loader
        botocore.session.create_loader = _shared_loader(create_loader)
        create_module_loader = botocore.loaders.create_loader
        botocore.loaders.create_loader = _shared_loader(create_module_loader)
        # ProcessingStep and TransformStep create a local-mode client (a whole session,
        # ~50 ms) only to read one method's name: a client that skips its set-up has it.
        from sagemaker.mlops.workflow import steps as sdk_steps

        local_client = sdk_steps.LocalSagemakerClient
        sdk_steps.LocalSagemakerClient = _name_only(local_client)
        try:
            yield PipelineSession(
                boto_session=boto3.Session(region_name=region),
                default_bucket=Placeholders.ARTIFACTS_BUCKET,
                sagemaker_config=_SDK_CONFIG,
            )
        finally:
            sdk_steps.LocalSagemakerClient = local_client
            botocore.loaders.create_loader = create_module_loader
            botocore.session.create_loader = create_loader
            session_helper.validate_sagemaker_config = validate_session
            SageMakerConfig.validate_sagemaker_config = validate
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


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


@functools.cache
def _raw_step_class() -> type:
    """A Step whose arguments are a fixed request dict (CreateModel / CreateModelPackage).

    The SDK's ModelStep wants ModelBuilder output, and ModelBuilder.register() uploads code
    (S3 calls) while building; the pipeline service only needs the request, so emit it.
    """
    from sagemaker.core.workflow.properties import Properties
    from sagemaker.mlops.workflow.steps import ConfigurableRetryStep

    class RawRequestStep(ConfigurableRetryStep):
        """A step of a given type whose Arguments are the request given."""

        def __init__(
            self,
            *,
            name: str,
            step_type: Any,
            request: dict[str, Any],
            shape_name: str,
            retry_policies: list[Any],
            depends_on: list[Any] | None = None,
        ) -> None:
            super().__init__(
                name=name,
                step_type=step_type,
                depends_on=depends_on,
                retry_policies=retry_policies,
            )
            self._request = request
            self._properties = Properties(step_name=name, step=self, shape_name=shape_name)

        @property
        def arguments(self) -> dict[str, Any]:
            return self._request

        @property
        def properties(self) -> Any:
            return self._properties

    return RawRequestStep


def create_model_step(name: str, *, request: dict[str, Any]) -> Any:
    """A CreateModel step ('Model' type) with the CreateModel request minus ModelName."""
    from sagemaker.mlops.workflow.steps import StepTypeEnum

    return _raw_step_class()(
        name=name,
        step_type=StepTypeEnum.CREATE_MODEL,
        request=request,
        shape_name="DescribeModelOutput",
        retry_policies=[step_retry_policy()],
    )


def register_model_step(name: str, *, request: dict[str, Any]) -> Any:
    """A RegisterModel step with the CreateModelPackage request."""
    from sagemaker.mlops.workflow.steps import StepTypeEnum

    return _raw_step_class()(
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


@functools.cache
def _transform_step_class() -> type:
    """TransformStep whose InstanceCount may be a pipeline parameter.

    sagemaker-core 2.27 types TransformResources.instance_count as a plain int, so a
    ParameterInteger fails validation; the step is built with 1 and the parameter is put
    back into the request.
    """
    from sagemaker.mlops.workflow.steps import TransformStep

    class CountParameterTransformStep(TransformStep):
        """A TransformStep with TransformResources.InstanceCount = the given value."""

        def __init__(self, *, instance_count: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._instance_count = instance_count

        @property
        def arguments(self) -> dict[str, Any]:
            request: dict[str, Any] = super().arguments
            request["TransformResources"]["InstanceCount"] = self._instance_count
            return request

    return CountParameterTransformStep


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
    return _transform_step_class()(
        name=name,
        step_args=step_args,
        instance_count=instance_count,
        cache_config=cache_config(cache_expiry),
        retry_policies=job_retry_policies(),
    )


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
