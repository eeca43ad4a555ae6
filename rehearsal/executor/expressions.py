"""The expression evaluator: the values a step's arguments and conditions name.

- `{"Get": "Parameters.X"}`: the execution's parameter value (`parameter_values`: the
  overrides StartPipelineExecution sends, as strings, or the declared defaults, typed);
- `{"Get": "Execution.X"}`: PipelineExecutionId / -Arn, PipelineName, PipelineArn,
  StartDateTime, CurrentDateTime;
- `{"Get": "Steps.X.<path>"}`: a property of a step that succeeded (`walk_path`), or
  `Steps.X.PropertyFiles.Y`: the parsed property file;
- `{"Std:Join": {"On": ..., "Values": [...]}}`: the values rendered (`render`) and joined;
- `{"Std:JsonGet": {"PropertyFile" | "S3Uri": ..., "Path": ...}}`: a value inside a
  property file or a JSON object in S3.

Any other `Std:` function or reference is an UnsupportedError.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline_defs.definition_graph import STEP_REFERENCE
from rehearsal.executor.errors import DefinitionError, StepError, UnsupportedError
from rehearsal.executor.records import StepRecord
from rehearsal.localaws import LocalS3

_PATH_TOKEN = re.compile(
    r"\.?(?:(?P<name>[A-Za-z0-9_]+)|\['(?P<key>[^']*)'\]|\[(?P<index>-?\d+)\])"
)
_PROPERTY_FILE = "__property_file__"


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


def render(value: Any) -> str:
    """A value as Std:Join renders it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def parameter_values(
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


def execution_variables(
    execution_id: str, execution_arn: str, pipeline_name: str, started: dt.datetime
) -> dict[str, Any]:
    """The `Execution.*` values of one execution (CurrentDateTime is read when used)."""
    return {
        "PipelineExecutionId": execution_id,
        "PipelineExecutionArn": execution_arn,
        "PipelineName": pipeline_name,
        "PipelineArn": execution_arn.split("/execution/")[0],
        "StartDateTime": started.isoformat(),
    }


@dataclass(frozen=True)
class Expressions:
    """Evaluates expressions within one execution: its parameters, its execution variables,
    the records of its steps so far (`steps`, filled in as they run), and S3 for JsonGet."""

    parameters: Mapping[str, Any]
    variables: Mapping[str, Any]
    steps: Mapping[str, StepRecord]
    s3: LocalS3

    def resolve(self, value: Any) -> Any:
        """`value` with every Get / Std:Join / Std:JsonGet replaced by what it evaluates to."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"}:
            return self.get(value["Get"])
        if set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            parts = self.resolve(join.get("Values", []))
            return str(join.get("On", "")).join(render(part) for part in parts)
        if set(value) == {"Std:JsonGet"}:
            return self.json_get(value["Std:JsonGet"])
        unknown = [k for k in value if k.startswith("Std:")]
        if unknown:
            raise UnsupportedError(f"function {unknown[0]!r} is not emulated")
        return {key: self.resolve(item) for key, item in value.items()}

    def get(self, reference: str) -> Any:
        """The value a `{"Get": reference}` names."""
        if reference.startswith("Parameters."):
            name = reference.split(".", 1)[1]
            if name not in self.parameters:
                raise StepError(f"{reference}: no such parameter")
            return self.parameters[name]
        if reference.startswith("Execution."):
            name = reference.split(".", 1)[1]
            if name == "CurrentDateTime":
                return dt.datetime.now(tz=dt.UTC).isoformat()
            if name not in self.variables:
                raise UnsupportedError(f"execution variable {reference!r} is not emulated")
            return self.variables[name]
        match = STEP_REFERENCE.match(reference)
        if match is None:
            raise UnsupportedError(f"reference {reference!r} is not emulated")
        step = self.steps.get(match["step"])
        if step is None or step.status != "Succeeded":
            raise StepError(f"{reference}: step {match['step']!r} has not succeeded")
        if match["path"].startswith("PropertyFiles."):
            name = match["path"].split(".", 1)[1]
            if name not in step.property_files:
                raise StepError(
                    f"{reference}: step {match['step']!r} has no property file {name!r}"
                )
            return {_PROPERTY_FILE: step.property_files[name]}
        return walk_path(step.properties, match["path"], what=reference)

    def json_get(self, spec: dict[str, Any]) -> Any:
        """The value at `Path` inside a property file or a JSON object in S3."""
        path = spec.get("Path", "")
        if "PropertyFile" in spec:
            source = self.resolve(spec["PropertyFile"])
            if not isinstance(source, dict) or _PROPERTY_FILE not in source:
                raise StepError(f"JsonGet: {spec['PropertyFile']!r} is not a property file")
            document = source[_PROPERTY_FILE]
        elif "S3Uri" in spec:
            uri = render(self.resolve(spec["S3Uri"]))
            try:
                document = json.loads(self.s3.read_bytes(uri))
            except (FileNotFoundError, ValueError) as error:
                raise StepError(f"JsonGet: cannot read {uri}: {error}") from error
        else:
            raise UnsupportedError(f"JsonGet without PropertyFile or S3Uri: {spec!r}")
        return walk_path(document, path, what=f"JsonGet {path!r}")


def read_property_files(
    s3: LocalS3, step: Mapping[str, Any], properties: Mapping[str, Any]
) -> dict[str, Any]:
    """{PropertyFileName: parsed JSON} of a finished step's PropertyFiles (what
    `Steps.X.PropertyFiles.Y` and JsonGet read), from its processing outputs in S3."""
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
            files[spec["PropertyFileName"]] = json.loads(s3.read_bytes(uri))
        except (FileNotFoundError, ValueError) as error:
            raise StepError(
                f"property file {spec['PropertyFileName']!r}: cannot read {uri}: {error}"
            ) from error
    return files
