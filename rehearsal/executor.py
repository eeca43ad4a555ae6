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

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal import builtin
from rehearsal.localaws import (
    ACCOUNT_ID,
    ENV_METRICS,
    ENV_REGION,
    ENV_REGISTRY,
    ENV_S3_ROOT,
    ENV_WAREHOUSE,
    LocalModelRegistry,
    LocalS3,
    split_uri,
    validate_request,
)

LAUNCHER = Path(__file__).resolve().parent / "_launch.py"
CONTAINER_ROOT = "/opt/ml"
SUPPORTED_TYPES = (
    "Processing",
    "Training",
    "Transform",
    "Model",
    "RegisterModel",
    "Condition",
    "Fail",
    "Lambda",
)
CACHEABLE_TYPES = ("Processing", "Training", "Transform")
_STEP_REF = re.compile(r"^Steps\.(?P<step>[A-Za-z0-9_-]+)\.(?P<path>.+)$")
_PATH_TOKEN = re.compile(
    r"\.?(?:(?P<name>[A-Za-z0-9_]+)|\['(?P<key>[^']*)'\]|\[(?P<index>-?\d+)\])"
)
_DURATION = re.compile(
    r"^P(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_DROPPED_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "PYTHONPATH",
)

LambdaFunction = Callable[[dict[str, Any]], Mapping[str, Any]]


class StepError(Exception):
    """A step failed; the message is its failure reason."""


class UnsupportedError(StepError):
    """The step uses a type or feature the rehearsal does not emulate."""


class DefinitionError(ValueError):
    """The definition itself is unusable (unknown reference, cycle, missing parameter)."""


# --- the local world ----------------------------------------------------------------


@dataclass(frozen=True)
class LocalAws:
    """Where the local stand-ins keep their state (one folder)."""

    root: Path
    region: str = "us-east-1"

    @property
    def s3(self) -> LocalS3:
        """The local S3 tree (root/s3)."""
        return LocalS3(self.root / "s3")

    @property
    def registry(self) -> LocalModelRegistry:
        """The local Model Registry (root/registry.json)."""
        return LocalModelRegistry(self.root / "registry.json", region=self.region)

    @property
    def warehouse(self) -> Path:
        """The DuckDB file standing in for Redshift."""
        return self.root / "warehouse.duckdb"

    def environment(self) -> dict[str, str]:
        """REHEARSAL_* variables that point a step subprocess at these stand-ins."""
        return {
            ENV_S3_ROOT: str(self.root / "s3"),
            ENV_REGISTRY: str(self.root / "registry.json"),
            ENV_METRICS: str(self.root / "metrics.jsonl"),
            ENV_WAREHOUSE: str(self.warehouse),
            ENV_REGION: self.region,
        }


