"""The rehearsal's plans: its knobs (ScenarioConfig), training weeks and inference days.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


def configured_package_types() -> tuple[str, ...]:
    """The package types of cdk.json's `package_types` (what `make synth` deploys)."""
    from stacks.settings import cdk_json_context, load_settings

    return load_settings(cdk_json_context()).package_types


_PACKAGE_TYPE_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
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
