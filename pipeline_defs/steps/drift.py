"""Input drift of one inference run, judged in the Load step before anything is loaded.

Prepare's hosts each histogram their share of the batch in the bins of the champion's
training baseline (`data_profile.DriftHistogram`) and write `<host>/profile.json` into its
summary output, with the baseline they used. The Load step mounts that output and calls
`judge`: the hosts' histograms are merged (counts add up, so the result is exactly what
one host over the whole batch would have counted), compared with the baseline
(`data_profile.drift_report`: PSI per feature, total variation for categorical features, the
batch median against the training median) and the policy is applied:

- no baseline (the champion predates baselines) or too few rows: `not_measured` /
  `insufficient_rows`, loaded;
- drift with action `warn`: loaded, and the metrics raise the drift alarm;
- drift with action `block`: NOT loaded (the table keeps the previous predictions),
  `DriftBlockedError` names the drifted features and the command that loads the reviewed
  batch anyway (`python -m ops drift accept --execution-arn <arn> --reason ...`: the same
  execution's Load step again, with DriftAction=warn).

`drift.json` (in `--drift-dir`) records the report, the action, the verdict and whether
the predictions were loaded; `drift_metrics` are the CloudWatch data the Load step
publishes (`pkgml_contracts.metrics`: MaxFeaturePSI, DriftedFeatures, DriftBlocked, and
FeaturePSI for the most drifted features with a Feature dimension).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

if __package__:
    from . import data_profile as profile
else:  # run as a script: the sibling modules sit on PYTHONPATH or in the script's directory
    _HERE = str(Path(__file__).resolve().parent)
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import data_profile as profile  # type: ignore[no-redef]

from pkgml_contracts import metrics
from pkgml_contracts.data_quality import DRIFT_ACTIONS

PROFILE_FILE = "profile.json"
DRIFT_FILE = "drift.json"
TOP_FEATURES = 5


class DriftBlockedError(RuntimeError):
    """The batch drifted and the policy is `block`: nothing was loaded."""


def read_profiles(profiles_dir: Path) -> tuple[dict[str, Any] | None, Any, int]:
    """(baseline, merged histogram, hosts) over every `<host>/profile.json` under the dir.

    The histogram is None when no host had a baseline; hosts that disagree on the baseline
    (impossible within one execution) are refused rather than mixed.
    """
    paths = sorted(profiles_dir.glob(f"*/{PROFILE_FILE}"))
    if not paths:
        raise ValueError(f"no Prepare profile ({PROFILE_FILE}) under {profiles_dir}")
    baseline: dict[str, Any] | None = None
    merged: Any = None
    for path in paths:
        document = json.loads(path.read_text())
        host_baseline, histogram = document.get("baseline"), document.get("histogram")
        if host_baseline is None or histogram is None:
            if merged is not None:
                raise ValueError(f"{path} has no histogram while other hosts have one")
            continue
        if baseline is None:
            baseline = host_baseline
        elif host_baseline != baseline:
            raise ValueError(f"{path} was profiled against a different baseline")
        part = profile.DriftHistogram.from_dict(baseline, histogram)
        merged = part if merged is None else merged.merge(part)
    return baseline, merged, len(paths)


def judge(
    profiles_dir: Path, *, limits_json: str, action: str, execution_arn: str | None = None
) -> dict[str, Any]:
    """The drift document of this run (module doc); `loaded` says whether Load may load."""
    if action not in DRIFT_ACTIONS:
        raise ValueError(f"drift action must be one of {', '.join(DRIFT_ACTIONS)}, got {action!r}")
    limits = profile.DriftLimits.from_json(limits_json)
    baseline, histogram, hosts = read_profiles(profiles_dir)
    if baseline is None or histogram is None:
        return {
            "verdict": "not_measured",
            "reason": "the champion has no training baseline (registered before baselines "
            "were recorded): drift is measured from its successor on",
            "action": action,
            "loaded": True,
            "hosts": hosts,
            "summary": "",
        }
    report = profile.drift_report(baseline, histogram, limits)
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
        datum(metrics.MAX_FEATURE_PSI, document["max_psi"]),
        datum(metrics.DRIFTED_FEATURES, len(document["drifted"]), "Count"),
        datum(metrics.DRIFT_BLOCKED, 0.0 if document["loaded"] else 1.0, "Count"),
    ]
    for name in document["top"][:TOP_FEATURES]:
        data.append(
            datum(
                metrics.FEATURE_PSI,
                document["features"][name]["psi"],
                extra=[{"Name": metrics.FEATURE, "Value": name}],
            )
        )
    return data
