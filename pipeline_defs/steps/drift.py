"""Input drift of one inference run, judged in the Load step before anything is loaded.

Prepare's hosts each histogram their share of the batch in the bins of the champion's
training baseline (`drift_stats.DriftHistogram`) and write `<host>/profile.json` into its
summary output, with the baseline they used. The Load step mounts that output and calls
`judge`: the hosts' histograms are merged (counts add up, so the result is exactly what
one host over the whole batch would have counted), compared with the baseline
(`drift_stats.drift_report`: PSI per feature, total variation for categorical features, the
batch median against the training median) and the policy is applied:

- no baseline (the champion predates baselines) or too few rows: `not_measured` /
  `insufficient_rows`, loaded;
- drift with action `warn`: loaded, and the metrics raise the drift alarm;
- drift with action `block`: NOT loaded (the table keeps the previous predictions),
  `DriftBlockedError` names the drifted features and the command that loads the reviewed
  batch anyway (`python -m ops drift accept --execution-arn <arn> --reason ...`: the same
  execution's Load step again, with DriftAction=warn).

The predicted scores are judged too when the champion has a score baseline (Evaluate's
`score_baseline.json`: its validation scores): the transform's output is read once, in
blocks, and its score histogram compared by PSI (`prediction_score`).

`drift.json` (in `--drift-dir`) records the report, the action, the verdict and whether
the predictions were loaded; `drift_metrics` are the CloudWatch data the Load step
publishes (`pkgml_contracts.metrics`: MaxFeaturePSI, DriftedFeatures, DriftBlocked, and
FeaturePSI for the most drifted features with a Feature dimension).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

if __package__:
    from . import drift_stats, profile_limits, quality_counter, score_stats
else:  # run as a script: the sibling modules sit on PYTHONPATH or in the script's directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import drift_stats  # type: ignore[no-redef]
    import profile_limits  # type: ignore[no-redef]
    import quality_counter  # type: ignore[no-redef]
    import score_stats  # type: ignore[no-redef]

from pkgml_contracts import metrics
from pkgml_contracts.data_quality import DRIFT_ACTIONS

PROFILE_FILE = drift_stats.PROFILE_FILE
DRIFT_FILE = "drift.json"


class DriftBlockedError(RuntimeError):
    """The batch drifted and the policy is `block`: nothing was loaded."""


class DataQualityError(RuntimeError):
    """The whole run, merged over Prepare's hosts, failed a data-quality check: nothing was
    loaded."""


class Profiles(NamedTuple):
    """Prepare's `<host>/profile.json` files of one run, merged."""

    baseline: dict[str, Any] | None
    """The champion's training baseline the hosts histogrammed against (None: it has none)."""
    histogram: Any
    """The hosts' merged `DriftHistogram` (None without a baseline)."""
    hosts: int
    quality: dict[str, Any] | None
    """With several hosts, the whole run's quality report from their merged counts: each
    host checked its own rows but not the run's minimum row count, nor ids repeated across
    hosts. None for one host (it checked the whole run itself)."""


def read_profiles(profiles_dir: Path) -> Profiles:
    """Every `<host>/profile.json` under the dir, merged (`Profiles`).

    Hosts that disagree on the baseline or on having one (impossible within one
    execution) are refused rather than mixed.
    """
    paths = sorted(profiles_dir.glob(f"*/{PROFILE_FILE}"))
    if not paths:
        raise ValueError(f"no Prepare profile ({PROFILE_FILE}) under {profiles_dir}")
    baseline: dict[str, Any] | None = None
    merged: Any = None
    unprofiled: Path | None = None
    quality: Any = None
    for path in paths:
        document = json.loads(path.read_text())
        counts = quality_counter.QualityCounter.from_dict(document["quality"])
        quality = counts if quality is None else quality.merge(counts)
        host_baseline, histogram = document.get("baseline"), document.get("histogram")
        if host_baseline is None or histogram is None:
            unprofiled = path
            continue
        if baseline is None:
            baseline = host_baseline
        elif host_baseline != baseline:
            raise ValueError(f"{path} was profiled against a different baseline")
        part = drift_stats.DriftHistogram.from_dict(baseline, histogram)
        merged = part if merged is None else merged.merge(part)
    if unprofiled is not None and merged is not None:
        raise ValueError(f"{unprofiled} has no histogram while other hosts have one")
    report = quality.report(check_rows=True) if len(paths) > 1 else None
    return Profiles(baseline, merged, len(paths), report)


