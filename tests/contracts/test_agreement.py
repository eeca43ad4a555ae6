"""Publishers and consumers of the shared rules agree, on the synthesized app itself.

- every gate metric an alarm or the dashboard reads is one the Compare step publishes
  (same namespace, name and dimensions), and the pipelines may publish into that namespace;
- every pipeline the app creates parses back, with the notify Lambda's parser, to its
  package type, kind and architecture; the trigger's routing table names only those;
- the ops CLI derives the same pipeline, group and bucket names as the stacks.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Template
from moto import mock_aws

from ops.commands.run import _pipeline
from ops.context import load_context
from pipeline_defs.steps import compare
from pkgml_contracts import metrics, runs
from tests.contracts.test_metrics import decision_with_champion
from tools.dashboard_layout import rendered  # intrinsics (region, ARNs) as '…'

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"
for folder in ("shared", "notify"):
    if str(LAMBDA_SRC / folder) not in sys.path:
        sys.path.insert(0, str(LAMBDA_SRC / folder))

import notify_core  # noqa: E402
from notify_settings import Settings  # noqa: E402

MetricRead = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, name, dimensions


def _alarm_metrics(value: Any) -> Iterator[dict[str, Any]]:
    """Every {Namespace, MetricName, Dimensions} in an alarm (plain or metric math)."""
    if isinstance(value, dict):
        if "MetricName" in value and "Namespace" in value:
            yield value
        for item in value.values():
            yield from _alarm_metrics(item)
    elif isinstance(value, list):
        for item in value:
            yield from _alarm_metrics(item)


def alarm_reads(template: Template) -> set[MetricRead]:
    reads = set()
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        for metric in _alarm_metrics(alarm["Properties"]):
            dimensions = frozenset(
                (d["Name"], rendered(d["Value"])) for d in metric.get("Dimensions", [])
            )
            reads.add((metric["Namespace"], metric["MetricName"], dimensions))
    return reads


def dashboard_reads(template: Template) -> set[MetricRead]:
    """Metrics of the dashboards' widgets: [namespace, name, dim, value, ..., {options}]."""
    reads = set()
    for dashboard in template.find_resources("AWS::CloudWatch::Dashboard").values():
        body = json.loads(rendered(dashboard["Properties"]["DashboardBody"]))
        for widget in body["widgets"]:
            for line in widget.get("properties", {}).get("metrics", []):
                plain = [item for item in line if isinstance(item, str)]
                if len(plain) >= 2 and not plain[0].startswith("..."):
                    pairs = zip(plain[2::2], plain[3::2], strict=True)
                    reads.add((plain[0], plain[1], frozenset(pairs)))
    return reads


def listed_metrics(cloudwatch: Any, namespace: str) -> set[MetricRead]:
    """Every metric put into `namespace` (moto's ListMetrics), as the readers name them."""
    return {
        (namespace, m["MetricName"], frozenset((d["Name"], d["Value"]) for d in m["Dimensions"]))
        for m in cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    }


def published_by_the_gate(package_types_and_groups: dict[str, str]) -> set[MetricRead]:
    """What compare.py puts into CloudWatch (moto) for a decision of each package type."""
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        for package_type, group in package_types_and_groups.items():
            compare.publish_metrics(
                cloudwatch,
                decision_with_champion(),
                package_type=package_type,
                model_package_group=group,
                consecutive_rejections=1,
            )
        return listed_metrics(cloudwatch, compare.METRIC_NAMESPACE)


@pytest.fixture(scope="module")
def stages(synthesized: Any) -> dict[str, Any]:
    return dict(synthesized.stages)


def groups_of(stage: Any) -> dict[str, str]:
    return {p: g.model_package_group_name for p, g in stage.ml.groups.items()}


def test_every_gate_metric_the_monitoring_reads_is_one_the_gate_publishes(stages):
    for env, stage in stages.items():
        template = Template.from_stack(stage.monitoring)
        alarms = {r for r in alarm_reads(template) if r[0] == metrics.GATE_NAMESPACE}
        dashboard = {r for r in dashboard_reads(template) if r[0] == metrics.GATE_NAMESPACE}
        published = published_by_the_gate(groups_of(stage))
        assert alarms and alarms <= published, (env, sorted(alarms - published))
        assert dashboard <= published, (env, sorted(dashboard - published))
        # the alarms watch every deviation and the rejections in a row
        watched = {name for _, name, _ in alarms}
        assert watched == {*metrics.DEVIATION_METRICS.values(), metrics.CONSECUTIVE_REJECTIONS}
        if stage.monitoring.settings.dashboard:
            assert dashboard, f"{env}: the dashboard shows no gate metric"


