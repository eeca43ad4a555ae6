"""The input contract: frozen, keyword-only, hashable as JSON, validated."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from pipeline_defs.inputs import GateDefaults
from tests.pipelines.conftest import inference_inputs, training_inputs


@pytest.mark.parametrize("make", [training_inputs, inference_inputs])
def test_inputs_are_frozen_and_json_serialisable(make: Any) -> None:
    inputs = make()
    text = json.dumps(dataclasses.asdict(inputs), sort_keys=True)
    assert json.loads(text)["package_type"] == "mailer"
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.region = "eu-west-1"
    with pytest.raises(TypeError):
        type(inputs)("us-east-1")


@pytest.mark.parametrize(
    "overrides",
    [
        {"region": "mars-1"},
        {"cache_expiry": "30 days"},
        {"pipeline_name": "bad_name!"},
        {"training_instance_type": "m5.xlarge"},
        {"subnets": ("subnet-1",)},
        {"subnets": ["subnet-1"], "security_groups": ["sg-1"]},
        {"operating_threshold": 1.5},
    ],
)
def test_training_inputs_are_validated(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        training_inputs(**overrides)


def test_inference_inputs_are_validated() -> None:
    with pytest.raises(ValueError):
        inference_inputs(target_file_mb=0)


def test_gate_defaults() -> None:
    assert dataclasses.asdict(GateDefaults()) == {
        "max_score_drop": 0.02,
        "min_score": 0.70,
        "max_label_shift": 0.10,
        "max_label_count_change": 0.5,
        "max_input_size_change": 0.5,
        "primary_metric": "roc_auc",
        "comparison": "same_data",
    }
    with pytest.raises(ValueError):
        GateDefaults(min_score=2.0)
