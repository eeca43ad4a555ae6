"""Start a step program in a fresh interpreter, as a SageMaker container would, but offline.

Usage (by the executor, never by hand):
    python _launch.py script <program.py> [args...]   run a program as __main__
    python _launch.py transform <spec.json>           run a batch transform (serving.py)
    python _launch.py builtin <spec.json>             train a built-in algorithm (builtin.py)

When the program imports boto3, `boto3.client(...)` / `Session.client(...)` are replaced by
the local stand-ins of `rehearsal.localaws` (configured by REHEARSAL_* variables) as the
import completes (a program that never imports boto3 does not pay for importing it), and the
rehearsal's own folders are taken off sys.path again, so the program sees what the
container would: its own folder first, then PYTHONPATH. Any other route to AWS hits
AWS_ENDPOINT_URL, which the executor points at a closed local port.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import runpy
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any


def _patch_boto3() -> None:
    import boto3
    import boto3.session

    from rehearsal.localaws import fake_client

    def client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        return fake_client(service_name)

    def resource(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"boto3.resource({service_name!r}) is not emulated by the rehearsal; use clients"
        )

    boto3.session.Session.client = client
    boto3.session.Session.resource = resource
    boto3.DEFAULT_SESSION = None


class _PatchBoto3OnImport(importlib.abc.MetaPathFinder):
    """Finds boto3 as usual, and patches it (`_patch_boto3`) right after it is executed."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "boto3":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader: Any = spec.loader
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            _patch_boto3()

        loader.exec_module = exec_module
        return spec


def _patch_boto3_when_imported() -> None:
    import rehearsal.localaws  # noqa: F401 (importable later, when the repository is off sys.path)

    if "boto3" in sys.modules:
        _patch_boto3()
    else:
        sys.meta_path.insert(0, _PatchBoto3OnImport())


def main(argv: list[str]) -> None:
    """Dispatch on the mode (script, transform or builtin)."""
    here = Path(__file__).resolve().parent
    repo = str(here.parent)
    sys.path.insert(0, repo)
    _patch_boto3_when_imported()
    mode, target, *rest = argv
    if mode == "transform":
        from rehearsal.serving import run_transform

        spec = json.loads(Path(target).read_text())
        sys.path[:] = [p for p in sys.path if p not in (repo, str(here))]
        run_transform(spec)
        return
    if mode == "builtin":
        from rehearsal.builtin import run_job

        spec = json.loads(Path(target).read_text())
        sys.path[:] = [p for p in sys.path if p not in (repo, str(here))]
        run_job(spec)
        return
    if mode != "script":
        raise SystemExit(f"unknown mode {mode!r}")
    sys.path[:] = [p for p in sys.path if p not in (repo, str(here))]
    sys.path.insert(0, str(Path(target).resolve().parent))
    sys.argv = [target, *rest]
    runpy.run_path(target, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