def test_the_dashboard_graphs_every_published_gate_metric_for_each_package_type(stages):
    """The reverse direction: nothing the gate publishes is left off the dashboard."""
    for env, stage in stages.items():
        if not stage.monitoring.settings.dashboard:
            continue
        template = Template.from_stack(stage.monitoring)
        dashboard = {r for r in dashboard_reads(template) if r[0] == metrics.GATE_NAMESPACE}
        published = published_by_the_gate(groups_of(stage))
        assert len(published) == len(metrics.METRIC_NAMES) * len(groups_of(stage))
        assert published <= dashboard, (env, sorted(published - dashboard))


def test_the_dashboard_graphs_the_rows_each_inference_run_loads(stages):
    """What load.py publishes (moto) is what each package type's row graphs."""
    from pipeline_defs.steps import load

    for env, stage in stages.items():
        if not stage.monitoring.settings.dashboard:
            continue
        dashboard = dashboard_reads(Template.from_stack(stage.monitoring))
        with mock_aws():
            cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
            for package_type in groups_of(stage):
                for run_kind in ("inference-daily", "inference-monthly"):
                    summary = {"package_type": package_type, "rows_inserted": 10}
                    load.publish_loaded(cloudwatch, summary, run_kind)
            published = listed_metrics(cloudwatch, metrics.INFERENCE_NAMESPACE)
        assert len(published) == 2 * len(groups_of(stage))
        assert published <= dashboard, (env, sorted(published - dashboard))


def published_by_the_load_step(package_types: list[str]) -> set[MetricRead]:
    """What load.py puts into CloudWatch (moto) for a drifted, loaded run of each package
    type and inference kind: the rows loaded and every drift metric."""
    from pipeline_defs.steps import drift, load

    measured = {
        "verdict": "drift",
        "loaded": True,
        "drifted": ["weight_kg"],
        "max_psi": 0.4,
        "score_psi": 0.05,
        "top": ["weight_kg"],
        "features": {"weight_kg": {"psi": 0.4}},
    }
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        for package_type in package_types:
            for run_kind in ("inference-daily", "inference-monthly"):
                summary = {"package_type": package_type, "rows_inserted": 10}
                load.publish_loaded(cloudwatch, summary, run_kind)
                data = drift.drift_metrics(measured, package_type, run_kind)
                cloudwatch.put_metric_data(Namespace=metrics.INFERENCE_NAMESPACE, MetricData=data)
        return listed_metrics(cloudwatch, metrics.INFERENCE_NAMESPACE)


def test_every_inference_metric_the_monitoring_reads_is_one_the_load_step_publishes(stages):
    for env, stage in stages.items():
        package_types = list(groups_of(stage))
        published = published_by_the_load_step(package_types)
        # the contract's names and dimensions are what the Load step really publishes
        assert {name for _, name, _ in published} == {
            metrics.PREDICTIONS_LOADED,
            *metrics.DRIFT_METRIC_NAMES,
        }
        for _, name, dimensions in published:
            names = {key for key, _ in dimensions}
            extra = {metrics.FEATURE} if name == metrics.FEATURE_PSI else set()
            assert names == {*metrics.INFERENCE_DIMENSIONS, *extra}, name
        template = Template.from_stack(stage.monitoring)
        alarms = {r for r in alarm_reads(template) if r[0] == metrics.INFERENCE_NAMESPACE}
        dashboard = {r for r in dashboard_reads(template) if r[0] == metrics.INFERENCE_NAMESPACE}
        assert alarms and alarms <= published, (env, sorted(alarms - published))
        assert dashboard <= published, (env, sorted(dashboard - published))


def test_the_pipelines_may_publish_into_their_namespaces_only(stages):
    for env, stage in stages.items():
        template = Template.from_stack(stage.ml)
        namespaces = [
            statement["Condition"]["StringEquals"]["cloudwatch:namespace"]
            for policy in template.find_resources("AWS::IAM::Policy").values()
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if "cloudwatch:PutMetricData" in statement["Action"]
        ]
        assert namespaces == [["PackagingML/Gate", "PackagingML/Inference"]], env


