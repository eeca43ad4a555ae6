"""Fixtures for the step-script tests: fake AWS settings and small synthetic datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

from pipeline_defs import synthetic_data


@pytest.fixture(scope="session")
def training_table() -> pa.Table:
    """A small long-format training set: 6,000 products x 4 package types, seed 7."""
    return synthetic_data.generate_training_set(6_000, seed=7)


@pytest.fixture(scope="session")
def unload_dir(tmp_path_factory: pytest.TempPathFactory, training_table: pa.Table) -> Path:
    """The training set written as an UNLOAD-like directory of Parquet parts."""
    out = tmp_path_factory.mktemp("unload")
    synthetic_data.write_parquet(training_table, out, rows_per_file=7_000)
    return out


@pytest.fixture(scope="session")
def split_dir(tmp_path_factory: pytest.TempPathFactory, unload_dir: Path) -> Path:
    """The split step's outputs for package type 'mailer' (ratio 0.25, seed 42)."""
    from pipeline_defs.steps import split

    out = tmp_path_factory.mktemp("split")
    split.main(
        [
            "--package-type",
            "mailer",
            "--validation-ratio",
            "0.25",
            "--input-dir",
            str(unload_dir),
            "--output-dir",
            str(out),
        ]
    )
    return out
