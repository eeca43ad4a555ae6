"""The scikit-learn image's serving module (its `serve` and SAGEMAKER_SERVING_MODULE), as a shim.

`serving_entrypoint()` is what `serve` runs for a single model: sagemaker-containers'
server start, which installs the model's code (SAGEMAKER_SUBMIT_DIRECTORY, pip) and starts
gunicorn on `main`. `main` is the WSGI application: on its first request in a worker it
imports the program (SAGEMAKER_PROGRAM), builds the toolkit's Transformer from the
program's functions (the image's defaults for those it lacks), loads the model with
`model_fn(/opt/ml/model)` and serves it through the toolkit's Worker (Flask: /ping,
/invocations).
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
from sagemaker_containers.beta.framework import (
    encoders,
    env,
    modules,
    server,
    transformer,
    worker,
)

_APP: Any = None
_DECODED_AS_FLOAT32 = ("text/csv", "application/json")


def default_model_fn(model_dir: str) -> Any:
    raise NotImplementedError("the serving program defines no model_fn")


def default_input_fn(input_data: Any, content_type: str) -> Any:
    decoded = encoders.decode(input_data, content_type)
    return decoded.astype(np.float32) if content_type in _DECODED_AS_FLOAT32 else decoded


def default_predict_fn(input_data: Any, model: Any) -> Any:
    return model.predict(input_data)


def default_output_fn(prediction: Any, accept: str) -> Any:
    return worker.Response(encoders.encode(prediction, accept), accept, mimetype=accept)


def _import(name: str, directory: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return modules.import_module(directory, name)


def _transformer(module: Any) -> Any:
    functions = {
        "model_fn": getattr(module, "model_fn", default_model_fn),
        "input_fn": getattr(module, "input_fn", default_input_fn),
        "predict_fn": getattr(module, "predict_fn", default_predict_fn),
        "output_fn": getattr(module, "output_fn", default_output_fn),
    }
    if hasattr(module, "transform_fn"):
        if any(hasattr(module, n) for n in ("input_fn", "predict_fn", "output_fn")):
            raise ValueError("transform_fn cannot be combined with input_fn/predict_fn/output_fn")
        return transformer.Transformer(
            model_fn=functions["model_fn"], transform_fn=module.transform_fn
        )
    return transformer.Transformer(**functions)


def main(environ: Any, start_response: Any) -> Any:
    global _APP
    if _APP is None:
        serving_env = env.ServingEnv()
        module = _import(serving_env.module_name, serving_env.module_dir)
        user_transformer = _transformer(module)
        user_transformer.initialize()
        _APP = worker.Worker(
            transform_fn=user_transformer.transform,
            module_name=serving_env.module_name,
            execution_parameters_fn=getattr(module, "execution_parameters_fn", None),
        )
    return _APP(environ, start_response)


def serving_entrypoint() -> None:
    server.start(env.ServingEnv().framework_module)
