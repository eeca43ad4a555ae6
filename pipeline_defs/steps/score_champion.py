"""ScoreChampion step: the current champion scores the challenger's validation rows.

Runs as `python3 /opt/ml/processing/input/code/score_champion.py` in a SageMaker
Processing job whose image is the *champion's own serving image* (the training pipeline's
ResolveChampion step returns it), so a champion of any architecture scores with its own
libraries and serving code, whatever the challenger's architecture.

Why a processing job and not a batch transform: there may be no champion (the first
model), and SageMaker Pipelines cannot rejoin after a ConditionStep, so a conditional
transform would need Evaluate, Compare and Register twice. This step always runs; with
no champion (`--model-package-arn none`) it writes `champion.json` saying so and stops.

With a champion, it does what batch transform does with the serving program:
- describes the model package (its first inference container: ModelDataUrl,
  Environment), extracts model.tar.gz into a model folder, and finds the serving program
  (SAGEMAKER_PROGRAM) in SAGEMAKER_SUBMIT_DIRECTORY: `/opt/ml/model/code` (code inside
  the artifact) or an s3:// source tarball;
- sets the container's environment, imports the program and calls its model_fn;
- sends the rows of `--features-dir` (Split's `champion_features/validation.csv`: no id,
  the columns this champion reads) in text/csv requests of at most `--max-payload-mb`
  through input_fn -> predict_fn -> output_fn, and checks one answer line per row.

Outputs under `--output-dir`: `validation.csv.out` (one score per line, input order: the
n-th score belongs to the n-th validation row, as Evaluate reads it) and `champion.json`
({"model_package_arn", "model_package_version", "architecture", "rows"}, or
{"model_package_arn": null} without a champion). Needs only the standard library and
boto3 besides what the serving program imports.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

NO_CHAMPION = "none"
CSV = "text/csv"
DEFAULT_FEATURES_DIR = "/opt/ml/processing/input/champion_features"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing/output/champion"
MODEL_DIR_IN_CONTAINER = "/opt/ml/model"
HANDLERS = ("model_fn", "input_fn", "predict_fn", "output_fn")


class ChampionError(RuntimeError):
    """The champion cannot be scored as it would be served; the message says why."""


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ChampionError(f"{uri!r} is not an s3://bucket/key URI")
    return parsed.netloc, parsed.path.lstrip("/")


def _extract(tarball: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(destination, filter="data")


def describe_container(sagemaker: Any, arn: str) -> dict[str, Any]:
    """The package's first inference container (the one batch transform would run)."""
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or []
    if not containers:
        raise ChampionError(f"model package {arn} has no inference container")
    container = dict(containers[0])
    container["_version"] = package.get("ModelPackageVersion")
    metadata = package.get("CustomerMetadataProperties") or {}
    container["_architecture"] = metadata.get("architecture", "hgb")
    return container


def fetch_serving_code(
    container: dict[str, Any], s3: Any, work: Path
) -> tuple[Path, Path, str, dict[str, str]]:
    """(model dir, code dir, program, environment) laid out as the serving container would."""
    environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
    program = environment.get("SAGEMAKER_PROGRAM")
    if not program:
        raise ChampionError(
            "the champion's container sets no SAGEMAKER_PROGRAM: every architecture must "
            "declare a serving program to be scored here"
        )
    model_dir = work / "model"
    tarball = work / "model.tar.gz"
    bucket, key = split_s3_uri(str(container.get("ModelDataUrl", "")))
    s3.download_file(bucket, key, str(tarball))
    _extract(tarball, model_dir)
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", f"{MODEL_DIR_IN_CONTAINER}/code")
    if submit.startswith("s3://"):
        code_dir = work / "code"
        source = work / "sourcedir.tar.gz"
        s3.download_file(*split_s3_uri(submit), str(source))
        _extract(source, code_dir)
    elif submit.startswith(MODEL_DIR_IN_CONTAINER):
        code_dir = model_dir / Path(submit).relative_to(MODEL_DIR_IN_CONTAINER)
    else:
        raise ChampionError(
            f"SAGEMAKER_SUBMIT_DIRECTORY {submit!r} is neither s3:// nor in the model"
        )
    if not (code_dir / program).is_file():
        raise ChampionError(
            f"serving program {program!r} is not in the champion's code ({submit}): the "
            "serving container would fail to start"
        )
    return model_dir, code_dir, program, environment


