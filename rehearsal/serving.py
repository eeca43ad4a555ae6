"""A batch transform job as the SageMaker scikit-learn serving container runs it, locally.

Runs inside a step subprocess (see `_launch.py`): imports the model's program
(SAGEMAKER_PROGRAM from SAGEMAKER_SUBMIT_DIRECTORY, i.e. `code/` of the extracted
model.tar.gz) as a top-level module, loads the model with its `model_fn`, then for every
input file: splits records (SplitType Line), applies the InputFilter, sends mini-batches of
at most MaxPayloadInMB (BatchStrategy MultiRecord) through `input_fn` -> `predict_fn` ->
`output_fn`, joins each response line to its input record (JoinSource Input), applies the
OutputFilter and writes the lines (AssembleWith Line) to `<output dir>/<input name>.out`.

JSONPath filters are supported on CSV records only: `$`, `$[i]`, `$[i,j,...]`, `$[a:b]`
(negative indices allowed), as the service applies them to a CSV line's fields.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_FILTER = re.compile(r"^\$(?:\[(?P<inner>[^\]]*)\])?$")
_CSV_TYPES = ("text/csv", "text/plain")


def parse_filter(expression: str | None) -> Callable[[list[str]], list[str]] | None:
    """A function selecting CSV fields for a JSONPath filter, or None for '$' / no filter."""
    if expression is None or expression.strip() == "$":
        return None
    match = _FILTER.fullmatch(expression.strip())
    if match is None or match["inner"] is None:
        raise ValueError(
            f"JSONPath filter {expression!r} is not emulated for CSV; use $, $[i], $[i,j] or $[a:b]"
        )
    items = [item.strip() for item in match["inner"].split(",")]

    def select(fields: list[str]) -> list[str]:
        chosen: list[str] = []
        for item in items:
            if ":" in item:
                start, _, stop = item.partition(":")
                chosen.extend(
                    fields[slice(int(start) if start else None, int(stop) if stop else None)]
                )
            else:
                index = int(item)
                if not -len(fields) <= index < len(fields):
                    raise ValueError(
                        f"filter {expression!r}: index {index} out of {len(fields)} fields"
                    )
                chosen.append(fields[index])
        return chosen

    return select


def _fields(line: str) -> list[str]:
    return next(csv.reader([line]))


def _line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def _default_handlers() -> dict[str, Callable[..., Any]]:
    """The scikit-learn container's defaults for handlers a program does not define."""
    import numpy as np

    def input_fn(body: Any, content_type: str) -> Any:
        text = body.decode() if isinstance(body, bytes) else body
        return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)

    def predict_fn(data: Any, model: Any) -> Any:
        return model.predict(data)

    def output_fn(prediction: Any, accept: str) -> str:
        return "\n".join(str(v) for v in np.asarray(prediction).ravel()) + "\n"

    return {"input_fn": input_fn, "predict_fn": predict_fn, "output_fn": output_fn}


def load_program(code_dir: Path, program: str) -> Any:
    """Import the serving program as the container does (its folder first on sys.path)."""
    if not (code_dir / program).is_file():
        raise FileNotFoundError(
            f"SAGEMAKER_PROGRAM {program!r} is not in SAGEMAKER_SUBMIT_DIRECTORY ({code_dir}); "
            "the serving container would fail to start: the model artifact must carry its code"
        )
    sys.path.insert(0, str(code_dir))
    return importlib.import_module(Path(program).stem)


def batches(records: list[str], limit: int, *, single: bool) -> Iterator[list[str]]:
    """Mini-batches of records of at most `limit` bytes (one record each if single)."""
    batch: list[str] = []
    size = 0
    for record in records:
        record_size = len(record.encode()) + 1
        if record_size > limit:
            raise ValueError(f"a record of {record_size} bytes exceeds MaxPayloadInMB")
        if batch and (single or size + record_size > limit):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += record_size
    if batch:
        yield batch


def run_transform(spec: dict[str, Any]) -> dict[str, Any]:
    """Run a transform job described by spec (see `rehearsal.executor.steps.transform`);
    returns counts."""
    module = load_program(Path(spec["code_dir"]), spec["program"])
    if not hasattr(module, "model_fn"):
        raise AttributeError(f"{spec['program']} defines no model_fn")
    handlers = {
        **_default_handlers(),
        **{
            name: getattr(module, name)
            for name in ("input_fn", "predict_fn", "output_fn")
            if hasattr(module, name)
        },
    }
    model = module.model_fn(spec["model_dir"])
    content_type, accept = spec["content_type"], spec["accept"]
    if content_type.split(";")[0].strip() not in _CSV_TYPES:
        raise ValueError(f"ContentType {content_type!r} is not emulated (text/csv only)")
    input_filter = parse_filter(spec.get("input_filter"))
    output_filter = parse_filter(spec.get("output_filter"))
    join_input = spec.get("join_source", "None") == "Input"
    limit = int(spec["max_payload_mb"]) * 1024 * 1024
    single = spec.get("batch_strategy") == "SingleRecord"
    counts = {}
    for source, target in spec["files"]:
        text = Path(source).read_text()
        if spec.get("split_type", "None") == "Line":
            records = [line for line in text.splitlines() if line.strip()]
        else:
            records = [text]
        outputs: list[str] = []
        for batch in batches(records, limit, single=single):
            sent = [_line(input_filter(_fields(r))) if input_filter else r for r in batch]
            data = handlers["input_fn"]("\n".join(sent) + "\n", content_type)
            response = handlers["output_fn"](handlers["predict_fn"](data, model), accept)
            if isinstance(response, tuple):
                response = response[0]
            if isinstance(response, bytes):
                response = response.decode()
            lines = [line for line in str(response).splitlines() if line.strip()]
            if len(lines) != len(batch):
                raise ValueError(
                    f"{Path(source).name}: the model returned {len(lines)} lines for "
                    f"{len(batch)} records; batch transform needs one output line per record"
                )
            for record, line in zip(batch, lines, strict=True):
                fields = (_fields(record) if join_input else []) + _fields(line)
                outputs.append(_line(output_filter(fields) if output_filter else fields))
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        joiner = "\n" if spec.get("assemble_with", "None") == "Line" else ""
        Path(target).write_text(joiner.join(outputs) + (joiner if outputs else ""))
        counts[Path(source).name] = len(outputs)
    print(json.dumps({"records": counts}))
    return counts