def notify_settings(synthesized: Any, env: str) -> Settings:
    return Settings(
        environment=env,
        project=synthesized.settings.project,
        region="us-east-1",
        alerts_topic_arn="arn:aws:sns:us-east-1:123456789012:a",
        decisions_topic_arn="arn:aws:sns:us-east-1:123456789012:d",
        package_types=synthesized.settings.package_types,
    )


def created_pipelines(stage: Any) -> dict[str, tuple[str, str, str | None]]:
    """{pipeline name: (package type, kind, architecture or None for the configured one)}
    as the ML stack made them."""
    made: dict[str, tuple[str, str, str | None]] = {}
    for (package_type, architecture), pipeline in stage.ml.architecture_pipelines.items():
        configured = stage.ml.training_pipelines[package_type] is pipeline
        made[pipeline.pipeline_name] = (
            package_type,
            "training",
            None if configured else architecture,
        )
    for package_type, pipeline in stage.ml.inference_pipelines.items():
        made[pipeline.pipeline_name] = (package_type, "inference", None)
    return made


def test_every_pipeline_name_parses_back_with_the_notify_parser(synthesized, stages):
    for env, stage in stages.items():
        template = Template.from_stack(stage.ml)
        in_template = {
            r["Properties"]["PipelineName"]
            for r in template.find_resources("AWS::SageMaker::Pipeline").values()
        }
        made = created_pipelines(stage)
        assert set(made) == in_template, env
        s = notify_settings(synthesized, env)
        for name, expected in made.items():
            for seen in (name, name.lower()):  # events carry names lowercased in ARNs
                parsed = notify_core.parse_pipeline_name(seen, s)
                assert parsed is not None, name
                assert (parsed.package_type, parsed.kind, parsed.architecture) == expected
        if env == "dev":  # dev deploys extra architectures (cdk.json ml.extra_architectures)
            assert any(architecture for _, _, architecture in made.values())


def test_every_group_name_parses_back_with_the_notify_parser(synthesized, stages):
    for env, stage in stages.items():
        s = notify_settings(synthesized, env)
        for package_type, group in groups_of(stage).items():
            assert notify_core.group_package_type(group, s) == package_type


def test_the_triggers_routing_table_names_created_pipelines_of_the_right_kind(stages):
    for env, stage in stages.items():
        made = created_pipelines(stage)
        variables = [
            function["Properties"]["Environment"]["Variables"]
            for function in Template.from_stack(stage.ingest)
            .find_resources("AWS::Lambda::Function")
            .values()
            if "PIPELINES" in function["Properties"].get("Environment", {}).get("Variables", {})
        ]
        assert len(variables) == 1, env
        routing = json.loads(variables[0]["PIPELINES"])
        assert tuple(sorted(routing)) == tuple(sorted(runs.RUN_KINDS))
        for run_kind, by_type in routing.items():
            for package_type, name in by_type.items():
                assert made[name] == (package_type, runs.pipeline_for_run(run_kind), None)
        for package_type, by_architecture in json.loads(
            variables[0]["ARCHITECTURE_PIPELINES"]
        ).items():
            for name in by_architecture.values():
                assert made[name][:2] == (package_type, "training")


def test_ops_names_are_the_stacks(synthesized, stages):
    for env, stage in stages.items():
        ctx = load_context(env_name=env, package_types=None, region=None, overrides=[])
        assert ctx.data_bucket == stage.data.data_bucket_name
        made = created_pipelines(stage)
        assert set(ctx.known_pipelines()) <= set(made)
        for name, (kind, package_type) in ctx.known_pipelines().items():
            assert made[name][:2] == (package_type, kind)
        for package_type, group in groups_of(stage).items():
            assert ctx.group_name(package_type) == group
            assert ctx.pipeline_name("training", package_type) == (
                stage.ml.training_pipelines[package_type].pipeline_name
            )
            assert ctx.pipeline_name("inference", package_type) == (
                stage.ml.inference_pipelines[package_type].pipeline_name
            )
        for (package_type, architecture), pipeline in stage.ml.architecture_pipelines.items():
            assert _pipeline(ctx, "training", package_type, architecture) == (
                pipeline.pipeline_name
            )
