"""The synth-time definition cache: hits when nothing changed, misses when anything did."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pipeline_defs.architectures import architectures
from pipeline_defs.inputs import (
    GateDefaults,
    InferencePipelineInputs,
    RedshiftTarget,
    TrainingPipelineInputs,
)
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


def inference_inputs() -> InferencePipelineInputs:
    return InferencePipelineInputs(
        region="us-east-1",
        environment="dev",
        package_type="mailer",
        pipeline_name="pkgml-dev-mailer-inference",
        model_package_group="pkgml-dev-mailer",
        cache_expiry="P30D",
        redshift=RedshiftTarget(
            workgroup="analytics",
            database="dev",
            secret_arn=None,
            db_user=None,
            target_table="ml.predictions",
        ),
    )


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
        "pipeline_defs/inputs.py",
        "pipeline_defs/placeholders.py",
        "pipeline_defs/sdk_session.py",
        "pipeline_defs/sdk_workarounds.py",
        "pipeline_defs/step_builders.py",
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


def test_package_types_share_one_template_with_their_own_names(tmp_path, monkeypatch):
    calls = []

    def build(kind, value):
        calls.append(value)
        return json.dumps([value.package_type, value.pipeline_name, value.model_package_group])

    monkeypatch.setattr(cache, "_build", build)
    mailer = cache.pipeline_definition("training", inputs(), cache_dir=tmp_path)
    box = cache.pipeline_definition(
        "training",
        inputs(
            package_type="box",
            pipeline_name="pkgml-dev-box-training",
            model_package_group="pkgml-dev-box",
        ),
        cache_dir=tmp_path,
    )
    assert len(calls) == 1  # built once, with the stand-in names
    assert calls[0].package_type == "zzpkgmltypezz"
    assert json.loads(mailer) == ["mailer", "pkgml-dev-mailer-training", "pkgml-dev-mailer"]
    assert json.loads(box) == ["box", "pkgml-dev-box-training", "pkgml-dev-box"]


def test_a_name_containing_a_stand_in_is_refused():
    with pytest.raises(ValueError, match="reserved for definition templates"):
        cache.fill_template("{}", inputs(pipeline_name="zz-pkgml-group-zz-training"))


@pytest.mark.slow
def test_start_builds_in_the_background_and_the_reader_waits_for_it(tmp_path):
    requests = [
        ("training", inputs()),
        ("training", inputs(package_type="bag", pipeline_name="pkgml-dev-bag-training")),
        ("inference", inference_inputs()),
    ]
    futures = cache.start(requests, cache_dir=tmp_path / "cache")
    assert len(futures) == 1  # one worker by default
    # Read before the build ends: the reader waits for the started build.
    texts = [cache.pipeline_definition(k, v, cache_dir=tmp_path / "cache") for k, v in requests]
    assert futures[0].result() == 2  # two templates: the package types share one
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "cache").glob("*.json")) == [
        "inference",
        "training",
    ]
    for (kind, value), text in zip(requests, texts, strict=True):
        assert text == cache.pipeline_definition(kind, value, cache_dir=None)
    # Everything cached now: nothing to start.
    assert cache.start(requests, cache_dir=tmp_path / "cache") == []


def test_a_failed_background_build_is_built_again_by_the_reader(tmp_path, counting_builder):
    from concurrent.futures import Future

    failed: Future[int] = Future()
    failed.set_exception(RuntimeError("worker died"))
    path = cache._cache_path("training", cache.template_inputs(inputs()), tmp_path)
    cache._PENDING[path] = failed
    assert cache.pipeline_definition("training", inputs(), cache_dir=tmp_path) == '{"built": 1}'
    assert path not in cache._PENDING and path.is_file()
