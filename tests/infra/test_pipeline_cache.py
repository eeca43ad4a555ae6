"""The synth-time definition cache: hits when nothing changed, misses when anything did."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline_defs.architectures import architectures
from pipeline_defs.common import GateDefaults, TrainingPipelineInputs
from stacks import pipeline_definitions as cache


def inputs(**changes) -> TrainingPipelineInputs:
    base = TrainingPipelineInputs(
        region="us-east-1",
        environment="dev",
        package_type="mailer",
        pipeline_name="pkgml-dev-mailer-training",
        model_package_group="pkgml-dev-mailer",
        cache_expiry="P30D",
        gate=GateDefaults(),
        architecture=architectures()["hgb"],
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def counting_builder(monkeypatch):
    calls = []

    def build(kind, value):
        calls.append((kind, value))
        return f'{{"built": {len(calls)}}}'

    monkeypatch.setattr(cache, "_build", build)
    return calls


def test_unchanged_inputs_are_read_back_without_building(tmp_path, counting_builder):
    first = cache.pipeline_definition("training", inputs(), cache_dir=tmp_path)
    second = cache.pipeline_definition("training", inputs(), cache_dir=tmp_path)
    assert first == second == '{"built": 1}'
    assert len(counting_builder) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"package_type": "box"},
        {"cache_expiry": "P7D"},
        {"gate": GateDefaults(max_score_drop=0.01)},
        {"training_instance_type": "ml.m5.2xlarge"},
    ],
)
def test_any_changed_input_builds_anew(tmp_path, counting_builder, change):
    cache.pipeline_definition("training", inputs(), cache_dir=tmp_path)
    cache.pipeline_definition("training", inputs(**change), cache_dir=tmp_path)
    assert len(counting_builder) == 2


def test_builder_source_and_sdk_version_are_part_of_the_key(monkeypatch):
    key = cache.cache_key("training", inputs())
    monkeypatch.setattr(cache, "_FINGERPRINT", {**cache._fingerprint(), "sagemaker": "9.9.9"})
    assert cache.cache_key("training", inputs()) != key
    monkeypatch.setattr(cache, "_FINGERPRINT", {**cache._fingerprint(), "training.py": "edited"})
    assert cache.cache_key("training", inputs()) != key


def test_fingerprint_covers_every_builder_file_and_sdk_distribution():
    fingerprint = cache._fingerprint()
    builders = {
        "pipeline_defs/common.py",
        "pipeline_defs/training.py",
        "pipeline_defs/train_steps.py",
        "pipeline_defs/inference.py",
        "pkgml_contracts/architectures.py",
    }
    assert builders <= set(fingerprint)
    # every builder module, not a fixed list: a new module is covered without editing
    assert {
        f"pipeline_defs/{p.name}" for p in (cache.PROJECT_ROOT / "pipeline_defs").glob("*.py")
    } <= set(fingerprint)
    assert {"sagemaker", "sagemaker-core", "sagemaker-mlops", "sagemaker-train"} <= set(fingerprint)


def test_kind_is_part_of_the_key(tmp_path, counting_builder):
    cache.pipeline_definition("training", inputs(), cache_dir=tmp_path)
    cache.pipeline_definition("inference", inputs(), cache_dir=tmp_path)
    assert len(counting_builder) == 2


def test_cached_text_equals_a_fresh_build(tmp_path):
    """The real builder: what the cache returns is byte-identical to building again."""
    built = cache.pipeline_definition("training", inputs(), cache_dir=tmp_path)
    again = cache.pipeline_definition("training", inputs(), cache_dir=tmp_path)
    fresh = cache.pipeline_definition("training", inputs(), cache_dir=None)
    assert built == again == fresh


def test_the_architecture_declaration_is_part_of_the_key(tmp_path, counting_builder):
    """Another architecture, or another default hyperparameter, builds anew."""
    import dataclasses as dc

    hgb = architectures()["hgb"]
    cache.pipeline_definition("training", inputs(), cache_dir=tmp_path)
    cache.pipeline_definition(
        "training", inputs(hyperparameter_defaults=(("max_iter", 50),)), cache_dir=tmp_path
    )
    cache.pipeline_definition(
        "training", inputs(architecture=dc.replace(hgb, distributed=True)), cache_dir=tmp_path
    )
    assert len(counting_builder) == 3


@pytest.mark.slow
def test_prebuild_builds_the_misses_in_parallel_byte_identical_to_one_by_one(tmp_path):
    requests = [
        ("training", inputs()),
        ("training", inputs(package_type="bag", pipeline_name="pkgml-dev-bag-training")),
        ("training", inputs()),  # a duplicate is built once
    ]
    assert cache.prebuild(requests, cache_dir=tmp_path / "parallel", workers=2) == 2
    assert len(list((tmp_path / "parallel").glob("training-*.json"))) == 2
    for kind, value in requests[:2]:
        parallel = cache.pipeline_definition(kind, value, cache_dir=tmp_path / "parallel")
        assert parallel == cache.pipeline_definition(kind, value, cache_dir=None)
    # Everything cached now: nothing to build.
    assert cache.prebuild(requests, cache_dir=tmp_path / "parallel", workers=2) == 0


def test_prebuild_leaves_a_single_miss_to_the_on_demand_build(tmp_path, counting_builder):
    assert cache.prebuild([("training", inputs())], cache_dir=tmp_path, workers=2) == 0
    assert counting_builder == []
