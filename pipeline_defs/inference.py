"""Inference pipeline of one package type: score every extracted product, load into Redshift.

Daily and monthly runs share this pipeline; they differ only in parameters (RunKind,
InputManifestUri, RunId, transform sizing).

```
  InputManifestUri, RunId, RunKind
          |
       Resolve  (Lambda: latest Approved package of the group, its architecture and
          |      whether it reads text; no approved model -> the Lambda raises, step fails)
          | with_text                  | model_package_arn, model_package_version
       Prepare  (Processing prepare.py: manifest -> CSV files `product_id,<features>[,text]`,
          |      no header, about target_file_mb each)
          |                    CreateModel  (Model from the package: its image and code)
          |                         | ModelName
          +-----------------> Predict  (Transform: drop the id on the way in, join it back,
                                    |    output lines `product_id,score`)
                                   Load  (Processing load.py: COPY the predictions from
                                          s3://<data>/predictions/<pipeline>/<RunId>/ into
                                          the target table via the Redshift Data API)
```

Whatever architecture the champion has, inference serves it from its own package; the
only thing the pipeline adapts is the text column, which Prepare writes when the
champion's architecture reads text (Resolve's `with_text`).

Caching: Prepare and Predict cache by their arguments for `cache_expiry`. Predict rarely
hits across executions, because CreateModel is not cacheable and names a new model each
execution. Resolve (the registry changes under it) and Load (a side effect outside
SageMaker; load.py must be idempotent per run) are never cached.
"""

from __future__ import annotations

from typing import Any

from pipeline_defs.inputs import InferencePipelineInputs
from pipeline_defs.placeholders import Placeholders
from pipeline_defs.sdk_session import pipeline_definition, prepare_sdk_environment, sdk_build
from pipeline_defs.step_builders import (
    ScriptRun,
    cache_config,
    create_model_step,
    job_options_for,
    job_retry_policies,
    predictions_uri,
    processing_step_args,
    s3_output_uri,
    transform_step,
    vpc_config,
)
from pkgml_contracts import exit_message

PARAMETER_NAMES = (
    "InputManifestUri",
    "RunId",
    "TransformInstanceType",
    "TransformInstanceCount",
    "RunKind",
    "PrepareInstanceCount",
    "DriftAction",
)
STEP_NAMES = ("Resolve", "Prepare", "CreateModel", "Predict", "Load")
RESOLVE_OUTPUTS = (
    "model_package_arn",
    "model_package_version",
    "architecture",
    "with_text",
    "baseline_s3_uri",
    "score_baseline_s3_uri",
)

_IN = "/opt/ml/processing/input"
# SageMaker copies the first 1 KB of this file into the Processing job's ExitMessage.
EXIT_MESSAGE_FILE = exit_message.FILE
_OUT = "/opt/ml/processing/output"
_MAX_RUNTIME_SECONDS = 86400


