"""The builders' input contract: one frozen dataclass per pipeline kind, validated.

The CDK side builds a pipeline definition offline by calling a builder with one of these
(it hashes `dataclasses.asdict(inputs)` to cache the text), so every field is a plain,
hashable value. The app fills them from `stacks/settings.py`, which has validated the
configuration already; the checks here stop direct callers (tests, tools, the rehearsal)
with a clear ValueError. Where settings checks the same value, both use the rule defined
here (`check_package_type`, `REGION`, `SKLEARN_VERSION`, `DATABASE`, `check_vpc`,
`check_redshift_connection`, `MAX_SPOT_WAIT_SECONDS`) or one from `pkgml_contracts`
(instance types, gate criteria, architectures' hyperparameters), so the two cannot drift.

Standard library and `pkgml_contracts` only; importing this module has no side effects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from pkgml_contracts import data_quality as dq_contract
from pkgml_contracts import gate as gate_contract
from pkgml_contracts.architectures import Architecture, ArchitectureError
from pkgml_contracts.instance_types import InstanceTypeError, check_instance_type

# --- rules shared with stacks/settings.py ---------------------------------------------

REGION: Final = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
"""An AWS region code, e.g. 'eu-west-1' (settings: `region`)."""
SKLEARN_VERSION: Final = re.compile(r"^\d+\.\d+-\d+$")
"""A SageMaker scikit-learn image version, e.g. '1.9-0' (settings: `ml.sklearn_version`)."""
DATABASE: Final = re.compile(r"^[a-z_][a-z0-9_$]{0,126}$")
"""A Redshift database name (settings: `redshift.database`)."""
PACKAGE_TYPE: Final = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAX_PACKAGE_TYPE_LENGTH: Final = 16
MAX_SPOT_WAIT_SECONDS: Final = 7 * 86400
"""Longest managed-spot wait beyond the run time (settings: `ml.spot.max_wait_minutes`)."""


def check_package_type(name: str) -> str:
    """`name` if it is a package type name: 1-16 lowercase letters, digits, single hyphens."""
    if not PACKAGE_TYPE.fullmatch(name) or len(name) > MAX_PACKAGE_TYPE_LENGTH:
        raise ValueError(
            f"{name!r} is not a valid package type: use 1-{MAX_PACKAGE_TYPE_LENGTH} lowercase "
            "letters, digits and single hyphens, e.g. 'mailer'"
        )
    return name


def check_vpc(subnets: Sequence[str], security_groups: Sequence[str]) -> None:
    """Jobs run in a VPC with both subnets and security groups, or outside one with neither."""
    if bool(subnets) != bool(security_groups):
        raise ValueError("set both subnets and security_groups to run jobs in a VPC, or neither")


def check_redshift_connection(
    *,
    cluster_identifier: str | None,
    workgroup: str | None,
    secret_arn: str | None,
    db_user: str | None,
) -> None:
    """A provisioned cluster (secret or db_user) xor a Serverless workgroup (secret or IAM)."""
    if (cluster_identifier is None) == (workgroup is None):
        raise ValueError(
            "set exactly one of cluster_identifier (provisioned) or workgroup (Serverless)"
        )
    if workgroup and db_user:
        raise ValueError(
            "db_user is for provisioned clusters; Serverless IAM auth maps the caller's role"
        )
    if secret_arn and db_user:
        raise ValueError("set secret_arn or db_user, not both")
    if cluster_identifier and not (secret_arn or db_user):
        raise ValueError("a provisioned cluster needs secret_arn or db_user (IAM auth)")


# --- the builders' own checks ----------------------------------------------------------

ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")
NAME = re.compile(r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,62}$")  # SageMaker pipeline/group names
TABLE = re.compile(r"^[a-z_][a-z0-9_$]*(\.[a-z_][a-z0-9_$]*)?$")


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
class _PipelineInputs:
    """The fields every pipeline kind has, and their checks; `JOBS` are the job kinds
    whose `<job>_instance_type` fields the kind has (processing, training, transform)."""

    JOBS: ClassVar[tuple[str, ...]] = ("processing", "transform")

    region: str
    environment: str
    package_type: str
    pipeline_name: str
    model_package_group: str
    cache_expiry: str
    processing_instance_type: str = "ml.m5.xlarge"
    transform_instance_type: str = "ml.m5.xlarge"
    sklearn_version: str = "1.9-0"
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Validate names, durations, instance types and the VPC; raises ValueError."""
        _check(
            bool(REGION.fullmatch(self.region)), f"region {self.region!r} is not an AWS region name"
        )
        _check(
            bool(NAME.fullmatch(self.environment)),
            f"environment {self.environment!r} is not a name",
        )
        check_package_type(self.package_type)
        for label, value in (
            ("pipeline_name", self.pipeline_name),
            ("group", self.model_package_group),
        ):
            _check(bool(NAME.fullmatch(value)), f"{label} {value!r}: 1-63 of [A-Za-z0-9-]")
        _check(
            bool(ISO_DURATION.fullmatch(self.cache_expiry)),
            f"cache_expiry {self.cache_expiry!r}: ISO 8601",
        )
        _check(
            bool(SKLEARN_VERSION.fullmatch(self.sklearn_version)),
            f"bad version {self.sklearn_version!r}",
        )
        for job in self.JOBS:
            label = f"{job}_instance_type"
            try:
                check_instance_type(getattr(self, label), job)
            except InstanceTypeError as error:
                raise ValueError(f"{label}: {error}") from None
        _check(
            isinstance(self.subnets, tuple) and isinstance(self.security_groups, tuple),
            "subnets and security_groups must be tuples (the inputs are hashed)",
        )
        check_vpc(self.subnets, self.security_groups)


