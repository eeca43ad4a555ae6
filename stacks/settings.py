"""The configuration contract: `cdk.json` context (plus `-c` overrides) -> frozen, typed settings.

This is the only module that reads configuration. Everything else receives the
objects built here as keyword arguments.

Context document (see the README's configuration table for every key):

    project              short lowercase name used in every resource name
    package_types        list of package types; each gets its own pipelines and alarms
    tooling              {account, region} of the CI/CD (tooling) account
    cicd                 the CI/CD pipeline: source connection, repository, branch
    defaults             project-wide defaults for every per-environment setting
    environments.<env>   {account, region, ...}; any per-environment setting overrides defaults

Single-key overrides: `cdk synth -c environments.prod.data.raw_unload_expiry_days=60`
changes exactly that one setting. A key path with dots addresses the nested
document; values are parsed as JSON when they look like JSON (lists, objects,
numbers, booleans), otherwise taken as strings. Every error names the key and
the accepted form and is raised as `ConfigError`.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import json
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticUndefined

from pipeline_defs.architectures import architectures
from pipeline_defs.inputs import (
    DATABASE,
    MAX_SPOT_WAIT_SECONDS,
    REGION,
    SKLEARN_VERSION,
    check_package_type,
    check_redshift_connection,
    check_vpc,
)
from pkgml_contracts import data_quality as dq_contract
from pkgml_contracts import gate as gate_contract
from pkgml_contracts.architectures import Architecture, ArchitectureError
from pkgml_contracts.instance_types import InstanceTypeError, check_instance_type
from pkgml_contracts.notifications import NOTIFIER

# Keys owned by the CDK itself (feature flags, CLI-injected settings): never ours.
_CDK_KEY_PREFIXES = ("@", "aws:", "aws-cdk:", "cdk:", "cdk-")

ACCOUNT_PATTERN = re.compile(r"^\d{12}$")
# The rules the pipeline builders' inputs check too are defined once, in pipeline_defs.inputs.
REGION_PATTERN = REGION
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
REQUIRED_ENVIRONMENTS = ("dev", "prod")


class ConfigError(ValueError):
    """Invalid configuration: the message names the key and the accepted form."""


def _account(value: str) -> str:
    if not ACCOUNT_PATTERN.fullmatch(value):
        raise ValueError("must be a 12-digit AWS account id, as a string (quoted in cdk.json)")
    return value


def _region(value: str) -> str:
    if not REGION_PATTERN.fullmatch(value):
        raise ValueError("must be an AWS region code, e.g. 'eu-west-1'")
    return value


AccountId = Annotated[str, AfterValidator(_account)]
Region = Annotated[str, AfterValidator(_region)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class AccountRef(_Frozen):
    """Where something is deployed: a 12-digit account and a region."""

    account: AccountId
    region: Region


class DataSettings(_Frozen):
    """Data layer settings; defaults: raw unloads expire after 30 days, old versions after 90."""

    raw_unload_expiry_days: int = Field(
        default=30, ge=1, le=3650, description="days before objects under unload/ expire"
    )
    noncurrent_version_expiry_days: int = Field(
        default=90, ge=1, le=3650, description="days before non-current object versions expire"
    )
    access_log_expiry_days: int = Field(
        default=365, ge=1, le=3650, description="days before S3 server access logs expire"
    )


_CRON_FIELD = r"[0-9A-Za-z*?/,#L\-]+"
_CRON = re.compile(rf"^cron\(({_CRON_FIELD} ){{5}}{_CRON_FIELD}\)$")
_RATE = re.compile(r"^rate\((?P<n>[1-9][0-9]*) (?P<unit>minutes?|hours?|days?)\)$")
SCHEDULE_FORM = (
    "an EventBridge Scheduler expression: 'cron(min hour day-of-month month day-of-week year)' "
    "with '?' in day-of-month or day-of-week, e.g. 'cron(0 3 ? * MON *)', or 'rate(1 day)'"
)


def _schedule_expression(value: str) -> str:
    value = value.strip()
    rate = _RATE.fullmatch(value)
    if rate:
        singular = rate["n"] == "1"
        if singular == rate["unit"].endswith("s"):
            raise ValueError(f"must be {SCHEDULE_FORM} ('rate(1 day)', 'rate(2 days)')")
        return value
    if not _CRON.fullmatch(value):
        raise ValueError(f"must be {SCHEDULE_FORM}")
    fields = value[len("cron(") : -1].split(" ")
    if "?" not in (fields[2], fields[4]) or fields[2] == fields[4] == "?":
        raise ValueError(
            f"must be {SCHEDULE_FORM}: exactly one of day-of-month and day-of-week is '?'"
        )
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone name, e.g. 'UTC' or 'Europe/Berlin'") from None
    return value


ScheduleExpression = Annotated[str, AfterValidator(_schedule_expression)]
TimeZone = Annotated[str, AfterValidator(_timezone)]


class Schedule(_Frozen):
    """One recurring extract: when it fires, and whether it is on."""

    expression: ScheduleExpression
    enabled: bool = True


class SchedulesSettings(_Frozen):
    """The three extract schedules; defaults: Monday 03:00, daily 05:00, 1st 06:00 (UTC)."""

    timezone: TimeZone = "UTC"
    flexible_window_minutes: int = Field(default=0, ge=0, le=1440)
    training: Schedule = Schedule(expression="cron(0 3 ? * MON *)")
    inference_daily: Schedule = Schedule(expression="cron(0 5 * * ? *)")
    inference_monthly: Schedule = Schedule(expression="cron(0 6 1 * ? *)")


_IDENTIFIER = r"^[a-z][a-z0-9-]{0,62}$"
_SECRET_ARN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$"  # noqa: S105


class RedshiftSettings(_Frozen):
    """The existing warehouse: a provisioned cluster or a Serverless workgroup, and auth.

    Exactly one of `cluster_identifier` / `workgroup`. Auth is a Secrets Manager
    secret (`secret_arn`) or IAM: `db_user` with a cluster, nothing with a workgroup.
    """

    cluster_identifier: str | None = Field(default=None, pattern=_IDENTIFIER)
    workgroup: str | None = Field(default=None, pattern=r"^[a-z0-9-]{3,64}$")
    database: str = Field(default="dev", pattern=DATABASE.pattern)
    secret_arn: str | None = Field(default=None, pattern=_SECRET_ARN)
    db_user: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_$]{0,126}$")
    unload_max_file_size_mb: int = Field(default=256, ge=5, le=6200)

    @model_validator(mode="after")
    def _one_target_and_auth(self) -> RedshiftSettings:
        check_redshift_connection(
            cluster_identifier=self.cluster_identifier,
            workgroup=self.workgroup,
            secret_arn=self.secret_arn,
            db_user=self.db_user,
        )
        return self


class TriggerSettings(_Frozen):
    """The run-file trigger Lambda; defaults: 5 concurrent executions, 64 KiB run files."""

    reserved_concurrency: int = Field(default=5, ge=1, le=100)
    max_run_file_bytes: int = Field(default=65536, ge=1024, le=1048576)


def _job_instance_type(job: str) -> AfterValidator:
    """An instance type `job` can run on with the KMS volume key and a CPU image."""

    def check(value: str) -> str:
        try:
            return check_instance_type(value, job)
        except InstanceTypeError as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(check)


_ISO_DURATION = r"^P(\d+D|T\d+H|\d+DT\d+H)$"


def _with_overrides(settings: Any, package_type: str) -> dict[str, Any]:
    """`settings`' fields (its `by_package_type` left out) with that package type's
    overrides, the fields it sets, on top."""
    values: dict[str, Any] = settings.model_dump(exclude={"by_package_type"})
    override = settings.by_package_type.get(package_type)
    if override is not None:
        values.update(override.model_dump(exclude_none=True))
    return values


def _gate_limit(name: str, *, optional: bool = False) -> Any:
    """A gate criterion's field: its default (None if `optional`) and accepted range, from
    `pkgml_contracts.gate`, the definition the trigger and the pipelines read too."""
    criterion = gate_contract.criterion(name)
    default = None if optional else criterion.default
    return Field(default=default, ge=criterion.low, le=criterion.high)


Comparison = Literal["same_data", "stored"]
"""`pkgml_contracts.gate.COMPARISONS`: how the gate measures the score drop."""


class GateCriteria(_Frozen):
    """Champion/challenger limits; every field optional so a package type overrides only some."""

    max_score_drop: float | None = _gate_limit("max_score_drop", optional=True)
    min_score: float | None = _gate_limit("min_score", optional=True)
    max_label_shift: float | None = _gate_limit("max_label_shift", optional=True)
    max_label_count_change: float | None = _gate_limit("max_label_count_change", optional=True)
    max_input_size_change: float | None = _gate_limit("max_input_size_change", optional=True)
    comparison: Comparison | None = None


class GateSettings(_Frozen):
    """The gate's defaults (`pkgml_contracts.gate`: drop 0.02 ROC AUC, floor 0.70, shift
    0.10, counts/size +-50%)."""

    max_score_drop: float = _gate_limit("max_score_drop")
    min_score: float = _gate_limit("min_score")
    max_label_shift: float = _gate_limit("max_label_shift")
    max_label_count_change: float = _gate_limit("max_label_count_change")
    max_input_size_change: float = _gate_limit("max_input_size_change")
    comparison: Comparison = gate_contract.DEFAULT_COMPARISON
    by_package_type: dict[str, GateCriteria] = Field(default_factory=dict)

    def for_package_type(self, package_type: str) -> dict[str, Any]:
        """Effective criteria of one package type: its overrides on top of the defaults."""
        return _with_overrides(self, package_type)


def _known_architecture(name: str) -> Architecture:
    found = architectures()
    if name not in found:
        raise ValueError(
            f"unknown architecture {name!r}; architectures (folders under "
            f"pipeline_defs/architectures/): {', '.join(sorted(found))}"
        )
    return found[name]


def _typed_hyperparameters(architecture: Architecture, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` checked against the architecture's schema; `-c` strings parsed as JSON."""
    typed = {}
    for name, value in values.items():
        item = architecture.hyperparameter(name)
        if isinstance(value, str) and item.type != "string":
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        typed[name] = value
    return architecture.validate(typed, "hyperparameters")


