"""The executor's built-in algorithm training (rehearsal/builtin.py) on tiny CSV data."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rehearsal import builtin
from rehearsal.executor import LocalAws, PipelineExecutor
from tests.rehearsal.conftest import CODE, ROLE, definition

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
TRAIN = "s3://art/data/xgb/train/"
VALIDATION = "s3://art/data/xgb/validation/"


def _csv(rng: np.random.Generator, rows: int) -> bytes:
    """Label-first CSV rows, no header: label = x0 + x1 > 1."""
    x = rng.random((rows, 3))
    label = (x[:, 0] + x[:, 1] > 1).astype(int)
    return "".join(
        f"{y},{a:.4f},{b:.4f},{c:.4f}\n" for y, (a, b, c) in zip(label, x, strict=True)
    ).encode()


@pytest.fixture
def shards(aws: LocalAws) -> LocalAws:
    """Four train shards of 40 rows and one validation file under s3://art/data/xgb/."""
    rng = np.random.default_rng(3)
    for index in range(4):
        aws.s3.write_bytes(f"{TRAIN}part-{index:05d}.csv", _csv(rng, 40))
    aws.s3.write_bytes(f"{VALIDATION}validation.csv", _csv(rng, 40))
    return aws


def xgboost_step(
    *,
    hosts: int = 1,
    hyperparameters: dict[str, Any] | None = None,
    content_type: str | None = "text/csv",
    image: str = XGBOOST_IMAGE,
) -> dict[str, Any]:
    """A Train step as train_steps.py emits it for a built-in architecture."""
    content = {"ContentType": content_type} if content_type else {}
    return {
        "Name": "Train",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
            "HyperParameters": hyperparameters
            or {
                "num_round": "5",
                "max_depth": {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.MaxDepth"}]}},
                "objective": "binary:logistic",
                "eval_metric": "auc",
            },
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": TRAIN,
                            "S3DataDistributionType": "ShardedByS3Key",
                        }
                    },
                    **content,
                },
                {
                    "ChannelName": "validation",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": VALIDATION,
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                    "InputMode": "File",
                    **content,
                },
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://art/models", "CompressionType": "GZIP"},
            "ResourceConfig": {"InstanceCount": hosts, "InstanceType": "ml.m5.large"},
            "RoleArn": ROLE,
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }


def _members(aws: LocalAws, uri: str) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(aws.s3.read_bytes(uri))) as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile()
        }


def test_builtin_xgboost_trains_one_model_across_sharded_hosts(
    shards: LocalAws, executor: PipelineExecutor
) -> None:
    """Two hosts, each with its own shards (round-robin by key) and all of the validation
    set, train one model; model.tar.gz holds only xgboost-model; the log has the rounds."""
    import xgboost as xgb

    record = executor.start(definition([xgboost_step(hosts=2)], MaxDepth="3"), pipeline_name="xgb")
    train = record.step("Train")
    assert record.status == "Succeeded", train.failure_reason
    assert train.outputs["hosts"] == 2
    work = Path(train.work_dir or "")
    assert sorted(p.name for p in (work / "hosts" / "algo-1" / "train").iterdir()) == [
        "part-00000.csv",
        "part-00002.csv",
    ]
    assert sorted(p.name for p in (work / "hosts" / "algo-2" / "train").iterdir()) == [
        "part-00001.csv",
        "part-00003.csv",
    ]
    for host in ("algo-1", "algo-2"):
        assert [p.name for p in (work / "hosts" / host / "validation").iterdir()] == [
            "validation.csv"
        ]
    members = _members(shards, train.outputs["model"])
    assert list(members) == [builtin.XGBOOST_MODEL_FILE]
    booster = xgb.Booster()
    booster.load_model(bytearray(members[builtin.XGBOOST_MODEL_FILE]))
    assert booster.num_boosted_rounds() == 5
    job = json.loads((work / "builtin.json").read_text())
    assert job["hyperparameters"]["max_depth"] == "3"  # the pipeline parameter, rendered
    log = (work / "stdout.log").read_text()
    assert '"hosts": 2' in log
    assert "[4]\ttrain-auc:" in log and "validation-auc:" in log


def test_builtin_xgboost_on_one_host_reads_every_shard(
    shards: LocalAws, executor: PipelineExecutor
) -> None:
    """One instance: the channels as downloaded, no host folders; hosts not reported."""
    record = executor.start(definition([xgboost_step()], MaxDepth="2"), pipeline_name="xgb")
    train = record.step("Train")
    assert record.status == "Succeeded", train.failure_reason
    assert "hosts" not in train.outputs
    assert not (Path(train.work_dir or "") / "hosts").exists()
    assert (
        '"files": [{"train": 4, "validation": 1}]'
        in (Path(train.work_dir or "") / "stdout.log").read_text()
    )


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (
            xgboost_step(hyperparameters={"num_round": "5", "max_iterations": "3"}),
            "Extraneous hyperparameter found: max_iterations",
        ),
        (xgboost_step(hyperparameters={"eta": "0.1"}), "Missing required hyperparameter"),
        (xgboost_step(content_type=None), "as libsvm (it has no ContentType)"),
        (xgboost_step(content_type="application/x-parquet"), "as parquet"),
        (xgboost_step(content_type="text/csv;label_size=2"), "only label_size=1"),
        (xgboost_step(hosts=5), "have no training data"),
        (xgboost_step(image="123.dkr.ecr.us-east-1.amazonaws.com/mine:1"), "bring-your-own"),
    ],
)
def test_builtin_training_refuses_what_the_container_or_service_would(
    shards: LocalAws, executor: PipelineExecutor, step: dict[str, Any], reason: str
) -> None:
    record = executor.start(definition([step], MaxDepth="3"), pipeline_name="xgb")
    assert record.status == "Failed"
    assert reason in (record.step("Train").failure_reason or "")


def test_script_mode_still_runs_on_one_instance_only(executor: PipelineExecutor) -> None:
    """A distributed count for a job with an entry script fails the step, naming it."""
    step = xgboost_step(
        hosts=2,
        hyperparameters={"sagemaker_program": "toy.py", "sagemaker_submit_directory": CODE},
    )
    record = executor.start(definition([step]), pipeline_name="script")
    assert "InstanceCount 2 is not emulated" in (record.step("Train").failure_reason or "")


def test_image_and_content_type_rules() -> None:
    assert builtin.algorithm_of(XGBOOST_IMAGE) == "xgboost"
    assert (
        builtin.algorithm_of(
            "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost@sha256:ab"
        )
        == "xgboost"
    )
    assert (
        builtin.algorithm_of(
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
        )
        is None
    )
    assert builtin.channel_format("text/csv") == builtin.channel_format("csv;label_size=1") == "csv"
    assert builtin.channel_format(None) == "libsvm"
    with pytest.raises(builtin.ContainerRefusal, match="not supported"):
        builtin.channel_format("application/json")
