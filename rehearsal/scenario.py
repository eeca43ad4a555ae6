"""The rehearsal scenario: a plan's weeks and days run in the local world, checked.

The plans (what runs, on which data, expecting what) are rehearsal/plan.py's; the local
world (definitions, step code, registry, warehouse) is rehearsal/setup.py's; the gate's
two score comparisons are rehearsal/gate_scores.py's. Here each execution runs, its
outcome is checked against the plan's expectation, and the champion is followed.
Each run prints a table; the end prints every expectation.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal.executor import ExecutionRecord, LocalAws, PipelineExecutor
from rehearsal.gate_scores import GateScores, gate_scores
from rehearsal.plan import (
    APPROVE,
    BROKEN,
    BROKEN_COLUMN,
    CONFIGURED_ARCHITECTURE,
    DEGRADED,
    EASIER,
    HARDER,
    STOPPED,
    InferenceDay,
    PlanItem,
    ScenarioConfig,
    TrainingWeek,
    check_config,
    plan,
)
from rehearsal.setup import (
    ARTIFACTS_BUCKET,
    DATA_BUCKET,
    build_inference_definition,
    build_training_definition,
    check_inputs,
    create_target_table,
    local_values,
    localize,
    metric_lines,
    model_container,
    names,
    package_container,
    replacement_table,
    resolve_function,
    run_counts,
    ship_step_code,
    warehouse_rows,
    write_unload,
)


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
    reports: list[Path] = field(default_factory=list)  # each training run's report.html

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


class _Rehearsal:
    """One scenario's world, definitions and bookkeeping while its plan runs."""

    def __init__(self, config: ScenarioConfig, out: Callable[[str], None]) -> None:
        from pipeline_defs.architectures import architectures

        self.config = config
        self.out = out
        self.result = ScenarioResult()
        self.architectures = architectures()
        self.aws = LocalAws(root=config.workdir, region=config.region)
        s3 = self.aws.s3
        for bucket in (ARTIFACTS_BUCKET, DATA_BUCKET):
            s3.ensure_bucket(bucket)
        self.code = ship_step_code(s3)
        self.table = replacement_table(config.region, self.code)
        self.groups = frozenset(names(p)["group"] for p in config.package_types)
        for group in sorted(self.groups):
            self.aws.registry.create_model_package_group(ModelPackageGroupName=group)
        create_target_table(self.aws)
        self.resolve = resolve_function(self.aws, self.groups)
        interpreter = None
        if config.faithful:
            from containers.faithful import interpreter as faithful_interpreter

            interpreter = faithful_interpreter()
        self.executor = PipelineExecutor(
            self.aws,
            lambdas={local_values(config.region)["RESOLVE_FUNCTION_ARN"]: self.resolve},
            code_prefixes=(f"s3://{ARTIFACTS_BUCKET}/code/",),
            interpreter=interpreter,
            # Each step as it ends, so a long execution is not minutes of silence.
            log=(lambda line: out(f"    {line}")) if config.progress else None,
        )
        # (package type, training architecture; "" = the inference pipeline) -> definition
        self.definitions: dict[tuple[str, str], str] = {}
        self.manifests: dict[str, str] = {}
        self.loaded: dict[tuple[str, str], int] = {}  # (package type, day) -> rows loaded

    # --- set-up -----------------------------------------------------------------------

    def build(self, items: Sequence[PlanItem]) -> None:
        """Every definition the plan runs, localized."""
        for package_type in self.config.package_types:
            wanted = [("inference", "")] + [
                ("training", item.architecture) for item in items if isinstance(item, TrainingWeek)
            ]
            for kind, architecture in dict.fromkeys(wanted):
                text = (
                    build_training_definition(self.config, package_type, architecture)
                    if kind == "training"
                    else build_inference_definition(self.config, package_type)
                )
                self.definitions[(package_type, architecture)] = localize(
                    text, self.table, warn=self.out
                )
        self.out(
            f"Built {len(self.definitions)} definitions, shipped {len(self.code)} code bundle(s)"
        )

    def generate(self, items: Sequence[PlanItem]) -> None:
        """Every week's and day's data, written as UNLOADs (manifest URIs by key)."""
        from pipeline_defs import synthetic_data

        config = self.config
        for item in items:
            if item.key in self.manifests:
                continue
            if isinstance(item, InferenceDay):
                table = synthetic_data.generate_products(
                    config.inference_rows, seed=item.seed, drift=item.drift
                )
                dataset = "inference-daily"
            else:
                degraded = item.data == DEGRADED
                noise = {DEGRADED: config.degraded_label_noise, EASIER: 0.0}
                table = synthetic_data.generate_training_set(
                    config.training_rows,
                    seed=item.seed,
                    package_types=config.package_types,
                    drift=config.drift if degraded else 0.0,
                    label_noise=noise.get(item.data, config.label_noise),
                    unexplained_noise=config.harder_noise if item.data == HARDER else 0.0,
                )
                dataset = "training"
                check_inputs(table, self.architectures[item.architecture])
                if item.data == BROKEN:
                    import pyarrow as pa

                    position = table.schema.get_field_index(BROKEN_COLUMN)
                    field = table.schema.field(position)
                    table = table.set_column(position, field, pa.nulls(table.num_rows, field.type))
            self.manifests[item.key] = write_unload(self.aws.s3, table, dataset, item.key)

    # --- running ----------------------------------------------------------------------

    def run(
        self, label: str, package_type: str, architecture: str, parameters: dict[str, str]
    ) -> ExecutionRecord:
        kind = "training" if architecture else "inference"
        name = names(package_type, architecture or CONFIGURED_ARCHITECTURE)[kind]
        record = self.executor.start(
            self.definitions[(package_type, architecture)],
            pipeline_name=name,
            parameters=parameters,
        )
        self.result.runs.append((label, record))
        self.out("")
        self.out(
            f"== {label} [{package_type}]: {name} execution {record.execution_id}: "
            f"{record.status} in {record.duration_s:.1f} s"
        )
        self.out(record.table())
        for step in record.steps.values():
            for warning in step.warnings:
                self.out(f"   warning {step.name}: {warning}")
            if step.failure_reason and step.status == "Failed":
                self.out(f"   reason {step.name}: {step.failure_reason}")
        return record

    def expect(self, description: str, ok: bool, detail: str = "") -> None:
        self.result.expectations.append(Expectation(description, bool(ok), detail))

    def champion(self, package_type: str) -> dict[str, Any]:
        """What Resolve answers now ({} when there is no champion)."""
        try:
            answer = dict(self.resolve({"model_package_group": names(package_type)["group"]}))
        except Exception:
            return {}
        return answer if answer.get("model_package_version") else {}

    def week(
        self, item: TrainingWeek, package_type: str, champion: tuple[int, str] | None
    ) -> tuple[int, str] | None:
        """Run a training week, check it; the champion expected afterwards."""
        architecture = self.architectures[item.architecture]
        parameters = {"InputManifestUri": self.manifests[item.key], "RunId": f"training-{item.key}"}
        if architecture.distributed:
            parameters["TrainingInstanceCount"] = str(self.config.training_instance_count)
        declared = {h.name: h for h in architecture.hyperparameters}
        parameters.update(
            {declared[name].parameter_name: value for name, value in item.hyperparameters}
        )
        record = self.run(item.label, package_type, item.architecture, parameters)
        tag = f"{package_type}: {item.label}"
        if item.expect == STOPPED:
            return self.stopped(tag, record, package_type, champion)
        self.expect(f"{tag} succeeds", record.status == "Succeeded", _failures(record))
        decision = _decision(self.aws, record)
        scores = gate_scores(decision)
        if scores is not None:
            self.out(f"   gate ({decision.get('decision')}): {scores.text()}")
        if item.stored_verdict:
            would = "approved" if item.stored_verdict == APPROVE else "rejected"
            self.expect(
                f"{tag}: judged on the same rows; the stored comparison would have {would} it",
                scores is not None
                and scores.comparison == "same_data"
                and scores.stored_verdict == item.stored_verdict,
                scores.text() if scores else _decision_detail(decision, record),
            )
        registered = next(
            (
                record.steps[s].outputs.get("version")
                for s in ("RegisterApproved", "RegisterRejected")
                if _status(record, s) == "Succeeded"
            ),
            None,
        )
        self.expect_report(tag, package_type, registered)
        approved = (
            _status(record, "RegisterApproved") == "Succeeded"
            and _status(record, "RegisterRejected") == "Skipped"
        )
        if item.expect == APPROVE:
            if champion is None:
                claim = f"{tag}: {item.architecture} model registered Approved (the first model)"
            else:
                claim = (
                    f"{tag}: the {item.architecture} challenger registered Approved over the "
                    f"{champion[1]} champion v{champion[0]}"
                )
            self.expect(claim, approved, _decision_detail(decision, record, scores))
            expected = (int(registered), item.architecture) if registered else None
            now = self.champion(package_type)
            self.expect(
                f"{package_type}: the champion is now "
                + (f"v{expected[0]} ({expected[1]})" if expected else "this week's model"),
                expected is not None and _is(now, expected),
                _champion_detail(now),
            )
            return expected or champion
        rejected = (
            _status(record, "RegisterRejected") == "Succeeded"
            and _status(record, "RegisterApproved") == "Skipped"
        )
        self.expect(
            f"{tag}: {item.architecture} model registered Rejected with reasons",
            rejected and bool(decision.get("reasons")),
            _decision_detail(decision, record, scores),
        )
        packages = self.aws.registry.packages(names(package_type)["group"])
        self.expect_champion_unchanged(
            package_type,
            champion,
            ", ".join(f"v{p['ModelPackageVersion']} {p['ModelApprovalStatus']}" for p in packages),
        )
        return champion

    def expect_report(self, tag: str, package_type: str, version: Any) -> None:
        """The registered package links the model report, and the report has its charts."""
        package = next(
            (
                p
                for p in self.aws.registry.packages(names(package_type)["group"])
                if str(p.get("ModelPackageVersion")) == str(version)
            ),
            {},
        )
        uri = (package.get("CustomerMetadataProperties") or {}).get("report_s3_uri", "")
        page = self.aws.s3.path(uri) if uri.startswith("s3://") else None
        text = page.read_text() if page is not None and page.is_file() else ""
        charts = sorted(p.stem for p in page.parent.glob("charts/*.png")) if page else []
        if page is not None and text:
            self.result.reports.append(page)
            self.out(f"   model report: {page}")
        self.expect(
            f"{tag}: model report linked from v{version} ({len(charts)} charts)",
            text.count("<svg") >= 6 and len(charts) >= 6,
            f"report_s3_uri {uri!r}: {len(text)} characters, charts {charts}",
        )

    def expect_champion_unchanged(
        self, package_type: str, champion: tuple[int, str] | None, detail: str | None = None
    ) -> None:
        """The champion before the week is still the one Resolve answers."""
        now = self.champion(package_type)
        self.expect(
            f"{package_type}: champion unchanged"
            + (f" (v{champion[0]}, {champion[1]}, still serves)" if champion else ""),
            champion is not None and _is(now, champion),
            _champion_detail(now) if detail is None else detail,
        )

    def stopped(
        self,
        tag: str,
        record: ExecutionRecord,
        package_type: str,
        champion: tuple[int, str] | None,
    ) -> tuple[int, str] | None:
        """A broken extract: the execution fails at DataQualityFailed with the reason
        naming the column, nothing is trained or registered, the champion stays."""
        fail = record.steps.get("DataQualityFailed")
        reason = (fail.failure_reason or "") if fail else ""
        self.expect(
            f"{tag}: stops at the data-quality check, naming the column and the bound",
            record.status == "Failed"
            and _status(record, "DataQualityFailed") == "Failed"
            and f"{BROKEN_COLUMN}: null rate 1" in reason
            and "above the bound" in reason,
            reason or _failures(record),
        )
        ran = [
            name
            for name in ("Train", "ScoreChampion", "RegisterApproved", "RegisterRejected")
            if _status(record, name) in ("Succeeded", "Failed", "Executing")
        ]
        self.expect(f"{tag}: nothing was trained or registered", not ran, ", ".join(ran))
        self.expect_champion_unchanged(package_type, champion)
        return champion

    def blocked(
        self,
        tag: str,
        record: ExecutionRecord,
        run_id: str,
        package_type: str,
        before: dict[str, int],
    ) -> None:
        """A drifted batch under DriftAction=block: measured, nothing loaded, the earlier
        predictions kept, the reason and the metric recorded."""
        load = record.steps.get("Load")
        reason = (load.failure_reason or "") if load else ""
        self.expect(
            f"{tag}: drift measured and the load blocked, naming the features",
            record.status == "Failed"
            and _status(record, "Load") == "Failed"
            and "Input drift blocked the load" in reason
            and "PSI" in reason,
            reason[:300] or _failures(record),
        )
        after = run_counts(self.aws, package_type)
        self.expect(
            f"{tag}: nothing loaded; earlier predictions kept",
            after == before and sum(after.values()) > 0 and run_id not in after,
            f"rows per run before {before}, after {after}",
        )
        blocked = [
            datum["Value"]
            for line in metric_lines(self.aws)
            for datum in line["MetricData"]
            if datum["MetricName"] == "DriftBlocked"
            and {"Name": "PackageType", "Value": package_type} in datum["Dimensions"]
        ]
        self.expect(
            f"{tag}: DriftBlocked published",
            blocked[-1:] == [1.0],
            f"DriftBlocked values {blocked}",
        )

    def day(self, item: InferenceDay, package_type: str, champion: tuple[int, str] | None) -> None:
        """Run an inference day (or its repeat) and check it against the champion."""
        run_id = f"inference-daily-{item.key}"
        parameters = {
            "InputManifestUri": self.manifests[item.key],
            "RunId": run_id,
            "RunKind": "inference-daily",
        }
        if item.drift_action:
            parameters["DriftAction"] = item.drift_action
        counts = run_counts(self.aws, package_type)
        record = self.run(item.label, package_type, "", parameters)
        tag = f"{package_type}: {item.label}"
        if item.drift_action == "block":
            self.blocked(tag, record, run_id, package_type, counts)
            return
        self.expect(f"{tag} succeeds", record.status == "Succeeded", _failures(record))
        rows, distinct, versions = warehouse_rows(self.aws, run_id, package_type)
        if item.repeat:
            before = self.loaded.get((package_type, item.key), -1)
            self.expect(
                f"{package_type}: no duplicate rows after the repeat",
                rows == before and rows > 0,
                f"{_rows_text(before)} before, {rows} after",
            )
            prepare = record.steps.get("Prepare")
            self.expect(
                f"{package_type}: the repeat reuses the cached Prepare step",
                prepare is not None and prepare.cache_hit is True,
            )
            return
        self.loaded[(package_type, item.key)] = rows
        who = f"v{champion[0]} ({champion[1]})" if champion else "(no champion)"
        self.expect(
            f"{tag}: one prediction per product loaded, by the champion {who}",
            champion is not None
            and rows == distinct == self.config.inference_rows
            and versions == [str(champion[0])],
            f"{rows} rows, {distinct} products, model version(s) {versions}",
        )
        ok, detail = self.served_by_champion(record, package_type, champion)
        self.expect(f"{tag}: scored with the champion's container and serving code", ok, detail)

    def served_by_champion(
        self, record: ExecutionRecord, package_type: str, champion: tuple[int, str] | None
    ) -> tuple[bool, str]:
        """Resolve named the champion; the transform's model is the champion package's
        container (image, environment, model data); Prepare wrote the text column exactly
        when the champion's architecture reads text."""
        if champion is None or record.steps.get("Predict") is None:
            return False, "no champion" if champion is None else "no Predict step"
        resolved = record.steps["Resolve"].outputs if "Resolve" in record.steps else {}
        architecture = self.architectures[champion[1]]
        with_text = "true" if "text" in architecture.inputs else "false"
        problems = []
        if resolved.get("model_package_version") != str(champion[0]):
            problems.append(f"Resolve chose v{resolved.get('model_package_version')}")
        if resolved.get("architecture") != champion[1]:
            problems.append(f"Resolve named architecture {resolved.get('architecture')!r}")
        if resolved.get("with_text") != with_text:
            problems.append(f"Resolve with_text {resolved.get('with_text')!r}")
        prepare = record.steps.get("Prepare")
        arguments = (
            (prepare.properties if prepare else {})
            .get("AppSpecification", {})
            .get("ContainerArguments", [])
        )
        flag = arguments[arguments.index("--with-text") + 1] if "--with-text" in arguments else None
        if str(flag).lower() != with_text:
            problems.append(f"Prepare --with-text {flag!r}")
        served = model_container(self.aws, record, "CreateModel")
        package = package_container(self.aws, names(package_type)["group"], champion[0])
        for key in ("Image", "ModelDataUrl", "Environment"):
            if served.get(key) != package.get(key):
                problems.append(f"the transform's model has another {key}")
        program = (served.get("Environment") or {}).get("SAGEMAKER_PROGRAM")
        if architecture.serving_program and program != architecture.serving_program:
            problems.append(f"SAGEMAKER_PROGRAM {program!r}")
        if problems:
            return False, "; ".join(problems)
        return True, (
            f"v{champion[0]} {champion[1]}: {served.get('Image', '?').rsplit('/', 1)[-1]}, "
            f"SAGEMAKER_PROGRAM {program or '(none)'}, text column "
            f"{'on' if with_text == 'true' else 'off'}"
        )


