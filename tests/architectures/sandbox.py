"""Runs an architecture's program the way its container does, in a fresh interpreter.

    python sandbox.py run   BLOCKED... -- PROGRAM ARGS...
    python sandbox.py serve BLOCKED... -- MODEL_DIR PROGRAM REQUESTS_DIR RESPONSES_DIR

Both refuse imports of the BLOCKED top-level packages (the repository's own, which no
container has: a job sees its code bundle and the image's packages only).

`run`: like the SageMaker training toolkit, `python PROGRAM ARGS` with the program's
folder first on sys.path (the caller sets the environment: SM_* and PYTHONPATH).

`serve`: like the scikit-learn serving container (sagemaker-containers): import PROGRAM's
module from MODEL_DIR/code, `model = model_fn(MODEL_DIR)`, then per request file (sorted
by name; the body as text, as the server passes text/csv) `output_fn(predict_fn(input_fn(
body, "text/csv"), model), "text/csv")`; a (body, content type) tuple counts by its body.
Each response is written under the request's name.
"""

from __future__ import annotations

import importlib
import importlib.abc
import os
import runpy
import sys
from pathlib import Path
from typing import Any

CSV = "text/csv"


class _Blocked(importlib.abc.MetaPathFinder):
    """Fails imports of the given top-level packages."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: a container has only the code bundle "
                "and the image's packages, not the repository",
                name=fullname,
            )


def run(program: str, args: list[str]) -> None:
    """Run `program` as __main__ with `args`, its folder first on sys.path."""
    sys.path[0] = str(Path(program).resolve().parent)
    sys.argv = [program, *args]
    runpy.run_path(program, run_name="__main__")


def serve(model_dir: str, program: str, requests: str, responses: str) -> None:
    """Answer every request file with the serving program's four functions."""
    code = Path(model_dir) / "code"
    if not (code / program).is_file():
        raise FileNotFoundError(f"the model artifact has no code/{program}")
    sys.path[0] = str(code)
    module = importlib.import_module(Path(program).stem)
    missing = [
        name
        for name in ("model_fn", "input_fn", "predict_fn", "output_fn")
        if not callable(getattr(module, name, None))
    ]
    if missing:
        raise AttributeError(f"code/{program} lacks {missing}")
    model = module.model_fn(model_dir)
    out = Path(responses)
    out.mkdir(parents=True, exist_ok=True)
    for request in sorted(Path(requests).iterdir()):
        body = request.read_text(encoding="utf-8")
        result = module.output_fn(module.predict_fn(module.input_fn(body, CSV), model), CSV)
        if isinstance(result, tuple):
            result = result[0]
        data = result.encode("utf-8") if isinstance(result, str) else bytes(result)
        (out / request.name).write_bytes(data)


def main(argv: list[str]) -> None:
    """Dispatch `run` / `serve` (see the module docstring)."""
    command, rest = argv[0], argv[1:]
    separator = rest.index("--")
    sys.meta_path.insert(0, _Blocked(set(rest[:separator])))
    arguments = rest[separator + 1 :]
    if command == "run":
        run(arguments[0], arguments[1:])
    elif command == "serve":
        serve(*arguments)
        # Every response is written: leave without running native libraries' exit-time
        # destructors. Under load, a thread pool torn down at exit (Arrow's or OpenMP's)
        # sometimes aborts with "terminate called without an active exception" (seen once
        # in 20-odd runs); a serving container never exits after its requests, so this
        # exit is not what the check is about.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    else:
        raise SystemExit(f"unknown command {command!r}; expected run or serve")


if __name__ == "__main__":
    main(sys.argv[1:])