def quality_failure(profiles: Profiles) -> str | None:
    """The ExitMessage of a run whose hosts passed their own checks but not the whole run's
    (too few rows in all, ids repeated across hosts), else None."""
    if profiles.quality is None or profiles.quality["passed"]:
        return None
    return (
        f"Data quality check failed across the {profiles.hosts} Prepare hosts: "
        f"{profiles.quality['reason']}. Nothing was loaded."
    )


def predicted_scores(predictions_dir: Path, edges: Any) -> tuple[Any, float | None, float | None]:
    """(counts per score bin, lowest, highest score) over the transform's `*.out` files
    (`product_id,score` lines), streamed in blocks: memory does not grow with rows."""
    import numpy as np
    import pyarrow.csv as pacsv

    counts = np.zeros(len(edges) + 1, dtype=np.int64)
    low: float | None = None
    high: float | None = None
    for path in sorted(predictions_dir.rglob("*.out")):
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=["product_id", "score"]),
            convert_options=pacsv.ConvertOptions(include_columns=["score"]),
        )
        for batch in reader:
            scores = batch.column(0).to_numpy(zero_copy_only=False).astype(np.float64)
            if not len(scores):
                continue
            counts += score_stats.score_counts(edges, scores)
            finite = scores[np.isfinite(scores)]
            if len(finite):
                low = float(finite.min()) if low is None else min(low, float(finite.min()))
                high = float(finite.max()) if high is None else max(high, float(finite.max()))
    return counts, low, high


def _with_scores(
    document: dict[str, Any],
    score_baseline: dict[str, Any],
    predictions_dir: Path,
    limits: Any,
) -> dict[str, Any]:
    """The document with the predicted scores judged too (an entry `prediction_score`)."""
    counts, low, high = predicted_scores(predictions_dir, score_baseline["edges"])
    entry = score_stats.score_drift(score_baseline, counts, low, high, limits)
    features = {**document.get("features", {}), score_stats.SCORE_FEATURE: entry}
    drifted = list(document.get("drifted", []))
    moderate = list(document.get("moderate", []))
    if entry["drifted"]:
        drifted.append(score_stats.SCORE_FEATURE)
    elif entry["moderate"]:
        moderate.append(score_stats.SCORE_FEATURE)
    verdict = document.get("verdict")
    if verdict in ("ok", "moderate", "not_measured") and entry["rows"] >= limits.min_rows:
        verdict = "drift" if drifted else "moderate" if moderate else "ok"
    summary = document.get("summary", "")
    if entry["drifted"] or (entry["moderate"] and verdict == "moderate"):
        summary = "; ".join(part for part in (summary, entry["message"]) if part)
    # max_psi and top stay the input features' (MaxFeaturePSI); the scores have ScorePSI
    return {
        **document,
        "features": features,
        "drifted": drifted,
        "moderate": moderate,
        "verdict": verdict,
        "summary": summary,
        "score_psi": entry["psi"],
    }


