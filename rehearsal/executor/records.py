"""What an execution leaves behind: one record per step and one for the whole execution
(written as `executions/<id>/execution.json`, printed as a table by the scenario)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepRecord:
    """What happened to one step."""

    name: str
    type: str
    status: str = "Pending"
    duration_s: float = 0.0
    cache_hit: bool | None = None  # None: caching is off for the step (or not applicable)
    failure_reason: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    property_files: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    work_dir: str | None = None


@dataclass
class ExecutionRecord:
    """One pipeline execution: per-step records in run order, overall status."""

    pipeline_name: str
    execution_id: str
    execution_arn: str
    parameters: dict[str, Any]
    steps: dict[str, StepRecord]
    status: str = "Executing"
    duration_s: float = 0.0

    def step(self, name: str) -> StepRecord:
        """The record of a step by name."""
        return self.steps[name]

    def table(self) -> str:
        """A short text table: step, type, status, duration, cache hit, reason."""
        rows = [("step", "type", "status", "duration", "cache", "")]
        for record in self.steps.values():
            cache = "-" if record.cache_hit is None else ("hit" if record.cache_hit else "miss")
            ran = record.status in ("Succeeded", "Failed")
            duration = f"{record.duration_s:.1f} s" if ran else ""
            reason = (
                (record.failure_reason or "").splitlines()[0][:90] if record.failure_reason else ""
            )
            rows.append((record.name, record.type, record.status, duration, cache, reason))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = []
        for row in rows:
            cells = [
                row[i].ljust(widths[i]) if i != 3 else row[i].rjust(widths[i]) for i in range(5)
            ]
            lines.append("  ".join(cells) + ("  " + row[5] if row[5] else ""))
        return "\n".join(line.rstrip() for line in lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (properties left out: they repeat the requests)."""
        return {
            "pipeline_name": self.pipeline_name,
            "execution_id": self.execution_id,
            "execution_arn": self.execution_arn,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "parameters": self.parameters,
            "steps": [
                {
                    k: v
                    for k, v in dataclasses.asdict(record).items()
                    if k not in ("properties", "property_files")
                }
                for record in self.steps.values()
            ],
        }