def load_handlers(code_dir: Path, program: str) -> dict[str, Callable[..., Any]]:
    """The serving program's handlers, imported as the serving container imports it."""
    sys.path.insert(0, str(code_dir))
    sys.modules.pop(Path(program).stem, None)  # a module of that name imported before
    module = importlib.import_module(Path(program).stem)
    missing = [name for name in HANDLERS if not callable(getattr(module, name, None))]
    if missing:
        raise ChampionError(f"serving program {program!r} defines no {', '.join(missing)}")
    return {name: getattr(module, name) for name in HANDLERS}


def requests(lines: Sequence[str], limit_bytes: int) -> Iterator[list[str]]:
    """Consecutive rows in requests of at most limit_bytes (MultiRecord, SplitType Line)."""
    batch: list[str] = []
    size = 0
    for number, line in enumerate(lines, start=1):
        line_size = len(line.encode()) + 1
        if line_size > limit_bytes:
            raise ChampionError(f"row {number} is {line_size} bytes, over the request limit")
        if batch and size + line_size > limit_bytes:
            yield batch
            batch, size = [], 0
        batch.append(line)
        size += line_size
    if batch:
        yield batch


def score(
    handlers: dict[str, Callable[..., Any]], model: Any, lines: Sequence[str], limit_bytes: int
) -> list[str]:
    """One answer line per row, in row order."""
    answers: list[str] = []
    for batch in requests(lines, limit_bytes):
        parsed = handlers["input_fn"]("\n".join(batch) + "\n", CSV)
        response = handlers["output_fn"](handlers["predict_fn"](parsed, model), CSV)
        if isinstance(response, tuple):
            response = response[0]
        if isinstance(response, bytes):
            response = response.decode()
        got = [line for line in str(response).splitlines() if line.strip()]
        if len(got) != len(batch):
            raise ChampionError(
                f"the champion answered {len(got)} lines for {len(batch)} rows (rows "
                f"{len(answers) + 1}-{len(answers) + len(batch)}): one line per row is required"
            )
        answers.extend(got)
    return answers


def read_rows(features_dir: Path) -> list[str]:
    """The non-empty lines of the features files (sorted by name)."""
    files = sorted(
        p for p in features_dir.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
    )
    if not files:
        raise ChampionError(f"no feature files in {features_dir}")
    return [line for path in files for line in path.read_text("utf-8").splitlines() if line]


def run(args: argparse.Namespace, *, sagemaker: Any = None, s3: Any = None) -> dict[str, Any]:
    """Score (or record that there is no champion); returns what champion.json holds."""
    output_dir: Path = args.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    if args.model_package_arn == NO_CHAMPION:
        summary: dict[str, Any] = {"model_package_arn": None, "reason": "no Approved model yet"}
        (output_dir / "champion.json").write_text(json.dumps(summary))
        print(json.dumps(summary))
        return summary
    if sagemaker is None or s3 is None:
        import boto3

        sagemaker = sagemaker or boto3.client("sagemaker", region_name=args.region)
        s3 = s3 or boto3.client("s3", region_name=args.region)
    container = describe_container(sagemaker, args.model_package_arn)
    rows = read_rows(args.features_dir)
    with tempfile.TemporaryDirectory(prefix="champion-") as temporary:
        model_dir, code_dir, program, environment = fetch_serving_code(
            container, s3, Path(temporary)
        )
        os.environ.update({k: v for k, v in environment.items() if k not in os.environ})
        handlers = load_handlers(code_dir, program)
        model = handlers["model_fn"](str(model_dir))
        answers = score(handlers, model, rows, args.max_payload_mb * 1024 * 1024)
    (output_dir / "validation.csv.out").write_text("\n".join(answers) + "\n")
    summary = {
        "model_package_arn": args.model_package_arn,
        "model_package_version": container["_version"],
        "architecture": container["_architecture"],
        "image": container.get("Image"),
        "rows": len(answers),
    }
    (output_dir / "champion.json").write_text(json.dumps(summary))
    print(json.dumps(summary))
    return summary


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Arguments; paths default to the SageMaker Processing container paths."""
    parser = argparse.ArgumentParser(description="Score the champion on the validation rows.")
    parser.add_argument(
        "--model-package-arn", required=True, help=f"the champion, or {NO_CHAMPION!r}"
    )
    parser.add_argument("--features-dir", type=Path, default=Path(DEFAULT_FEATURES_DIR))
    parser.add_argument("--output-dir", type=Path, default=Path(DEFAULT_OUTPUT_DIR))
    parser.add_argument("--max-payload-mb", type=int, default=6)
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    if args.max_payload_mb < 1:
        parser.error(f"--max-payload-mb must be at least 1, got {args.max_payload_mb}")
    return args


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    run(parse_args(argv))


if __name__ == "__main__":
    main()
