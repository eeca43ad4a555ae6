"""Champion/challenger gate: approve or reject a new model against the last Approved one.

Runs as `python3 /opt/ml/processing/input/code/compare.py` in a SageMaker Processing job,
after evaluation and before registration. The pure core is `decide()`.

Champion = the most recently created *Approved* (Versioned) model package of the group,
found with `pkgml_contracts.registry.latest_approved`: the same query as the Resolve step
and the ops CLI, so the gate judges against the model inference serves. The
registration step MUST attach to every model package these CustomerMetadataProperties
(S3 URIs of the files this run produced):

- `evaluation_s3_uri` (EVALUATION_URI_KEY): the evaluate step's evaluation.json;
- `statistics_s3_uri` (STATISTICS_URI_KEY): the split step's statistics.json.

A champion without them, or whose files are missing or malformed, is an error: the gate
never approves silently on missing evidence.

Checks (all evaluated and reported; approve iff every non-skipped check passes):
- min_score: challenger primary score (default roc_auc) >= floor;
- max_score_drop: champion score - challenger score <= limit (absolute). With
  `--comparison same_data` (the default) both scores are of the same rows: Evaluate's
  `paired` section (the champion scored by ScoreChampion on this week's validation rows,
  DeLong interval of the difference); a drop over the limit fails only when the interval
  lies wholly below zero (worse beyond noise). The stored comparison (the champion's own
  validation score, weeks old) is used with `--comparison stored`, and as the fallback,
  with the reason, when there are no same-data scores of the current champion (e.g. it
  was approved by hand after ScoreChampion ran). Same-data comparisons are of ROC AUC.
- max_label_shift: total-variation distance of the label distributions <= limit
  (for 0/1 labels this equals the absolute difference of the positive rates);
- max_label_count_change: |challenger labelled rows / champion's - 1| <= limit;
- max_input_size_change: |challenger input bytes / champion's - 1| <= limit (rows when a
  side lacks `input_bytes`).
Without a champion only the floor is judged; the others are reported as skipped.

Limits are inclusive, with an absolute tolerance of TOLERANCE = 1e-9: a check passes when
its deviation is at most limit + 1e-9 (the floor: score at least floor - 1e-9). The
deviations come from float arithmetic on the documents (0.90 - 0.88 is
0.020000000000000018), so without it a drop of exactly the configured 0.02 would be
rejected. 1e-9 is far below any meaningful limit and far above float rounding (~1e-16).
decision.json states the tolerance it applied ("tolerance").

Criteria names and defaults are `pkgml_contracts.gate`'s (the settings, the trigger and
the pipeline's parameters read the same definition); this script refuses only limits that
are negative or not finite.

Outputs: `--output-dir` (default /opt/ml/processing/output/decision)/decision.json:
{"decision": "approve"|"reject", "reasons": [str], "checks": [check], "deviations": {...},
 "champion_model_package_arn": str|null, "tolerance": 1e-9, ...}; beside it the model
report (`model_report`: report.html and charts/*.png, from Evaluate's curves.json, the
decision and the group's last HISTORY_VERSIONS versions); and CloudWatch metrics
(`pkgml_contracts.metrics`: namespace PackagingML/Gate, dimensions PackageType and
ModelPackageGroup) that the monitoring stack's alarms read (skip with --no-metrics).
The report is for people: if drawing it fails, the decision stands, the error goes to
the job's log and report.html says what failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pkgml_contracts import gate
from pkgml_contracts import metrics as gate_metrics
from pkgml_contracts.registry import latest_approved

if __package__:
    from . import model_report
else:  # run as a script: the sibling modules sit in the script's own directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import model_report  # type: ignore[no-redef]

EVALUATION_URI_KEY = "evaluation_s3_uri"
STATISTICS_URI_KEY = "statistics_s3_uri"
METRIC_NAMESPACE = gate_metrics.GATE_NAMESPACE
APPROVE = "approve"
REJECT = "reject"
TOLERANCE = 1e-9
"""Absolute slack on every limit: a deviation within 1e-9 of its limit counts as at it."""


class EvidenceError(ValueError):
    """Evidence (metrics or statistics) is missing or malformed; the gate cannot decide."""


@dataclass(frozen=True)
class Evidence:
    """What a model is judged on: its metrics and the statistics of its training data."""

    metrics: Mapping[str, float | None]
    label_counts: Mapping[str, int]
    input_bytes: int | None = None
    model_package_arn: str | None = None

    @property
    def label_count(self) -> int:
        """Labelled rows."""
        return sum(self.label_counts.values())

    @property
    def label_distribution(self) -> dict[str, float]:
        """Share of each label value."""
        total = self.label_count
        return {label: count / total for label, count in self.label_counts.items()}

    @property
    def positive_rate(self) -> float:
        """Share of label '1'."""
        return self.label_distribution.get("1", 0.0)

    def score(self, name: str) -> float | None:
        """The named metric (None if undefined); EvidenceError if absent or not a number."""
        if name not in self.metrics:
            raise EvidenceError(
                f"{self._who()} metrics have no {name!r}; present: {sorted(self.metrics)}"
            )
        value = self.metrics[name]
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise EvidenceError(f"{self._who()} metric {name!r} is not a finite number: {value!r}")
        return float(value)

    def _who(self) -> str:
        """How to name this evidence in messages."""
        return self.model_package_arn or "challenger"

    @classmethod
    def from_documents(
        cls,
        evaluation: Any,
        statistics: Any,
        *,
        source: str,
        model_package_arn: str | None = None,
    ) -> Evidence:
        """Evidence from evaluation.json and statistics.json contents (EvidenceError if bad)."""
        if not isinstance(evaluation, Mapping) or not isinstance(
            evaluation.get("metrics"), Mapping
        ):
            raise EvidenceError(f"{source}: evaluation has no 'metrics' object")
        if not isinstance(statistics, Mapping):
            raise EvidenceError(f"{source}: statistics is not a JSON object")
        raw_counts = statistics.get("label_counts")
        if not isinstance(raw_counts, Mapping) or not raw_counts:
            raise EvidenceError(f"{source}: statistics has no 'label_counts' object")
        counts: dict[str, int] = {}
        for label, count in raw_counts.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise EvidenceError(f"{source}: label count for {label!r} is invalid: {count!r}")
            counts[str(label)] = count
        if sum(counts.values()) == 0:
            raise EvidenceError(f"{source}: statistics report zero labelled rows")
        input_bytes = statistics.get("input_bytes")
        if input_bytes is not None and (
            isinstance(input_bytes, bool) or not isinstance(input_bytes, int) or input_bytes < 0
        ):
            raise EvidenceError(f"{source}: input_bytes is invalid: {input_bytes!r}")
        return cls(
            metrics=dict(evaluation["metrics"]),
            label_counts=counts,
            input_bytes=input_bytes,
            model_package_arn=model_package_arn,
        )


_NOT_LIMITS = frozenset({"primary_metric", "comparison"})


@dataclass(frozen=True)
class SameData:
    """The challenger and the champion scored on the same validation rows (Evaluate's
    `paired` section: ROC AUC, DeLong interval of challenger - champion)."""

    champion_model_package_arn: str
    challenger_score: float
    champion_score: float
    difference: float
    interval: tuple[float, float]
    confidence: float
    rows: int

    @classmethod
    def from_evaluation(cls, evaluation: Mapping[str, Any]) -> SameData | None:
        """The paired comparison in evaluation.json, None when it has none."""
        paired, champion = evaluation.get("paired"), evaluation.get("champion")
        if not paired or not champion:
            return None
        if not isinstance(paired, Mapping) or not isinstance(champion, Mapping):
            raise EvidenceError("evaluation: 'paired' and 'champion' must be objects")
        for key in ("challenger_auc", "champion_auc", "interval", "rows"):
            if key not in paired:
                raise EvidenceError(f"evaluation: the paired comparison has no {key!r}")
        low, high = (float(v) for v in paired["interval"])
        return cls(
            champion_model_package_arn=str(champion.get("model_package_arn")),
            challenger_score=float(paired["challenger_auc"]),
            champion_score=float(paired["champion_auc"]),
            difference=float(paired["challenger_auc"]) - float(paired["champion_auc"]),
            interval=(low, high),
            confidence=float(paired.get("confidence", 0.95)),
            rows=int(paired["rows"]),
        )

    @property
    def worse_beyond_noise(self) -> bool:
        """The whole interval of challenger - champion is below zero."""
        return self.interval[1] < 0

    def text(self) -> str:
        """One sentence for the reasons and the notification."""
        return gate.same_rows_text(
            self.challenger_score, self.champion_score, self.rows, self.confidence, self.interval
        )


@dataclass(frozen=True)
class Criteria:
    """Gate limits (defaults, `pkgml_contracts.gate`: roc_auc, drop 0.02, floor 0.7, shift 0.1,
    count 0.5, size 0.5)."""

    primary_metric: str = gate.PRIMARY_METRIC
    comparison: str = gate.DEFAULT_COMPARISON
    max_score_drop: float = gate.DEFAULTS["max_score_drop"]
    min_score: float = gate.DEFAULTS["min_score"]
    max_label_shift: float = gate.DEFAULTS["max_label_shift"]
    max_label_count_change: float = gate.DEFAULTS["max_label_count_change"]
    max_input_size_change: float = gate.DEFAULTS["max_input_size_change"]

    def __post_init__(self) -> None:
        """Reject limits that are negative or not finite."""
        if not self.primary_metric:
            raise ValueError("primary_metric must be a metric name")
        if self.comparison not in gate.COMPARISONS:
            raise ValueError(
                f"comparison must be one of {', '.join(gate.COMPARISONS)}, got {self.comparison!r}"
            )
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in _NOT_LIMITS:
                continue
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"criterion {item.name} must be a finite number >= 0, got {value}")


@dataclass(frozen=True)
class Check:
    """One criterion's outcome."""

    name: str
    observed: float | None
    limit: float
    passed: bool
    skipped: bool
    message: str


