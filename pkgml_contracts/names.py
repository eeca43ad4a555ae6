"""Resource names and key layouts: built by the stacks, parsed by whoever receives them.

Names are derived, never typed by hand: the stacks create the pipelines and groups under
these names, the trigger starts them, the ops CLI and the notify Lambda find and read
them back. Everything an environment owns starts with `<project>-<environment>-`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from pkgml_contracts.runs import PIPELINE_KINDS, PipelineKind


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


def model_package_group_name(project: str, environment: str, package_type: str) -> str:
    """Model Registry group of one package type, e.g. 'pkgml-dev-mailer'."""
    return f"{resource_prefix(project, environment)}-{package_type}"


# After the prefix: '<package type>-training' (the configured architecture),
# '<package type>-training-<architecture>' (another deployed one), '<package type>-inference'.
# The package type is matched lazily: the first '-training' or '-inference' ends it.
_PIPELINE_SUFFIX: Final = re.compile(
    r"(?P<package>[a-z0-9]+(?:-[a-z0-9]+)*?)-(?P<kind>"
    + "|".join(PIPELINE_KINDS)
    + r")(?:-(?P<architecture>[a-z][a-z0-9-]*))?"
)


@dataclass(frozen=True)
class PipelineName:
    """What a pipeline name says: its package type, kind and, for a training pipeline of an
    architecture other than the configured one, that architecture (else None)."""

    package_type: str
    kind: PipelineKind
    architecture: str | None


def _after_prefix(name: str, prefix: str) -> str | None:
    # ARNs and events carry SageMaker names lowercased; configured names are lowercase.
    lowered = name.lower()
    return lowered[len(prefix) + 1 :] if lowered.startswith(f"{prefix}-") else None


def owned(name: str, prefix: str) -> bool:
    """`name` belongs to the environment whose resource prefix is `prefix` (any case)."""
    return _after_prefix(name, prefix) is not None


def parse_pipeline_name(name: str, prefix: str) -> PipelineName | None:
    """The parts of `<prefix>-<package type>-training[-<architecture>]|inference` (any case),
    or None if `name` is not of that form under `prefix`."""
    rest = _after_prefix(name, prefix)
    match = _PIPELINE_SUFFIX.fullmatch(rest) if rest is not None else None
    if match is None:
        return None
    kind: PipelineKind = "training" if match["kind"] == "training" else "inference"
    return PipelineName(
        package_type=match["package"], kind=kind, architecture=match["architecture"]
    )


def parse_group_name(name: str, prefix: str) -> str | None:
    """The package type of model package group `<prefix>-<package type>` (any case), or None."""
    rest = _after_prefix(name, prefix)
    return rest or None


class DataPrefixes:
    """Key layout of the data bucket (each ends with '/')."""

    UNLOAD = "unload/"  # Redshift UNLOAD output: unload/<dataset>/<run_id>/
    RUNS = "runs/"  # run files: runs/<kind>/<run_id>.json
    QUARANTINE = "quarantine/"  # rejected run files and their error reports
    TRIGGER_STATE = "trigger-state/"  # the trigger's de-duplication claims
    EXTRACT_STATE = "extract-state/"  # in-flight UNLOAD statements
    PREDICTIONS = "predictions/"  # batch transform output: predictions/<pipeline>/<RunId>/


class ArtifactPrefixes:
    """Key layout of the artifacts bucket (each ends with '/')."""

    CODE = "code/"  # content-addressed step code: code/<sha256>/
    PIPELINES = "pipelines/"  # step outputs: pipelines/<pipeline>/<RunId>/<step>/<output>/
    MODELS = "models/"  # training job output


def run_file_key(kind: str, run_id: str) -> str:
    """Data bucket key of a run file: runs/<kind>/<run_id>.json."""
    return f"{DataPrefixes.RUNS}{kind}/{run_id}.json"


def pipeline_outputs_prefix(pipeline: str) -> str:
    """Artifacts bucket prefix of a pipeline's step outputs: pipelines/<pipeline> (no '/';
    the RunId follows)."""
    return f"{ArtifactPrefixes.PIPELINES}{pipeline}"


def predictions_prefix(pipeline: str) -> str:
    """Data bucket prefix of an inference pipeline's predictions: predictions/<pipeline>
    (no '/'; the RunId follows)."""
    return f"{DataPrefixes.PREDICTIONS}{pipeline}"
