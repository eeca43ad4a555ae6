"""Training step, in one of two modes:

- framework script mode (a `sagemaker_program` hyperparameter): the submitted code laid
  out under /opt/ml/code with the config files and SM_* variables the framework's
  training toolkit provides, then `python <program> --hp value ...` (one instance);
- a built-in algorithm image (XGBoost): `rehearsal.builtin` on InstanceCount hosts, each
  given its channels the way the service does (ShardedByS3Key or FullyReplicated).

The model folder is then uploaded as SageMaker does (`.../<job>/output/model.tar.gz`).
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rehearsal import builtin
from rehearsal.executor.errors import StepError, UnsupportedError
from rehearsal.executor.expressions import render
from rehearsal.executor.jobs import (
    CONTAINER_ROOT,
    LAUNCHER,
    JobRunner,
    check_input,
    extract,
    job_name,
    map_path,
    single_instance,
)
from rehearsal.executor.records import StepRecord


def run(
    runner: JobRunner, execution_id: str, record: StepRecord, args: dict[str, Any], work: Path
) -> None:
    """Run the training job described by the resolved CreateTrainingJob `args`."""
    name = record.name
    count = int(args.get("ResourceConfig", {}).get("InstanceCount", 1))
    algorithm = args.get("AlgorithmSpecification", {})
    if algorithm.get("TrainingInputMode", "File") not in ("File", "FastFile"):
        raise UnsupportedError(
            f"Training step {name!r}: input mode {algorithm['TrainingInputMode']!r}"
        )
    hyperparameters = {k: render(v) for k, v in (args.get("HyperParameters") or {}).items()}
    program = hyperparameters.get("sagemaker_program")
    image = str(algorithm.get("TrainingImage", ""))
    built_in = None if program else builtin.algorithm_of(image)
    if not program and built_in is None:
        raise UnsupportedError(
            f"Training step {name!r}: no sagemaker_program hyperparameter, and image "
            f"{image!r} is no emulated built-in algorithm: only framework script mode (an "
            f"entry script) and the built-in {', '.join(builtin.IMAGE_REPOSITORIES)} "
            "algorithm are emulated, not bring-your-own containers"
        )
    if program:
        single_instance(name, count)  # script mode: one local process
    ml = work / "opt" / "ml"
    channels = _channels(runner, name, args, ml)
    timeout = runner.timeout(args)
    if built_in is not None:
        _builtin_job(record, built_in, hyperparameters, channels, count, work, ml)
        runner.run(
            record,
            [*runner.python_command(image), str(LAUNCHER), "builtin", str(work / "builtin.json")],
            {},
            work,
            timeout,
        )
    else:
        assert program is not None
        environment = _script_job(runner, record, args, program, hyperparameters, channels, work)
        command = [
            *runner.python_command(image),
            str(LAUNCHER),
            "script",
            str(ml / "code" / program),
        ]
        command += _toolkit_cli(hyperparameters)
        runner.run(record, command, environment, ml / "code", timeout)
    job = job_name(execution_id, name)
    artifact = _store_model(runner, args, job, ml / "model", work)
    record.properties = {
        **args,
        "TrainingJobName": job,
        "TrainingJobArn": runner.arn("training-job", job),
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": artifact},
    }
    record.outputs = {"model": artifact}
    if count > 1:
        record.outputs["hosts"] = count


def _channels(runner: JobRunner, name: str, args: dict[str, Any], ml: Path) -> list[dict[str, Any]]:
    """Copy every S3 channel to /opt/ml/input/data/<channel>; the channel specs back."""
    channels = []
    for channel in args.get("InputDataConfig", []):
        source = channel.get("DataSource", {}).get("S3DataSource")
        if source is None:
            raise UnsupportedError(f"Training step {name!r}: channel {channel!r} is not S3")
        check_input(
            name,
            channel["ChannelName"],
            source.get("S3DataType"),
            channel.get("InputMode", "File"),
            channel.get("CompressionType"),
        )
        copied = runner.download(source["S3Uri"], ml / "input" / "data" / channel["ChannelName"])
        if not copied:
            raise StepError(
                f"Training step {name!r}: ClientError: no S3 objects under {source['S3Uri']} "
                f"(channel {channel['ChannelName']!r})"
            )
        channels.append(channel)
    return channels


def _script_job(
    runner: JobRunner,
    record: StepRecord,
    args: dict[str, Any],
    program: str,
    hyperparameters: dict[str, str],
    channels: list[dict[str, Any]],
    work: Path,
) -> dict[str, str]:
    """Lay out a script-mode job (code, config files) for the framework's training
    toolkit to run `program`; the SM_* environment back."""
    name = record.name
    ml = work / "opt" / "ml"
    code = ml / "code"
    submit = hyperparameters.get("sagemaker_submit_directory", "")
    if submit.startswith("s3://"):
        tarball = work / "sourcedir.tar.gz"
        tarball.write_bytes(runner.aws.s3.read_bytes(submit))
        extract(tarball, code)
    elif submit.startswith(CONTAINER_ROOT) and Path(map_path(submit, work)).is_dir():
        shutil.copytree(map_path(submit, work), code)
    else:
        raise StepError(
            f"Training step {name!r}: sagemaker_submit_directory {submit!r} is neither an "
            "s3:// tarball nor a folder of an input channel"
        )
    if not (code / program).is_file():
        raise StepError(f"Training step {name!r}: {program} is not in the submitted code")
    names = [c["ChannelName"] for c in channels]
    user = {k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_")}
    (ml / "model").mkdir(parents=True, exist_ok=True)
    (ml / "output" / "data").mkdir(parents=True, exist_ok=True)
    config = ml / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(
        json.dumps({c: {"TrainingInputMode": "File"} for c in names})
    )
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
    )
    return {
        **{k: render(v) for k, v in (args.get("Environment") or {}).items()},
        "SM_MODEL_DIR": str(ml / "model"),
        "SM_OUTPUT_DATA_DIR": str(ml / "output" / "data"),
        "SM_OUTPUT_DIR": str(ml / "output"),
        "SM_INPUT_DIR": str(ml / "input"),
        "SM_INPUT_CONFIG_DIR": str(config),
        "SM_CHANNELS": json.dumps(sorted(names)),
        "SM_HPS": json.dumps({k: _decode(v) for k, v in user.items()}),
        "SM_USER_ARGS": json.dumps(_toolkit_cli(hyperparameters)),
        "SM_MODULE_NAME": Path(program).stem,
        "SM_MODULE_DIR": submit,
        "SM_HOSTS": json.dumps(["algo-1"]),
        "SM_CURRENT_HOST": "algo-1",
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_NUM_GPUS": "0",
        "SM_LOG_LEVEL": "20",
        **{f"SM_CHANNEL_{c.upper()}": str(ml / "input" / "data" / c) for c in names},
        **{f"SM_HP_{k.upper()}": v for k, v in user.items()},
    }


def _builtin_job(
    record: StepRecord,
    algorithm: str,
    hyperparameters: dict[str, str],
    channels: list[dict[str, Any]],
    count: int,
    work: Path,
    ml: Path,
) -> None:
    """Write builtin.json for `rehearsal.builtin.run_job`: each host's channel folders
    (ShardedByS3Key: its share of the objects; FullyReplicated: all of them)."""
    name = record.name
    for channel in channels:
        content_type = channel.get("ContentType")
        try:
            kind = builtin.channel_format(content_type)
        except builtin.ContainerRefusal as error:
            raise StepError(
                f"Training step {name!r}: channel {channel['ChannelName']!r}: {error}"
            ) from error
        if kind != "csv":
            raise UnsupportedError(
                f"Training step {name!r}: the {algorithm} container reads channel "
                f"{channel['ChannelName']!r} as {kind}"
                + (" (it has no ContentType)" if content_type is None else "")
                + ": only text/csv channels of a built-in algorithm are emulated"
            )
    hosts: list[dict[str, str]] = [{} for _ in range(count)]
    for channel in channels:
        channel_name = channel["ChannelName"]
        folder = ml / "input" / "data" / channel_name
        if count == 1:
            hosts[0][channel_name] = str(folder)
            continue
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        distribution = channel["DataSource"]["S3DataSource"].get(
            "S3DataDistributionType", "FullyReplicated"
        )
        if distribution == "ShardedByS3Key":
            try:
                shares = builtin.assign_shards(files, count)
            except builtin.ContainerRefusal as error:
                raise StepError(
                    f"Training step {name!r}: channel {channel_name!r} (ShardedByS3Key) has "
                    f"{len(files)} object(s) for {count} instances: {error}"
                ) from error
        else:
            shares = [files] * count
        for index, share in enumerate(shares):
            host_folder = work / "hosts" / f"algo-{index + 1}" / channel_name
            for path in share:
                target = host_folder / path.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, target)
            host_folder.mkdir(parents=True, exist_ok=True)
            hosts[index][channel_name] = str(host_folder)
    (ml / "model").mkdir(parents=True, exist_ok=True)
    spec = {
        "algorithm": algorithm,
        "hyperparameters": hyperparameters,
        "hosts": hosts,
        "model_dir": str(ml / "model"),
        "work": str(work / "builtin"),
        # the container uses every core of its instance; here the hosts share this
        # machine's (or OMP_NUM_THREADS, when set)
        "threads": max(1, _cores() // count),
    }
    (work / "builtin.json").write_text(json.dumps(spec, indent=1))


def _store_model(
    runner: JobRunner, args: dict[str, Any], job: str, model_dir: Path, work: Path
) -> str:
    """Upload the model folder as SageMaker does: `<S3OutputPath>/<job>/output/model.tar.gz`,
    or the files under `.../output/model/` with CompressionType NONE; the artifact URI."""
    output = args.get("OutputDataConfig", {})
    base = f"{str(output.get('S3OutputPath', '')).rstrip('/')}/{job}/output"
    if output.get("CompressionType", "GZIP") == "NONE":
        artifact = f"{base}/model/"
        runner.aws.s3.upload_dir(model_dir, artifact)
        return artifact
    artifact = f"{base}/model.tar.gz"
    tarball = work / "model.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        for path in sorted(model_dir.rglob("*")):
            archive.add(path, arcname=path.relative_to(model_dir).as_posix(), recursive=False)
    runner.aws.s3.write_bytes(artifact, tarball.read_bytes())
    return artifact


def _cores() -> int:
    """Cores a step may use: OMP_NUM_THREADS when set (a shared machine), else every one."""
    configured = os.environ.get("OMP_NUM_THREADS", "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else os.cpu_count() or 1


def _toolkit_cli(hyperparameters: Mapping[str, str]) -> list[str]:
    """`--name value` per hyperparameter but the toolkit's own `sagemaker_*`, names sorted."""
    user = {k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_")}
    return [item for key in sorted(user) for item in (f"--{key}", user[key])]


def _decode(value: str) -> Any:
    """A hyperparameter as the training toolkit decodes it (JSON if it parses)."""
    try:
        return json.loads(value)
    except ValueError:
        return value