def run_scenario(config: ScenarioConfig, *, out: Callable[[str], None] = print) -> ScenarioResult:
    """Run the scenario's plan (rehearsal.plan) in config.workdir; returns runs and expectations."""
    began = time.monotonic()
    check_config(config)
    items = plan(config)
    architectures_used = sorted({i.architecture for i in items if isinstance(i, TrainingWeek)})
    what = (
        f"cross-architecture: {','.join(config.cross_architectures)}"
        if config.cross_architectures
        else f"architecture: {config.architecture}"
    )
    out(f"Rehearsal in {config.workdir} (package types: {', '.join(config.package_types)}; {what})")
    rehearsal = _Rehearsal(config, out)
    rehearsal.build(items)
    rehearsal.generate(items)
    for package_type in config.package_types:
        champion: tuple[int, str] | None = None
        for item in items:
            if isinstance(item, TrainingWeek):
                champion = rehearsal.week(item, package_type, champion)
            else:
                rehearsal.day(item, package_type, champion)
    result = rehearsal.result
    result.seconds = time.monotonic() - began
    summary_path = config.workdir / "rehearsal-summary.json"
    summary_path.write_text(
        json.dumps(
            {
                "architectures": architectures_used,
                "cross_architectures": list(config.cross_architectures),
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
        if s.status in ("Failed",)
    )


def _decision(aws: LocalAws, record: ExecutionRecord) -> dict[str, Any]:
    compare = record.steps.get("Compare")
    if compare is None or compare.status != "Succeeded":
        return {}
    document = compare.property_files.get("GateDecision")
    return document if isinstance(document, dict) else {}


def _decision_detail(
    decision: Mapping[str, Any], record: ExecutionRecord, scores: GateScores | None = None
) -> str:
    """The verdict and its reasons, with both score comparisons when there was a
    champion (they then stand for the score check's reason)."""
    if not decision:
        return _failures(record)
    detail = f"decision {decision.get('decision')}"
    if scores is None:
        reasons = "; ".join(decision.get("reasons", []))
        return detail + (f": {reasons[:300]}" if reasons else "")
    failed = [c for c in decision.get("checks") or [] if not (c.get("passed") or c.get("skipped"))]
    if failed:
        detail += f" (failed: {', '.join(str(c.get('name')) for c in failed)})"
        others = "; ".join(
            str(c.get("message")) for c in failed if c.get("name") != "max_score_drop"
        )
        detail += f": {others[:300]}" if others else ""
    return f"{detail} | {scores.text()}"


def _is(answer: Mapping[str, Any], champion: tuple[int, str]) -> bool:
    """Whether Resolve's answer names this (version, architecture)."""
    return (
        answer.get("model_package_version") == str(champion[0])
        and answer.get("architecture") == champion[1]
    )


def _champion_detail(answer: Mapping[str, Any]) -> str:
    if not answer:
        return "no Approved version"
    return (
        f"Resolve answers v{answer.get('model_package_version')} "
        f"({answer.get('architecture')}, with_text {answer.get('with_text')})"
    )


def _rows_text(rows: int) -> str:
    """A row count, or 'no run' for the -1 of a day that never loaded."""
    return "no run" if rows < 0 else str(rows)