def judge(
    profiles: Profiles,
    *,
    limits_json: str,
    action: str,
    execution_arn: str | None = None,
    predictions_dir: Path | None = None,
    score_baseline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The drift document of this run (module doc); `loaded` says whether Load may load.

    With `score_baseline` (the champion's validation scores) and `predictions_dir` (the
    transform's output), the predicted scores are judged like a feature, by PSI."""
    if action not in DRIFT_ACTIONS:
        raise ValueError(f"drift action must be one of {', '.join(DRIFT_ACTIONS)}, got {action!r}")
    limits = profile_limits.DriftLimits.from_json(limits_json)
    baseline, histogram, hosts, _ = profiles
    if baseline is None or histogram is None:
        report: dict[str, Any] = {
            "verdict": "not_measured",
            "reason": "the champion has no training baseline (registered before baselines "
            "were recorded): drift is measured from its successor on",
            "summary": "",
            "features": {},
            "drifted": [],
            "moderate": [],
            "top": [],
            "max_psi": None,
        }
    else:
        report = drift_stats.drift_report(baseline, histogram, limits)
    if score_baseline is not None and predictions_dir is not None:
        report = _with_scores(report, score_baseline, predictions_dir, limits)
    blocked = report["verdict"] == "drift" and action == "block"
    document = {**report, "action": action, "loaded": not blocked, "hosts": hosts}
    if blocked:
        command = (
            "python -m ops drift accept --execution-arn "
            + (execution_arn or "<execution arn>")
            + " --reason '...'"
        )
        document["next_action"] = (
            f"review the batch, then load it anyway with: {command} (or wait for the next "
            "batch; the table keeps the previous predictions)"
        )
    return document


def write(document: dict[str, Any], drift_dir: Path) -> Path:
    """drift.json into `drift_dir` (created)."""
    drift_dir.mkdir(parents=True, exist_ok=True)
    path = drift_dir / DRIFT_FILE
    path.write_text(json.dumps(document, indent=2))
    return path


BLOCKED_FEATURES_SHOWN = 3


def read_s3_json(s3: Any, uri: str) -> dict[str, Any]:
    """A small JSON document from S3 (a score baseline); ValueError naming the URI."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3:// object URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        document = json.loads(body)
    except ValueError as error:
        raise ValueError(f"{uri} is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise ValueError(f"{uri} is not a JSON object")
    return document


def blocked_message(document: dict[str, Any]) -> str:
    """One paragraph for the step's failure (it must fit the 1 KB ExitMessage): the worst
    drifted features with their limits, how many more, what to do."""
    drifted = list(document.get("drifted", []))
    shown = "; ".join(
        document["features"][name]["message"] for name in drifted[:BLOCKED_FEATURES_SHOWN]
    )
    more = len(drifted) - BLOCKED_FEATURES_SHOWN
    if more > 0:
        shown += f"; and {more} more feature(s) (drift.json)"
    return (
        f"Input drift blocked the load (DriftAction=block): {shown}. Nothing was loaded. "
        f"{document.get('next_action', '')}"
    )


def drift_metrics(document: dict[str, Any], package_type: str, run_kind: str) -> list[dict]:
    """CloudWatch data of a measured run (none when drift was not measured)."""
    if document.get("verdict") not in ("ok", "moderate", "drift"):
        return []
    dimensions = [
        {"Name": name, "Value": value}
        for name, value in metrics.inference_dimensions(package_type, run_kind).items()
    ]

    def datum(name: str, value: float, unit: str = "None", extra: list | None = None) -> dict:
        return {
            "MetricName": name,
            "Dimensions": dimensions + (extra or []),
            "Value": float(value),
            "Unit": unit,
        }

    data = [
        datum(metrics.DRIFTED_FEATURES, len(document["drifted"]), "Count"),
        datum(metrics.DRIFT_BLOCKED, 0.0 if document["loaded"] else 1.0, "Count"),
    ]
    if document.get("max_psi") is not None:  # None: only the scores were measured
        data.insert(0, datum(metrics.MAX_FEATURE_PSI, document["max_psi"]))
    if document.get("score_psi") is not None:
        data.append(datum(metrics.SCORE_PSI, document["score_psi"]))
    for name in document["top"][: drift_stats.TOP_FEATURES]:
        data.append(
            datum(
                metrics.FEATURE_PSI,
                document["features"][name]["psi"],
                extra=[{"Name": metrics.FEATURE, "Value": name}],
            )
        )
    return data
