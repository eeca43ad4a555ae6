"""The one naming function set shared by stacks, pipelines, the trigger and the ops tools.

Names are derived, never typed by hand, so a pipeline and the Lambda that
starts it cannot disagree.
"""

from __future__ import annotations

from typing import Literal

PipelineKind = Literal["training", "inference"]
RunKind = Literal["training", "inference-daily", "inference-monthly"]

RUN_KINDS: tuple[RunKind, ...] = ("training", "inference-daily", "inference-monthly")

_PIPELINE_FOR_RUN: dict[RunKind, PipelineKind] = {
    "training": "training",
    "inference-daily": "inference",
    "inference-monthly": "inference",
}


# The qualifier `cdk bootstrap` uses by default: it names the bootstrap bucket and roles.
BOOTSTRAP_QUALIFIER = "hnb659fds"


def resource_prefix(project: str, environment: str) -> str:
    """Prefix of every named resource of one environment, e.g. 'pkgml-dev'."""
    return f"{project}-{environment}"


def bucket_name(project: str, environment: str, purpose: str, account: str, region: str) -> str:
    """Globally unique, predictable bucket name, e.g. 'pkgml-dev-data-123456789012-us-east-1'."""
    name = f"{resource_prefix(project, environment)}-{purpose}-{account}-{region}"
    if len(name) > 63:
        raise ValueError(f"bucket name {name!r} is longer than 63 characters; shorten project")
    return name


def pipeline_name(project: str, environment: str, kind: PipelineKind, package_type: str) -> str:
    """SageMaker pipeline name, e.g. 'pkgml-dev-mailer-training'."""
    return f"{resource_prefix(project, environment)}-{package_type}-{kind}"


def training_pipeline_name(
    project: str, environment: str, package_type: str, architecture: str, configured: str
) -> str:
    """Training pipeline of one deployed architecture of a package type.

    The configured architecture trains in the package type's own pipeline
    ('pkgml-dev-mailer-training', what the schedule starts); any other deployed one in
    'pkgml-dev-mailer-training-<architecture>', which a run file may choose.
    """
    base = pipeline_name(project, environment, "training", package_type)
    return base if architecture == configured else f"{base}-{architecture}"


def architecture_pipelines(
    project: str, environment: str, deployed: dict[str, tuple[str, ...]]
) -> dict[str, dict[str, str]]:
    """{package type: {architecture: training pipeline}}; `deployed` lists the configured
    architecture of each package type first."""
    return {
        package_type: {
            architecture: training_pipeline_name(
                project, environment, package_type, architecture, names[0]
            )
            for architecture in names
        }
        for package_type, names in deployed.items()
    }


def pipeline_for_run(run_kind: RunKind) -> PipelineKind:
    """Which pipeline a run kind starts: daily and monthly inference share one pipeline."""
    return _PIPELINE_FOR_RUN[run_kind]


def model_package_group_name(project: str, environment: str, package_type: str) -> str:
    """Model Registry group of one package type, e.g. 'pkgml-dev-mailer'."""
    return f"{resource_prefix(project, environment)}-{package_type}"


def pipelines_by_run_kind(
    project: str, environment: str, package_types: tuple[str, ...]
) -> dict[str, dict[str, str]]:
    """{run kind: {package type: pipeline name}}, the trigger's routing table."""
    return {
        run_kind: {
            package_type: pipeline_name(
                project, environment, pipeline_for_run(run_kind), package_type
            )
            for package_type in package_types
        }
        for run_kind in RUN_KINDS
    }


class DataPrefixes:
    """Key layout of the data bucket (each ends with '/')."""

    UNLOAD = "unload/"  # Redshift UNLOAD output: unload/<dataset>/<run_id>/
    RUNS = "runs/"  # run files: runs/<kind>/<run_id>.json
    QUARANTINE = "quarantine/"  # rejected run files and their error reports
    TRIGGER_STATE = "trigger-state/"  # the trigger's de-duplication claims
    EXTRACT_STATE = "extract-state/"  # in-flight UNLOAD statements
    PREDICTIONS = "predictions/"  # batch transform output for the Redshift load


class ArtifactPrefixes:
    """Key layout of the artifacts bucket (each ends with '/')."""

    CODE = "code/"  # content-addressed step code: code/<sha256>/
    PIPELINES = "pipelines/"  # pipeline step outputs, per execution
    MODELS = "models/"  # training job output
