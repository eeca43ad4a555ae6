"""Schedules, Redshift and trigger settings: defaults, one-flag overrides, named errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks.settings import ConfigError, load_settings


def settings_with(context: dict[str, Any], **overrides: str):
    result = copy.deepcopy(context)
    result.update(overrides)
    return load_settings(result)


def error_with(context: dict[str, Any], **overrides: str) -> str:
    with pytest.raises(ConfigError) as info:
        settings_with(context, **overrides)
    return str(info.value)


def test_schedule_defaults(base_context):
    schedules = load_settings(base_context).environment("prod").schedules
    assert schedules.timezone == "UTC"
    assert schedules.training.expression == "cron(0 3 ? * MON *)"
    assert schedules.inference_daily.expression == "cron(0 5 * * ? *)"
    assert schedules.inference_monthly.expression == "cron(0 6 1 * ? *)"
    assert all(s.enabled for s in (schedules.training, schedules.inference_daily))


def test_one_flag_changes_one_environments_training_day(base_context):
    settings = settings_with(
        base_context, **{"environments.prod.schedules.training.expression": "cron(0 3 ? * SUN *)"}
    )
    assert settings.environment("prod").schedules.training.expression == "cron(0 3 ? * SUN *)"
    assert settings.environment("dev").schedules.training.expression == "cron(0 3 ? * MON *)"


def test_one_flag_pauses_one_schedule(base_context):
    settings = settings_with(
        base_context, **{"environments.dev.schedules.inference_daily.enabled": "false"}
    )
    dev = settings.environment("dev").schedules
    assert dev.inference_daily.enabled is False
    assert dev.training.enabled is True
    assert settings.environment("prod").schedules.inference_daily.enabled is True


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 3 * * MON *)",
        "cron(0 3 ? * ? *)",
        "cron(0 3 * *)",
        "every monday",
        "rate(1 days)",
        "rate(2 day)",
        "rate(0 days)",
        "cron(0 3 ? * MON *); drop table x",
    ],
)
def test_invalid_schedule_expressions_name_the_key(base_context, expression):
    message = error_with(
        base_context, **{"environments.prod.schedules.training.expression": expression}
    )
    assert "environments.prod.schedules.training.expression: must be an EventBridge" in message


@pytest.mark.parametrize("expression", ["rate(1 day)", "rate(12 hours)", "cron(15 4 L * ? *)"])
def test_valid_schedule_expressions(base_context, expression):
    settings = settings_with(
        base_context, **{"defaults.schedules.inference_monthly.expression": expression}
    )
    assert settings.environment("dev").schedules.inference_monthly.expression == expression


def test_timezone_is_validated(base_context):
    ok = settings_with(base_context, **{"defaults.schedules.timezone": "Europe/Berlin"})
    assert ok.environment("prod").schedules.timezone == "Europe/Berlin"
    message = error_with(base_context, **{"defaults.schedules.timezone": "Mars/Olympus"})
    assert "defaults.schedules.timezone: must be an IANA time zone name" in message


def test_enabled_must_be_a_boolean(base_context):
    message = error_with(base_context, **{"environments.dev.schedules.training.enabled": "maybe"})
    assert "environments.dev.schedules.training.enabled:" in message
    assert "must be true or false, e.g. true" in message


def test_redshift_cluster_with_iam_user_and_serverless_with_secret(base_context):
    settings = load_settings(base_context)
    dev, prod = settings.environment("dev").redshift, settings.environment("prod").redshift
    assert (dev.cluster_identifier, dev.db_user, dev.workgroup) == (
        "packaging-dw-dev",
        "pkgml_etl",
        None,
    )
    assert prod.workgroup == "packaging-dw"
    assert prod.secret_arn and prod.secret_arn.startswith("arn:aws:secretsmanager:")


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"environments.dev.redshift.workgroup": "wg-1"}, "exactly one of cluster_identifier"),
        (
            {
                "environments.dev.redshift.secret_arn": (
                    "arn:aws:secretsmanager:us-east-1:222222222222:secret:x-AbCdEf"
                )
            },
            "secret_arn or db_user, not both",
        ),
        ({"environments.prod.redshift.db_user": "etl"}, "db_user is for provisioned clusters"),
        ({"environments.prod.redshift.secret_arn": "not-an-arn"}, "should match pattern"),
        ({"environments.dev.redshift.cluster_identifier": "Bad_Name"}, "should match pattern"),
    ],
)
def test_invalid_redshift_settings_name_the_environment(base_context, overrides, fragment):
    message = error_with(base_context, **overrides)
    env = next(iter(overrides)).split(".")[1]
    assert f"environments.{env}.redshift" in message
    assert fragment in message


def test_trigger_concurrency_range(base_context):
    message = error_with(base_context, **{"defaults.trigger.reserved_concurrency": "0"})
    assert 'defaults.trigger.reserved_concurrency: must be at least 1, e.g. 5 (got "0")' in message


def test_gate_per_package_type_override_applies_to_that_type_only(base_context):
    settings = settings_with(
        base_context, **{"environments.prod.gate.by_package_type.box.max_score_drop": "0.01"}
    )
    gate = settings.environment("prod").gate
    assert gate.for_package_type("box")["max_score_drop"] == 0.01
    assert gate.for_package_type("mailer")["max_score_drop"] == 0.02
    assert gate.for_package_type("box")["min_score"] == 0.70
    assert settings.environment("dev").gate.for_package_type("box")["max_score_drop"] == 0.02


def test_gate_comparison_defaults_to_same_data_and_is_overridable(base_context):
    settings = settings_with(
        base_context, **{"environments.prod.gate.by_package_type.box.comparison": "stored"}
    )
    gate = settings.environment("prod").gate
    assert gate.for_package_type("mailer")["comparison"] == "same_data"
    assert gate.for_package_type("box")["comparison"] == "stored"
    message = error_with(base_context, **{"defaults.gate.comparison": "median"})
    assert "defaults.gate.comparison" in message and "'same_data' or 'stored'" in message


def test_gate_comparisons_are_the_contracts():
    from typing import get_args

    from pkgml_contracts import gate as gate_contract
    from stacks.settings import Comparison

    assert get_args(Comparison) == gate_contract.COMPARISONS


def test_gate_override_for_unknown_package_type_is_rejected(base_context):
    message = error_with(
        base_context, **{"environments.prod.gate.by_package_type.tube.max_score_drop": "0.01"}
    )
    assert "environments.prod.gate.by_package_type: unknown package type(s) tube" in message


def test_vpc_needs_subnets_and_security_groups(base_context):
    message = error_with(base_context, **{"environments.prod.ml.subnets": '["subnet-0123abcd"]'})
    assert "environments.prod.ml: set both subnets and security_groups" in message


def test_cache_expiry_is_an_iso_duration(base_context):
    message = error_with(base_context, **{"defaults.ml.cache_expiry": "30 days"})
    assert "defaults.ml.cache_expiry:" in message