@dataclass(frozen=True)
class Decision:
    """The gate's verdict with every check and the deviations that drove it."""

    decision: str
    reasons: list[str]
    checks: list[Check]
    champion_model_package_arn: str | None
    deviations: dict[str, float | None]
    challenger_score: float | None
    champion_score: float | None  # the champion's stored score (its own validation set)
    criteria: Criteria = field(default_factory=Criteria)
    tolerance: float = TOLERANCE
    comparison: str = "none"  # what the score check used: same_data, stored, none (no champion)
    same_data: dict[str, Any] | None = None  # both scores on the same rows, when measured

    @property
    def approved(self) -> bool:
        """True when the decision is approve."""
        return self.decision == APPROVE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; top-level 'decision' is the plain string approve/reject."""
        return asdict(self)


def within(value: float, limit: float) -> bool:
    """value <= limit, up to TOLERANCE (a deviation at its limit passes)."""
    return value <= limit + TOLERANCE


def at_least(value: float, floor: float) -> bool:
    """value >= floor, up to TOLERANCE (a score at the floor passes)."""
    return value >= floor - TOLERANCE


def _relative_change(new: float, old: float) -> float:
    """new / old - 1 (old > 0)."""
    return new / old - 1.0


def total_variation(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Total-variation distance between two label distributions."""
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def _score_check(
    metric: str,
    challenger_score: float,
    champion: Evidence,
    champion_score: float,
    criteria: Criteria,
    same_data: SameData | None,
    same_data_unavailable: str | None,
) -> tuple[Check, float, str]:
    """The max_score_drop check, its drop, and the comparison it used."""
    limit = criteria.max_score_drop
    why_stored = ""
    if criteria.comparison == "same_data":
        if same_data is None:
            why_stored = f"no same-data scores ({same_data_unavailable or 'not measured'})"
        elif same_data.champion_model_package_arn != champion.model_package_arn:
            why_stored = (
                f"the same-data scores are of {same_data.champion_model_package_arn}, not the "
                "current champion"
            )
        elif metric != "roc_auc":
            why_stored = f"same-data comparisons are of roc_auc, the gate judges {metric}"
        else:
            drop = -same_data.difference
            over = not within(drop, limit)
            noise = over and not same_data.worse_beyond_noise
            message = (
                f"{same_data.text()}: a drop of {drop:+.4f} against a limit of {limit:.4f}"
                + (" (over the limit but within noise: the interval includes 0)" if noise else "")
            )
            return (
                Check("max_score_drop", drop, limit, not over or noise, False, message),
                drop,
                ("same_data"),
            )
    drop = champion_score - challenger_score
    message = (
        f"{metric} moved from {champion_score:.4f} (champion) to "
        f"{challenger_score:.4f}: a drop of {drop:+.4f} against a limit of {limit:.4f}"
    )
    if why_stored:
        message += f" (stored scores: {why_stored})"
    return Check("max_score_drop", drop, limit, within(drop, limit), False, message), drop, "stored"


