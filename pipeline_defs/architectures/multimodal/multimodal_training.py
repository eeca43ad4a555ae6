"""Architecture `multimodal`: what its two training stages share (not shipped for serving).

- `parse_args`: every hyperparameter declared in `architecture.json` (the training job
  passes all of them to each stage as `--name value`; a stage ignores the others' ones),
  typed and range-checked from the declaration itself, so the programs and the schema
  cannot drift apart; plus the channel paths from the SM_* environment.
- `read_channel`: a Parquet channel of Split (train/ or validation/) as tabular features,
  normalised text tokens and labels, computed by the shared `features` module.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from multimodal_common import HERE, _sibling

DECLARATION_FILE = "architecture.json"
_TYPES: dict[str, Any] = {"integer": int, "number": float, "string": str}


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")
    return lowered == "true"


def declared_hyperparameters() -> dict[str, dict[str, Any]]:
    """The `hyperparameters` object of this architecture's declaration."""
    document = json.loads((HERE / DECLARATION_FILE).read_text(encoding="utf-8"))
    return dict(document["hyperparameters"])


def parse_args(argv: Sequence[str] | None, description: str) -> argparse.Namespace:
    """Declared hyperparameters (defaults from the declaration), --seed and the paths."""
    env = os.environ
    parser = argparse.ArgumentParser(description=description)
    declared = declared_hyperparameters()
    for name, spec in declared.items():
        options = sorted({f"--{name}", f"--{name.replace('_', '-')}"})
        kind = _boolean if spec["type"] == "boolean" else _TYPES[spec["type"]]
        parser.add_argument(
            *options, dest=name, type=kind, default=spec["default"], help=spec["description"]
        )
    parser.add_argument("--seed", type=int, default=42, help="random state (not declared)")
    channels = {
        "model-dir": ("SM_MODEL_DIR", "/opt/ml/model"),
        "train": ("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"),
        "validation": ("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"),
        "previous": ("SM_CHANNEL_PREVIOUS", "/opt/ml/input/data/previous"),
    }
    for option, (variable, default) in channels.items():
        parser.add_argument(f"--{option}", type=Path, default=Path(env.get(variable, default)))
    args = parser.parse_args(argv)
    for name, spec in declared.items():
        value = getattr(args, name)
        if "minimum" in spec and not spec["minimum"] <= value <= spec["maximum"]:
            parser.error(f"--{name} must be from {spec['minimum']} to {spec['maximum']}")
        if "choices" in spec and value not in spec["choices"]:
            parser.error(f"--{name} must be one of {spec['choices']}")
    return args


def hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    """{name: value} of every declared hyperparameter, and the seed."""
    return {name: getattr(args, name) for name in declared_hyperparameters()} | {"seed": args.seed}


@dataclass(frozen=True)
class Channel:
    """One Parquet channel as the models read it."""

    ids: list[str]
    tabular: np.ndarray  # float32, FEATURE_COLUMNS
    tokens: list[str]  # features.TEXT_COLUMN
    labels: np.ndarray  # int64 0/1


def read_channel(path: Path) -> Channel:
    """Features, text tokens and labels of a Parquet channel (Split's train/ or validation/)."""
    split = _sibling("split")
    features = _sibling("features")
    table, _ = split.read_parquet_input(path)
    return Channel(
        ids=[str(i) for i in table.column(features.ID_COLUMN).to_pylist()],
        tabular=features.compute_features(table),
        tokens=[str(t) for t in features.text_column(table).to_pylist()],
        labels=split.labels_as_int(table),
    )


def require_both_labels(labels: np.ndarray, what: str) -> None:
    """ValueError unless labels 0 and 1 both occur."""
    classes = np.unique(labels)
    if len(classes) != 2:
        raise ValueError(f"{what} needs both labels 0 and 1; found only {classes.tolist()}")


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC, or None when only one label occurs."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) != 2:
        return None
    return float(roc_auc_score(labels, scores))


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