@dataclass(frozen=True, kw_only=True)
class TrainingPipelineInputs(_PipelineInputs):
    """Deploy-time values of one package type's training pipeline for one architecture.

    `hyperparameter_defaults` overrides the architecture's own defaults (the configured
    `models.<package type>.hyperparameters`); `spot` opts in to managed spot training
    where the architecture supports it. Processing runs on scikit-learn 1.9-0, m5.xlarge.
    """

    architecture: Architecture
    hyperparameter_defaults: tuple[tuple[str, Any], ...] = ()
    spot: bool = False
    spot_max_wait_seconds: int = 3600
    training_instance_type: str = "ml.m5.xlarge"
    gate: GateDefaults = field(default_factory=GateDefaults)
    max_runtime_seconds: int = 86400
    operating_threshold: float = 0.5
    quality_bounds: str = field(default_factory=lambda: _default_quality_bounds(training=True))

    JOBS: ClassVar[tuple[str, ...]] = ("processing", "training", "transform")

    def __post_init__(self) -> None:
        """The shared checks, then run time, threshold, bounds, hyperparameters and spot."""
        super().__post_init__()
        _check(60 <= self.max_runtime_seconds <= 28 * 86400, "max_runtime_seconds: 60 s-28 days")
        _check(0.0 < self.operating_threshold < 1.0, "operating_threshold must be in (0, 1)")
        _check_json_object(self.quality_bounds, "quality_bounds")
        try:
            self.architecture.validate(
                dict(self.hyperparameter_defaults), f"{self.architecture.name} hyperparameters"
            )
        except ArchitectureError as error:
            raise ValueError(str(error)) from None
        _check(
            60 <= self.spot_max_wait_seconds <= MAX_SPOT_WAIT_SECONDS,
            "spot_max_wait_seconds: 60 s-7 days",
        )


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
        check_redshift_connection(
            cluster_identifier=self.cluster_identifier,
            workgroup=self.workgroup,
            secret_arn=self.secret_arn,
            db_user=self.db_user,
        )
        _check(bool(DATABASE.fullmatch(self.database)), f"bad database name {self.database!r}")
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
class InferencePipelineInputs(_PipelineInputs):
    """Deploy-time values of one package type's inference pipeline (daily and monthly share it)."""

    redshift: RedshiftTarget
    target_file_mb: int = 64
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
        """The shared checks, then file size, bounds and the drift policy."""
        super().__post_init__()
        _check(1 <= self.target_file_mb <= 1024, "target_file_mb must be 1-1024 (MB)")
        _check_json_object(self.quality_bounds, "quality_bounds")
        _check_json_object(self.drift_limits, "drift_limits")
        _check(
            self.drift_action in dq_contract.DRIFT_ACTIONS,
            f"drift_action {self.drift_action!r}: one of {', '.join(dq_contract.DRIFT_ACTIONS)}",
        )