def build_inference_pipeline(inputs: InferencePipelineInputs) -> str:
    """The inference pipeline's definition JSON, offline and deterministic (see module doc)."""
    prepare_sdk_environment(inputs.region)
    from sagemaker.core.lambda_helper import Lambda
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.parameters import ParameterInteger, ParameterString
    from sagemaker.mlops.workflow.lambda_step import (
        LambdaOutput,
        LambdaOutputTypeEnum,
        LambdaStep,
    )
    from sagemaker.mlops.workflow.steps import ProcessingStep

    manifest_uri = ParameterString(name="InputManifestUri")
    run_id = ParameterString(name="RunId")
    transform_instance_type = ParameterString(
        name="TransformInstanceType", default_value=inputs.transform_instance_type
    )
    transform_instance_count = ParameterInteger(name="TransformInstanceCount", default_value=1)
    run_kind = ParameterString(name="RunKind", default_value="inference-daily")
    # Prepare scales out: each instance takes a disjoint share of the manifest's files.
    prepare_instance_count = ParameterInteger(name="PrepareInstanceCount", default_value=1)
    # warn: load a drifted batch (and alarm); block: keep the previous predictions. A
    # parameter, so a reviewed batch can be loaded anyway (`python -m ops drift accept`).
    drift_action = ParameterString(name="DriftAction", default_value=inputs.drift_action)
    parameters: list[Any] = [
        manifest_uri,
        run_id,
        transform_instance_type,
        transform_instance_count,
        run_kind,
        prepare_instance_count,
        drift_action,
    ]

    def out(step: str, output: str) -> Any:
        return s3_output_uri(inputs.pipeline_name, run_id, step, output)

    with sdk_build(inputs.region) as session:
        job_options = job_options_for(inputs, max_runtime_seconds=_MAX_RUNTIME_SECONDS)

        resolve = LambdaStep(
            name="Resolve",
            lambda_func=Lambda(function_arn=Placeholders.RESOLVE_FUNCTION_ARN, session=session),
            inputs={"model_package_group": inputs.model_package_group},
            outputs=[
                LambdaOutput(output_name=name, output_type=LambdaOutputTypeEnum.String)
                for name in RESOLVE_OUTPUTS
            ],
        )
        prepare = ProcessingStep(
            name="Prepare",
            step_args=processing_step_args(
                session,
                ScriptRun(
                    script="prepare.py",
                    inputs=[("manifest", manifest_uri, f"{_IN}/data")],
                    outputs=[
                        ("features", out("Prepare", "features"), f"{_OUT}/features"),
                        # Counts, and rows that could not be scored (kept, never dropped).
                        ("summary", out("Prepare", "summary"), f"{_OUT}/summary"),
                        ("rejected", out("Prepare", "rejected"), f"{_OUT}/rejected"),
                    ],
                    arguments=[
                        "--package-type",
                        inputs.package_type,
                        "--target-file-mb",
                        str(inputs.target_file_mb),
                        "--input-dir",
                        f"{_IN}/data",
                        "--output-dir",
                        f"{_OUT}/features",
                        "--summary-dir",
                        f"{_OUT}/summary",
                        "--rejected-dir",
                        f"{_OUT}/rejected",
                        # the champion's architecture decides whether rows carry its text
                        "--with-text",
                        resolve.properties.Outputs["with_text"],
                        # checked on every batch before anything is scored
                        "--quality-bounds",
                        inputs.quality_bounds,
                        # the champion's training statistics: each host histograms its
                        # share in their bins (summary/<host>/profile.json)
                        "--baseline-uri",
                        resolve.properties.Outputs["baseline_s3_uri"],
                        # why it stopped: the job's ExitMessage (the notification quotes it)
                        "--message-file",
                        EXIT_MESSAGE_FILE,
                    ],
                    instance_count=prepare_instance_count,
                ),
                job_options,
            ),
            cache_config=cache_config(inputs.cache_expiry),
            retry_policies=job_retry_policies(),
        )

        summary_uri = prepare.properties.ProcessingOutputConfig.Outputs["summary"].S3Output.S3Uri
        package_arn = resolve.properties.Outputs["model_package_arn"]
        package_version = resolve.properties.Outputs["model_package_version"]

        create_model = create_model_step(
            "CreateModel",
            request={
                "ExecutionRoleArn": Placeholders.ROLE_ARN,
                "PrimaryContainer": {"ModelPackageName": package_arn},
                "EnableNetworkIsolation": True,
                **vpc_config(inputs.subnets, inputs.security_groups),
            },
        )

        predict = transform_step(
            "Predict",
            session,
            model_name=create_model.properties.ModelName,
            instance_type=transform_instance_type,
            instance_count=transform_instance_count,
            data=prepare.properties.ProcessingOutputConfig.Outputs["features"].S3Output.S3Uri,
            output_path=predictions_uri(inputs.pipeline_name, run_id),
            cache_expiry=inputs.cache_expiry,
        )

        load = ProcessingStep(
            name="Load",
            step_args=processing_step_args(
                session,
                ScriptRun(
                    script="load.py",
                    # every Prepare host's profile: merged, then judged against the baseline;
                    # the predicted scores: against the champion's validation scores
                    inputs=[
                        ("profiles", summary_uri, f"{_IN}/profiles"),
                        (
                            "predictions",
                            predict.properties.TransformOutput.S3OutputPath,
                            f"{_IN}/predictions",
                        ),
                    ],
                    outputs=[("drift", out("Load", "drift"), f"{_OUT}/drift")],
                    arguments=[
                        "--predictions-uri",
                        predict.properties.TransformOutput.S3OutputPath,
                        "--run-id",
                        run_id,
                        "--run-kind",
                        run_kind,
                        "--package-type",
                        inputs.package_type,
                        "--model-package-arn",
                        package_arn,
                        "--model-package-version",
                        package_version,
                        *inputs.redshift.load_arguments(),
                        "--copy-iam-role",
                        Placeholders.REDSHIFT_ROLE_ARN,
                        "--region",
                        inputs.region,
                        "--profiles-dir",
                        f"{_IN}/profiles",
                        "--drift-dir",
                        f"{_OUT}/drift",
                        "--drift-action",
                        drift_action,
                        "--drift-limits",
                        inputs.drift_limits,
                        "--predictions-dir",
                        f"{_IN}/predictions",
                        "--score-baseline-uri",
                        resolve.properties.Outputs["score_baseline_s3_uri"],
                        "--execution-arn",
                        ExecutionVariables.PIPELINE_EXECUTION_ARN,
                        "--message-file",
                        EXIT_MESSAGE_FILE,
                    ],
                ),
                job_options,
            ),
            # Not cached: loading is a side effect outside SageMaker.
            cache_config=cache_config(inputs.cache_expiry, enabled=False),
            retry_policies=job_retry_policies(),
        )

        return pipeline_definition(
            session,
            name=inputs.pipeline_name,
            parameters=parameters,
            steps=[resolve, prepare, create_model, predict, load],
        )
