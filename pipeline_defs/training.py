"""Training pipeline of one package type: split, train, evaluate, gate, register.

```
  InputManifestUri, RunId
          |
  ResolveChampion  (Lambda: the group's Approved champion, its image and inputs, or "none")
          |
        Split ------------------------------------------+---------------+
 (Processing split.py: train/, validation/,             |               |
  validation_features/ CSV, statistics/)                 |               |
          | train, validation                            |               |
  Train step(s) (the architecture's stages,              |               |
   then PackageModel: built-in + serving program)        |               |
          | S3ModelArtifacts                             |               |
     CreateModel  (Model)                                |               |
          | ModelName               validation_features  |               |
   EvaluateTransform  (Transform: id,score lines) <------+               |
          | predictions                      validation                  |
       Evaluate  (Processing evaluate.py) <------------------------------+
          ^ champion's scores of the same rows
     ScoreChampion  (Processing score_champion.py in the champion's own image, on
                     Split's champion_features; "no champion" recorded when none)
          | evaluation.json = PropertyFile "EvaluationReport"            |
       Compare  (Processing compare.py vs the group's Approved champion) |
          | decision.json = PropertyFile "GateDecision"    statistics <--+
         Gate  (Condition: decision == "approve")
         /    \
RegisterApproved  RegisterRejected   (model package, Approved / Rejected)
```

A rejected challenger is registered as Rejected and the execution ends Succeeded: the
gate's verdict is data, not a failure. Every package carries CustomerMetadataProperties
that compare.py reads from the champion (`evaluation_s3_uri`, `statistics_s3_uri`), plus
`run_id`, `decision_s3_uri`, `gate_decision` and the pipeline execution ARN; the reasons
of a rejection are in decision.json (too long for a 256-character property value).

The same-data comparison (issue: a fair gate): the champion scores this week's validation
rows with its own image and serving code, whatever its architecture (ScoreChampion), and
Evaluate adds both models' metrics on those rows and the paired ROC AUC difference with
its DeLong interval; Compare judges the drop on them (`gate.comparison`, default
same_data). ScoreChampion is a Processing job rather than a batch transform because there
may be no champion, and SageMaker Pipelines cannot rejoin after a ConditionStep: a
conditional transform would need Evaluate, Compare and Register twice. It caches by
(champion package, validation rows), so a retried execution does not score again.

Caching: Split, Train, Evaluate (and EvaluateTransform) cache by their arguments for
`cache_expiry`; Compare does not, because its real input, the current champion, lives
outside its arguments. EvaluateTransform rarely hits: CreateModel is not cacheable and
names a new model each execution, and the model name is part of the transform's key.

The Train step(s), their image and their hyperparameter parameters come from the
pipeline's model architecture (`pipeline_defs/architectures/<name>/architecture.json`,
built by `train_steps.py`); the rest of the pipeline is the same for every architecture.
Script-mode programs run from the architecture's code bundle with no tarball: the folder
is a `code` input channel and `sagemaker_submit_directory` names its local path.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pipeline_defs.inference import RESOLVE_OUTPUTS
from pipeline_defs.inputs import TrainingPipelineInputs
from pipeline_defs.placeholders import Placeholders
from pipeline_defs.sdk_session import pipeline_definition, prepare_sdk_environment, sdk_build
from pipeline_defs.step_builders import (
    MAX_PAYLOAD_MB,
    ScriptRun,
    cache_config,
    create_model_step,
    job_options_for,
    job_retry_policies,
    processing_step_args,
    register_model_step,
    s3_output_uri,
    transform_step,
    vpc_config,
)
from pipeline_defs.train_steps import (
    build_train_steps,
    hyperparameter_parameters,
    train_step_names,
)
from pkgml_contracts import gate as gate_contract
from pkgml_contracts.architectures import Architecture

COMMON_PARAMETER_NAMES = (
    "InputManifestUri",
    "RunId",
    "ValidationRatio",
    "TrainingInstanceType",
    "TrainingInstanceCount",  # distributed architectures only
    "TransformInstanceType",
    "TransformInstanceCount",
)
GATE_PARAMETER_NAMES = gate_contract.PARAMETER_NAMES  # MaxScoreDrop, MinScore, ...
AFTER_TRAIN_STEP_NAMES = (
    "CreateModel",
    "EvaluateTransform",
    "Evaluate",
    "Compare",
    "Gate",
    "RegisterApproved",
    "RegisterRejected",
)


def parameter_names(architecture: Architecture) -> tuple[str, ...]:
    """The training pipeline's parameters for `architecture`, in definition order."""
    common = tuple(
        name
        for name in COMMON_PARAMETER_NAMES
        if name != "TrainingInstanceCount" or architecture.distributed
    )
    hyper = tuple(h.parameter_name for h in architecture.hyperparameters)
    return common + hyper + GATE_PARAMETER_NAMES


