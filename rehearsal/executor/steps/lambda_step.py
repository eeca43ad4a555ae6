"""Lambda step: the local Python function registered for the step's FunctionArn, called
with the resolved arguments as its event; its declared OutputParameters are checked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rehearsal.executor.errors import StepError, UnsupportedError
from rehearsal.executor.expressions import Expressions
from rehearsal.executor.records import StepRecord

LambdaFunction = Callable[[dict[str, Any]], Mapping[str, Any]]
_KINDS: dict[str, type | tuple[type, ...]] = {
    "String": str,
    "Integer": int,
    "Float": (int, float),
    "Boolean": bool,
}


def run(
    expressions: Expressions,
    step: Mapping[str, Any],
    record: StepRecord,
    lambdas: Mapping[str, LambdaFunction],
) -> None:
    """Call the function; its outputs become `OutputParameters['name']` properties."""
    arn = step.get("FunctionArn")
    function = lambdas.get(arn or "")
    if function is None:
        raise UnsupportedError(
            f"Lambda step {record.name!r}: no local function registered for {arn!r}"
        )
    event = expressions.resolve(step.get("Arguments", {}))
    try:
        result = dict(function(event))
    except Exception as error:
        raise StepError(
            f"Lambda step {record.name!r}: function error {type(error).__name__}: {error}"
        ) from error
    outputs = []
    for spec in step.get("OutputParameters", []):
        name = spec["OutputName"]
        if name not in result:
            raise StepError(f"Lambda step {record.name!r}: the function returned no {name!r}")
        expected = _KINDS.get(spec.get("OutputType", "String"), object)
        if not isinstance(result[name], expected):
            raise StepError(
                f"Lambda step {record.name!r}: output {name!r} is "
                f"{type(result[name]).__name__}, declared {spec.get('OutputType')}"
            )
        outputs.append({"Name": name, "OutputName": name, "Value": result[name]})
    # `Steps.X.OutputParameters['name']` yields the value itself.
    record.properties = {"OutputParameters": {o["Name"]: o["Value"] for o in outputs}}
    record.outputs = {o["Name"]: o["Value"] for o in outputs}