def load_definition(text: str, replacements: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse a definition after replacing each placeholder string (whole-string replace)."""
    for placeholder, value in (replacements or {}).items():
        text = text.replace(placeholder, value)
    document: dict[str, Any] = json.loads(text)
    if not isinstance(document.get("Steps"), list):
        raise DefinitionError("the definition has no Steps list")
    return document


# --- records ------------------------------------------------------------------------


@dataclass
class StepRecord:
    """What happened to one step."""

    name: str
    type: str
    status: str = "Pending"
    duration_s: float = 0.0
    cache_hit: bool | None = None  # None: caching is off for the step (or not applicable)
    failure_reason: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    property_files: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    work_dir: str | None = None


@dataclass
class ExecutionRecord:
    """One pipeline execution: per-step records in run order, overall status."""

    pipeline_name: str
    execution_id: str
    execution_arn: str
    parameters: dict[str, Any]
    steps: dict[str, StepRecord]
    status: str = "Executing"
    duration_s: float = 0.0

    def step(self, name: str) -> StepRecord:
        """The record of a step by name."""
        return self.steps[name]

    def table(self) -> str:
        """A short text table: step, type, status, duration, cache hit, reason."""
        rows = [("step", "type", "status", "duration", "cache", "")]
        for record in self.steps.values():
            cache = "-" if record.cache_hit is None else ("hit" if record.cache_hit else "miss")
            ran = record.status in ("Succeeded", "Failed")
            duration = f"{record.duration_s:.1f} s" if ran else ""
            reason = (
                (record.failure_reason or "").splitlines()[0][:90] if record.failure_reason else ""
            )
            rows.append((record.name, record.type, record.status, duration, cache, reason))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = []
        for row in rows:
            cells = [
                row[i].ljust(widths[i]) if i != 3 else row[i].rjust(widths[i]) for i in range(5)
            ]
            lines.append("  ".join(cells) + ("  " + row[5] if row[5] else ""))
        return "\n".join(line.rstrip() for line in lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (properties left out: they repeat the requests)."""
        return {
            "pipeline_name": self.pipeline_name,
            "execution_id": self.execution_id,
            "execution_arn": self.execution_arn,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "parameters": self.parameters,
            "steps": [
                {
                    k: v
                    for k, v in dataclasses.asdict(record).items()
                    if k not in ("properties", "property_files")
                }
                for record in self.steps.values()
            ],
        }


# --- expressions --------------------------------------------------------------------


def parse_duration(text: str) -> dt.timedelta:
    """An ISO 8601 duration as used by CacheConfig.ExpireAfter (months = 30 days, years = 365)."""
    match = _DURATION.fullmatch(text or "")
    if match is None or text in ("P", "PT"):
        raise DefinitionError(f"ExpireAfter {text!r} is not an ISO 8601 duration")
    number = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    days = number["Y"] * 365 + number["M"] * 30 + number["W"] * 7 + number["D"]
    return dt.timedelta(days=days, hours=number["h"], minutes=number["m"], seconds=number["s"])


def walk_path(value: Any, path: str, *, what: str) -> Any:
    """Follow `A.B['name'].C[0]` through dicts and lists (lists match by a *Name key)."""
    position = 0
    current = value
    while position < len(path):
        match = _PATH_TOKEN.match(path, position)
        if match is None or match.end() == position:
            raise StepError(f"{what}: cannot parse path {path!r} at {path[position:]!r}")
        position = match.end()
        if match["index"] is not None:
            index = int(match["index"])
            if not isinstance(current, list) or not -len(current) <= index < len(current):
                raise StepError(f"{what}: {path!r} has no element [{index}]")
            current = current[index]
            continue
        key = match["name"] if match["name"] is not None else match["key"]
        if isinstance(current, dict) and key in current:
            current = current[key]
        elif isinstance(current, list):
            named = [
                item
                for item in current
                if isinstance(item, dict)
                and key
                in (
                    item.get(k) for k in item if k.endswith("Name") and isinstance(item.get(k), str)
                )
            ]
            if not named:
                raise StepError(f"{what}: {path!r} has no element named {key!r}")
            current = named[0]
        else:
            raise StepError(f"{what}: {path!r} has no {key!r}")
    return current


def _render(value: Any) -> str:
    """A value as Std:Join renders it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


# --- the executor -------------------------------------------------------------------


@dataclass
class _Run:
    """State of one execution while it runs."""

    record: ExecutionRecord
    definition: dict[str, Any]
    parameters: dict[str, Any]
    variables: dict[str, Any]
    steps: dict[str, dict[str, Any]]
    branch_of: dict[str, tuple[str, bool]]
    work_root: Path


class PipelineExecutor:
    """Runs pipeline definitions against a LocalAws world (see the module doc)."""

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

    # --- public -----------------------------------------------------------------------

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
        steps, branch_of = _flatten(document["Steps"])
        values = _parameter_values(document.get("Parameters", []), parameters or {})
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
            definition=document,
            parameters=values,
            variables={
                "PipelineExecutionId": execution_id,
                "PipelineExecutionArn": arn,
                "PipelineName": pipeline_name,
                "PipelineArn": arn.split("/execution/")[0],
                "StartDateTime": started.isoformat(),
            },
            steps=steps,
            branch_of=branch_of,
            work_root=self.aws.root / "executions" / execution_id,
        )
        dependencies = {
            name: _dependencies(name, step, steps, branch_of) for name, step in steps.items()
        }
        order = _topological(list(steps), dependencies)
        begun = time.monotonic()
        for name in order:
            step = steps[name]
            step_record = StepRecord(name=name, type=step.get("Type", "?"))
            record.steps[name] = step_record
            blocked = [
                d for d in dependencies[name] if record.steps[d].status in ("Failed", "NotStarted")
            ]
            skipped = [d for d in dependencies[name] if record.steps[d].status == "Skipped"]
            if blocked:
                step_record.status = "NotStarted"
                step_record.failure_reason = f"not started: {', '.join(blocked)} did not succeed"
                continue
            if name in branch_of:
                condition, branch = branch_of[name]
                outcome = record.steps[condition].properties.get("Outcome")
                if record.steps[condition].status == "Succeeded" and outcome is not branch:
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

    # --- one step ---------------------------------------------------------------------

    def _run_step(self, run: _Run, step: dict[str, Any], record: StepRecord) -> None:
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
                self._condition(run, step, record)
            elif kind == "Fail":
                message = self._resolve(run, step.get("Arguments", {}).get("ErrorMessage", ""))
                raise StepError(f"Fail step {record.name!r}: {_render(message)}")
            elif kind == "Lambda":
                self._lambda(run, step, record)
            else:
                arguments = self._resolve(run, step.get("Arguments", {}))
                cache = step.get("CacheConfig") or {}
                key = ""
                if kind in CACHEABLE_TYPES and cache.get("Enabled"):
                    record.cache_hit = False
                    key = self._cache_key(run, step, arguments)
                    hit = self._cache_lookup(run, step, key)
                    if hit is not None:
                        record.cache_hit = True
                        record.properties = hit["properties"]
                        record.outputs = hit["outputs"]
                        record.property_files = self._read_property_files(step, record.properties)
                        record.status = "Succeeded"
                        return
                work = run.work_root / record.name
                work.mkdir(parents=True, exist_ok=True)
                record.work_dir = str(work)
                handler = {
                    "Processing": self._processing,
                    "Training": self._training,
                    "Transform": self._transform,
                    "Model": self._create_model,
                    "RegisterModel": self._register_model,
                }[kind]
                handler(run, step, record, arguments, work)
                record.property_files = self._read_property_files(step, record.properties)
                if kind in CACHEABLE_TYPES and cache.get("Enabled"):
                    self._cache_store(run, step, key, record)
            record.status = "Succeeded"
        except StepError as error:
            record.status = "Failed"
            record.failure_reason = str(error)
        except Exception as error:  # a bug or an unexpected input: still name the step
            record.status = "Failed"
            record.failure_reason = f"step {record.name!r}: {type(error).__name__}: {error}"
        finally:
            record.duration_s = time.monotonic() - began

    # --- expressions ------------------------------------------------------------------

    def _resolve(self, run: _Run, value: Any) -> Any:
        if isinstance(value, list):
            return [self._resolve(run, item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"}:
            return self._get(run, value["Get"])
        if set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            parts = self._resolve(run, join.get("Values", []))
            return str(join.get("On", "")).join(_render(part) for part in parts)
        if set(value) == {"Std:JsonGet"}:
            return self._json_get(run, value["Std:JsonGet"])
        unknown = [k for k in value if k.startswith("Std:")]
        if unknown:
            raise UnsupportedError(f"function {unknown[0]!r} is not emulated")
        return {key: self._resolve(run, item) for key, item in value.items()}

    def _get(self, run: _Run, reference: str) -> Any:
        if reference.startswith("Parameters."):
            name = reference.split(".", 1)[1]
            if name not in run.parameters:
                raise StepError(f"{reference}: no such parameter")
            return run.parameters[name]
        if reference.startswith("Execution."):
            name = reference.split(".", 1)[1]
            if name == "CurrentDateTime":
                return dt.datetime.now(tz=dt.UTC).isoformat()
            if name not in run.variables:
                raise UnsupportedError(f"execution variable {reference!r} is not emulated")
            return run.variables[name]
        match = _STEP_REF.match(reference)
        if match is None:
            raise UnsupportedError(f"reference {reference!r} is not emulated")
        step = run.record.steps.get(match["step"])
        if step is None or step.status != "Succeeded":
            raise StepError(f"{reference}: step {match['step']!r} has not succeeded")
        if match["path"].startswith("PropertyFiles."):
            name = match["path"].split(".", 1)[1]
            if name not in step.property_files:
                raise StepError(
                    f"{reference}: step {match['step']!r} has no property file {name!r}"
                )
            return {"__property_file__": step.property_files[name]}
        return walk_path(step.properties, match["path"], what=reference)

    def _json_get(self, run: _Run, spec: dict[str, Any]) -> Any:
        path = spec.get("Path", "")
        if "PropertyFile" in spec:
            source = self._resolve(run, spec["PropertyFile"])
            if not isinstance(source, dict) or "__property_file__" not in source:
                raise StepError(f"JsonGet: {spec['PropertyFile']!r} is not a property file")
            document = source["__property_file__"]
        elif "S3Uri" in spec:
            uri = _render(self._resolve(run, spec["S3Uri"]))
            try:
                document = json.loads(self.aws.s3.read_bytes(uri))
            except (FileNotFoundError, ValueError) as error:
                raise StepError(f"JsonGet: cannot read {uri}: {error}") from error
        else:
            raise UnsupportedError(f"JsonGet without PropertyFile or S3Uri: {spec!r}")
        return walk_path(document, path, what=f"JsonGet {path!r}")

    def _read_property_files(
        self, step: dict[str, Any], properties: dict[str, Any]
    ) -> dict[str, Any]:
        files: dict[str, Any] = {}
        for spec in step.get("PropertyFiles", []):
            outputs = properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
            output = next((o for o in outputs if o.get("OutputName") == spec["OutputName"]), None)
            if output is None:
                raise StepError(
                    f"property file {spec['PropertyFileName']!r} names output "
                    f"{spec['OutputName']!r}, which the step does not have"
                )
            uri = f"{output['S3Output']['S3Uri'].rstrip('/')}/{spec['FilePath']}"
            try:
                files[spec["PropertyFileName"]] = json.loads(self.aws.s3.read_bytes(uri))
            except (FileNotFoundError, ValueError) as error:
                raise StepError(
                    f"property file {spec['PropertyFileName']!r}: cannot read {uri}: {error}"
                ) from error
        return files

    # --- caching ----------------------------------------------------------------------

    def _cache_key(self, run: _Run, step: dict[str, Any], arguments: Any) -> str:
        code = {
            uri: self._content_hash(uri)
            for uri in sorted(set(_strings(arguments)))
            if any(uri.startswith(prefix) for prefix in self.code_prefixes)
        }
        material = {
            "pipeline": run.record.pipeline_name,
            "step": step["Name"],
            "type": step["Type"],
            "arguments": arguments,
            "property_files": step.get("PropertyFiles", []),
            "code": code,
        }
        return hashlib.sha256(
            json.dumps(material, sort_keys=True, default=str).encode()
        ).hexdigest()

    def _content_hash(self, uri: str) -> str:
        bucket, prefix = split_uri(uri)
        digest = hashlib.sha256()
        for key in self.aws.s3.list_keys(bucket, prefix):
            digest.update(key.encode() + b"\0")
            digest.update((self.aws.s3.root / bucket / key).read_bytes() + b"\0")
        return digest.hexdigest()

    @contextlib.contextmanager
    def _cache(self) -> Iterator[dict[str, Any]]:
        path = self.aws.root / "step-cache.json"
        entries = json.loads(path.read_text()) if path.is_file() else {}
        yield entries
        path.write_text(json.dumps(entries, indent=1, sort_keys=True, default=str))

    def _cache_lookup(self, run: _Run, step: dict[str, Any], key: str) -> dict[str, Any] | None:
        expiry = parse_duration(step["CacheConfig"].get("ExpireAfter", "P0D"))
        with self._cache() as entries:
            entry = entries.get(key)
        if entry is None:
            return None
        finished = dt.datetime.fromisoformat(entry["finished"])
        if dt.datetime.now(tz=dt.UTC) - finished > expiry:
            return None
        return dict(entry)

    def _cache_store(self, run: _Run, step: dict[str, Any], key: str, record: StepRecord) -> None:
        with self._cache() as entries:
            entries[key] = {
                "pipeline": run.record.pipeline_name,
                "step": step["Name"],
                "execution_id": run.record.execution_id,
                "finished": dt.datetime.now(tz=dt.UTC).isoformat(),
                "properties": record.properties,
                "outputs": record.outputs,
            }

    # --- step types -------------------------------------------------------------------

    def _condition(self, run: _Run, step: dict[str, Any], record: StepRecord) -> None:
        conditions = step.get("Arguments", {}).get("Conditions", [])
        outcome = all(self._evaluate(run, condition) for condition in conditions)
        record.properties = {"Outcome": outcome}
        record.outputs = {"outcome": outcome}

    def _evaluate(self, run: _Run, condition: dict[str, Any]) -> bool:
        kind = condition.get("Type")
        if kind == "Not":
            return not self._evaluate(run, condition["Expression"])
        if kind == "Or":
            return any(self._evaluate(run, c) for c in condition["Conditions"])
        if kind == "In":
            query = self._resolve(run, condition["QueryValue"])
            return any(_equal(query, v) for v in self._resolve(run, condition["Values"]))
        left = self._resolve(run, condition.get("LeftValue"))
        right = self._resolve(run, condition.get("RightValue"))
        if kind == "Equals":
            return _equal(left, right)
        comparisons: dict[str, Callable[[float, float], bool]] = {
            "GreaterThan": lambda a, b: a > b,
            "GreaterThanOrEqualTo": lambda a, b: a >= b,
            "LessThan": lambda a, b: a < b,
            "LessThanOrEqualTo": lambda a, b: a <= b,
        }
        if kind not in comparisons:
            raise UnsupportedError(f"condition type {kind!r} is not emulated")
        try:
            return comparisons[kind](float(left), float(right))
        except (TypeError, ValueError) as error:
            raise StepError(f"{kind}: cannot compare {left!r} with {right!r}") from error

    def _lambda(self, run: _Run, step: dict[str, Any], record: StepRecord) -> None:
        arn = step.get("FunctionArn")
        function = self.lambdas.get(arn or "")
        if function is None:
            raise UnsupportedError(
                f"Lambda step {record.name!r}: no local function registered for {arn!r}"
            )
        event = self._resolve(run, step.get("Arguments", {}))
        try:
            result = dict(function(event))
        except Exception as error:
            raise StepError(
                f"Lambda step {record.name!r}: function error {type(error).__name__}: {error}"
            ) from error
        kinds = {"String": str, "Integer": int, "Float": (int, float), "Boolean": bool}
        outputs = []
        for spec in step.get("OutputParameters", []):
            name = spec["OutputName"]
            if name not in result:
                raise StepError(f"Lambda step {record.name!r}: the function returned no {name!r}")
            expected = kinds.get(spec.get("OutputType", "String"), object)
            if not isinstance(result[name], expected):  # type: ignore[arg-type]
                raise StepError(
                    f"Lambda step {record.name!r}: output {name!r} is "
                    f"{type(result[name]).__name__}, declared {spec.get('OutputType')}"
                )
            outputs.append({"Name": name, "OutputName": name, "Value": result[name]})
        # `Steps.X.OutputParameters['name']` yields the value itself.
        record.properties = {"OutputParameters": {o["Name"]: o["Value"] for o in outputs}}
        record.outputs = {o["Name"]: o["Value"] for o in outputs}

    def _processing(
        self, run: _Run, step: dict[str, Any], record: StepRecord, args: dict[str, Any], work: Path
    ) -> None:
        name = record.name
        cluster = args.get("ProcessingResources", {}).get("ClusterConfig", {})
        _single_instance(name, cluster.get("InstanceCount", 1))
        app = args.get("AppSpecification", {})
        entrypoint = list(app.get("ContainerEntrypoint") or [])
        if len(entrypoint) < 2 or Path(entrypoint[0]).name not in ("python3", "python"):
            raise UnsupportedError(
                f"Processing step {name!r}: entrypoint {entrypoint!r} is not `python3 <script>`"
            )
        for spec in args.get("ProcessingInputs", []):
            s3_input = spec.get("S3Input")
            if s3_input is None:
                raise UnsupportedError(
                    f"Processing step {name!r}: input {spec.get('InputName')!r} is not an S3Input"
                )
            _check_input(
                name,
                spec.get("InputName"),
                s3_input.get("S3DataType"),
                s3_input.get("S3InputMode", "File"),
                s3_input.get("S3CompressionType"),
            )
            local = _map_path(s3_input["LocalPath"], work)
            copied = self._download(s3_input["S3Uri"], Path(local))
            if not copied:
                raise StepError(
                    f"Processing step {name!r}: ClientError: no S3 objects found under "
                    f"{s3_input['S3Uri']} (input {spec.get('InputName')!r})"
                )
        outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
        for spec in outputs:
            if "S3Output" not in spec:
                raise UnsupportedError(f"Processing step {name!r}: output {spec!r} is not S3")
            Path(_map_path(spec["S3Output"]["LocalPath"], work)).mkdir(parents=True, exist_ok=True)
        script = _map_path(entrypoint[1], work)
        command = [
            *self._python(_render(app.get("ImageUri", ""))),
            str(LAUNCHER),
            "script",
            script,
            *[_map_path(str(a), work) for a in entrypoint[2:]],
            *[_map_path(_render(a), work) for a in app.get("ContainerArguments") or []],
        ]
        environment = {
            k: _map_path(_render(v), work) for k, v in (args.get("Environment") or {}).items()
        }
        timeout = args.get("StoppingCondition", {}).get(
            "MaxRuntimeInSeconds", self.max_step_seconds
        )
        try:
            self._subprocess(record, command, environment, work, timeout)
        except StepError as error:
            # SageMaker keeps the first 1 KB of /opt/ml/output/message as the job's
            # ExitMessage (what the notification quotes): the reason, when there is one.
            message = Path(_map_path(EXIT_MESSAGE_FILE, work))
            if message.is_file() and message.read_bytes().strip():
                text = message.read_bytes()[:1024].decode(errors="replace").strip()
                raise StepError(f"ExitMessage: {text} ({error})") from error
            raise
        uploaded: dict[str, list[str]] = {}
        for spec in outputs:
            source = Path(_map_path(spec["S3Output"]["LocalPath"], work))
            uploaded[spec["OutputName"]] = self.aws.s3.upload_dir(source, spec["S3Output"]["S3Uri"])
        job = f"pipelines-{run.record.execution_id}-{name}"[:63]
        record.properties = {
            **args,
            "ProcessingJobName": job,
            "ProcessingJobArn": self._arn("processing-job", job),
            "ProcessingJobStatus": "Completed",
        }
        record.outputs = {spec["OutputName"]: spec["S3Output"]["S3Uri"] for spec in outputs}
        record.outputs["files"] = sum(len(v) for v in uploaded.values())

    def _training(
        self, run: _Run, step: dict[str, Any], record: StepRecord, args: dict[str, Any], work: Path
    ) -> None:
        name = record.name
        count = int(args.get("ResourceConfig", {}).get("InstanceCount", 1))
        algorithm = args.get("AlgorithmSpecification", {})
        if algorithm.get("TrainingInputMode", "File") not in ("File", "FastFile"):
            raise UnsupportedError(
                f"Training step {name!r}: input mode {algorithm['TrainingInputMode']!r}"
            )
        hyperparameters = {k: _render(v) for k, v in (args.get("HyperParameters") or {}).items()}
        program = hyperparameters.get("sagemaker_program")
        image = str(algorithm.get("TrainingImage", ""))
        built_in = None if program else builtin.algorithm_of(image)
        if not program and built_in is None:
            raise UnsupportedError(
                f"Training step {name!r}: no sagemaker_program hyperparameter, and image "
                f"{image!r} is no emulated built-in algorithm: only framework script mode (an "
                f"entry script) and the built-in {', '.join(builtin.IMAGE_REPOSITORIES)} "
                "algorithm are emulated, not bring-your-own containers"
            )
        if program:
            _single_instance(name, count)  # script mode: one local process
        ml = work / "opt" / "ml"
        channels = self._training_channels(name, args, ml)
        timeout = args.get("StoppingCondition", {}).get(
            "MaxRuntimeInSeconds", self.max_step_seconds
        )
        if built_in is not None:
            self._builtin_training(record, built_in, hyperparameters, channels, count, work, ml)
            self._subprocess(
                record,
                [*self._python(image), str(LAUNCHER), "builtin", str(work / "builtin.json")],
                {},
                work,
                timeout,
            )
        else:
            assert program is not None
            environment = self._script_training(
                record, args, program, hyperparameters, channels, work, ml
            )
            command = [*self._python(image), str(LAUNCHER), "script", str(ml / "code" / program)]
            command += _toolkit_cli(hyperparameters)
            self._subprocess(record, command, environment, ml / "code", timeout)
        job = f"pipelines-{run.record.execution_id}-{name}"[:63]
        artifact = self._store_model(args, job, ml / "model", work)
        record.properties = {
            **args,
            "TrainingJobName": job,
            "TrainingJobArn": self._arn("training-job", job),
            "TrainingJobStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": artifact},
        }
        record.outputs = {"model": artifact}
        if count > 1:
            record.outputs["hosts"] = count

    def _training_channels(self, name: str, args: dict[str, Any], ml: Path) -> list[dict[str, Any]]:
        """Copy every S3 channel to /opt/ml/input/data/<channel>; the channel specs back."""
        channels = []
        for channel in args.get("InputDataConfig", []):
            source = channel.get("DataSource", {}).get("S3DataSource")
            if source is None:
                raise UnsupportedError(f"Training step {name!r}: channel {channel!r} is not S3")
            _check_input(
                name,
                channel["ChannelName"],
                source.get("S3DataType"),
                channel.get("InputMode", "File"),
                channel.get("CompressionType"),
            )
            copied = self._download(source["S3Uri"], ml / "input" / "data" / channel["ChannelName"])
            if not copied:
                raise StepError(
                    f"Training step {name!r}: ClientError: no S3 objects under {source['S3Uri']} "
                    f"(channel {channel['ChannelName']!r})"
                )
            channels.append(channel)
        return channels

    def _script_training(
        self,
        record: StepRecord,
        args: dict[str, Any],
        program: str,
        hyperparameters: dict[str, str],
        channels: list[dict[str, Any]],
        work: Path,
        ml: Path,
    ) -> dict[str, str]:
        """Lay out a script-mode job (code, config files) for the framework's training
        toolkit to run `program`; the SM_* environment back."""
        name = record.name
        code = ml / "code"
        submit = hyperparameters.get("sagemaker_submit_directory", "")
        if submit.startswith("s3://"):
            tarball = work / "sourcedir.tar.gz"
            tarball.write_bytes(self.aws.s3.read_bytes(submit))
            _extract(tarball, code)
        elif submit.startswith(CONTAINER_ROOT) and Path(_map_path(submit, work)).is_dir():
            shutil.copytree(_map_path(submit, work), code)
        else:
            raise StepError(
                f"Training step {name!r}: sagemaker_submit_directory {submit!r} is neither an "
                "s3:// tarball nor a folder of an input channel"
            )
        if not (code / program).is_file():
            raise StepError(f"Training step {name!r}: {program} is not in the submitted code")
        names = [c["ChannelName"] for c in channels]
        user = {k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_")}
        (ml / "model").mkdir(parents=True, exist_ok=True)
        (ml / "output" / "data").mkdir(parents=True, exist_ok=True)
        config = ml / "input" / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
        (config / "inputdataconfig.json").write_text(
            json.dumps({c: {"TrainingInputMode": "File"} for c in names})
        )
        (config / "resourceconfig.json").write_text(
            json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
        )
        return {
            **{k: _render(v) for k, v in (args.get("Environment") or {}).items()},
            "SM_MODEL_DIR": str(ml / "model"),
            "SM_OUTPUT_DATA_DIR": str(ml / "output" / "data"),
            "SM_OUTPUT_DIR": str(ml / "output"),
            "SM_INPUT_DIR": str(ml / "input"),
            "SM_INPUT_CONFIG_DIR": str(config),
            "SM_CHANNELS": json.dumps(sorted(names)),
            "SM_HPS": json.dumps({k: _decode(v) for k, v in user.items()}),
            "SM_USER_ARGS": json.dumps(_toolkit_cli(hyperparameters)),
            "SM_MODULE_NAME": Path(program).stem,
            "SM_MODULE_DIR": submit,
            "SM_HOSTS": json.dumps(["algo-1"]),
            "SM_CURRENT_HOST": "algo-1",
            "SM_NUM_CPUS": str(os.cpu_count() or 1),
            "SM_NUM_GPUS": "0",
            "SM_LOG_LEVEL": "20",
            **{f"SM_CHANNEL_{c.upper()}": str(ml / "input" / "data" / c) for c in names},
            **{f"SM_HP_{k.upper()}": v for k, v in user.items()},
        }

    def _builtin_training(
        self,
        record: StepRecord,
        algorithm: str,
        hyperparameters: dict[str, str],
        channels: list[dict[str, Any]],
        count: int,
        work: Path,
        ml: Path,
    ) -> None:
        """Write builtin.json for `rehearsal.builtin.run_job`: each host's channel folders
        (ShardedByS3Key: its share of the objects; FullyReplicated: all of them)."""
        name = record.name
        for channel in channels:
            content_type = channel.get("ContentType")
            try:
                kind = builtin.channel_format(content_type)
            except builtin.ContainerRefusal as error:
                raise StepError(
                    f"Training step {name!r}: channel {channel['ChannelName']!r}: {error}"
                ) from error
            if kind != "csv":
                raise UnsupportedError(
                    f"Training step {name!r}: the {algorithm} container reads channel "
                    f"{channel['ChannelName']!r} as {kind}"
                    + (" (it has no ContentType)" if content_type is None else "")
                    + ": only text/csv channels of a built-in algorithm are emulated"
                )
        hosts: list[dict[str, str]] = [{} for _ in range(count)]
        for channel in channels:
            channel_name = channel["ChannelName"]
            folder = ml / "input" / "data" / channel_name
            if count == 1:
                hosts[0][channel_name] = str(folder)
                continue
            files = sorted(p for p in folder.rglob("*") if p.is_file())
            distribution = channel["DataSource"]["S3DataSource"].get(
                "S3DataDistributionType", "FullyReplicated"
            )
            if distribution == "ShardedByS3Key":
                try:
                    shares = builtin.assign_shards(files, count)
                except builtin.ContainerRefusal as error:
                    raise StepError(
                        f"Training step {name!r}: channel {channel_name!r} (ShardedByS3Key) has "
                        f"{len(files)} object(s) for {count} instances: {error}"
                    ) from error
            else:
                shares = [files] * count
            for index, share in enumerate(shares):
                host_folder = work / "hosts" / f"algo-{index + 1}" / channel_name
                for path in share:
                    target = host_folder / path.relative_to(folder)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.link(path, target)
                host_folder.mkdir(parents=True, exist_ok=True)
                hosts[index][channel_name] = str(host_folder)
        (ml / "model").mkdir(parents=True, exist_ok=True)
        spec = {
            "algorithm": algorithm,
            "hyperparameters": hyperparameters,
            "hosts": hosts,
            "model_dir": str(ml / "model"),
            "work": str(work / "builtin"),
            # the container uses every core of its instance; here the hosts share this
            # machine's (or OMP_NUM_THREADS, when set)
            "threads": max(1, _cores() // count),
        }
        (work / "builtin.json").write_text(json.dumps(spec, indent=1))

    def _store_model(self, args: dict[str, Any], job: str, model_dir: Path, work: Path) -> str:
        """Upload the model folder as SageMaker does: `<S3OutputPath>/<job>/output/model.tar.gz`,
        or the files under `.../output/model/` with CompressionType NONE; the artifact URI."""
        output = args.get("OutputDataConfig", {})
        base = f"{str(output.get('S3OutputPath', '')).rstrip('/')}/{job}/output"
        if output.get("CompressionType", "GZIP") == "NONE":
            artifact = f"{base}/model/"
            self.aws.s3.upload_dir(model_dir, artifact)
            return artifact
        artifact = f"{base}/model.tar.gz"
        tarball = work / "model.tar.gz"
        with tarfile.open(tarball, "w:gz") as archive:
            for path in sorted(model_dir.rglob("*")):
                archive.add(path, arcname=path.relative_to(model_dir).as_posix(), recursive=False)
        self.aws.s3.write_bytes(artifact, tarball.read_bytes())
        return artifact

    def _create_model(
        self, run: _Run, step: dict[str, Any], record: StepRecord, args: dict[str, Any], work: Path
    ) -> None:
        name = record.name
        if "Containers" in args:
            raise UnsupportedError(f"Model step {name!r}: multi-container models are not emulated")
        model_name = f"pipelines-{run.record.execution_id}-{name}"[:63]
        validate = {**args, "ModelName": model_name}
        try:
            validate_request("CreateModel", validate)
        except Exception as error:
            raise StepError(f"Model step {name!r}: {error}") from error
        container = dict(args.get("PrimaryContainer", {}))
        if "ModelPackageName" in container:
            try:
                package = self.aws.registry.describe_model_package(
                    ModelPackageName=container["ModelPackageName"]
                )
            except Exception as error:
                raise StepError(f"Model step {name!r}: {error}") from error
            containers = package.get("InferenceSpecification", {}).get("Containers", [])
            if len(containers) != 1:
                raise UnsupportedError(
                    f"Model step {name!r}: package has {len(containers)} containers"
                )
            container = {**containers[0], "ModelPackageName": container["ModelPackageName"]}
        if not container.get("ModelDataUrl"):
            raise StepError(f"Model step {name!r}: the container has no ModelDataUrl")
        model = {"ModelName": model_name, "PrimaryContainer": container, "Request": args}
        models_file = self.aws.root / "models.json"
        models = json.loads(models_file.read_text()) if models_file.is_file() else {}
        models[model_name] = model
        models_file.write_text(json.dumps(models, indent=1, default=str))
        record.properties = {
            **args,
            "ModelName": model_name,
            "ModelArn": self._arn("model", model_name),
        }
        record.outputs = {"model_name": model_name, "model_data": container["ModelDataUrl"]}

    def _transform(
        self, run: _Run, step: dict[str, Any], record: StepRecord, args: dict[str, Any], work: Path
    ) -> None:
        name = record.name
        models_file = self.aws.root / "models.json"
        models = json.loads(models_file.read_text()) if models_file.is_file() else {}
        model = models.get(args.get("ModelName", ""))
        if model is None:
            raise StepError(
                f"Transform step {name!r}: model {args.get('ModelName')!r} does not exist"
            )
        count = args.get("TransformResources", {}).get("InstanceCount", 1)
        if int(count) > 1:
            record.warnings.append(f"InstanceCount {count} ran as one local worker")
        container = model["PrimaryContainer"]
        environment = {k: _render(v) for k, v in (container.get("Environment") or {}).items()}
        program = environment.get("SAGEMAKER_PROGRAM")
        if not program:
            raise UnsupportedError(
                f"Transform step {name!r}: the model has no SAGEMAKER_PROGRAM: only framework "
                "serving with an entry script is emulated"
            )
        model_dir = work / "opt" / "ml" / "model"
        tarball = work / "model.tar.gz"
        try:
            tarball.write_bytes(self.aws.s3.read_bytes(container["ModelDataUrl"]))
        except FileNotFoundError as error:
            raise StepError(f"Transform step {name!r}: {error}") from error
        _extract(tarball, model_dir)
        submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "/opt/ml/model/code")
        if submit.startswith("s3://"):
            code_dir = work / "opt" / "ml" / "code"
            source = work / "sourcedir.tar.gz"
            source.write_bytes(self.aws.s3.read_bytes(submit))
            _extract(source, code_dir)
        else:
            code_dir = Path(_map_path(submit, work))
        transform_input = args.get("TransformInput", {})
        source_spec = transform_input.get("DataSource", {}).get("S3DataSource", {})
        _check_input(
            name,
            "TransformInput",
            source_spec.get("S3DataType"),
            "File",
            transform_input.get("CompressionType"),
        )
        inputs = work / "input"
        files = self._download(source_spec["S3Uri"], inputs)
        if not files:
            raise StepError(
                f"Transform step {name!r}: ClientError: no S3 objects under {source_spec['S3Uri']}"
            )
        output = args.get("TransformOutput", {})
        processing = args.get("DataProcessing", {})
        outputs = work / "output"
        spec = {
            "model_dir": str(model_dir),
            "code_dir": str(code_dir),
            "program": program,
            "files": [
                [str(f), str(outputs / (f.relative_to(inputs).as_posix() + ".out"))] for f in files
            ],
            "content_type": transform_input.get("ContentType", "text/csv"),
            "accept": output.get("Accept", "text/csv"),
            "split_type": transform_input.get("SplitType", "None"),
            "batch_strategy": args.get("BatchStrategy", "MultiRecord"),
            "max_payload_mb": args.get("MaxPayloadInMB", 6),
            "input_filter": processing.get("InputFilter"),
            "output_filter": processing.get("OutputFilter"),
            "join_source": processing.get("JoinSource", "None"),
            "assemble_with": output.get("AssembleWith", "None"),
        }
        spec_file = work / "transform.json"
        spec_file.write_text(json.dumps(spec, indent=1))
        environment = {k: _map_path(v, work) for k, v in environment.items()}
        command = [
            *self._python(_render(container.get("Image", ""))),
            str(LAUNCHER),
            "transform",
            str(spec_file),
        ]
        self._subprocess(record, command, environment, work, self.max_step_seconds)
        uploaded = self.aws.s3.upload_dir(outputs, output["S3OutputPath"])
        job = f"pipelines-{run.record.execution_id}-{name}"[:63]
        record.properties = {
            **args,
            "TransformJobName": job,
            "TransformJobArn": self._arn("transform-job", job),
            "TransformJobStatus": "Completed",
        }
        record.outputs = {"predictions": output["S3OutputPath"], "files": len(uploaded)}

    def _register_model(
        self, run: _Run, step: dict[str, Any], record: StepRecord, args: dict[str, Any], work: Path
    ) -> None:
        registry = self.aws.registry
        try:
            arn = registry.create_model_package(**args)["ModelPackageArn"]
        except Exception as error:
            raise StepError(f"RegisterModel step {record.name!r}: {error}") from error
        package = registry.describe_model_package(ModelPackageName=arn)
        record.properties = {k: v for k, v in package.items() if not isinstance(v, dt.datetime)}
        record.outputs = {
            "model_package_arn": arn,
            "version": package["ModelPackageVersion"],
            "approval": package["ModelApprovalStatus"],
        }

    # --- helpers ----------------------------------------------------------------------

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.aws.region}:{ACCOUNT_ID}:{kind}/{name.lower()}"

    def _download(self, uri: Any, destination: Path) -> list[Path]:
        if not isinstance(uri, str):
            raise StepError(f"input URI {uri!r} is not a string")
        try:
            return self.aws.s3.download_prefix(uri, destination)
        except ValueError as error:
            raise StepError(str(error)) from error
        except Exception as error:
            raise StepError(f"cannot read {uri}: {error}") from error

    def _python(self, image: Any) -> list[str]:
        """The command that runs Python in a step whose container image is `image`."""
        if self.interpreter is None:
            return [self.python]
        return list(self.interpreter(str(image)))

    def _subprocess(
        self,
        record: StepRecord,
        command: list[str],
        environment: dict[str, str],
        cwd: Path,
        timeout: Any,
    ) -> None:
        """Run a step program; StepError with the last error line when it fails.

        Programs write only under the step's work folder when every container path they use
        arrives as an argument or variable. A program that writes to a default /opt/ml/...
        path nobody mapped would create /opt/ml on this machine: the executor then removes
        it (only if it did not exist before) and records a warning, since SageMaker would
        silently drop such files (they are in no ProcessingOutput).
        """
        name = record.name
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_VARIABLES}
        env.update(
            {
                "AWS_DEFAULT_REGION": self.aws.region,
                "AWS_REGION": self.aws.region,
                "AWS_ACCESS_KEY_ID": "rehearsal",
                "AWS_SECRET_ACCESS_KEY": "rehearsal",
                "AWS_EC2_METADATA_DISABLED": "true",
                # Any boto3 route the launcher did not replace hits a closed local port.
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
                "PYTHONDONTWRITEBYTECODE": "1",
                **self.aws.environment(),
                **environment,
            }
        )
        logs = cwd if cwd.name != "code" else cwd.parents[2]
        tmp = logs / "tmp"
        tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = str(tmp)
        host_root = Path(CONTAINER_ROOT)
        host_root_existed = host_root.exists()
        with (logs / "stdout.log").open("w") as out, (logs / "stderr.log").open("w") as err:
            try:
                completed = subprocess.run(  # noqa: S603 - our interpreter, our launcher
                    command,
                    cwd=cwd,
                    env=env,
                    stdout=out,
                    stderr=err,
                    timeout=min(int(timeout), self.max_step_seconds),
                    check=False,
                )
            except subprocess.TimeoutExpired as error:
                raise StepError(
                    f"step {name!r} exceeded its {error.timeout} s runtime limit"
                ) from error
            finally:
                if not host_root_existed and host_root.exists():
                    record.warnings.append(_strays(host_root))
        if completed.returncode != 0:
            tail = [line for line in (logs / "stderr.log").read_text().splitlines() if line.strip()]
            reason = tail[-1] if tail else "(no error output)"
            raise StepError(
                f"AlgorithmError: {reason} (exit code {completed.returncode}; "
                f"log {logs / 'stderr.log'})"
            )


# --- definition helpers ---------------------------------------------------------------


def _flatten(
    steps: list[dict[str, Any]],
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, bool]]]:
    """({name: step} including condition branches, {branch step: (condition, branch)})."""
    found: dict[str, dict[str, Any]] = {}
    branch_of: dict[str, tuple[str, bool]] = {}

    def visit(items: list[dict[str, Any]], parent: tuple[str, bool] | None) -> None:
        for step in items:
            name = step.get("Name")
            if not isinstance(name, str) or name in found:
                raise DefinitionError(f"step name {name!r} is missing or repeated")
            found[name] = step
            if parent:
                branch_of[name] = parent
            if step.get("Type") == "Condition":
                arguments = step.get("Arguments", {})
                visit(arguments.get("IfSteps", []), (name, True))
                visit(arguments.get("ElseSteps", []), (name, False))

    visit(steps, None)
    return found, branch_of


def _gets(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            yield value["Get"]
        for item in value.values():
            yield from _gets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _gets(item)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _dependencies(
    name: str,
    step: dict[str, Any],
    steps: Mapping[str, Any],
    branch_of: Mapping[str, tuple[str, bool]],
) -> list[str]:
    own = dict(step)
    if step.get("Type") == "Condition":
        own["Arguments"] = {"Conditions": step.get("Arguments", {}).get("Conditions", [])}
    names = set(step.get("DependsOn", []))
    for reference in _gets(own):
        match = _STEP_REF.match(reference)
        if match:
            names.add(match["step"])
    if name in branch_of:
        names.add(branch_of[name][0])
    unknown = sorted(names - set(steps))
    if unknown:
        raise DefinitionError(f"step {name!r} refers to unknown step(s) {unknown}")
    return sorted(names)


def _topological(names: list[str], dependencies: Mapping[str, list[str]]) -> list[str]:
    """Document order among ready steps; DefinitionError on a cycle."""
    order: list[str] = []
    done: set[str] = set()
    remaining = list(names)
    while remaining:
        ready = [n for n in remaining if set(dependencies[n]) <= done]
        if not ready:
            raise DefinitionError(f"dependency cycle among steps {remaining}")
        order.append(ready[0])
        done.add(ready[0])
        remaining.remove(ready[0])
    return order


def _parameter_values(
    declared: list[dict[str, Any]], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Parameter values: overrides (strings, as StartPipelineExecution sends) or defaults."""
    names = {p["Name"] for p in declared}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise DefinitionError(f"unknown parameter(s) {unknown}; declared: {sorted(names)}")
    values: dict[str, Any] = {}
    for parameter in declared:
        name, kind = parameter["Name"], parameter.get("Type", "String")
        if name in overrides:
            raw = overrides[name]
        elif "DefaultValue" in parameter:
            raw = parameter["DefaultValue"]
        else:
            raise DefinitionError(f"parameter {name!r} has no default and no value was given")
        try:
            if kind == "Integer":
                values[name] = int(raw)
            elif kind == "Float":
                values[name] = float(raw)
            elif kind == "Boolean":
                values[name] = raw if isinstance(raw, bool) else str(raw).lower() == "true"
            else:
                values[name] = str(raw)
        except (TypeError, ValueError) as error:
            raise DefinitionError(f"parameter {name!r}: {raw!r} is not a {kind}") from error
        if parameter.get("EnumValues") and values[name] not in parameter["EnumValues"]:
            raise DefinitionError(f"parameter {name!r}: {raw!r} not in {parameter['EnumValues']}")
    return values


EXIT_MESSAGE_FILE = f"{CONTAINER_ROOT}/output/message"


def _map_path(value: str, work: Path) -> str:
    """Container paths (/opt/ml/...) inside a string -> the step's work folder."""
    if CONTAINER_ROOT not in value:
        return value
    return re.sub(r"(?<![\w/])/opt/ml(?=/|$|\b)", f"{work}/opt/ml", value)


def _single_instance(step: str, count: Any) -> None:
    if int(count) != 1:
        raise UnsupportedError(
            f"step {step!r}: InstanceCount {count} is not emulated (one local process only)"
        )


def _check_input(step: str, name: Any, data_type: Any, mode: Any, compression: Any) -> None:
    if data_type not in (None, "S3Prefix"):
        raise UnsupportedError(
            f"step {step!r}: input {name!r} S3DataType {data_type!r} (S3Prefix only)"
        )
    if mode not in (None, "File", "FastFile"):
        raise UnsupportedError(f"step {step!r}: input {name!r} mode {mode!r} (File only)")
    if compression not in (None, "None"):
        raise UnsupportedError(f"step {step!r}: input {name!r} compression {compression!r}")


def _strays(root: Path) -> str:
    """Describe and remove files a program wrote under a host /opt/ml it created."""
    files = sorted(p.as_posix() for p in root.rglob("*") if p.is_file())
    dirs = sorted(p.as_posix() for p in root.rglob("*") if p.is_dir())
    shutil.rmtree(root, ignore_errors=True)
    written = files or dirs
    return (
        f"wrote outside the mapped container paths (SageMaker would drop these; removed "
        f"locally): {', '.join(written[:4])}{' ...' if len(written) > 4 else ''}"
    )


def _extract(tarball: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(destination, filter="data")


def _cores() -> int:
    """Cores a step may use: OMP_NUM_THREADS when set (a shared machine), else every one."""
    configured = os.environ.get("OMP_NUM_THREADS", "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else os.cpu_count() or 1


def _toolkit_cli(hyperparameters: Mapping[str, str]) -> list[str]:
    """`--name value` per hyperparameter but the toolkit's own `sagemaker_*`, names sorted."""
    user = {k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_")}
    return [item for key in sorted(user) for item in (f"--{key}", user[key])]


def _decode(value: str) -> Any:
    """A hyperparameter as the training toolkit decodes it (JSON if it parses)."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _equal(left: Any, right: Any) -> bool:
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers) and not isinstance(left, bool):
        return float(left) == float(right)
    return bool(left == right)
