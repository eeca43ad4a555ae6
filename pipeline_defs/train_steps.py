"""The Train step(s) of a training pipeline, derived from the architecture's declaration.

One TrainingStep per declared stage, in order (`Train` is the last); each stage after
the first gets the previous stage's model folder as its `previous` channel (earlier
stages write uncompressed, so the channel is the folder itself). The last stage's
model.tar.gz is the model the pipeline evaluates and registers.

Script mode: the framework container runs the stage's program from the architecture's
code bundle (`code` channel) with the hyperparameters as `--name value` arguments; the
train and validation channels are Split's Parquet rows. Built-in mode: the container's
own algorithm reads Split's label-first CSV (`train_csv`, `validation_csv`).

Serving: the model's container runs the architecture's serving program from
/opt/ml/model/code (`serving_environment`). Script-mode programs copy it there while
training. A built-in algorithm writes only its own files, so for a built-in architecture
that declares a serving program a Processing step, `PackageModel` (steps/package_model.py),
follows Train: it adds the architecture's code bundle to the trained model.tar.gz as
`code/`, and that archive is the model. (Not an S3 source tarball in
SAGEMAKER_SUBMIT_DIRECTORY: the models run with network isolation, so the container could
not download it.) A built-in architecture without a serving program is served by the
container's own code.

A distributed architecture trains on `TrainingInstanceCount` instances with the train
channel sharded by S3 key (Split writes it in shards); any other runs on one instance and
its pipeline has no such parameter. Managed spot training (opt-in) checkpoints to the
run's output folder and waits at most `spot_max_wait_seconds`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline_defs.inputs import TrainingPipelineInputs
from pipeline_defs.placeholders import Placeholders, architecture_code_uri
from pipeline_defs.step_builders import (
    PROCESSING_ROOT,
    ScriptRun,
    cache_config,
    framework_image,
    job_options_for,
    job_retry_policies,
    processing_step_args,
    serving_environment,
)
from pkgml_contracts.architectures import Architecture, Hyperparameter

CODE_CHANNEL_DIR = "/opt/ml/input/data/code"
CHECKPOINT_DIR = "/opt/ml/checkpoints"
CSV = "text/csv"
PACKAGE_STEP = "PackageModel"
PACKAGE_SCRIPT = "package_model.py"
MODEL_ARCHIVE = "model.tar.gz"


def packages_serving_code(architecture: Architecture) -> bool:
    """True if the pipeline adds the serving code to the trained model (PackageModel): a
    built-in algorithm with a serving program of its own."""
    return architecture.mode == "builtin" and architecture.serving_program is not None


def train_step_names(architecture: Architecture) -> tuple[str, ...]:
    """The steps `build_train_steps` makes, in order: the stages, then PackageModel."""
    stages = tuple(stage.name for stage in architecture.stages)
    return (*stages, PACKAGE_STEP) if packages_serving_code(architecture) else stages


def model_serving_environment(architecture: Architecture, region: str) -> dict[str, str]:
    """The container environment of the architecture's models: its serving program from
    /opt/ml/model/code, or (a built-in architecture without one) the container's own."""
    if architecture.serving_program is None:
        return {"SAGEMAKER_REGION": region}
    return serving_environment(region, architecture.serving_program)


@dataclass(frozen=True)
class TrainSteps:
    """What the rest of the training pipeline needs from the Train step(s)."""

    steps: list[Any]
    model_data: Any  # the model.tar.gz to serve: the last stage's, or PackageModel's
    image: str  # the serving image (the architecture's framework container)
    serving_env: dict[str, str]


def hyperparameter_parameters(inputs: TrainingPipelineInputs) -> list[tuple[Hyperparameter, Any]]:
    """One pipeline parameter per hyperparameter of the architecture, default as configured."""
    from sagemaker.core.workflow.parameters import (
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )

    configured = dict(inputs.hyperparameter_defaults)
    made = []
    for item in inputs.architecture.hyperparameters:
        default = configured.get(item.name, item.default)
        if item.type == "integer":
            parameter: Any = ParameterInteger(name=item.parameter_name, default_value=int(default))
        elif item.type == "number":
            parameter = ParameterFloat(name=item.parameter_name, default_value=float(default))
        else:
            parameter = ParameterString(name=item.parameter_name, default_value=item.text(default))
        made.append((item, parameter))
    return made


def _as_text(parameter: Any) -> Any:
    return parameter if isinstance(parameter, str) else parameter.to_string()


