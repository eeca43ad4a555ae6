"""The local world: the folder where the stand-ins for S3, the Model Registry and Redshift
keep their state, and the variables that point a step subprocess at them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rehearsal.localaws import (
    ENV_METRICS,
    ENV_REGION,
    ENV_REGISTRY,
    ENV_S3_ROOT,
    ENV_WAREHOUSE,
    LocalModelRegistry,
    LocalS3,
)


@dataclass(frozen=True)
class LocalAws:
    """Where the local stand-ins keep their state (one folder)."""

    root: Path
    region: str = "us-east-1"

    @property
    def s3(self) -> LocalS3:
        """The local S3 tree (root/s3)."""
        return LocalS3(self.root / "s3")

    @property
    def registry(self) -> LocalModelRegistry:
        """The local Model Registry (root/registry.json)."""
        return LocalModelRegistry(self.root / "registry.json", region=self.region)

    @property
    def warehouse(self) -> Path:
        """The DuckDB file standing in for Redshift."""
        return self.root / "warehouse.duckdb"

    @property
    def metrics_file(self) -> Path:
        """put_metric_data calls of the steps, one JSON line each (root/metrics.jsonl)."""
        return self.root / "metrics.jsonl"

    @property
    def models_file(self) -> Path:
        """The models created by Model steps (root/models.json), read by Transform steps."""
        return self.root / "models.json"

    def environment(self) -> dict[str, str]:
        """REHEARSAL_* variables that point a step subprocess at these stand-ins."""
        return {
            ENV_S3_ROOT: str(self.root / "s3"),
            ENV_REGISTRY: str(self.root / "registry.json"),
            ENV_METRICS: str(self.metrics_file),
            ENV_WAREHOUSE: str(self.warehouse),
            ENV_REGION: self.region,
        }