def step_names(architecture: Architecture) -> tuple[str, ...]:
    """The training pipeline's steps for `architecture`, in document order (a condition
    step's branches follow it: DataQuality's, then Gate's)."""
    return (
        "ResolveChampion",
        "Split",
        "DataQuality",
        "ScoreChampion",
        *train_step_names(architecture),
        "DataQualityFailed",
        *AFTER_TRAIN_STEP_NAMES,
    )


CHAMPION_OUTPUTS = (*RESOLVE_OUTPUTS, "image")
"""ResolveChampion's outputs: Resolve's, plus the champion's serving image."""


EVALUATION_PROPERTY_FILE = "EvaluationReport"
QUALITY_PROPERTY_FILE = "DataQualityReport"
DECISION_PROPERTY_FILE = "GateDecision"

_IN = "/opt/ml/processing/input"
_OUT = "/opt/ml/processing/output"


def build_training_pipeline(inputs: TrainingPipelineInputs) -> str:
    """The training pipeline's definition JSON, offline and deterministic (see module doc)."""
    prepare_sdk_environment(inputs.region)
    from sagemaker.core.lambda_helper import Lambda
    from sagemaker.core.workflow.conditions import ConditionEquals
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import (
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.lambda_step import (
        LambdaOutput,
        LambdaOutputTypeEnum,
        LambdaStep,
    )
    from sagemaker.mlops.workflow.steps import ProcessingStep

    gate = inputs.gate
    manifest_uri = ParameterString(name="InputManifestUri")
    run_id = ParameterString(name="RunId")
    validation_ratio = ParameterFloat(name="ValidationRatio", default_value=0.2)
    training_instance_type = ParameterString(
        name="TrainingInstanceType", default_value=inputs.training_instance_type
    )
    training_instance_count = ParameterInteger(name="TrainingInstanceCount", default_value=1)
    transform_instance_type = ParameterString(
        name="TransformInstanceType", default_value=inputs.transform_instance_type
    )
    transform_instance_count = ParameterInteger(name="TransformInstanceCount", default_value=1)
    architecture = inputs.architecture
    hyperparameters = hyperparameter_parameters(inputs)
    # One parameter per gate criterion, defaulting to the configured limit.
    limits = {
        criterion.name: ParameterFloat(
            name=criterion.parameter, default_value=getattr(gate, criterion.name)
        )
        for criterion in gate_contract.CRITERIA
    }
    parameters: list[Any] = [
        manifest_uri,
        run_id,
        validation_ratio,
        training_instance_type,
        *([training_instance_count] if architecture.distributed else []),
        transform_instance_type,
        transform_instance_count,
        *(parameter for _, parameter in hyperparameters),
        *limits.values(),
    ]

    def out(step: str, output: str) -> Any:
        return s3_output_uri(inputs.pipeline_name, run_id, step, output)

    with sdk_build(inputs.region) as session:
        job_options = job_options_for(inputs, max_runtime_seconds=inputs.max_runtime_seconds)
        cached = cache_config(inputs.cache_expiry)

        # The champion to compare with on the same rows; "none" (and the processing image
        # for ScoreChampion to record that) when the group has no Approved version yet.
        resolve_champion = LambdaStep(
            name="ResolveChampion",
            lambda_func=Lambda(function_arn=Placeholders.RESOLVE_FUNCTION_ARN, session=session),
            inputs={
                "model_package_group": inputs.model_package_group,
                "allow_none": "true",
                "fallback_image": job_options.image_uri,
            },
            outputs=[
                LambdaOutput(output_name=name, output_type=LambdaOutputTypeEnum.String)
                for name in CHAMPION_OUTPUTS
            ],
        )
        champion = resolve_champion.properties.Outputs

        # Built-in algorithms read Split's label-first CSV (the train set in shards).
        split_outputs = (
            "train",
            "validation",
            "validation_features",
            "champion_features",
            "statistics",
            "quality",
            "baseline",
        ) + (("train_csv", "validation_csv") if architecture.mode == "builtin" else ())
        quality_report = PropertyFile(
            name=QUALITY_PROPERTY_FILE, output_name="quality", path="quality.json"
        )
        split = ProcessingStep(
            name="Split",
            step_args=processing_step_args(
                session,
                ScriptRun(
                    script="split.py",
                    inputs=[("manifest", manifest_uri, f"{_IN}/data")],
                    outputs=[
                        (name, out("Split", name), f"{_OUT}/{name}") for name in split_outputs
                    ],
                    arguments=[
                        "--package-type",
                        inputs.package_type,
                        "--validation-ratio",
                        validation_ratio.to_string(),
                        "--input-dir",
                        f"{_IN}/data",
                        "--output-dir",
                        _OUT,
                        # the transform input of a text architecture carries the text column
                        *(["--with-text", "true"] if "text" in architecture.inputs else []),
                        # the champion's rows carry text when the champion reads it
                        "--champion-with-text",
                        champion["with_text"],
                        # checked before anything is written: quality/quality.json
                        "--quality-bounds",
                        inputs.quality_bounds,
                    ],
                ),
                job_options,
            ),
            property_files=[quality_report],
            cache_config=cached,
            retry_policies=job_retry_policies(),
        )

        def split_output(name: str) -> Any:
            return split.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri

        score_champion = ProcessingStep(
            name="ScoreChampion",
            step_args=processing_step_args(
                session,
                ScriptRun(
                    script="score_champion.py",
                    inputs=[
                        (
                            "champion_features",
                            split_output("champion_features"),
                            f"{_IN}/champion_features",
                        )
                    ],
                    outputs=[("champion", out("ScoreChampion", "champion"), f"{_OUT}/champion")],
                    arguments=[
                        "--model-package-arn",
                        champion["model_package_arn"],
                        "--features-dir",
                        f"{_IN}/champion_features",
                        "--output-dir",
                        f"{_OUT}/champion",
                        "--max-payload-mb",
                        str(MAX_PAYLOAD_MB),
                        "--region",
                        inputs.region,
                    ],
                ),
                # the champion's own serving image, whatever its architecture
                dataclasses.replace(job_options, image_uri=champion["image"]),
            ),
            cache_config=cached,
            retry_policies=job_retry_policies(),
        )

        trained = build_train_steps(
            inputs,
            session,
            split_output=split_output,
            out=out,
            instance_type=training_instance_type,
            instance_count=training_instance_count,
            hyperparameters=hyperparameters,
        )
        model_data = trained.model_data
        serving_image, serving_env = trained.image, trained.serving_env

        create_model = create_model_step(
            "CreateModel",
            request={
                "ExecutionRoleArn": Placeholders.ROLE_ARN,
                "PrimaryContainer": {
                    "Image": serving_image,
                    "ModelDataUrl": model_data,
                    "Environment": serving_env,
                },
                "EnableNetworkIsolation": True,
                **vpc_config(inputs.subnets, inputs.security_groups),
            },
        )

        evaluate_transform = transform_step(
            "EvaluateTransform",
            session,
            model_name=create_model.properties.ModelName,
            instance_type=transform_instance_type,
            instance_count=transform_instance_count,
            data=split_output("validation_features"),
            output_path=out("EvaluateTransform", "predictions"),
            cache_expiry=inputs.cache_expiry,
        )

        evaluation_report = PropertyFile(
            name=EVALUATION_PROPERTY_FILE, output_name="evaluation", path="evaluation.json"
        )
        evaluate = ProcessingStep(
            name="Evaluate",
            step_args=processing_step_args(
                session,
                ScriptRun(
                    script="evaluate.py",
                    inputs=[
                        ("validation", split_output("validation"), f"{_IN}/validation"),
                        (
                            "predictions",
                            evaluate_transform.properties.TransformOutput.S3OutputPath,
                            f"{_IN}/predictions",
                        ),
                        (
                            "champion",
                            score_champion.properties.ProcessingOutputConfig.Outputs[
                                "champion"
                            ].S3Output.S3Uri,
                            f"{_IN}/champion",
                        ),
                    ],
                    outputs=[("evaluation", out("Evaluate", "evaluation"), f"{_OUT}/evaluation")],
                    arguments=[
                        "--validation-dir",
                        f"{_IN}/validation",
                        "--predictions-dir",
                        f"{_IN}/predictions",
                        "--champion-dir",
                        f"{_IN}/champion",
                        "--threshold",
                        repr(inputs.operating_threshold),
                        "--output-dir",
                        f"{_OUT}/evaluation",
                    ],
                ),
                job_options,
            ),
            property_files=[evaluation_report],
            cache_config=cached,
            retry_policies=job_retry_policies(),
        )
        evaluation_dir = evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"]
        # Output folders end with '/' (step_builders.s3_output_uri): append file names directly.
        evaluation_uri = Join(on="", values=[evaluation_dir.S3Output.S3Uri, "evaluation.json"])
        score_baseline_uri = Join(
            on="", values=[evaluation_dir.S3Output.S3Uri, "score_baseline.json"]
        )
        statistics_uri = Join(on="", values=[split_output("statistics"), "statistics.json"])
        baseline_uri = Join(on="", values=[split_output("baseline"), "baseline.json"])

        gate_decision = PropertyFile(
            name=DECISION_PROPERTY_FILE, output_name="decision", path="decision.json"
        )
        compare = ProcessingStep(
            name="Compare",
            step_args=processing_step_args(
                session,
                ScriptRun(
                    script="compare.py",
                    inputs=[
                        ("evaluation", evaluation_dir.S3Output.S3Uri, f"{_IN}/evaluation"),
                        ("statistics", split_output("statistics"), f"{_IN}/statistics"),
                    ],
                    outputs=[("decision", out("Compare", "decision"), f"{_OUT}/decision")],
                    arguments=[
                        "--package-type",
                        inputs.package_type,
                        "--model-package-group",
                        inputs.model_package_group,
                        "--primary-metric",
                        gate.primary_metric,
                        "--comparison",
                        gate.comparison,
                        *(
                            item
                            for criterion in gate_contract.CRITERIA
                            for item in (criterion.argument, limits[criterion.name].to_string())
                        ),
                        "--evaluation-path",
                        f"{_IN}/evaluation/evaluation.json",
                        "--statistics-path",
                        f"{_IN}/statistics/statistics.json",
                        "--output-dir",
                        f"{_OUT}/decision",
                        "--region",
                        inputs.region,
                    ],
                ),
                job_options,
            ),
            property_files=[gate_decision],
            # Not cached: the champion it compares against is not part of its arguments.
            cache_config=cache_config(inputs.cache_expiry, enabled=False),
            retry_policies=job_retry_policies(),
        )
        decision_dir = compare.properties.ProcessingOutputConfig.Outputs["decision"]
        decision_uri = Join(on="", values=[decision_dir.S3Output.S3Uri, "decision.json"])
        # the model report Compare writes beside decision.json (steps/model_report.py)
        report_uri = Join(on="", values=[decision_dir.S3Output.S3Uri, "report.html"])

        # "name=value;..." as this run trained (CustomerMetadataProperties values <= 256).
        hyperparameters_text = Join(
            on="",
            values=[
                part
                for index, (item, parameter) in enumerate(hyperparameters)
                for part in (f"{';' if index else ''}{item.name}=", parameter)
            ],
        )

        def register(name: str, status: str, verdict: str) -> Any:
            return register_model_step(
                name,
                request={
                    "ModelPackageGroupName": inputs.model_package_group,
                    "ModelApprovalStatus": status,
                    "InferenceSpecification": {
                        "Containers": [
                            {
                                "Image": serving_image,
                                "ModelDataUrl": model_data,
                                "Environment": serving_env,
                            }
                        ],
                        "SupportedContentTypes": ["text/csv"],
                        "SupportedResponseMIMETypes": ["text/csv"],
                        # No SupportedTransformInstanceTypes: inference may choose its
                        # transform instance type per run (TransformInstanceType).
                    },
                    "ModelMetrics": {
                        "ModelQuality": {
                            "Statistics": {
                                "ContentType": "application/json",
                                "S3Uri": evaluation_uri,
                            }
                        }
                    },
                    "CustomerMetadataProperties": {
                        "run_id": run_id,
                        "package_type": inputs.package_type,
                        "architecture": architecture.name,
                        # what the serving input rows must carry (Resolve reads it)
                        "architecture_inputs": ",".join(architecture.inputs),
                        "hyperparameters": hyperparameters_text,
                        "evaluation_s3_uri": evaluation_uri,
                        "statistics_s3_uri": statistics_uri,
                        # the training data's feature statistics: inference's drift baseline
                        "baseline_s3_uri": baseline_uri,
                        # its validation scores: inference's baseline for predicted scores
                        "score_baseline_s3_uri": score_baseline_uri,
                        "decision_s3_uri": decision_uri,
                        "report_s3_uri": report_uri,
                        "gate_decision": verdict,
                        "pipeline_execution_arn": ExecutionVariables.PIPELINE_EXECUTION_ARN,
                    },
                },
            )

        gate_step = ConditionStep(
            name="Gate",
            conditions=[
                ConditionEquals(
                    left=JsonGet(
                        step_name=compare.name, property_file=gate_decision, json_path="decision"
                    ),
                    right="approve",
                )
            ],
            if_steps=[register("RegisterApproved", "Approved", "approve")],
            else_steps=[register("RegisterRejected", "Rejected", "reject")],
        )

        # A bad extract stops here, before any job reads Split's outputs: the steps that
        # read them first run only on the "passed" branch (the later ones depend on them).
        data_quality = ConditionStep(
            name="DataQuality",
            conditions=[
                ConditionEquals(
                    left=JsonGet(
                        step_name=split.name, property_file=quality_report, json_path="passed"
                    ),
                    right=True,
                )
            ],
            if_steps=[score_champion, *trained.steps],
            else_steps=[
                FailStep(
                    name="DataQualityFailed",
                    error_message=Join(
                        on="",
                        values=[
                            "Data quality check failed in Split: ",
                            JsonGet(
                                step_name=split.name,
                                property_file=quality_report,
                                json_path="reason",
                            ),
                        ],
                    ),
                )
            ],
        )

        return pipeline_definition(
            session,
            name=inputs.pipeline_name,
            parameters=parameters,
            steps=[
                resolve_champion,
                split,
                data_quality,
                create_model,
                evaluate_transform,
                evaluate,
                compare,
                gate_step,
            ],
        )
