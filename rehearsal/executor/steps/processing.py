"""Processing step: `python3 <script> <args>` as a subprocess; S3 inputs copied to their
/opt/ml/processing/... paths (mapped into the step's work folder), outputs uploaded after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rehearsal.executor.errors import StepError, UnsupportedError
from rehearsal.executor.expressions import render
from rehearsal.executor.jobs import (
    EXIT_MESSAGE_FILE,
    LAUNCHER,
    JobRunner,
    check_input,
    job_name,
    map_path,
    single_instance,
)
from rehearsal.executor.records import StepRecord


def run(
    runner: JobRunner, execution_id: str, record: StepRecord, args: dict[str, Any], work: Path
) -> None:
    """Run the processing job described by the resolved CreateProcessingJob `args`."""
    name = record.name
    cluster = args.get("ProcessingResources", {}).get("ClusterConfig", {})
    single_instance(name, cluster.get("InstanceCount", 1))
    app = args.get("AppSpecification", {})
    entrypoint = list(app.get("ContainerEntrypoint") or [])
    if len(entrypoint) < 2 or Path(entrypoint[0]).name not in ("python3", "python"):
        raise UnsupportedError(
            f"Processing step {name!r}: entrypoint {entrypoint!r} is not `python3 <script>`"
        )
    for spec in args.get("ProcessingInputs", []):
        s3_input = spec.get("S3Input")
        if s3_input is None:
            raise UnsupportedError(
                f"Processing step {name!r}: input {spec.get('InputName')!r} is not an S3Input"
            )
        check_input(
            name,
            spec.get("InputName"),
            s3_input.get("S3DataType"),
            s3_input.get("S3InputMode", "File"),
            s3_input.get("S3CompressionType"),
        )
        local = map_path(s3_input["LocalPath"], work)
        copied = runner.download(s3_input["S3Uri"], Path(local))
        if not copied:
            raise StepError(
                f"Processing step {name!r}: ClientError: no S3 objects found under "
                f"{s3_input['S3Uri']} (input {spec.get('InputName')!r})"
            )
    outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for spec in outputs:
        if "S3Output" not in spec:
            raise UnsupportedError(f"Processing step {name!r}: output {spec!r} is not S3")
        Path(map_path(spec["S3Output"]["LocalPath"], work)).mkdir(parents=True, exist_ok=True)
    script = map_path(entrypoint[1], work)
    command = [
        *runner.python_command(render(app.get("ImageUri", ""))),
        str(LAUNCHER),
        "script",
        script,
        *[map_path(str(a), work) for a in entrypoint[2:]],
        *[map_path(render(a), work) for a in app.get("ContainerArguments") or []],
    ]
    environment = {k: map_path(render(v), work) for k, v in (args.get("Environment") or {}).items()}
    try:
        runner.run(record, command, environment, work, runner.timeout(args))
    except StepError as error:
        # SageMaker keeps the first 1 KB of /opt/ml/output/message as the job's
        # ExitMessage (what the notification quotes): the reason, when there is one.
        message = Path(map_path(EXIT_MESSAGE_FILE, work))
        if message.is_file() and message.read_bytes().strip():
            text = message.read_bytes()[:1024].decode(errors="replace").strip()
            raise StepError(f"ExitMessage: {text} ({error})") from error
        raise
    uploaded: dict[str, list[str]] = {}
    for spec in outputs:
        source = Path(map_path(spec["S3Output"]["LocalPath"], work))
        uploaded[spec["OutputName"]] = runner.aws.s3.upload_dir(source, spec["S3Output"]["S3Uri"])
    job = job_name(execution_id, name)
    record.properties = {
        **args,
        "ProcessingJobName": job,
        "ProcessingJobArn": runner.arn("processing-job", job),
        "ProcessingJobStatus": "Completed",
    }
    record.outputs = {spec["OutputName"]: spec["S3Output"]["S3Uri"] for spec in outputs}
    record.outputs["files"] = sum(len(v) for v in uploaded.values())
