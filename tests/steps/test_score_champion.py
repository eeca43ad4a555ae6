"""ScoreChampion: the champion's own serving program scores the validation rows."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from pipeline_defs.steps import score_champion

BUCKET = "artifacts"
ARN = "arn:aws:sagemaker:us-east-1:111122223333:model-package/pkgml-dev-mailer/3"

# A serving program as an architecture ships one: the score is the first feature's
# logistic, so expected answers are computable here.
PROGRAM = """
import json, math, os
from pathlib import Path

def model_fn(model_dir):
    return json.loads((Path(model_dir) / "weights.json").read_text())

def input_fn(body, content_type):
    assert content_type == "text/csv", content_type
    return [[float(v) for v in line.split(",")] for line in body.splitlines() if line]

def predict_fn(rows, model):
    return [1 / (1 + math.exp(-model["w"] * row[0])) for row in rows]

def output_fn(scores, accept):
    prefix = os.environ.get("SCORE_PREFIX", "")
    return "\\n".join(f"{prefix}{s:.6f}" for s in scores) + "\\n", accept
"""


def tarball(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Registry:
    """describe_model_package of one package (moto's registry lacks inference specs)."""

    def __init__(self, container: dict) -> None:
        self.container = container

    def describe_model_package(self, ModelPackageName: str) -> dict:
        assert ModelPackageName == ARN
        return {
            "ModelPackageVersion": 3,
            "InferenceSpecification": {"Containers": [self.container]},
            "CustomerMetadataProperties": {"architecture": "xgboost"},
        }


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def features(tmp_path: Path, rows: list[str]) -> Path:
    folder = tmp_path / "features"
    folder.mkdir()
    (folder / "validation.csv").write_text("\n".join(rows) + "\n")
    return folder


def args(tmp_path: Path, features_dir: Path, **extra) -> object:
    argv = [
        "--model-package-arn",
        extra.pop("arn", ARN),
        "--features-dir",
        str(features_dir),
        "--output-dir",
        str(tmp_path / "out"),
        *extra.pop("more", []),
    ]
    return score_champion.parse_args(argv)


def test_code_in_the_artifact_scores_every_row_in_order(tmp_path, s3, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))  # sys.path restored afterwards
    s3.put_object(
        Bucket=BUCKET,
        Key="model.tar.gz",
        Body=tarball({"weights.json": '{"w": 2.0}', "code/serve_a.py": PROGRAM}),
    )
    registry = Registry(
        {
            "Image": "sklearn-image",
            "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "serve_a.py", "SCORE_PREFIX": ""},
        }
    )
    rows = [f"{v},1.0" for v in (0.0, 1.0, -1.0, 0.5)]
    summary = score_champion.run(
        args(tmp_path, features(tmp_path, rows)), sagemaker=registry, s3=s3
    )
    out = (tmp_path / "out" / "validation.csv.out").read_text().split()
    assert out == ["0.500000", "0.880797", "0.119203", "0.731059"]
    assert summary["rows"] == 4
    assert summary["architecture"] == "xgboost"
    assert (
        json.loads((tmp_path / "out" / "champion.json").read_text())["model_package_version"] == 3
    )


def test_code_from_an_s3_source_tarball_and_small_requests(tmp_path, s3, monkeypatch):
    s3.put_object(Bucket=BUCKET, Key="m.tar.gz", Body=tarball({"weights.json": '{"w": 1.0}'}))
    s3.put_object(Bucket=BUCKET, Key="src.tar.gz", Body=tarball({"serve_b.py": PROGRAM}))
    registry = Registry(
        {
            "ModelDataUrl": f"s3://{BUCKET}/m.tar.gz",
            "Environment": {
                "SAGEMAKER_PROGRAM": "serve_b.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/src.tar.gz",
            },
        }
    )
    rows = [f"{i / 1000:.3f}" for i in range(3000)]
    # 1 MB requests: 3,000 short rows fit in one; the order must hold either way
    score_champion.run(
        args(tmp_path, features(tmp_path, rows), more=["--max-payload-mb", "1"]),
        sagemaker=registry,
        s3=s3,
    )
    out = (tmp_path / "out" / "validation.csv.out").read_text().split()
    assert len(out) == 3000
    assert float(out[0]) == 0.5
    assert float(out[-1]) > float(out[1])


def test_requests_respect_the_payload_limit_and_keep_order():
    lines = ["x" * 9] * 25  # 10 bytes each with the newline
    batches = list(score_champion.requests(lines, 100))
    assert [len(b) for b in batches] == [10, 10, 5]
    with pytest.raises(score_champion.ChampionError, match="row 1 is 10 bytes"):
        list(score_champion.requests(lines, 5))


def test_no_champion_writes_the_reason_and_nothing_else(tmp_path):
    summary = score_champion.run(
        args(tmp_path, tmp_path / "absent", arn="none"), sagemaker=object(), s3=object()
    )
    assert summary["model_package_arn"] is None
    assert json.loads((tmp_path / "out" / "champion.json").read_text())["model_package_arn"] is None
    assert not (tmp_path / "out" / "validation.csv.out").exists()


@pytest.mark.parametrize(
    ("environment", "files", "message"),
    [
        ({}, {"weights.json": "{}"}, "sets no SAGEMAKER_PROGRAM"),
        ({"SAGEMAKER_PROGRAM": "absent.py"}, {"weights.json": "{}"}, "would fail to start"),
        (
            {"SAGEMAKER_PROGRAM": "serve_c.py"},
            {"weights.json": '{"w": 1}', "code/serve_c.py": "def model_fn(d):\n    return 1\n"},
            "defines no input_fn, predict_fn, output_fn",
        ),
    ],
)
def test_a_champion_that_could_not_serve_is_refused(tmp_path, s3, environment, files, message):
    s3.put_object(Bucket=BUCKET, Key="model.tar.gz", Body=tarball(files))
    registry = Registry({"ModelDataUrl": f"s3://{BUCKET}/model.tar.gz", "Environment": environment})
    with pytest.raises(score_champion.ChampionError, match=message):
        score_champion.run(args(tmp_path, features(tmp_path, ["1.0"])), sagemaker=registry, s3=s3)


def test_an_answer_per_row_is_required(tmp_path, s3):
    # answers only the first row of each request
    program = PROGRAM.replace("for s in scores)", "for s in scores[:1])")
    s3.put_object(
        Bucket=BUCKET,
        Key="model.tar.gz",
        Body=tarball({"weights.json": '{"w": 1}', "code/serve_d.py": program}),
    )
    registry = Registry(
        {
            "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "serve_d.py"},
        }
    )
    with pytest.raises(score_champion.ChampionError, match="answered 1 lines for 3 rows"):
        score_champion.run(
            args(tmp_path, features(tmp_path, ["1", "2", "3"])), sagemaker=registry, s3=s3
        )