def decide(
    challenger: Evidence,
    champion: Evidence | None,
    criteria: Criteria,
    *,
    same_data: SameData | None = None,
    same_data_unavailable: str | None = None,
) -> Decision:
    """Judge the challenger; champion None = first model, judged on the floor only.

    same_data: both models' scores on the challenger's validation rows (the score check
    uses them when criteria.comparison is same_data and they are of this champion);
    same_data_unavailable: why there are none (named in the check's message).
    """
    comparison = "none"
    metric = criteria.primary_metric
    challenger_score = challenger.score(metric)
    champion_score = champion.score(metric) if champion is not None else None
    if champion is not None and champion_score is None:
        raise EvidenceError(
            f"champion {champion.model_package_arn} has no defined {metric!r}: cannot compare"
        )
    checks: list[Check] = []
    if challenger_score is None:
        checks.append(
            Check(
                "min_score",
                None,
                criteria.min_score,
                False,
                False,
                f"challenger {metric} is undefined (e.g. single-class validation labels)",
            )
        )
    else:
        passed = at_least(challenger_score, criteria.min_score)
        checks.append(
            Check(
                "min_score",
                challenger_score,
                criteria.min_score,
                passed,
                False,
                f"challenger {metric} {challenger_score:.4f} is "
                f"{'at or above' if passed else 'below'} the floor {criteria.min_score:.4f}",
            )
        )

    deviations: dict[str, float | None] = dict.fromkeys(gate.DEVIATIONS)
    if champion is None or champion_score is None:
        for name, limit in (
            ("max_score_drop", criteria.max_score_drop),
            ("max_label_shift", criteria.max_label_shift),
            ("max_label_count_change", criteria.max_label_count_change),
            ("max_input_size_change", criteria.max_input_size_change),
        ):
            checks.append(Check(name, None, limit, True, True, "skipped: no champion"))
    else:
        if challenger_score is None:
            checks.append(
                Check(
                    "max_score_drop",
                    None,
                    criteria.max_score_drop,
                    False,
                    False,
                    f"challenger {metric} is undefined; champion has {champion_score:.4f}",
                )
            )
        else:
            check, drop, comparison = _score_check(
                metric,
                challenger_score,
                champion,
                champion_score,
                criteria,
                same_data,
                same_data_unavailable,
            )
            deviations["score_drop"] = drop
            checks.append(check)
        shift = total_variation(challenger.label_distribution, champion.label_distribution)
        deviations["label_shift"] = shift
        checks.append(
            Check(
                "max_label_shift",
                shift,
                criteria.max_label_shift,
                within(shift, criteria.max_label_shift),
                False,
                f"positive rate moved from {champion.positive_rate:.4f} to "
                f"{challenger.positive_rate:.4f} (label distribution distance {shift:.4f}, "
                f"limit {criteria.max_label_shift:.4f})",
            )
        )
        count_change = _relative_change(challenger.label_count, champion.label_count)
        deviations["label_count_change"] = count_change
        checks.append(
            Check(
                "max_label_count_change",
                count_change,
                criteria.max_label_count_change,
                within(abs(count_change), criteria.max_label_count_change),
                False,
                f"labelled rows moved from {champion.label_count} to {challenger.label_count} "
                f"({count_change:+.1%}, limit ±{criteria.max_label_count_change:.0%})",
            )
        )
        if challenger.input_bytes is not None and champion.input_bytes:
            unit, new, old = "bytes", challenger.input_bytes, champion.input_bytes
        else:
            unit, new, old = "rows", challenger.label_count, champion.label_count
        size_change = _relative_change(new, old)
        deviations["input_size_change"] = size_change
        checks.append(
            Check(
                "max_input_size_change",
                size_change,
                criteria.max_input_size_change,
                within(abs(size_change), criteria.max_input_size_change),
                False,
                f"input size moved from {old} to {new} {unit} ({size_change:+.1%}, "
                f"limit ±{criteria.max_input_size_change:.0%})",
            )
        )

    failed = [c for c in checks if not c.skipped and not c.passed]
    if failed:
        reasons = [c.message for c in failed]
    elif champion is None:
        reasons = [f"first model of the group: {checks[0].message}"]
    else:
        reasons = [f"all {len(checks)} checks passed against {champion.model_package_arn}"]
    return Decision(
        decision=REJECT if failed else APPROVE,
        reasons=reasons,
        checks=checks,
        champion_model_package_arn=champion.model_package_arn if champion else None,
        deviations=deviations,
        challenger_score=challenger_score,
        champion_score=champion_score,
        criteria=criteria,
        comparison=comparison,
        same_data=None
        if same_data is None
        else {**asdict(same_data), "interval": list(same_data.interval), "text": same_data.text()},
    )


