"""The scikit-learn image's training module (SAGEMAKER_TRAINING_MODULE), as a shim.

The image's `train` executable reads SAGEMAKER_TRAINING_MODULE and calls its `main()`;
the original hands the job to sagemaker-training's `entry_point.run`, which copies the
code to /opt/ml/code, installs it if it has a setup.py or requirements.txt, exports the
SM_* variables and runs the entry point with the hyperparameters as arguments.
"""

from __future__ import annotations

from typing import Any

from sagemaker_training import entry_point, environment, runner


def train(training_environment: Any) -> None:
    entry_point.run(
        uri=training_environment.module_dir,
        user_entry_point=training_environment.user_entry_point,
        args=training_environment.to_cmd_args(),
        env_vars=training_environment.to_env_vars(),
        runner_type=runner.ProcessRunnerType,
    )


def main() -> None:
    train(environment.Environment())
