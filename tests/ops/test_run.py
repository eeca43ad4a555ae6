"""`ops run`: run files land where the trigger looks, pass its rules, never overwrite silently."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ops.runfiles import deployment, parameters_from_sets, parse_value, trigger_rules
from tests.ops.conftest import Names, Runner


def read(s3: Any, names: Names, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=names.data_bucket, Key=key)["Body"].read())


def test_writes_a_run_file_the_trigger_accepts(cli: Runner, s3: Any, names: Names) -> None:
    result = cli(
        "run",
        "--kind",
        "training",
        "--manifest",
        names.manifest(),
        "--run-id",
        "t-1",
        "--set",
        "hyperparameters.max_depth=8",
        "--set",
        "thresholds.min_score=0.8",
        "--set",
        "training_instance_type=ml.m5.2xlarge",
    )
    assert result.code == 0, result.err
    document = read(s3, names, "runs/training/t-1.json")
    assert document == {
        "schema_version": 1,
        "kind": "training",
        "run_id": "t-1",
        "data": {"manifest": names.manifest()},
        "parameters": {
            "hyperparameters": {"max_depth": 8},
            "thresholds": {"min_score": 0.8},
            "training_instance_type": "ml.m5.2xlarge",
        },
    }
    rules = trigger_rules()
    run = rules.parse_run_file(
        document,
        expected=rules.parse_run_key("runs/training/t-1.json", "runs/"),
        data_bucket=names.data_bucket,
        configured_package_types=names.settings.package_types,
        deployment=deployment(names.env, names.settings.package_types),
    )
    assert run.package_types == names.settings.package_types
    assert f"s3://{names.data_bucket}/runs/training/t-1.json" in result.out
    assert names.pipeline("training", "mailer") in result.out
    assert "MaxDepth" in result.out


def test_refuses_to_overwrite_unless_forced(cli: Runner, s3: Any, names: Names) -> None:
    args = ("run", "--kind", "training", "--manifest", names.manifest(), "--run-id", "t-2")
    assert cli(*args).code == 0
    first = read(s3, names, "runs/training/t-2.json")

    again = cli(*args, "--set", "hyperparameters.max_iter=10")
    assert again.code == 1
    assert "already exists" in again.err
    assert read(s3, names, "runs/training/t-2.json") == first

    forced = cli(*args, "--set", "hyperparameters.max_iter=10", "--force")
    assert forced.code == 0, forced.err
    assert read(s3, names, "runs/training/t-2.json")["parameters"] == {
        "hyperparameters": {"max_iter": 10}
    }
    assert forced.out.startswith("Overwrote")


def test_package_types_and_json_output(cli: Runner, s3: Any, names: Names) -> None:
    result = cli(
        "--json",
        "run",
        "--kind",
        "inference-daily",
        "--manifest",
        names.manifest("inference-daily"),
        "--run-id",
        "d-1",
        "--package-type",
        "box",
        "--package-type",
        "mailer",
    )
    assert result.code == 0, result.err
    data = result.json()
    assert data["key"] == "runs/inference-daily/d-1.json"
    # configuration order, whatever order the flags came in
    assert data["run_file"]["package_types"] == ["mailer", "box"]
    assert data["pipelines"] == {
        "mailer": names.pipeline("inference", "mailer"),
        "box": names.pipeline("inference", "box"),
    }
    assert set(data["pipeline_parameters"]) == {"mailer", "box"}
    assert all({"Name": "RunId", "Value": "d-1"} in v for v in data["pipeline_parameters"].values())
    assert read(s3, names, data["key"])["package_types"] == ["mailer", "box"]


def test_architecture_names_the_model_and_takes_the_hyperparameters(
    cli: Runner, s3: Any, names: Names
) -> None:
    configured = names.env.model_for("mailer").architecture
    result = cli(
        "--json", "run", "--kind", "training", "--manifest", names.manifest(),
        "--run-id", "t-3", "--package-type", "mailer", "--architecture", configured,
        "--set", "hyperparameters.max_depth=8", "--set", "validation_ratio=0.3",
    )  # fmt: skip
    assert result.code == 0, result.err
    data = result.json()
    assert data["run_file"]["model"] == {
        "architecture": configured,
        "hyperparameters": {"max_depth": 8},
    }
    assert data["run_file"]["parameters"] == {"validation_ratio": 0.3}
    assert read(s3, names, "runs/training/t-3.json") == data["run_file"]
    # the configured architecture trains in the package type's training pipeline
    assert data["pipelines"] == {"mailer": names.pipeline("training", "mailer")}
    assert data["architectures"] == {"mailer": configured}
    assert {"Name": "MaxDepth", "Value": "8"} in data["pipeline_parameters"]["mailer"]


def test_without_architecture_each_type_trains_its_configured_one(
    cli: Runner, s3: Any, names: Names
) -> None:
    result = cli("--json", "run", "--kind", "training", "--manifest", names.manifest(), "--dry-run")
    assert result.code == 0, result.err
    data = result.json()
    assert "model" not in data["run_file"]
    assert data["architectures"] == {
        p: names.env.model_for(p).architecture for p in names.settings.package_types
    }


def test_package_types_training_different_architectures_get_their_own_parameters(
    cli: Runner, s3: Any, names: Names
) -> None:
    box = "environments.dev.models.box.architecture=xgboost"  # distributed; mailer: hgb
    result = cli(
        "--json", "--context", box, "run", "--kind", "training", "--manifest", names.manifest(),
        "--package-type", "mailer", "--package-type", "box", "--dry-run",
        "--set", "training_instance_count=1",
    )  # fmt: skip
    assert result.code == 0, result.err
    data = result.json()
    assert data["architectures"] == {"mailer": "hgb", "box": "xgboost"}
    sent = {p: {i["Name"] for i in items} for p, items in data["pipeline_parameters"].items()}
    assert "TrainingInstanceCount" in sent["box"] and "TrainingInstanceCount" not in sent["mailer"]
    assert data["pipelines"]["box"] == names.pipeline("training", "box")  # its configured one


@pytest.mark.parametrize(
    ("kind", "argv", "reason"),
    [
        ("training", ["--architecture", "no-such-model"], "architecture_not_deployed"),
        ("inference-daily", ["--architecture", "hgb"], "parameter_not_for_kind"),
        ("training", ["--set", "training_instance_count=2"], "one instance"),
    ],
)
def test_architecture_errors_are_usage_errors(
    cli: Runner, s3: Any, names: Names, kind: str, argv: list[str], reason: str
) -> None:
    dataset = "training" if kind == "training" else "inference-daily"
    result = cli("run", "--kind", kind, "--manifest", names.manifest(dataset), "--run-id", "a-1",
                 *argv)  # fmt: skip
    assert result.code == 2
    assert reason in result.err
    assert s3.list_objects_v2(Bucket=names.data_bucket, Prefix="runs/").get("KeyCount", 0) == 0


def test_dry_run_and_default_run_id(cli: Runner, s3: Any, names: Names) -> None:
    result = cli("--json", "run", "--kind", "training", "--manifest", names.manifest(), "--dry-run")
    assert result.code == 0, result.err
    data = result.json()
    assert re.fullmatch(r"training-\d{8}-\d{6}", data["run_file"]["run_id"])
    assert data["written"] is False
    listed = s3.list_objects_v2(Bucket=names.data_bucket, Prefix="runs/")
    assert listed.get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    ("kind", "sets", "reason"),
    [
        ("training", ["hyperparameters.max_depth=99"], "out_of_range"),
        ("training", ["training_instance_count=2.5"], "schema_violation"),
        ("training", ["no_such_knob=1"], "schema_violation"),
        ("inference-daily", ["thresholds.min_score=0.8"], "parameter_not_for_kind"),
        ("inference-daily", ["hyperparameters.max_depth=8"], "parameter_not_for_kind"),
        ("training", ["validation_ratio=NaN"], "not_json"),
        # the shared instance-type allowlist: local storage cannot take the volume key
        ("training", ["training_instance_type=ml.m5d.xlarge"], "ml.m5d instances have local"),
        ("inference-daily", ["transform_instance_type=ml.g4dn.xlarge"], "ml.g4dn instances"),
    ],
)
def test_bad_parameters_are_usage_errors(
    cli: Runner, s3: Any, names: Names, kind: str, sets: list[str], reason: str
) -> None:
    dataset = "training" if kind == "training" else "inference-daily"
    argv = ["run", "--kind", kind, "--manifest", names.manifest(dataset), "--run-id", "bad-1"]
    for item in sets:
        argv += ["--set", item]
    result = cli(*argv)
    assert result.code == 2
    assert reason in result.err
    assert s3.list_objects_v2(Bucket=names.data_bucket, Prefix="runs/").get("KeyCount", 0) == 0


def test_bad_kind_run_id_and_manifest(cli: Runner, s3: Any, names: Names) -> None:
    base = ["run", "--manifest", names.manifest()]
    assert cli(*base, "--kind", "weekly").code == 2
    assert cli(*base, "--kind", "training", "--run-id", "has/slash").code == 2
    assert cli(*base, "--kind", "training", "--run-id", "-leading-hyphen").code == 2
    other_bucket = "s3://someone-else/unload/training/e-1/manifest"
    wrong = cli("run", "--kind", "training", "--manifest", other_bucket, "--run-id", "x")
    assert (wrong.code, "schema_violation" in wrong.err) == (2, True)
    daily = cli("run", "--kind", "training", "--manifest", names.manifest("inference-daily"))
    assert daily.code == 2  # training reads the training dataset only
    assert cli(*base, "--kind", "training", "--set", "novalue").code == 2


def test_missing_or_empty_manifest_is_refused(cli: Runner, s3: Any, names: Names) -> None:
    missing = cli("run", "--kind", "training", "--manifest", names.manifest(extract="e-9"))
    assert missing.code == 1
    assert "manifest_missing" in missing.err
    key = names.manifest(extract="e-0").split("/", 3)[3]
    s3.put_object(Bucket=names.data_bucket, Key=key, Body=b'{"entries": []}')
    empty = cli("run", "--kind", "training", "--manifest", names.manifest(extract="e-0"))
    assert (empty.code, "manifest_empty" in empty.err) == (1, True)


def test_set_parsing() -> None:
    assert parse_value("8") == 8
    assert parse_value("0.05") == 0.05
    assert parse_value("ml.m5.xlarge") == "ml.m5.xlarge"
    assert parse_value("[1]") == "[1]"
    assert parameters_from_sets(["parameters.hyperparameters.max_iter=3", "max_iter_x=y"]) == {
        "hyperparameters": {"max_iter": 3},
        "max_iter_x": "y",
    }