class AwsClients:
    """boto3 clients created on first use (injectable for tests)."""

    def __init__(
        self,
        *,
        sagemaker: Any = None,
        s3: Any = None,
        cloudwatch: Any = None,
        region_name: str | None = None,
    ) -> None:
        """Keep the given clients; create missing ones lazily in region_name (default: env)."""
        self._clients: dict[str, Any] = {"sagemaker": sagemaker, "s3": s3, "cloudwatch": cloudwatch}
        self._region_name = region_name

    def get(self, service: str) -> Any:
        """The client for a service, created on first use."""
        if self._clients.get(service) is None:
            import boto3

            self._clients[service] = boto3.client(service, region_name=self._region_name)
        return self._clients[service]


def _read_s3_json(s3: Any, uri: str, *, what: str) -> Any:
    """Parsed JSON at an s3:// URI; EvidenceError naming the URI when missing or malformed."""
    from botocore.exceptions import ClientError

    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise EvidenceError(f"{what}: {uri!r} is not an s3://bucket/key URI")
    try:
        body = s3.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read()
    except ClientError as error:
        raise EvidenceError(f"{what}: cannot read {uri}: {error}") from error
    try:
        return json.loads(body)
    except ValueError as error:
        raise EvidenceError(f"{what}: {uri} is not valid JSON: {error}") from error


