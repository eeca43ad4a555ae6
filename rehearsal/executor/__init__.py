"""Run a SageMaker pipeline definition (the JSON the service receives) on one machine.

```
definition JSON --load_definition--> steps (top level + condition branches)
        |                                   | DependsOn + every Get "Steps.X..." = edges
  parameters (defaults / overrides)         v
        +----------------------> PipelineExecutor.start(): steps in dependency order
                                    | resolve Get / Std:Join / Std:JsonGet
                                    | cache lookup (CacheConfig) -> hit: reuse properties
                                    v
     Processing  subprocess `python <script> <args>`, /opt/ml/... -> per-step work folder
     Training    subprocess `python <sagemaker_program> --hp value`, SM_* env, model.tar.gz;
                 a built-in algorithm image (XGBoost): builtin.py on InstanceCount hosts
     Model       record the model (container env + model data, or a model package's)
     Transform   subprocess: model_fn/input_fn/predict_fn/output_fn from model.tar.gz code/
     RegisterModel  create_model_package in the local registry
     Condition   evaluate, skip the other branch     Fail  fail the execution
     Lambda      a local Python function registered for the FunctionArn
                                    v
                           ExecutionRecord (per step: status, duration, cache hit, ...)
```

One module per job:

    pipeline.py     PipelineExecutor: one execution, step by step (skips, failures, cache)
    graph.py        load_definition; the steps, their dependencies and the run order
                    (the walk: pipeline_defs/definition_graph.py, ordered with graphlib)
    expressions.py  Get (parameters, execution variables, step properties), Std:Join,
                    Std:JsonGet; parameter values; property files
    cache.py        the step cache (CacheConfig, ExpireAfter) in step-cache.json
    jobs.py         step subprocesses, S3 downloads, container paths, job names
    steps/*.py      one emulator per step type: processing, training, transform, model,
                    register, condition, fail, lambda_step
    records.py      StepRecord, ExecutionRecord
    world.py        LocalAws: the folder holding the local stand-ins
    errors.py       StepError, UnsupportedError, DefinitionError

The local world (`LocalAws`) is a folder: `s3/<bucket>/<key>`, `registry.json`,
`warehouse.duckdb`, `metrics.jsonl`, `models.json`, `step-cache.json`, and
`executions/<id>/<step>/` work folders with each step's logs. Step subprocesses get boto3
clients for those stand-ins (`_launch.py`); nothing leaves the machine.

A failing step marks its dependants NotStarted; independent steps still run; the
execution ends Failed. Unsupported step types or features fail that step with a message
naming it. Steps run one at a time in a fixed topological order (document order among
ready steps); retry policies are not applied (a local failure is deterministic).
"""

from __future__ import annotations

# What the rehearsal and its tests use; the modules hold the rest.
from rehearsal.executor.errors import DefinitionError
from rehearsal.executor.graph import load_definition
from rehearsal.executor.pipeline import PipelineExecutor
from rehearsal.executor.records import ExecutionRecord
from rehearsal.executor.world import LocalAws

__all__ = ["DefinitionError", "ExecutionRecord", "LocalAws", "PipelineExecutor", "load_definition"]
