"""The gate's metric names: what compare.py publishes is what the contract lists.

That the monitoring stack's alarms read exactly these is `test_agreement.py` (it needs the
synthesized app).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import boto3
from moto import mock_aws

from pipeline_defs.steps import compare
from pkgml_contracts import gate, metrics


def test_names_and_dimensions() -> None:
    assert metrics.GATE_NAMESPACE == "PackagingML/Gate"
    assert metrics.DIMENSIONS == ("PackageType", "ModelPackageGroup")
    assert metrics.METRIC_NAMES == (
        "ScoreDrop",
        "LabelShift",
        "LabelCountChange",
        "InputSizeChange",
        "ChallengerScore",
        "ChampionScore",
        "Approved",
        "ConsecutiveRejections",
    )
    assert len(set(metrics.METRIC_NAMES)) == len(metrics.METRIC_NAMES)


def test_every_deviation_of_the_gate_has_a_metric() -> None:
    assert tuple(metrics.DEVIATION_METRICS) == gate.DEVIATIONS


def test_dimensions_in_both_shapes() -> None:
    assert metrics.dimensions("mailer", "pkgml-dev-mailer") == {
        "PackageType": "mailer",
        "ModelPackageGroup": "pkgml-dev-mailer",
    }
    assert metrics.dimension_list("mailer", "pkgml-dev-mailer") == [
        {"Name": "PackageType", "Value": "mailer"},
        {"Name": "ModelPackageGroup", "Value": "pkgml-dev-mailer"},
    ]


def decision_with_champion(approved: bool = False) -> compare.Decision:
    """A decision against a champion: every deviation is measured."""
    champion = compare.Evidence(
        metrics={"roc_auc": 0.90},
        label_counts={"0": 50, "1": 50},
        input_bytes=1000,
        model_package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
    )
    challenger = compare.Evidence(
        metrics={"roc_auc": 0.90 if approved else 0.80},
        label_counts={"0": 50, "1": 55},
        input_bytes=1100,
    )
    return compare.decide(challenger, champion, compare.Criteria())


def published(cloudwatch: Any) -> dict[str, dict[str, str]]:
    """{metric name: {dimension: value}} of everything in the gate's namespace."""
    listed = cloudwatch.list_metrics(Namespace=metrics.GATE_NAMESPACE)["Metrics"]
    return {m["MetricName"]: {d["Name"]: d["Value"] for d in m["Dimensions"]} for m in listed}


@mock_aws
def test_the_gate_publishes_every_metric_under_the_contracts_names() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    data = compare.publish_metrics(
        cloudwatch,
        decision_with_champion(),
        package_type="mailer",
        model_package_group="pkgml-dev-mailer",
        consecutive_rejections=1,
    )
    assert tuple(d["MetricName"] for d in data) == metrics.METRIC_NAMES
    assert published(cloudwatch) == dict.fromkeys(
        metrics.METRIC_NAMES, metrics.dimensions("mailer", "pkgml-dev-mailer")
    )


@mock_aws
def test_a_first_model_publishes_no_deviations() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    first = compare.decide(
        compare.Evidence(metrics={"roc_auc": 0.9}, label_counts={"0": 5, "1": 5}),
        None,
        compare.Criteria(),
    )
    compare.publish_metrics(
        cloudwatch, first, package_type="bag", model_package_group="pkgml-dev-bag"
    )
    assert set(published(cloudwatch)) == {metrics.CHALLENGER_SCORE, metrics.APPROVED}


@mock_aws
def test_the_champion_score_is_the_one_the_gate_compared() -> None:
    """Stored score without same-rows scores; the same-rows score when the gate used it."""
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    stored = decision_with_champion()
    same_rows = dataclasses.replace(
        stored, comparison="same_data", same_data={"champion_score": 0.8125}
    )
    values = {}
    for name, decision in (("stored", stored), ("same_data", same_rows)):
        data = compare.publish_metrics(
            cloudwatch, decision, package_type="mailer", model_package_group="pkgml-dev-mailer"
        )
        values[name] = {d["MetricName"]: d["Value"] for d in data}[metrics.CHAMPION_SCORE]
    assert values == {"stored": 0.90, "same_data": 0.8125}