def find_champion_arn(sagemaker: Any, model_package_group: str) -> str | None:
    """ARN of the group's champion (pkgml_contracts.registry.latest_approved), or None."""
    champion = latest_approved(sagemaker, model_package_group)
    return None if champion is None else str(champion["ModelPackageArn"])


def load_champion(clients: AwsClients, model_package_group: str, *, metric: str) -> Evidence | None:
    """The champion's evidence from its CustomerMetadataProperties, or None if none approved."""
    arn = find_champion_arn(clients.get("sagemaker"), model_package_group)
    if arn is None:
        return None
    package = clients.get("sagemaker").describe_model_package(ModelPackageName=arn)
    metadata = package.get("CustomerMetadataProperties") or {}
    missing = [k for k in (EVALUATION_URI_KEY, STATISTICS_URI_KEY) if not metadata.get(k)]
    if missing:
        raise EvidenceError(
            f"champion {arn} lacks CustomerMetadataProperties {missing}: the registration step "
            "must attach them; refusing to judge without the champion's evidence"
        )
    s3 = clients.get("s3")
    evaluation = _read_s3_json(s3, metadata[EVALUATION_URI_KEY], what=f"champion {arn} evaluation")
    statistics = _read_s3_json(s3, metadata[STATISTICS_URI_KEY], what=f"champion {arn} statistics")
    evidence = Evidence.from_documents(
        evaluation, statistics, source=f"champion {arn}", model_package_arn=arn
    )
    evidence.score(metric)
    return evidence


def rejections_since_last_approval(sagemaker: Any, model_package_group: str) -> int:
    """Rejected versions registered after the newest Approved one (newest first, paginated).

    Versioned packages only, like the champion query (absent, the type defaults to
    unversioned packages, which a group never holds).
    """
    count = 0
    token: str | None = None
    while True:
        request: dict[str, Any] = {
            "ModelPackageGroupName": model_package_group,
            "ModelPackageType": "Versioned",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
        }
        if token:
            request["NextToken"] = token
        response = sagemaker.list_model_packages(**request)
        for summary in response.get("ModelPackageSummaryList", []):
            status = summary.get("ModelApprovalStatus")
            if status == "Approved":
                return count
            if status == "Rejected":
                count += 1
        token = response.get("NextToken")
        if not token:
            return count


HISTORY_VERSIONS = 12


