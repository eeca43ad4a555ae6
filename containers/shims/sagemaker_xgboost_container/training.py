"""The XGBoost image's training module in algorithm mode, as a shim (see __init__.py)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

BASE = Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))


def main() -> None:
    from rehearsal import builtin

    config = BASE / "input" / "config"
    hyperparameters = json.loads((config / "hyperparameters.json").read_text())
    if "sagemaker_program" in hyperparameters:
        raise NotImplementedError("the shim trains in algorithm mode only (no sagemaker_program)")
    channels = json.loads((config / "inputdataconfig.json").read_text())
    resources = json.loads((config / "resourceconfig.json").read_text())
    if len(resources["hosts"]) != 1:
        raise NotImplementedError("the shim trains on one host (see containers/README)")
    data = BASE / "input" / "data"
    host = {}
    for name, channel in channels.items():
        if name == "code":
            continue
        if builtin.channel_format(channel.get("ContentType")) != "csv":
            raise NotImplementedError(f"channel {name}: only text/csv is shimmed")
        host[name] = builtin.xgboost_channel_files(data / name)
    with tempfile.TemporaryDirectory() as work:
        builtin.train_xgboost(
            hyperparameters,
            [host],
            BASE / "model",
            Path(work) / "job",
            threads=None,
            log=lambda line: print(line, flush=True),
        )
