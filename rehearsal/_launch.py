"""Start a step program in a fresh interpreter, as a SageMaker container would, but offline.

Usage (by the executor, never by hand):
    python _launch.py script <program.py> [args...]   run a program as __main__
    python _launch.py transform <spec.json>           run a batch transform (serving.py)

Before the program runs, `boto3.client(...)` / `Session.client(...)` are replaced by the
local stand-ins of `rehearsal.localaws` (configured by REHEARSAL_* variables), and the
rehearsal's own folders are taken off sys.path again, so the program sees what the
container would: its own folder first, then PYTHONPATH. Any other route to AWS hits
AWS_ENDPOINT_URL, which the executor points at a closed local port.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path
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


def main(argv: list[str]) -> None:
    """Dispatch on the mode (script or transform)."""
    here = Path(__file__).resolve().parent
    repo = str(here.parent)
    sys.path.insert(0, repo)
    _patch_boto3()
    mode, target, *rest = argv
    if mode == "transform":
        from rehearsal.serving import run_transform

        spec = json.loads(Path(target).read_text())
        sys.path[:] = [p for p in sys.path if p not in (repo, str(here))]
        run_transform(spec)
        return
    if mode != "script":
        raise SystemExit(f"unknown mode {mode!r}")
    sys.path[:] = [p for p in sys.path if p not in (repo, str(here))]
    sys.path.insert(0, str(Path(target).resolve().parent))
    sys.argv = [target, *rest]
    runpy.run_path(target, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