def group_history(
    clients: AwsClients,
    model_package_group: str,
    *,
    metric: str,
    champion: str | None,
    limit: int = HISTORY_VERSIONS,
) -> tuple[list[dict[str, Any]], str]:
    """The group's newest `limit` versions, oldest first, as the report's rows (version,
    status, created, gate, run, the primary metric from each evaluation.json, `champion`'s
    ARN flagged: the one the gate judged against), and a note naming what could not be
    read ('' when everything was)."""
    sagemaker, s3 = clients.get("sagemaker"), clients.get("s3")
    response = sagemaker.list_model_packages(
        ModelPackageGroupName=model_package_group,
        ModelPackageType="Versioned",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=limit,
    )
    rows: list[dict[str, Any]] = []
    unread: list[str] = []
    for summary in reversed(response.get("ModelPackageSummaryList") or []):
        arn = str(summary["ModelPackageArn"])
        version = summary.get("ModelPackageVersion")
        label = f"v{version}" if version is not None else arn.rsplit("/", 1)[-1]
        metadata = (
            sagemaker.describe_model_package(ModelPackageName=arn).get("CustomerMetadataProperties")
            or {}
        )
        score = None
        if metadata.get(EVALUATION_URI_KEY):
            try:
                evaluation = _read_s3_json(s3, metadata[EVALUATION_URI_KEY], what=label)
                score = (evaluation.get("metrics") or {}).get(metric)
            except EvidenceError as error:
                unread.append(str(error))
        created = summary.get("CreationTime")
        rows.append(
            {
                "label": label,
                "status": summary.get("ModelApprovalStatus"),
                "created": (
                    created.isoformat(timespec="minutes")
                    if hasattr(created, "isoformat")
                    else (str(created)[:16] if created else None)
                ),
                "gate": metadata.get("gate_decision"),
                "run_id": metadata.get("run_id"),
                "score": score,
                "champion": arn == champion,
            }
        )
    note = f"Not read: {'; '.join(unread)}" if unread else ""
    return rows, note


def report(
    args: argparse.Namespace,
    clients: AwsClients,
    evaluation: Mapping[str, Any],
    decision: Mapping[str, Any],
) -> Path:
    """Write the model report beside decision.json; on any error, a page saying so."""
    path = args.output_dir / model_report.REPORT_FILE
    try:
        metric = str(decision["criteria"]["primary_metric"])
        history, note = group_history(
            clients,
            args.model_package_group,
            metric=metric,
            champion=decision.get("champion_model_package_arn"),
        )
        history.append(
            {
                "label": "this run",
                "status": f"gate: {decision['decision']}",
                "gate": decision["decision"],
                "score": decision.get("challenger_score"),
            }
        )
        folder = args.evaluation_path
        folder = folder if folder.is_dir() else folder.parent
        curves = model_report.read_curves(folder / model_report.CURVES_FILE)
        return model_report.write_report(
            args.output_dir,
            evaluation=evaluation,
            curves=curves,
            decision=decision,
            history=history,
            history_note=note,
        )
    except Exception as error:  # the report must never change or block the gate's verdict
        traceback.print_exc(file=sys.stderr)
        path.write_text(model_report.failure_page(error), encoding="utf-8")
        return path


def compared_champion_score(decision: Decision) -> float | None:
    """The champion's score the gate compared with: the same rows' when it used them."""
    if decision.comparison == "same_data" and decision.same_data:
        return float(decision.same_data["champion_score"])
    return decision.champion_score


def publish_metrics(
    cloudwatch: Any,
    decision: Decision,
    *,
    package_type: str,
    model_package_group: str,
    consecutive_rejections: int | None = None,
) -> list[dict[str, Any]]:
    """put_metric_data of the deviations, both scores, Approved (0/1) and, when
    given, ConsecutiveRejections (this decision included; 0 when approved); names and
    dimensions are `pkgml_contracts.metrics`'."""
    dimensions = gate_metrics.dimension_list(package_type, model_package_group)
    values = {
        **{
            gate_metrics.DEVIATION_METRICS[name]: decision.deviations[name]
            for name in gate.DEVIATIONS
        },
        gate_metrics.CHALLENGER_SCORE: decision.challenger_score,
        gate_metrics.CHAMPION_SCORE: compared_champion_score(decision),
        gate_metrics.APPROVED: 1.0 if decision.approved else 0.0,
        gate_metrics.CONSECUTIVE_REJECTIONS: consecutive_rejections,
    }
    data = [
        {"MetricName": name, "Dimensions": dimensions, "Value": float(value), "Unit": "None"}
        for name, value in values.items()
        if value is not None
    ]
    cloudwatch.put_metric_data(Namespace=METRIC_NAMESPACE, MetricData=data)
    return data


