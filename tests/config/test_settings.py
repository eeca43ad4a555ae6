"""The configuration contract: good inputs parse, every bad input names its key."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stacks.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def with_overrides(context: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A copy of the context plus `-c key=value` style entries (dotted keys)."""
    result = copy.deepcopy(context)
    result.update({k.replace("__", "."): v for k, v in overrides.items()})
    return result


def error_of(context: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(context)
    return str(info.value)


def test_default_context_gives_dev_and_prod_in_distinct_accounts(base_context):
    settings = load_settings(base_context)
    dev, prod = settings.environment("dev"), settings.environment("prod")
    assert (dev.account, prod.account) == ("222222222222", "333333333333")
    assert dev.account != prod.account
    assert settings.package_types == ("mailer", "bag", "box", "sioc")
    assert settings.tooling.account == "111111111111"
    assert prod.removal_policy == "retain"
    assert dev.removal_policy == "destroy"


def test_defaults_apply_to_every_environment_and_environment_values_win(base_context):
    context = with_overrides(
        base_context,
        defaults__data__raw_unload_expiry_days="45",
        environments__prod__data__raw_unload_expiry_days="60",
    )
    settings = load_settings(context)
    assert settings.environment("dev").data.raw_unload_expiry_days == 45
    assert settings.environment("prod").data.raw_unload_expiry_days == 60


def test_single_key_override_changes_exactly_that_setting(base_context):
    before = load_settings(base_context).model_dump()
    after = load_settings(
        with_overrides(base_context, environments__dev__data__access_log_expiry_days="7")
    ).model_dump()
    changed = [
        (before_env["name"], key)
        for before_env, after_env in zip(before["environments"], after["environments"], strict=True)
        for key in before_env["data"]
        if before_env["data"][key] != after_env["data"][key]
    ]
    assert changed == [("dev", "access_log_expiry_days")]
    assert {k: v for k, v in before.items() if k != "environments"} == {
        k: v for k, v in after.items() if k != "environments"
    }


def test_package_types_override_as_json_list_or_comma_list(base_context):
    as_json = load_settings(with_overrides(base_context, package_types='["mailer","tube"]'))
    as_csv = load_settings(with_overrides(base_context, package_types="mailer, tube"))
    assert as_json.package_types == as_csv.package_types == ("mailer", "tube")


def test_cdk_own_context_keys_are_ignored(base_context):
    context = with_overrides(base_context)
    context["aws:cdk:enable-path-metadata"] = True
    context["@aws-cdk/core:newStyleStackSynthesis"] = True
    assert load_settings(context).project == "pkgml"


@pytest.mark.parametrize(
    ("overrides", "key", "accepted"),
    [
        ({"environments.prod.account": "12345"}, "environments.prod.account", "12-digit"),
        (
            {"environments.dev.account": 123456789012},
            "environments.dev.account",
            "must be text in quotes",
        ),
        ({"environments.dev.region": "Mars-1"}, "environments.dev.region", "region code"),
        ({"tooling.account": "abc"}, "tooling.account", "12-digit"),
        (
            {"environments.dev.data.raw_unload_expiry_days": "soon"},
            "environments.dev.data.raw_unload_expiry_days",
            "must be a whole number, e.g. 30",
        ),
        (
            {"defaults.data.raw_unload_expiry_days": "0"},
            "defaults.data.raw_unload_expiry_days",
            "must be at least 1",
        ),
        (
            {"environments.dev.removal_policy": "keep"},
            "environments.dev.removal_policy",
            "'retain' or 'destroy'",
        ),
        (
            {"environments.prod.removal_policy": "destroy"},
            "environments.prod",
            "'retain'",
        ),
        ({"package_types": "Mailer"}, "package_types", "lowercase"),
        ({"package_types": "[]"}, "package_types", "at least 1"),
        ({"package_types": "box,box"}, "package_types", "duplicate"),
        ({"package_types": "notifier"}, "package_types", "must not be 'notifier'"),
        ({"package_types": "mailer,notifier-eu"}, "package_types", "got 'notifier-eu'"),
        ({"project": "Bad Name"}, "project", "lowercase"),
        # one instance-type allowlist (pkgml_contracts): family named, reason given
        (
            {"environments.prod.ml.training_instance_type": "ml.m5d.xlarge"},
            "environments.prod.ml.training_instance_type",
            "ml.m5d instances have local instance storage",
        ),
        (
            {"defaults.ml.processing_instance_type": "ml.g4dn.xlarge"},
            "defaults.ml.processing_instance_type",
            "ml.g4dn instances have local instance storage",
        ),
        (
            {"environments.dev.ml.transform_instance_type": "ml.p3.2xlarge"},
            "environments.dev.ml.transform_instance_type",
            "GPU family",
        ),
        (
            {"environments.dev.ml.training_instance_type": "ml.r6i.xlarge"},
            "environments.dev.ml.training_instance_type",
            "not an instance family this platform runs training jobs on",
        ),
    ],
)
def test_invalid_values_name_the_key_and_the_accepted_form(base_context, overrides, key, accepted):
    context = copy.deepcopy(base_context)
    context.update(overrides)
    message = error_of(context)
    assert f"{key}:" in message
    assert accepted in message


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"environments.dev.dta.raw_unload_expiry_days": "5"}, "environments.dev.dta"),
        ({"defaults.removal": "retain"}, "defaults.removal"),
        ({"enviroments.dev.region": "us-east-1"}, "enviroments.dev.region"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_unknown_keys_are_rejected_by_name(base_context, overrides, key):
    context = copy.deepcopy(base_context)
    context.update(overrides)
    message = error_of(context)
    assert key in message
    assert "unknown" in message


def test_unknown_environment_in_override_lists_known_ones(base_context):
    message = error_of(with_overrides(base_context, environments__qa__region="us-east-1"))
    assert "environments.qa.region: unknown environment 'qa'" in message
    assert "dev, prod" in message


def test_environment_lookup_of_unknown_name(base_context):
    settings = load_settings(base_context)
    with pytest.raises(ConfigError, match="unknown environment 'staging'; known environments"):
        settings.environment("staging")


def test_dev_and_prod_are_required(base_context):
    context = copy.deepcopy(base_context)
    del context["environments"]["prod"]
    assert "environments: missing prod" in error_of(context)


def test_missing_account_is_named(base_context):
    context = copy.deepcopy(base_context)
    del context["environments"]["dev"]["account"]
    assert "environments.dev.account: required key is missing" in error_of(context)


def test_malformed_json_override_is_reported(base_context):
    message = error_of(with_overrides(base_context, package_types="[mailer"))
    assert "looks like JSON but does not parse" in message


def test_override_into_a_single_value_is_rejected(base_context):
    message = error_of(with_overrides(base_context, environments__dev__account__x="1"))
    assert "environments.dev.account is a single value" in message


def test_app_reports_bad_configuration_without_a_traceback(base_context):
    """`cdk synth -c ...` with a bad value: one clear message on stderr, exit 1."""
    context = with_overrides(base_context, environments__prod__account="12345")
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": "/nonexistent"}
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "configuration error" in result.stderr
    assert "environments.prod.account: must be a 12-digit AWS account id" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"environments.dev.dta.raw_unload_expiry_days": "5"},
            "environments.dev.dta: unknown key; did you mean 'data'?",
        ),
        (
            {"defaults.ml.proccessing_instance_type": "ml.m5.xlarge"},
            "defaults.ml.proccessing_instance_type: unknown key; "
            "did you mean 'processing_instance_type'?",
        ),
        (
            {"environments.prod.gate.max_score_dorp": "0.1"},
            "environments.prod.gate.max_score_dorp: unknown key; did you mean 'max_score_drop'?",
        ),
        (
            {"enviroments.dev.region": "us-east-1"},
            "enviroments.dev.region: unknown configuration key; did you mean 'environments'?",
        ),
        (
            {"environments.prdo.region": "us-east-1"},
            "environments.prdo.region: unknown environment 'prdo'; did you mean 'prod'?",
        ),
    ],
)
def test_a_misspelt_key_or_environment_gets_a_suggestion(base_context, overrides, expected):
    context = copy.deepcopy(base_context)
    context.update(overrides)
    assert expected in error_of(context)


