"""PipelineExecutor: one execution of a definition, start to end.

Steps run one at a time in the plan's order (`graph.ExecutionPlan`). A step whose
dependency failed (or was not started) is NotStarted; a step in the branch its condition
did not take, or depending on a skipped step, is Skipped; otherwise its emulator runs
(`steps/`), through the step cache when its CacheConfig enables it. The record of every
step, and the execution's, is written to `executions/<id>/execution.json`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rehearsal.executor.cache import StepCache, caches
from rehearsal.executor.errors import StepError, UnsupportedError
from rehearsal.executor.expressions import (
    Expressions,
    execution_variables,
    parameter_values,
    read_property_files,
)
from rehearsal.executor.graph import ExecutionPlan, load_definition
from rehearsal.executor.jobs import JobRunner
from rehearsal.executor.records import ExecutionRecord, StepRecord
from rehearsal.executor.steps import (
    JOB_EMULATORS,
    SUPPORTED_TYPES,
    JobEmulator,
    condition,
    fail,
    lambda_step,
)
from rehearsal.executor.steps.lambda_step import LambdaFunction
from rehearsal.executor.world import LocalAws
from rehearsal.localaws import ACCOUNT_ID


@dataclass
class _Run:
    """State of one execution while it runs."""

    record: ExecutionRecord
    expressions: Expressions
    work_root: Path


class PipelineExecutor:
    """Runs pipeline definitions against a LocalAws world (see the package doc)."""

    def __init__(
        self,
        aws: LocalAws,
        *,
        lambdas: Mapping[str, LambdaFunction] | None = None,
        code_prefixes: Sequence[str] = (),
        python: str = sys.executable,
        interpreter: Callable[[str], Sequence[str]] | None = None,
        max_step_seconds: int = 900,
        log: Callable[[str], None] | None = None,
    ) -> None:
        """lambdas: {function ARN: handler(event) -> outputs}; code_prefixes: S3 prefixes
        whose object contents go into cache keys (besides the URIs themselves);
        interpreter: the command that runs Python for a step's image URI (default: this
        `python` for every image; `containers.faithful.interpreter()` gives each image's
        own packages, offline)."""
        self.aws = aws
        self.lambdas = dict(lambdas or {})
        self.code_prefixes = tuple(code_prefixes)
        self.python = python
        self.interpreter = interpreter
        self.max_step_seconds = max_step_seconds
        self.log = log or (lambda _message: None)
        aws.root.mkdir(parents=True, exist_ok=True)

    def start(
        self,
        definition: str | Mapping[str, Any],
        *,
        pipeline_name: str,
        parameters: Mapping[str, Any] | None = None,
        replacements: Mapping[str, str] | None = None,
    ) -> ExecutionRecord:
        """Run one execution to its end and return its record (never raises for step failures)."""
        document = (
            load_definition(definition, replacements)
            if isinstance(definition, str)
            else json.loads(json.dumps(definition))
        )
        plan = ExecutionPlan.of(document)
        values = parameter_values(document.get("Parameters", []), parameters or {})
        execution_id = uuid.uuid4().hex[:12]
        arn = (
            f"arn:aws:sagemaker:{self.aws.region}:{ACCOUNT_ID}:pipeline/{pipeline_name.lower()}"
            f"/execution/{execution_id}"
        )
        started = dt.datetime.now(tz=dt.UTC)
        record = ExecutionRecord(
            pipeline_name=pipeline_name,
            execution_id=execution_id,
            execution_arn=arn,
            parameters=values,
            steps={},
        )
        run = _Run(
            record=record,
            expressions=Expressions(
                parameters=values,
                variables=execution_variables(execution_id, arn, pipeline_name, started),
                steps=record.steps,
                s3=self.aws.s3,
            ),
            work_root=self.aws.root / "executions" / execution_id,
        )
        begun = time.monotonic()
        for name in plan.order:
            step = plan.steps[name]
            step_record = StepRecord(name=name, type=step.get("Type", "?"))
            record.steps[name] = step_record
            dependencies = plan.dependencies[name]
            blocked = [
                d for d in dependencies if record.steps[d].status in ("Failed", "NotStarted")
            ]
            skipped = [d for d in dependencies if record.steps[d].status == "Skipped"]
            if blocked:
                step_record.status = "NotStarted"
                step_record.failure_reason = f"not started: {', '.join(blocked)} did not succeed"
                continue
            if name in plan.branch_of:
                condition_name, branch = plan.branch_of[name]
                outcome = record.steps[condition_name].properties.get("Outcome")
                if record.steps[condition_name].status == "Succeeded" and outcome is not branch:
                    step_record.status = "Skipped"
                    continue
            if skipped:
                step_record.status = "Skipped"
                continue
            self._run_step(run, step, step_record)
            cached = ", cached" if step_record.cache_hit else ""
            self.log(
                f"{pipeline_name} {name}: {step_record.status} "
                f"({step_record.duration_s:.1f} s{cached})"
            )
        record.duration_s = time.monotonic() - begun
        record.status = (
            "Failed"
            if any(s.status in ("Failed", "NotStarted") for s in record.steps.values())
            else "Succeeded"
        )
        run.work_root.mkdir(parents=True, exist_ok=True)
        (run.work_root / "execution.json").write_text(
            json.dumps(record.to_dict(), indent=2, default=str)
        )
        return record

    def _run_step(self, run: _Run, step: dict[str, Any], record: StepRecord) -> None:
        """Run one step: its emulator, through the cache; failures end up in the record."""
        began = time.monotonic()
        record.status = "Executing"
        try:
            kind = step.get("Type")
            if kind not in SUPPORTED_TYPES:
                raise UnsupportedError(
                    f"step {record.name!r} has type {kind!r}, which the rehearsal does not "
                    f"emulate (supported: {', '.join(SUPPORTED_TYPES)})"
                )
            if kind == "Condition":
                condition.run(run.expressions, step, record)
            elif kind == "Fail":
                fail.run(run.expressions, step, record)
            elif kind == "Lambda":
                lambda_step.run(run.expressions, step, record, self.lambdas)
            else:
                self._run_job(run, step, record, JOB_EMULATORS[str(kind)])
            record.status = "Succeeded"
        except StepError as error:
            record.status = "Failed"
            record.failure_reason = str(error)
        except Exception as error:  # a bug or an unexpected input: still name the step
            record.status = "Failed"
            record.failure_reason = f"step {record.name!r}: {type(error).__name__}: {error}"
        finally:
            record.duration_s = time.monotonic() - began

    def _run_job(
        self,
        run: _Run,
        step: dict[str, Any],
        record: StepRecord,
        emulator: JobEmulator,
    ) -> None:
        """A job-like step: resolve its arguments, reuse a cache hit or run it in its work
        folder, read its property files, store it in the cache."""
        arguments = run.expressions.resolve(step.get("Arguments", {}))
        cache = StepCache(self.aws, self.code_prefixes)
        cached = caches(step)
        key = ""
        if cached:
            record.cache_hit = False
            key = cache.key(run.record.pipeline_name, step, arguments)
            hit = cache.lookup(step, key)
            if hit is not None:
                record.cache_hit = True
                record.properties = hit["properties"]
                record.outputs = hit["outputs"]
                record.property_files = read_property_files(self.aws.s3, step, record.properties)
                return
        work = run.work_root / record.name
        work.mkdir(parents=True, exist_ok=True)
        record.work_dir = str(work)
        runner = JobRunner(self.aws, self.python, self.interpreter, self.max_step_seconds)
        emulator(runner, run.record.execution_id, record, arguments, work)
        record.property_files = read_property_files(self.aws.s3, step, record.properties)
        if cached:
            cache.store(key, run.record.pipeline_name, run.record.execution_id, record)
