"""One emulator per step type.

Job-like steps get a work folder and their resolved arguments, and may be cached:

    processing.run, training.run, transform.run, model.run, register.run
        (runner, execution_id, record, args, work) -> None: fill record.properties/outputs

Control steps read the definition and evaluate expressions themselves:

    condition.run, fail.run (expressions, step, record); lambda_step.run (..., lambdas)

Each raises StepError (UnsupportedError for what is not emulated) to fail its step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rehearsal.executor.jobs import JobRunner
from rehearsal.executor.records import StepRecord
from rehearsal.executor.steps import model, processing, register, training, transform

JobEmulator = Callable[[JobRunner, str, StepRecord, dict[str, Any], Path], None]

JOB_EMULATORS: dict[str, JobEmulator] = {
    "Processing": processing.run,
    "Training": training.run,
    "Transform": transform.run,
    "Model": model.run,
    "RegisterModel": register.run,
}
SUPPORTED_TYPES = (*JOB_EMULATORS, "Condition", "Fail", "Lambda")