def build_train_steps(
    inputs: TrainingPipelineInputs,
    session: Any,
    *,
    split_output: Callable[[str], Any],
    out: Callable[[str, str], Any],
    instance_type: Any,
    instance_count: Any,
    hyperparameters: Sequence[tuple[Hyperparameter, Any]],
) -> TrainSteps:
    """The Train step(s) of `inputs.architecture` (see the module docstring)."""
    from sagemaker.core.shapes import S3DataSource
    from sagemaker.core.workflow.functions import Join
    from sagemaker.mlops.workflow.steps import TrainingStep
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import (
        CheckpointConfig,
        Compute,
        InputData,
        Networking,
        OutputDataConfig,
        StoppingCondition,
    )

    architecture: Architecture = inputs.architecture
    image = framework_image(
        inputs.region,
        architecture.framework,
        architecture.framework_version,
        inputs.training_instance_type,
    )
    builtin = architecture.mode == "builtin"
    distribution = "ShardedByS3Key" if architecture.distributed else "FullyReplicated"
    train_channel, validation_channel = (
        ("train_csv", "validation_csv") if builtin else ("train", "validation")
    )
    spot = inputs.spot and architecture.spot
    cached = cache_config(inputs.cache_expiry)
    values = {item.name: _as_text(parameter) for item, parameter in hyperparameters}
    values |= dict(architecture.fixed_hyperparameters)

    content = {"content_type": CSV} if builtin else {}
    steps: list[Any] = []
    previous: Any = None
    for index, stage in enumerate(architecture.stages):
        last = index == len(architecture.stages) - 1
        channels = [
            InputData(
                channel_name="train",
                data_source=S3DataSource(
                    s3_data_type="S3Prefix",
                    s3_uri=split_output(train_channel),
                    s3_data_distribution_type=distribution,
                ),
                **content,
            ),
            InputData(
                channel_name="validation", data_source=split_output(validation_channel), **content
            ),
        ]
        stage_values = dict(values)
        if not builtin:
            channels.append(
                InputData(channel_name="code", data_source=architecture_code_uri(architecture))
            )
            stage_values = {
                "sagemaker_program": str(stage.program),
                "sagemaker_submit_directory": CODE_CHANNEL_DIR,
                "sagemaker_region": inputs.region,
                **values,
            }
        if previous is not None:
            channels.append(InputData(channel_name="previous", data_source=previous))
        trainer = ModelTrainer(
            training_image=image,
            role=Placeholders.ROLE_ARN,
            sagemaker_session=session,
            base_job_name=f"{inputs.pipeline_name}-{stage.name.lower()}",
            compute=Compute(
                instance_type=instance_type,
                instance_count=instance_count if architecture.distributed else 1,
                volume_size_in_gb=30,
                volume_kms_key_id=Placeholders.KMS_KEY_ARN,
                enable_managed_spot_training=spot or None,
            ),
            networking=Networking(
                subnets=list(inputs.subnets) or None,
                security_group_ids=list(inputs.security_groups) or None,
                enable_inter_container_traffic_encryption=True,
            ),
            stopping_condition=StoppingCondition(
                max_runtime_in_seconds=inputs.max_runtime_seconds,
                max_wait_time_in_seconds=(
                    inputs.max_runtime_seconds + inputs.spot_max_wait_seconds if spot else None
                ),
            ),
            checkpoint_config=(
                CheckpointConfig(s3_uri=out(stage.name, "checkpoints"), local_path=CHECKPOINT_DIR)
                if spot
                else None
            ),
            output_data_config=OutputDataConfig(
                s3_output_path=out(stage.name, "model"),
                kms_key_id=Placeholders.KMS_KEY_ARN,
                # Earlier stages stay uncompressed: the next stage's channel is the folder.
                compression_type="GZIP" if last else "NONE",
            ),
            environment={"PYTHONUNBUFFERED": "1"},
            hyperparameters=stage_values,
        )
        step = TrainingStep(
            name=stage.name,
            step_args=trainer.train(input_data_config=channels),
            cache_config=cached,
            retry_policies=job_retry_policies(),
        )
        steps.append(step)
        previous = step.properties.ModelArtifacts.S3ModelArtifacts
    model_data = previous
    if packages_serving_code(architecture):
        package = _package_step(inputs, session, previous, out, cached)
        steps.append(package)
        package_dir = package.properties.ProcessingOutputConfig.Outputs["model"].S3Output.S3Uri
        # Output folders end with '/' (step_builders.s3_output_uri): append the file name.
        model_data = Join(on="", values=[package_dir, MODEL_ARCHIVE])
    return TrainSteps(
        steps=steps,
        model_data=model_data,
        image=image,
        serving_env=model_serving_environment(architecture, inputs.region),
    )


def _package_step(
    inputs: TrainingPipelineInputs,
    session: Any,
    trained: Any,
    out: Callable[[str, str], Any],
    cached: Any,
) -> Any:
    """PackageModel: the trained model.tar.gz plus the architecture's code bundle as code/."""
    from sagemaker.mlops.workflow.steps import ProcessingStep

    model_in = f"{PROCESSING_ROOT}/input/model"
    code_in = f"{PROCESSING_ROOT}/input/serving_code"  # not .../code: the script's own
    model_out = f"{PROCESSING_ROOT}/output/model"
    return ProcessingStep(
        name=PACKAGE_STEP,
        step_args=processing_step_args(
            session,
            ScriptRun(
                script=PACKAGE_SCRIPT,
                inputs=[
                    ("model", trained, model_in),
                    ("serving_code", architecture_code_uri(inputs.architecture), code_in),
                ],
                outputs=[("model", out(PACKAGE_STEP, "model"), model_out)],
                arguments=[
                    "--model-dir",
                    model_in,
                    "--code-dir",
                    code_in,
                    "--program",
                    str(inputs.architecture.serving_program),
                    "--output-dir",
                    model_out,
                ],
            ),
            job_options_for(inputs, max_runtime_seconds=inputs.max_runtime_seconds),
        ),
        cache_config=cached,
        retry_policies=job_retry_policies(),
    )
