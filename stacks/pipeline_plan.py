"""Which SageMaker pipelines one environment deploys, and each one's builder inputs.

A pure function of the settings (no constructs), so the app can start building the
definitions it will need before the first stack exists (`build_app`), and `MlStack`
composes the same list into `CfnPipeline` resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline_defs.architectures import architectures
from pipeline_defs.inputs import (
    GateDefaults,
    InferencePipelineInputs,
    RedshiftTarget,
    TrainingPipelineInputs,
)
from stacks.naming import model_package_group_name, pipeline_name, training_pipeline_name
from stacks.pipeline_definitions import PipelineKind, start
from stacks.settings import AppSettings, EnvironmentSettings


@dataclass(frozen=True)
class PlannedPipeline:
    """One pipeline of an environment: what `MlStack` creates and what the builder needs."""

    package_type: str
    configured_architecture: str  # the package type's production architecture
    kind: PipelineKind
    construct_id: str
    inputs: TrainingPipelineInputs | InferencePipelineInputs
    description: str


def _training_settings(environment: EnvironmentSettings, gate: dict[str, Any]) -> dict[str, Any]:
    """What every training pipeline of one package type shares, whatever its architecture."""
    ml = environment.ml
    return {
        "cache_expiry": ml.cache_expiry,
        "processing_instance_type": ml.processing_instance_type,
        "training_instance_type": ml.training_instance_type,
        "transform_instance_type": ml.transform_instance_type,
        "sklearn_version": ml.sklearn_version,
        "gate": GateDefaults(
            max_score_drop=gate["max_score_drop"],
            min_score=gate["min_score"],
            max_label_shift=gate["max_label_shift"],
            max_label_count_change=gate["max_label_count_change"],
            max_input_size_change=gate["max_input_size_change"],
            comparison=gate["comparison"],
        ),
        "subnets": ml.subnets,
        "security_groups": ml.security_groups,
        "operating_threshold": ml.operating_threshold,
    }


def plan_pipelines(
    project: str, package_types: tuple[str, ...], environment: EnvironmentSettings
) -> list[PlannedPipeline]:
    """Per package type: a training pipeline per deployed architecture, then inference."""
    env_name = environment.name
    ml = environment.ml
    redshift = environment.redshift
    known = architectures()
    planned: list[PlannedPipeline] = []
    for package_type in package_types:
        group = model_package_group_name(project, env_name, package_type)
        gate = environment.gate.for_package_type(package_type)
        model = environment.model_for(package_type)
        drift = environment.monitoring.drift.for_package_type(package_type)
        for architecture in environment.deployed_architectures(package_type):
            inputs = TrainingPipelineInputs(
                region=environment.region,
                environment=env_name,
                package_type=package_type,
                pipeline_name=training_pipeline_name(
                    project, env_name, package_type, architecture, model.architecture
                ),
                model_package_group=group,
                architecture=known[architecture],
                hyperparameter_defaults=(
                    tuple(sorted(model.hyperparameters.items()))
                    if architecture == model.architecture
                    else ()
                ),
                spot=architecture in ml.spot.architectures,
                spot_max_wait_seconds=ml.spot.max_wait_minutes * 60,
                quality_bounds=environment.data_quality.bounds_json(package_type, training=True),
                **_training_settings(environment, gate),
            )
            suffix = "" if architecture == model.architecture else f"-{architecture}"
            planned.append(
                PlannedPipeline(
                    package_type=package_type,
                    configured_architecture=model.architecture,
                    kind="training",
                    construct_id=f"Pipeline-{package_type}-training{suffix}",
                    inputs=inputs,
                    description=f"training ({architecture}) for package type '{package_type}'",
                )
            )
        planned.append(
            PlannedPipeline(
                package_type=package_type,
                configured_architecture=model.architecture,
                kind="inference",
                construct_id=f"Pipeline-{package_type}-inference",
                inputs=InferencePipelineInputs(
                    region=environment.region,
                    environment=env_name,
                    package_type=package_type,
                    pipeline_name=pipeline_name(project, env_name, "inference", package_type),
                    model_package_group=group,
                    cache_expiry=ml.cache_expiry,
                    processing_instance_type=ml.processing_instance_type,
                    transform_instance_type=ml.transform_instance_type,
                    sklearn_version=ml.sklearn_version,
                    target_file_mb=ml.inference_file_mb,
                    redshift=RedshiftTarget(
                        cluster_identifier=redshift.cluster_identifier,
                        workgroup=redshift.workgroup,
                        database=redshift.database,
                        secret_arn=redshift.secret_arn,
                        db_user=redshift.db_user,
                        target_table=ml.predictions_table,
                    ),
                    subnets=ml.subnets,
                    security_groups=ml.security_groups,
                    quality_bounds=environment.data_quality.bounds_json(
                        package_type, training=False
                    ),
                    drift_action=drift["action"],
                    drift_limits=environment.monitoring.drift.limits_json(package_type),
                ),
                description=f"inference for package type '{package_type}'",
            )
        )
    return planned


def start_definitions(settings: AppSettings) -> None:
    """Start building, in the background, the definitions of every environment's
    pipelines that the cache lacks (`stacks.pipeline_definitions.start`)."""
    start(
        [
            (plan.kind, plan.inputs)
            for environment in settings.environments
            for plan in plan_pipelines(settings.project, settings.package_types, environment)
        ]
    )
