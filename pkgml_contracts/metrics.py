"""The pipelines' CloudWatch metrics: the gate's, and what inference loaded.

The Compare step publishes them (`pipeline_defs/steps/compare.py`); the monitoring stack's
alarms and dashboard read them, and the pipelines' execution role may put data only into
this namespace. Every datum carries both dimensions, so a reader must name both.
"""

from __future__ import annotations

from typing import Final

from pkgml_contracts.gate import DEVIATIONS

GATE_NAMESPACE: Final = "PackagingML/Gate"

PACKAGE_TYPE: Final = "PackageType"
MODEL_PACKAGE_GROUP: Final = "ModelPackageGroup"
DIMENSIONS: Final = (PACKAGE_TYPE, MODEL_PACKAGE_GROUP)

SCORE_DROP: Final = "ScoreDrop"
LABEL_SHIFT: Final = "LabelShift"
LABEL_COUNT_CHANGE: Final = "LabelCountChange"
INPUT_SIZE_CHANGE: Final = "InputSizeChange"
CHALLENGER_SCORE: Final = "ChallengerScore"
CHAMPION_SCORE: Final = "ChampionScore"
"""The champion's score the gate compared with: on the same rows when it measured that,
else the champion's stored score; not published when there is no champion."""
APPROVED: Final = "Approved"
"""1 for an approved challenger, 0 for a rejected one."""
CONSECUTIVE_REJECTIONS: Final = "ConsecutiveRejections"
"""Rejected versions since the newest Approved one, this decision included (0 if approved)."""

DEVIATION_METRICS: Final[dict[str, str]] = {
    "score_drop": SCORE_DROP,
    "label_shift": LABEL_SHIFT,
    "label_count_change": LABEL_COUNT_CHANGE,
    "input_size_change": INPUT_SIZE_CHANGE,
}
"""decision.json deviation (`pkgml_contracts.gate.DEVIATIONS`) -> its metric."""

METRIC_NAMES: Final = (
    *(DEVIATION_METRICS[d] for d in DEVIATIONS),
    CHALLENGER_SCORE,
    CHAMPION_SCORE,
    APPROVED,
    CONSECUTIVE_REJECTIONS,
)
"""Every metric of the namespace, in the order the gate publishes them."""


def dimensions(package_type: str, model_package_group: str) -> dict[str, str]:
    """{dimension name: value} of one package type's gate metrics."""
    return {PACKAGE_TYPE: package_type, MODEL_PACKAGE_GROUP: model_package_group}


def dimension_list(package_type: str, model_package_group: str) -> list[dict[str, str]]:
    """The same dimensions as PutMetricData's `Dimensions` ([{"Name", "Value"}])."""
    return [
        {"Name": name, "Value": value}
        for name, value in dimensions(package_type, model_package_group).items()
    ]


INFERENCE_NAMESPACE: Final = "PackagingML/Inference"
RUN_KIND: Final = "RunKind"
INFERENCE_DIMENSIONS: Final = (PACKAGE_TYPE, RUN_KIND)
PREDICTIONS_LOADED: Final = "PredictionsLoaded"
"""Rows an inference run inserted into the predictions table (the Load step publishes it
once per run that commits; dimensions PackageType and RunKind)."""

MAX_FEATURE_PSI: Final = "MaxFeaturePSI"
"""The largest population stability index of any feature of an inference run's batch
against the champion's training baseline (the Load step, when drift was measured)."""
DRIFTED_FEATURES: Final = "DriftedFeatures"
"""Features of the batch over their drift limit, the predicted score counted as one when
it was judged (0 when none drifted)."""
DRIFT_BLOCKED: Final = "DriftBlocked"
"""1 when the drift policy `block` kept the batch out of the table, else 0."""
FEATURE_PSI: Final = "FeaturePSI"
"""PSI of one of the run's most drifted features; dimensions PackageType, RunKind, Feature."""
FEATURE: Final = "Feature"
SCORE_PSI: Final = "ScorePSI"
"""PSI of the run's predicted scores against the champion's validation scores."""

DRIFT_METRIC_NAMES: Final = (
    MAX_FEATURE_PSI,
    DRIFTED_FEATURES,
    DRIFT_BLOCKED,
    FEATURE_PSI,
    SCORE_PSI,
)
"""What the Load step publishes about drift (namespace INFERENCE_NAMESPACE)."""

PIPELINE_NAMESPACE: Final = "AWS/Sagemaker/ModelBuildingPipeline"
"""SageMaker Pipelines' own metrics (ExecutionFailed, ExecutionSucceeded, ...; PipelineName):
what the monitoring alarms on and the notifier recognises in an alarm."""

NAMESPACES: Final = (GATE_NAMESPACE, INFERENCE_NAMESPACE)
"""Every namespace the pipelines publish into (their role may put data only there)."""


def inference_dimensions(package_type: str, run_kind: str) -> dict[str, str]:
    """{dimension name: value} of one package type's and run kind's inference metrics."""
    return {PACKAGE_TYPE: package_type, RUN_KIND: run_kind}