def test_no_suggestion_when_nothing_is_close(base_context):
    message = error_of({**base_context, "colour": "blue"})
    assert "colour: unknown configuration key;" in message
    assert "did you mean" not in message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"defaults.data.raw_unload_expiry_days": "soon"},
            'defaults.data.raw_unload_expiry_days: must be a whole number, e.g. 30 (got "soon")',
        ),
        (
            {"defaults.gate.max_score_drop": "a lot"},
            'defaults.gate.max_score_drop: must be a number, e.g. 0.02 (got "a lot")',
        ),
        (
            {"defaults.data.raw_unload_expiry_days": "0"},
            'defaults.data.raw_unload_expiry_days: must be at least 1, e.g. 30 (got "0")',
        ),
        (
            {"environments.dev.monitoring.dashboard": "sometimes"},
            "environments.dev.monitoring.dashboard: "
            'must be true or false, e.g. true (got "sometimes")',
        ),
    ],
)
def test_type_and_range_errors_say_what_is_accepted(base_context, overrides, expected):
    context = copy.deepcopy(base_context)
    context.update(overrides)
    message = error_of(context)
    assert expected in message
    assert "Input should" not in message


def test_data_quality_and_drift_defaults_reach_the_steps_as_json(base_context):
    dev = load_settings(base_context).environment("dev")
    assert json.loads(dev.data_quality.bounds_json("box", training=True)) == {
        "max_duplicate_ids": 0,
        "max_invalid_rate": 0.01,
        "max_null_rate": 0.05,
        "min_rows": 500,
        "null_rates": {},
    }
    assert json.loads(dev.data_quality.bounds_json("box", training=False))["min_rows"] == 1
    assert dev.monitoring.drift.for_package_type("box")["action"] == "warn"
    assert json.loads(dev.monitoring.drift.limits_json("box")) == {
        "category_distance": 0.2,
        "min_rows": 1000,
        "psi": 0.25,
        "psi_moderate": 0.1,
    }


