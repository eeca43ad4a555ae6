"""The naming functions the stacks use; the rules live in `pkgml_contracts.names`.

Names are derived, never typed by hand, so a pipeline and the Lambda that starts it (or
the notify Lambda and the ops CLI that read it back) cannot disagree. Run kinds and which
pipeline each starts are `pkgml_contracts.runs`.
"""

from __future__ import annotations

from pkgml_contracts.names import (
    ArtifactPrefixes,
    DataPrefixes,
    bucket_name,
    model_package_group_name,
    pipeline_name,
    resource_prefix,
    training_pipeline_name,
)
from pkgml_contracts.runs import RUN_KINDS, PipelineKind, RunKind, pipeline_for_run

__all__ = [
    "BOOTSTRAP_QUALIFIER",
    "RUN_KINDS",
    "ArtifactPrefixes",
    "DataPrefixes",
    "PipelineKind",
    "RunKind",
    "architecture_pipelines",
    "bucket_name",
    "model_package_group_name",
    "pipeline_for_run",
    "pipeline_name",
    "pipelines_by_run_kind",
    "resource_prefix",
    "training_pipeline_name",
]

# The qualifier `cdk bootstrap` uses by default: it names the bootstrap bucket and roles.
BOOTSTRAP_QUALIFIER = "hnb659fds"


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