def _read_json_file(path: Path, name: str, *, what: str) -> Any:
    """JSON from a file, or from <dir>/<name> when path is a directory."""
    file = path / name if path.is_dir() else path
    try:
        return json.loads(file.read_text())
    except FileNotFoundError as error:
        raise EvidenceError(f"{what}: {file} does not exist") from error
    except ValueError as error:
        raise EvidenceError(f"{what}: {file} is not valid JSON: {error}") from error


def _criterion(value: str, name: str, default: float) -> float:
    """A criterion argument: '' means the default, otherwise a float."""
    if value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError as error:
        raise ValueError(f"--{name.replace('_', '-')} must be a number, got {value!r}") from error


def criteria_from_args(args: argparse.Namespace) -> Criteria:
    """Criteria from string arguments, '' falling back to each default."""
    defaults = Criteria()
    return Criteria(
        primary_metric=args.primary_metric.strip() or defaults.primary_metric,
        comparison=args.comparison.strip() or defaults.comparison,
        **{
            item.name: _criterion(getattr(args, item.name), item.name, getattr(defaults, item.name))
            for item in fields(Criteria)
            if item.name not in _NOT_LIMITS
        },
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Arguments; criteria are strings so pipeline parameters can pass '' for the default."""
    parser = argparse.ArgumentParser(description="Champion/challenger gate.")
    parser.add_argument("--package-type", required=True)
    parser.add_argument("--model-package-group", required=True)
    parser.add_argument("--primary-metric", default="")
    parser.add_argument(
        "--comparison", default="", help=f"{' or '.join(gate.COMPARISONS)} (default same_data)"
    )
    for item in fields(Criteria):
        if item.name not in _NOT_LIMITS:
            parser.add_argument(f"--{item.name.replace('_', '-')}", default="")
    parser.add_argument(
        "--evaluation-path",
        type=Path,
        default=Path("/opt/ml/processing/input/evaluation/evaluation.json"),
    )
    parser.add_argument(
        "--statistics-path",
        type=Path,
        default=Path("/opt/ml/processing/input/statistics/statistics.json"),
    )
    parser.add_argument(
        "--output-dir", type=Path, default=Path("/opt/ml/processing/output/decision")
    )
    parser.add_argument("--region", default=os.environ.get("AWS_REGION"))
    parser.add_argument("--no-metrics", action="store_true", help="skip CloudWatch metrics")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, clients: AwsClients | None = None) -> Decision:
    """Load both sides' evidence, decide, write decision.json, publish metrics."""
    clients = clients or AwsClients(region_name=args.region)
    criteria = criteria_from_args(args)
    evaluation = _read_json_file(
        args.evaluation_path, "evaluation.json", what="challenger evaluation"
    )
    challenger = Evidence.from_documents(
        evaluation,
        _read_json_file(args.statistics_path, "statistics.json", what="challenger statistics"),
        source="challenger",
    )
    champion = load_champion(clients, args.model_package_group, metric=criteria.primary_metric)
    decision = decide(
        challenger,
        champion,
        criteria,
        same_data=SameData.from_evaluation(evaluation),
        same_data_unavailable=evaluation.get("paired_unavailable"),
    )
    document = {
        "package_type": args.package_type,
        "model_package_group": args.model_package_group,
        **decision.to_dict(),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "decision.json").write_text(json.dumps(document, indent=2))
    report(args, clients, evaluation, document)
    if not args.no_metrics:
        earlier = rejections_since_last_approval(clients.get("sagemaker"), args.model_package_group)
        publish_metrics(
            clients.get("cloudwatch"),
            decision,
            package_type=args.package_type,
            model_package_group=args.model_package_group,
            consecutive_rejections=0 if decision.approved else earlier + 1,
        )
    return decision


def main(argv: list[str] | None = None, clients: AwsClients | None = None) -> None:
    """Entry point: decide and print the verdict (exit code 0 for approve and reject)."""
    decision = run(parse_args(argv), clients)
    print(json.dumps({"decision": decision.decision, "reasons": decision.reasons}))


if __name__ == "__main__":
    main()