def test_data_quality_and_drift_overrides_per_package_type(base_context):
    context = with_overrides(
        base_context,
        **{
            "defaults.data_quality.null_rates.price": 0.3,
            "environments.prod.data_quality.by_package_type.box.min_rows_training": 2000,
            "environments.prod.monitoring.drift.by_package_type.box.action": "block",
            "environments.prod.monitoring.drift.psi_limit": 0.2,
        },
    )
    prod = load_settings(context).environment("prod")
    box = json.loads(prod.data_quality.bounds_json("box", training=True))
    assert (box["min_rows"], box["null_rates"]) == (2000, {"price": 0.3})
    assert json.loads(prod.data_quality.bounds_json("mailer", training=True))["min_rows"] == 500
    assert prod.monitoring.drift.for_package_type("box")["action"] == "block"
    assert prod.monitoring.drift.for_package_type("mailer")["action"] == "warn"
    assert json.loads(prod.monitoring.drift.limits_json("mailer"))["psi"] == 0.2


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"defaults.data_quality.null_rates.weight": 0.1},
            "unknown column(s) weight; must be raw feature columns: length_cm",
        ),
        (
            {"environments.dev.data_quality.by_package_type.tube.max_null_rate": 0.1},
            "environments.dev.data_quality.by_package_type: unknown package type(s) tube",
        ),
        (
            {"environments.dev.monitoring.drift.by_package_type.tube.action": "block"},
            "environments.dev.monitoring.drift.by_package_type: unknown package type(s) tube",
        ),
        (
            {"defaults.monitoring.drift.action": "stop"},
            "defaults.monitoring.drift.action: must be one of 'warn' or 'block', "
            'e.g. "warn" (got "stop")',
        ),
        (
            {"defaults.data_quality.max_null_rate": 2},
            "defaults.data_quality.max_null_rate: must be at most 1.0, e.g. 0.05 (got 2)",
        ),
    ],
)
def test_bad_data_quality_or_drift_settings_are_named(base_context, overrides, expected):
    message = error_of(with_overrides(base_context, **overrides))
    assert expected in message
