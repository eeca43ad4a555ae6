"""Architecture __NAME__: train (SageMaker scikit-learn training container) and serve (its
serving container, batch transform). Scaffolded by `make new-architecture`; replace the model.

Training: `python model.py --c 1.0 --max_iter 200` with SM_MODEL_DIR, SM_CHANNEL_TRAIN (Split's
Parquet rows) and SM_CHANNEL_VALIDATION; writes model.joblib and `code/` (this file and
features.py: the serving code travels with the model).
Serving: text/csv rows of FEATURE_COLUMNS (no header, no id) -> one probability per line.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

_HERE = Path(__file__).resolve().parent
# In a job and in model.tar.gz's code/ the step modules lie beside this file; in the
# repository they are in pipeline_defs/steps.
for _folder in (_HERE, _HERE.parents[1] / "steps"):
    if (_folder / "features.py").is_file() and str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
        break

import features  # noqa: E402

MODEL_FILE = "model.joblib"


def _xy(channel: Path) -> tuple[np.ndarray, np.ndarray]:
    import pyarrow.parquet as pq

    table = pq.read_table(channel)
    labels = np.asarray(table.column("label").to_numpy(zero_copy_only=False), dtype=np.int64)
    return features.compute_features(table), labels


def train(argv: list[str] | None = None) -> None:
    """Fit on the train channel and write the model dir (with its serving code)."""
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser()
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--max_iter", "--max-iter", dest="max_iter", type=int, default=200)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument(
        "--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    )
    args, _ = parser.parse_known_args(argv)
    x, y = _xy(Path(args.train))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=args.c, max_iter=args.max_iter))
    model.fit(x, y)
    model_dir = Path(args.model_dir)
    (model_dir / "code").mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / MODEL_FILE)
    for source in (Path(__file__), Path(features.__file__)):
        shutil.copy2(source, model_dir / "code" / source.name)


def model_fn(model_dir: str) -> Any:
    """Load the fitted model."""
    import joblib

    return joblib.load(Path(model_dir) / MODEL_FILE)


def input_fn(body: str | bytes, content_type: str) -> np.ndarray:
    """text/csv feature rows -> float32 matrix."""
    if content_type.split(";")[0].strip() not in ("text/csv", "text/plain"):
        raise ValueError(f"unsupported content type {content_type!r}; send text/csv")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float32, ndmin=2)


def predict_fn(data: np.ndarray, model: Any) -> np.ndarray:
    """Positive-class probability per row."""
    return np.asarray(model.predict_proba(data)[:, 1], dtype=np.float64)


def output_fn(prediction: np.ndarray, accept: str) -> tuple[str, str]:
    """One probability per line."""
    return "".join(f"{value:.6g}\n" for value in np.asarray(prediction).ravel()), "text/csv"


if __name__ == "__main__":
    train()
