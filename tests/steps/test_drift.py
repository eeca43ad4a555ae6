"""The Load step's drift judgement: every Prepare host's profile merged, the policy applied
(warn loads, block loads nothing and says how to load after review), metrics published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline_defs import synthetic_data
from pipeline_defs.steps import (
    drift,
    drift_stats,
    feature_baseline,
    features,
    load,
    profile_limits,
    quality_counter,
    score_stats,
)
from tests.steps.test_load import ARN, FakeDataApi, RecordingCloudWatch

LIMITS = '{"category_distance":0.2,"min_rows":100,"psi":0.25,"psi_moderate":0.1}'
EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e1"


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    training = features.compute_features(synthetic_data.generate_products(4_000, seed=1))
    return feature_baseline.build_baseline(training, package_type="box")


def _profiles(
    folder: Path,
    baseline: dict[str, Any] | None,
    *,
    drift_level: float,
    seeds: tuple[int, int] = (2, 3),
    min_rows: int = 100,
) -> Path:
    """Two Prepare hosts' profile.json, 1,000 products each (seeds 2 and 3), with their
    quality counts as Prepare writes them."""
    for host, seed in zip(("algo-1", "algo-2"), seeds, strict=True):
        batch = synthetic_data.generate_products(1_000, seed=seed, drift=drift_level)
        quality = quality_counter.QualityCounter(profile_limits.QualityBounds(min_rows=min_rows))
        quality.update(batch)
        histogram = None
        if baseline is not None:
            counted = drift_stats.DriftHistogram(baseline)
            counted.update(features.compute_features(batch))
            histogram = counted.to_dict()
        (folder / host).mkdir(parents=True)
        document = {"quality": quality.to_dict(), "histogram": histogram, "baseline": baseline}
        (folder / host / "profile.json").write_text(json.dumps(document))
    return folder


def _main(tmp_path: Path, profiles: Path, action: str, client: Any, cloudwatch: Any) -> Any:
    return load.main(
        [
            "--predictions-uri", "s3://pkgml-dev-data/predictions/p/run-9", "--run-id", "run-9",
            "--run-kind", "inference-daily", "--package-type", "box",
            "--model-package-arn", ARN, "--model-package-version", "4", "--database", "dev",
            "--workgroup", "analytics",
            "--profiles-dir", str(profiles), "--drift-dir", str(tmp_path / "drift"),
            "--drift-action", action, "--drift-limits", LIMITS,
            "--execution-arn", EXECUTION, "--message-file", str(tmp_path / "message"),
        ],
        client=client,
        cloudwatch=cloudwatch,
    )  # fmt: skip


class NoRedshift:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a blocked load must not call the Data API ({name})")


def test_two_hosts_merge_into_what_one_host_would_count(
    tmp_path: Path, baseline: dict[str, Any]
) -> None:
    profiles = _profiles(tmp_path / "p", baseline, drift_level=0.0)
    merged_baseline, merged, hosts, quality = drift.read_profiles(profiles)
    assert hosts == 2 and merged_baseline == baseline
    assert quality is not None and quality["passed"] and quality["rows"] == 2_000
    whole = drift_stats.DriftHistogram(baseline)
    for seed in (2, 3):
        batch = synthetic_data.generate_products(1_000, seed=seed)
        whole.update(features.compute_features(batch))
    assert merged.to_dict() == whole.to_dict()
    assert merged.rows == 2_000


def test_a_calm_batch_is_loaded_and_measured(tmp_path: Path, baseline: dict[str, Any]) -> None:
    cloudwatch = RecordingCloudWatch()
    summary = _main(
        tmp_path, _profiles(tmp_path / "p", baseline, drift_level=0.0), "block",
        FakeDataApi(["FINISHED"]), cloudwatch,
    )  # fmt: skip
    assert summary["drift"] == "ok"
    document = json.loads((tmp_path / "drift" / "drift.json").read_text())
    assert (document["verdict"], document["loaded"], document["hosts"]) == ("ok", True, 2)
    drift_data = cloudwatch.calls[0]["MetricData"]
    assert [d["MetricName"] for d in drift_data[:3]] == [
        "MaxFeaturePSI", "DriftedFeatures", "DriftBlocked",
    ]  # fmt: skip
    assert [d["Value"] for d in drift_data[1:3]] == [0.0, 0.0]
    assert {d["MetricName"] for d in drift_data[3:]} == {"FeaturePSI"}
    assert all(d["Dimensions"][2]["Name"] == "Feature" for d in drift_data[3:])
    assert cloudwatch.calls[1]["MetricData"][0]["MetricName"] == "PredictionsLoaded"
    assert not (tmp_path / "message").exists()


def test_warn_loads_a_drifted_batch_and_says_so(tmp_path: Path, baseline: dict[str, Any]) -> None:
    cloudwatch = RecordingCloudWatch()
    client = FakeDataApi(["FINISHED"])
    summary = _main(
        tmp_path, _profiles(tmp_path / "p", baseline, drift_level=1.0), "warn", client, cloudwatch
    )
    assert summary["drift"] == "drift"
    assert len(client.batches) == 1  # loaded
    document = json.loads((tmp_path / "drift" / "drift.json").read_text())
    assert document["loaded"] is True and document["drifted"]
    assert "weight_kg: PSI" in document["summary"]
    data = {d["MetricName"]: d["Value"] for d in cloudwatch.calls[0]["MetricData"][:3]}
    assert data["DriftBlocked"] == 0.0 and data["DriftedFeatures"] == len(document["drifted"])
    assert data["MaxFeaturePSI"] > 0.25


def test_block_loads_nothing_and_names_the_features_and_the_command(
    tmp_path: Path, baseline: dict[str, Any]
) -> None:
    cloudwatch = RecordingCloudWatch()
    profiles = _profiles(tmp_path / "p", baseline, drift_level=1.0)
    with pytest.raises(drift.DriftBlockedError) as info:
        _main(tmp_path, profiles, "block", NoRedshift(), cloudwatch)
    message = str(info.value)
    assert message.startswith("Input drift blocked the load (DriftAction=block): ")
    assert "weight_kg: PSI" in message and "the training median" in message
    assert f"python -m ops drift accept --execution-arn {EXECUTION} --reason '...'" in message
    assert len(message.encode()) <= 1000  # the ExitMessage keeps 1 KB
    assert "more feature(s) (drift.json)" in message  # 3 shown, the rest counted
    assert (tmp_path / "message").read_text() == message[:1000]
    document = json.loads((tmp_path / "drift" / "drift.json").read_text())
    assert (document["verdict"], document["action"], document["loaded"]) == (
        "drift", "block", False,
    )  # fmt: skip
    data = {d["MetricName"]: d["Value"] for d in cloudwatch.calls[0]["MetricData"][:3]}
    assert data["DriftBlocked"] == 1.0
    assert len(cloudwatch.calls) == 1  # no PredictionsLoaded: nothing was loaded


def test_a_champion_without_baseline_is_not_measured_and_loads(tmp_path: Path) -> None:
    cloudwatch = RecordingCloudWatch()
    client = FakeDataApi(["FINISHED"])
    summary = _main(
        tmp_path, _profiles(tmp_path / "p", None, drift_level=1.0), "block", client, cloudwatch
    )
    assert summary["drift"] == "not_measured"
    assert len(client.batches) == 1
    assert [c["MetricData"][0]["MetricName"] for c in cloudwatch.calls] == ["PredictionsLoaded"]


def test_hosts_that_pass_alone_can_fail_the_whole_runs_checks(tmp_path: Path) -> None:
    """Each host skips the run's minimum row count and sees only its own ids; merged in
    Load, 2,000 rows are under a minimum of 2,500 and the same products on both hosts
    (the same seed) are repeats: nothing is loaded, the message says why."""
    profiles = _profiles(tmp_path / "p", None, drift_level=0.0, seeds=(2, 2), min_rows=2_500)
    failure = drift.quality_failure(drift.read_profiles(profiles))
    assert failure is not None
    assert failure.startswith("Data quality check failed across the 2 Prepare hosts: ")
    assert "rows: 2,000 rows, fewer than the minimum 2,500" in failure
    assert "product_id: 1,000 duplicate ids (allowed 0)" in failure
    with pytest.raises(drift.DataQualityError, match="across the 2 Prepare hosts"):
        _main(tmp_path, profiles, "warn", NoRedshift(), RecordingCloudWatch())
    assert (tmp_path / "message").read_text() == failure  # NoRedshift: nothing loaded


def test_one_host_leaves_the_whole_run_to_its_own_checks(tmp_path: Path) -> None:
    profiles = _profiles(tmp_path / "p", None, drift_level=0.0, min_rows=2_500)
    (tmp_path / "p" / "algo-2" / "profile.json").unlink()
    (tmp_path / "p" / "algo-2").rmdir()
    assert drift.read_profiles(profiles).quality is None


def test_a_host_without_a_histogram_is_refused_whatever_its_name(
    tmp_path: Path, baseline: dict[str, Any]
) -> None:
    profiles = _profiles(tmp_path / "p", baseline, drift_level=0.0)
    document = json.loads((profiles / "algo-1" / "profile.json").read_text())
    document["histogram"] = None  # sorts first: the hosts after it have histograms
    (profiles / "algo-1" / "profile.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"algo-1/profile\.json has no histogram while other"):
        drift.read_profiles(profiles)


def test_no_profiles_is_an_error_naming_the_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no Prepare profile \(profile.json\) under .*empty"):
        drift.read_profiles(tmp_path / "empty")


def test_an_unknown_action_is_refused(tmp_path: Path, baseline: dict[str, Any]) -> None:
    profiles = _profiles(tmp_path / "p", baseline, drift_level=0.0)
    with pytest.raises(ValueError, match="drift action must be one of warn, block, got 'stop'"):
        drift.judge(drift.read_profiles(profiles), limits_json=LIMITS, action="stop")


def test_metrics_are_published_only_for_a_measured_run() -> None:
    assert drift.drift_metrics({"verdict": "insufficient_rows"}, "box", "inference-daily") == []
    assert drift.drift_metrics({"verdict": "not_measured"}, "box", "inference-daily") == []


def _predictions(folder: Path, scores: list[float]) -> Path:
    folder.mkdir(parents=True)
    half = len(scores) // 2
    for index, part in enumerate((scores[:half], scores[half:])):
        lines = "".join(f"p{index}-{i},{score}\n" for i, score in enumerate(part))
        (folder / f"part-{index}.csv.out").write_text(lines)
    return folder


class FakeS3:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        import io

        return {"Body": io.BytesIO(self.objects[f"{Bucket}/{Key}"])}


def test_predicted_scores_are_judged_against_the_champions_validation_scores(
    tmp_path: Path, baseline: dict[str, Any]
) -> None:
    """Validation scores spread over [0, 1); the batch's scores all near 0.95: the scores
    drifted although the features did not (the same products as the baseline's world)."""
    validation = [i / 1000 for i in range(1000)]
    score_baseline = score_stats.score_baseline(np.array(validation))
    uri = "s3://art/pipelines/p/r/Evaluate/evaluation/score_baseline.json"
    s3 = FakeS3({uri[5:]: json.dumps(score_baseline).encode()})
    predictions = _predictions(tmp_path / "predictions", [0.95] * 2_000)
    cloudwatch = RecordingCloudWatch()
    profiles = _profiles(tmp_path / "p", baseline, drift_level=0.0)
    with pytest.raises(drift.DriftBlockedError, match="prediction_score: PSI"):
        load.main(
            [
                "--predictions-uri", "s3://pkgml-dev-data/predictions/p/run-9",
                "--run-id", "run-9", "--run-kind", "inference-daily", "--package-type", "box",
                "--model-package-arn", ARN, "--model-package-version", "4",
                "--database", "dev", "--workgroup", "analytics",
                "--profiles-dir", str(profiles), "--drift-dir", str(tmp_path / "drift"),
                "--drift-action", "block", "--drift-limits", LIMITS,
                "--predictions-dir", str(predictions), "--score-baseline-uri", uri,
                "--message-file", str(tmp_path / "message"),
            ],
            client=NoRedshift(),
            cloudwatch=cloudwatch,
            s3=s3,
        )  # fmt: skip
    document = json.loads((tmp_path / "drift" / "drift.json").read_text())
    assert document["drifted"] == ["prediction_score"]
    entry = document["features"]["prediction_score"]
    assert entry["rows"] == 2_000 and entry["psi"] > 1
    assert document["score_psi"] == entry["psi"]
    names = [d["MetricName"] for d in cloudwatch.calls[0]["MetricData"]]
    assert "ScorePSI" in names


def test_scores_like_the_validation_scores_do_not_drift(tmp_path: Path) -> None:
    validation = np.arange(1000) / 1000
    score_baseline = score_stats.score_baseline(validation)
    predictions = _predictions(tmp_path / "predictions", [float(s) for s in validation[::-1]])
    counts, low, high = drift.predicted_scores(predictions, score_baseline["edges"])
    assert counts.tolist() == score_baseline["counts"]
    assert (low, high) == (0.0, 0.999)


def test_score_drift_alone_publishes_no_feature_psi(tmp_path: Path) -> None:
    """A champion with a score baseline but no feature baseline: the scores are judged,
    MaxFeaturePSI is not published as a made-up 0, and the score PSI is not folded into it."""
    validation = np.arange(1000) / 1000
    score_baseline = score_stats.score_baseline(validation)
    predictions = _predictions(tmp_path / "predictions", [0.95] * 2_000)
    document = drift.judge(
        drift.read_profiles(_profiles(tmp_path / "p", None, drift_level=0.0)),
        limits_json=LIMITS,
        action="warn",
        predictions_dir=predictions,
        score_baseline=score_baseline,
    )
    assert document["verdict"] == "drift" and document["drifted"] == ["prediction_score"]
    assert document["max_psi"] is None
    names = [d["MetricName"] for d in drift.drift_metrics(document, "box", "inference-daily")]
    assert names == ["DriftedFeatures", "DriftBlocked", "ScorePSI"]
