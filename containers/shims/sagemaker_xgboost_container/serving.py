"""The XGBoost image's serving module in script mode, as a shim (see __init__.py)."""

from __future__ import annotations

import importlib
import os
from typing import Any

from sagemaker_containers.beta.framework import env, server, transformer, worker

_APP: Any = None
_HANDLERS = ("model_fn", "input_fn", "predict_fn", "output_fn")


def main(environ: Any, start_response: Any) -> Any:
    global _APP
    if _APP is None:
        serving_env = env.ServingEnv()
        module = importlib.import_module(serving_env.module_name)
        missing = [name for name in _HANDLERS if not hasattr(module, name)]
        if missing:
            raise NotImplementedError(
                f"{serving_env.module_name} lacks {missing}: the container's default "
                "handlers are not shimmed"
            )
        user = transformer.Transformer(**{name: getattr(module, name) for name in _HANDLERS})
        user.initialize()
        _APP = worker.Worker(transform_fn=user.transform, module_name=serving_env.module_name)
    return _APP(environ, start_response)


def serving_entrypoint() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    server.start(env.ServingEnv().framework_module)
