"""Fixtures of the architecture contract tests: one small split of generated data."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_defs import synthetic_data
from pipeline_defs.steps import split

# 4,000 products of one package type: 3,000 train rows and 1,000 validation rows.
PACKAGE_TYPE = "mailer"
PRODUCTS = 4_000
DATA_SEED = 7


@pytest.fixture(scope="session")
def split_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Split's real outputs (every channel an architecture may read) for generated data."""
    table = synthetic_data.generate_training_set(
        PRODUCTS, seed=DATA_SEED, package_types=(PACKAGE_TYPE,)
    )
    unload = tmp_path_factory.mktemp("unload")
    synthetic_data.write_parquet(table, unload, rows_per_file=1_500)
    out = tmp_path_factory.mktemp("split")
    split.run(
        package_type=PACKAGE_TYPE,
        validation_ratio=0.25,
        seed=42,
        input_dir=unload,
        output_dir=out,
    )
    return out