class ModelSelection(_Frozen):
    """One package type's model: its architecture and hyperparameter defaults.

    Defaults: `hgb` with the architecture's own hyperparameter defaults.
    """

    architecture: str = "hgb"
    hyperparameters: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_and_valid(self) -> ModelSelection:
        try:
            architecture = _known_architecture(self.architecture)
            typed = _typed_hyperparameters(architecture, self.hyperparameters)
        except ArchitectureError as error:
            raise ValueError(str(error)) from None
        object.__setattr__(self, "hyperparameters", typed)
        return self


class SpotSettings(_Frozen):
    """Managed spot training: off unless an architecture is listed (max wait 60 minutes)."""

    architectures: tuple[str, ...] = ()
    max_wait_minutes: int = Field(default=60, ge=1, le=MAX_SPOT_WAIT_SECONDS // 60)

    @field_validator("architectures")
    @classmethod
    def _spot_capable(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _known_architecture(name).spot:
                raise ValueError(
                    f"{name!r} does not declare spot support (no checkpoint resume); "
                    "spot-capable: "
                    + ", ".join(n for n, a in sorted(architectures().items()) if a.spot)
                )
        return value


class MlSettings(_Frozen):
    """SageMaker jobs: instance types, step-cache expiry, container version, optional VPC."""

    cache_expiry: str = Field(default="P30D", pattern=_ISO_DURATION)
    processing_instance_type: Annotated[str, _job_instance_type("processing")] = "ml.m5.xlarge"
    training_instance_type: Annotated[str, _job_instance_type("training")] = "ml.m5.xlarge"
    transform_instance_type: Annotated[str, _job_instance_type("transform")] = "ml.m5.xlarge"
    sklearn_version: str = Field(default="1.9-0", pattern=SKLEARN_VERSION.pattern)
    operating_threshold: float = Field(default=0.5, gt=0, lt=1)
    inference_file_mb: int = Field(default=64, ge=1, le=100)
    predictions_table: str = Field(
        default="ml.package_type_predictions", pattern=r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$"
    )
    extra_architectures: tuple[str, ...] = Field(
        default=(),
        description="architectures deployed for every package type besides its configured one",
    )
    spot: SpotSettings = SpotSettings()
    subnets: tuple[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")], ...] = ()
    security_groups: tuple[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")], ...] = ()

    @field_validator("extra_architectures")
    @classmethod
    def _extras_exist(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            _known_architecture(name)
        return value

    @model_validator(mode="after")
    def _vpc_is_complete(self) -> MlSettings:
        check_vpc(self.subnets, self.security_groups)
        return self


class DeviationAlarms(_Frozen):
    """Alarm bounds on the gate's published deviations (looser than the gate: a trend alarm)."""

    score_drop: float = Field(default=0.05, ge=0, le=1)
    label_shift: float = Field(default=0.2, ge=0, le=1)
    label_count_change: float = Field(default=1.0, ge=0, le=100)
    input_size_change: float = Field(default=1.0, ge=0, le=100)


_Rate = Annotated[float, Field(ge=0, le=1)]


def _quality_columns(value: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(value) - set(dq_contract.QUALITY_COLUMNS))
    if unknown:
        raise ValueError(
            f"unknown column(s) {', '.join(unknown)}; must be raw feature columns: "
            + ", ".join(dq_contract.QUALITY_COLUMNS)
            + ', e.g. {"price": 0.2}'
        )
    return value


QualityColumnRates = Annotated[dict[str, _Rate], AfterValidator(_quality_columns)]


class DataQualityBounds(_Frozen):
    """One package type's overrides of the data-quality bounds (every field optional)."""

    min_rows_training: int | None = Field(default=None, ge=1)
    min_rows_inference: int | None = Field(default=None, ge=1)
    max_null_rate: float | None = Field(default=None, ge=0, le=1)
    null_rates: QualityColumnRates | None = None
    max_invalid_rate: float | None = Field(default=None, ge=0, le=1)
    max_duplicate_ids: int | None = Field(default=None, ge=0)


class DataQualitySettings(_Frozen):
    """Checks on every extract before anything is trained or scored (`pipeline_defs/steps/
    quality_checks.py`, `quality_counter.py`, bounds in `profile_limits.py`): at least 500
    labelled rows to train and 1 to score, at most 5 % nulls per raw column, 1 % of values
    out of range (negative sizes, weights or prices; fragility outside 0-3), no duplicate
    product ids."""

    min_rows_training: int = Field(default=dq_contract.DEFAULT_MIN_ROWS_TRAINING, ge=1)
    min_rows_inference: int = Field(default=dq_contract.DEFAULT_MIN_ROWS_INFERENCE, ge=1)
    max_null_rate: float = Field(default=dq_contract.DEFAULT_MAX_NULL_RATE, ge=0, le=1)
    null_rates: QualityColumnRates = Field(
        default_factory=dict, description="per raw column null-rate bounds over max_null_rate"
    )
    max_invalid_rate: float = Field(default=dq_contract.DEFAULT_MAX_INVALID_RATE, ge=0, le=1)
    max_duplicate_ids: int = Field(default=dq_contract.DEFAULT_MAX_DUPLICATE_IDS, ge=0)
    by_package_type: dict[str, DataQualityBounds] = Field(default_factory=dict)

    def bounds_json(self, package_type: str, *, training: bool) -> str:
        """The steps' `--quality-bounds` of one package type (its overrides applied)."""
        values = _with_overrides(self, package_type)
        return dq_contract.quality_bounds_json(
            min_rows=values["min_rows_training" if training else "min_rows_inference"],
            max_null_rate=values["max_null_rate"],
            null_rates=values["null_rates"],
            max_invalid_rate=values["max_invalid_rate"],
            max_duplicate_ids=values["max_duplicate_ids"],
        )


DriftAction = dq_contract.DriftAction
"""`pkgml_contracts.data_quality.DRIFT_ACTIONS`."""


class DriftPolicy(_Frozen):
    """One package type's overrides of the drift policy (every field optional)."""

    action: DriftAction | None = None
    psi_limit: float | None = Field(default=None, gt=0, le=10)
    psi_moderate: float | None = Field(default=None, gt=0, le=10)
    category_distance_limit: float | None = Field(default=None, gt=0, le=1)
    min_rows: int | None = Field(default=None, ge=1)


class DriftSettings(_Frozen):
    """Input drift of each inference batch against the champion's training baseline:
    `warn` loads and alarms, `block` keeps the previous predictions and alarms. Limits:
    PSI 0.25 per feature (0.1 reports a moderate shift), total variation 0.2 per
    categorical feature, judged from 1,000 rows."""

    action: DriftAction = dq_contract.DEFAULT_DRIFT_ACTION
    psi_limit: float = Field(default=dq_contract.DEFAULT_PSI_LIMIT, gt=0, le=10)
    psi_moderate: float = Field(
        default=dq_contract.DEFAULT_PSI_MODERATE,
        gt=0,
        le=10,
        description="above it (and within psi_limit) a feature shifted moderately: reported",
    )
    category_distance_limit: float = Field(
        default=dq_contract.DEFAULT_CATEGORY_DISTANCE_LIMIT, gt=0, le=1
    )
    min_rows: int = Field(default=dq_contract.DEFAULT_DRIFT_MIN_ROWS, ge=1)
    by_package_type: dict[str, DriftPolicy] = Field(default_factory=dict)

    def for_package_type(self, package_type: str) -> dict[str, Any]:
        """Effective policy of one package type: its overrides on top of the defaults."""
        return _with_overrides(self, package_type)

    def limits_json(self, package_type: str) -> str:
        """load.py's `--drift-limits` of one package type."""
        policy = self.for_package_type(package_type)
        return dq_contract.drift_limits_json(
            psi=policy["psi_limit"],
            category_distance=policy["category_distance_limit"],
            min_rows=policy["min_rows"],
            psi_moderate=policy["psi_moderate"],
        )

    @model_validator(mode="after")
    def _moderate_below_limit(self) -> DriftSettings:
        for package_type in (None, *self.by_package_type):
            policy = self.for_package_type(package_type) if package_type else self.model_dump()
            if policy["psi_moderate"] > policy["psi_limit"]:
                where = f" (package type {package_type})" if package_type else ""
                raise ValueError(
                    f"psi_moderate {policy['psi_moderate']} must be at most psi_limit "
                    f"{policy['psi_limit']}{where}, e.g. 0.1 and 0.25"
                )
        return self


class MonitoringSettings(_Frozen):
    """Alarms and dashboard; defaults: alarm after 7 days without a successful training run
    per package type, or 2 rejections in a row; a dashboard per environment."""

    missing_training_days: int = Field(default=7, ge=1, le=7)
    max_consecutive_rejections: int = Field(default=2, ge=1, le=20)
    deviation_alarms: DeviationAlarms = DeviationAlarms()
    drift: DriftSettings = DriftSettings()
    dashboard: bool = True


_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class NotificationSettings(_Frozen):
    """Who hears about what: e-mail subscribers of the alerts and decisions topics (none)."""

    alert_emails: tuple[Annotated[str, Field(pattern=_EMAIL)], ...] = ()
    decision_emails: tuple[Annotated[str, Field(pattern=_EMAIL)], ...] = ()
    https_endpoint: str | None = Field(default=None, pattern=r"^https://[^\s]+$")


class EnvironmentSettings(_Frozen):
    """One deployment target (an AWS account + region) and its settings."""

    name: str
    account: AccountId
    region: Region
    removal_policy: Literal["retain", "destroy"] = Field(
        default="retain",
        description="what happens to buckets and the key when the stack is deleted",
    )
    data: DataSettings = DataSettings()
    redshift: RedshiftSettings
    schedules: SchedulesSettings = SchedulesSettings()
    trigger: TriggerSettings = TriggerSettings()
    notifications: NotificationSettings = NotificationSettings()
    ml: MlSettings = MlSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    gate: GateSettings = GateSettings()
    data_quality: DataQualitySettings = DataQualitySettings()
    models: dict[str, ModelSelection] = Field(default_factory=dict)

    def model_for(self, package_type: str) -> ModelSelection:
        """The package type's configured model (`models.<type>`, else hgb with defaults)."""
        return self.models.get(package_type, ModelSelection())

    def deployed_architectures(self, package_type: str) -> tuple[str, ...]:
        """Architectures with a training pipeline for `package_type`: configured one first."""
        configured = self.model_for(package_type).architecture
        extras = sorted(set(self.ml.extra_architectures) - {configured})
        return (configured, *extras)

    @model_validator(mode="after")
    def _prod_is_retained(self) -> EnvironmentSettings:
        if self.name == "prod" and self.removal_policy != "retain":
            raise ValueError(
                "removal_policy: prod must keep its data; accepted value for prod is 'retain'"
            )
        return self

    @property
    def is_production(self) -> bool:
        """True for the production environment (data is always retained)."""
        return self.name == "prod"


class CicdSettings(_Frozen):
    """The CI/CD pipeline in the tooling account: source connection, branch, checks."""

    enabled: bool = True
    connection_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:"
        r"connection/[0-9a-f-]{36}$"
    )
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    branch: str = Field(default="main", pattern=r"^[A-Za-z0-9._/-]{1,100}$")
    post_deploy_checks: bool = True


class AppSettings(_Frozen):
    """Everything the app needs, validated once."""

    project: str = Field(min_length=2, max_length=16)
    package_types: tuple[str, ...] = Field(min_length=1, max_length=20)
    tooling: AccountRef
    cicd: CicdSettings
    environments: tuple[EnvironmentSettings, ...]

    @field_validator("project")
    @classmethod
    def _project_name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError("must be lowercase letters, digits and single hyphens, e.g. 'pkgml'")
        return value

    @field_validator("package_types")
    @classmethod
    def _package_type_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            check_package_type(name)
            if name == NOTIFIER or name.startswith(f"{NOTIFIER}-"):
                raise ValueError(
                    f"must not be {NOTIFIER!r} or start with '{NOTIFIER}-': the notifier's "
                    f"own alarms are named <project>-<env>-{NOTIFIER}-... and a package "
                    f"type's would read as theirs, e.g. 'mailer' (got {name!r})"
                )
        duplicates = sorted({n for n in value if value.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate package types: {', '.join(duplicates)}")
        return value

    @model_validator(mode="after")
    def _gate_overrides_name_known_package_types(self) -> AppSettings:
        for env in self.environments:
            for key, overrides in (
                ("gate.by_package_type", env.gate.by_package_type),
                ("data_quality.by_package_type", env.data_quality.by_package_type),
                ("monitoring.drift.by_package_type", env.monitoring.drift.by_package_type),
                ("models", env.models),
            ):
                unknown = sorted(set(overrides) - set(self.package_types))
                if unknown:
                    raise ValueError(
                        f"environments.{env.name}.{key}: unknown package type(s) "
                        f"{', '.join(unknown)}; configured: {', '.join(self.package_types)}"
                    )
        return self

    def environment(self, name: str) -> EnvironmentSettings:
        """The named environment; ConfigError listing the known names otherwise."""
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(e.name for e in self.environments)
        raise ConfigError(f"unknown environment {name!r}; known environments: {known}")


# ---------------------------------------------------------------- loading


_TOP_LEVEL_KEYS = ("project", "package_types", "tooling", "cicd", "defaults", "environments")


def _parse_override_value(raw: Any) -> Any:
    """`-c` values arrive as strings; lists and objects are JSON, scalars stay strings.

    Scalars are left to the typed models, which accept "30" for an integer and
    "false" for a boolean, and keep an account id with a leading zero a string.
    """
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"value {raw!r} looks like JSON but does not parse: {exc}") from exc
    return raw


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _split_context(context: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate whole-document keys from dotted single-key overrides; reject unknown keys."""
    document: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    for key, value in context.items():
        if key.startswith(_CDK_KEY_PREFIXES):
            continue
        head = key.split(".", 1)[0]
        if head not in _TOP_LEVEL_KEYS:
            raise ConfigError(
                f"{key}: unknown configuration key"
                + (
                    did_you_mean(head, _TOP_LEVEL_KEYS)
                    or f"; top-level keys are {', '.join(_TOP_LEVEL_KEYS)}"
                )
            )
        if "." in key:
            overrides[key] = value
        else:
            document[key] = _parse_override_value(value)
    return document, overrides


def _apply_override(document: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    if any(not p for p in parts):
        raise ConfigError(f"{key}: empty segment in key path; use e.g. 'defaults.data.x=1'")
    if parts[0] == "environments":
        known = document.get("environments") or {}
        if parts[1] not in known:
            raise ConfigError(
                f"{key}: unknown environment {parts[1]!r}"
                + (
                    did_you_mean(parts[1], known)
                    or f"; known environments: {', '.join(known) or '(none)'} "
                    "(add a new environment in cdk.json)"
                )
            )
    node = document
    for index, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            path = ".".join(parts[: index + 1])
            raise ConfigError(f"{key}: {path} is a single value, not a group of settings")
        node = child
    node[parts[-1]] = _parse_override_value(value)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the closest of `choices`, or '' when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """The settings model that holds the key at pydantic error location `loc`."""
    model: type[BaseModel] | None = AppSettings
    annotation: Any = None
    for part in loc[:-1]:
        if model is not None and isinstance(part, str) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
        elif model is None and annotation is not None:  # a list index or a dict key
            annotation = _item_type(annotation)
        else:
            return None
        model = _model_in(annotation)
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel `annotation` is (also inside Optional), else None."""
    candidates = (
        typing.get_args(annotation)
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is Union
        else (annotation,)
    )
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _item_type(annotation: Any) -> Any:
    """The item type of tuple[X, ...] / list[X] / dict[K, X] (None for anything else)."""
    args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
    if not args:
        return None
    origin = typing.get_origin(annotation)
    return args[-1] if origin in (dict, Mapping) or origin is typing.Mapping else args[0]


def _example(loc: Sequence[Any]) -> str:
    """', e.g. <the key's default>' when the key has a plain default, else ''."""
    model = _model_at(loc)
    if model is None or not loc or loc[-1] not in model.model_fields:
        return ""
    default = model.model_fields[loc[-1]].default
    if isinstance(default, bool | int | float | str) and default is not PydanticUndefined:
        return f", e.g. {json.dumps(default)}"
    return ""


# pydantic error type -> what the value must be (the project's "must be ..." form).
_MUST_BE = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text in quotes",
    "greater_than_equal": "at least {ge}",
    "greater_than": "more than {gt}",
    "less_than_equal": "at most {le}",
    "less_than": "less than {lt}",
    "literal_error": "one of {expected}",
}


def _message(err: Any) -> str:
    """One error in the project's words: unknown keys with a suggestion, types and ranges
    as "must be ..., e.g. <default>", the validators' own messages as they are."""
    loc = list(err["loc"])
    if err["type"] == "extra_forbidden":
        model = _model_at(loc)
        known = model.model_fields if model is not None else ()
        hint = did_you_mean(str(loc[-1]), known) if loc else ""
        return "unknown key" + (
            hint or " (check the spelling against the README's configuration table)"
        )
    if err["type"] == "missing":
        return "required key is missing"
    form = _MUST_BE.get(err["type"])
    if form is not None:
        return "must be " + form.format(**err.get("ctx", {})) + _example(loc)
    return str(err["msg"]).removeprefix("Value error, ")


def _format_errors(exc: ValidationError, origin: Mapping[str, str]) -> str:
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        key = _key_for([str(p) for p in err["loc"]], origin)
        message = _message(err)
        shown_input = err.get("input")
        if err["type"] not in ("missing", "extra_forbidden") and not isinstance(
            shown_input, (dict, list, tuple)
        ):
            shown = json.dumps(err["input"], default=str)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            message = f"{message} (got {shown})"
        line = message if key == "(root)" else f"{key}: {message}"
        if line not in lines:  # a `defaults` key is checked once per environment
            lines.append(line)
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _key_for(loc: list[str], origin: Mapping[str, str]) -> str:
    """The configuration key a pydantic error location refers to, as the user wrote it."""
    dotted = ".".join(loc)
    if dotted in origin:
        return origin[dotted]
    if len(loc) >= 2 and loc[0] == "environments":
        name = origin.get(f"#env.{loc[1]}", loc[1])
        return ".".join(["environments", name, *loc[2:]])
    return dotted or "(root)"


def _environment_documents(
    document: Mapping[str, Any],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Per-environment documents (defaults deep-merged) and an error-location -> key map."""
    defaults = document.get("defaults") or {}
    envs = document.get("environments")
    if not isinstance(defaults, Mapping):
        raise ConfigError("defaults: must be an object of per-environment settings")
    if not isinstance(envs, Mapping) or not envs:
        raise ConfigError(
            "environments: required; an object like "
            '{"dev": {"account": "...", "region": "..."}, "prod": {...}}'
        )
    missing = [name for name in REQUIRED_ENVIRONMENTS if name not in envs]
    if missing:
        raise ConfigError(f"environments: missing {', '.join(missing)}; dev and prod are required")
    result: list[dict[str, Any]] = []
    origin: dict[str, str] = {}
    for index, (name, block) in enumerate(envs.items()):
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or len(name) > 8:
            raise ConfigError(
                f"environments.{name}: environment names are 1-8 lowercase letters/digits"
            )
        if not isinstance(block, Mapping):
            raise ConfigError(f"environments.{name}: must be an object with account and region")
        if "name" in block:
            raise ConfigError(f"environments.{name}.name: unknown key (the name is the map key)")
        merged = _deep_merge(defaults, block)
        merged["name"] = name
        result.append(merged)
        for path in _leaf_paths(merged):
            source = "environments." + name if _has_path(block, path) else "defaults"
            origin[f"environments.{index}.{path}"] = f"{source}.{path}"
        origin[f"#env.{index}"] = name
    return result, origin


def _leaf_paths(node: Mapping[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in node.items():
        path = f"{prefix}{key}"
        paths.append(path)
        if isinstance(value, Mapping):
            paths.extend(_leaf_paths(value, path + "."))
    return paths


def _has_path(node: Mapping[str, Any], path: str) -> bool:
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The `context` block of cdk.json, as the CDK CLI passes it without `-c` flags.

    Here (not in the app factory) so tools read configuration without importing aws_cdk.
    """
    try:
        return dict(json.loads(path.read_text(encoding="utf-8"))["context"])
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read the configuration from {path}: {exc}") from None


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`key=value` strings (as with `cdk synth -c key=value`) -> {key: value}."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{pair!r}: expected key=value, e.g. project=pkgml")
        overrides[key.strip()] = value
    return overrides


def load_settings(context: Mapping[str, Any]) -> AppSettings:
    """Validate CDK context (cdk.json + `-c` overrides) into `AppSettings`; ConfigError if bad."""
    document, overrides = _split_context(context)
    document = copy.deepcopy(document)
    for key in sorted(overrides):
        _apply_override(document, key, overrides[key])
    env_documents, origin = _environment_documents(document)
    candidate = {
        "project": document.get("project"),
        "package_types": document.get("package_types"),
        "tooling": document.get("tooling"),
        "cicd": document.get("cicd"),
        "environments": env_documents,
    }
    if isinstance(candidate["package_types"], str):
        candidate["package_types"] = [p.strip() for p in candidate["package_types"].split(",")]
    try:
        return AppSettings.model_validate({k: v for k, v in candidate.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, origin)) from None
