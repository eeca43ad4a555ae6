"""Transform step (batch transform): the model's serving code (`model_fn`, `input_fn`,
`predict_fn`, `output_fn` from model.tar.gz `code/` or the submit directory) run over every
input object by `rehearsal.serving` in a subprocess; the `.out` files uploaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rehearsal.executor.errors import StepError, UnsupportedError
from rehearsal.executor.expressions import render
from rehearsal.executor.jobs import LAUNCHER, JobRunner, check_input, extract, job_name, map_path
from rehearsal.executor.records import StepRecord


def run(
    runner: JobRunner, execution_id: str, record: StepRecord, args: dict[str, Any], work: Path
) -> None:
    """Run the transform job described by the resolved CreateTransformJob `args`."""
    name = record.name
    models_file = runner.aws.models_file
    models = json.loads(models_file.read_text()) if models_file.is_file() else {}
    model = models.get(args.get("ModelName", ""))
    if model is None:
        raise StepError(f"Transform step {name!r}: model {args.get('ModelName')!r} does not exist")
    count = args.get("TransformResources", {}).get("InstanceCount", 1)
    if int(count) > 1:
        record.warnings.append(f"InstanceCount {count} ran as one local worker")
    container = model["PrimaryContainer"]
    environment = {k: render(v) for k, v in (container.get("Environment") or {}).items()}
    program = environment.get("SAGEMAKER_PROGRAM")
    if not program:
        raise UnsupportedError(
            f"Transform step {name!r}: the model has no SAGEMAKER_PROGRAM: only framework "
            "serving with an entry script is emulated"
        )
    model_dir = work / "opt" / "ml" / "model"
    tarball = work / "model.tar.gz"
    try:
        tarball.write_bytes(runner.aws.s3.read_bytes(container["ModelDataUrl"]))
    except FileNotFoundError as error:
        raise StepError(f"Transform step {name!r}: {error}") from error
    extract(tarball, model_dir)
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "/opt/ml/model/code")
    if submit.startswith("s3://"):
        code_dir = work / "opt" / "ml" / "code"
        source = work / "sourcedir.tar.gz"
        source.write_bytes(runner.aws.s3.read_bytes(submit))
        extract(source, code_dir)
    else:
        code_dir = Path(map_path(submit, work))
    transform_input = args.get("TransformInput", {})
    source_spec = transform_input.get("DataSource", {}).get("S3DataSource", {})
    check_input(
        name,
        "TransformInput",
        source_spec.get("S3DataType"),
        "File",
        transform_input.get("CompressionType"),
    )
    inputs = work / "input"
    files = runner.download(source_spec["S3Uri"], inputs)
    if not files:
        raise StepError(
            f"Transform step {name!r}: ClientError: no S3 objects under {source_spec['S3Uri']}"
        )
    output = args.get("TransformOutput", {})
    processing = args.get("DataProcessing", {})
    outputs = work / "output"
    spec = {
        "model_dir": str(model_dir),
        "code_dir": str(code_dir),
        "program": program,
        "files": [
            [str(f), str(outputs / (f.relative_to(inputs).as_posix() + ".out"))] for f in files
        ],
        "content_type": transform_input.get("ContentType", "text/csv"),
        "accept": output.get("Accept", "text/csv"),
        "split_type": transform_input.get("SplitType", "None"),
        "batch_strategy": args.get("BatchStrategy", "MultiRecord"),
        "max_payload_mb": args.get("MaxPayloadInMB", 6),
        "input_filter": processing.get("InputFilter"),
        "output_filter": processing.get("OutputFilter"),
        "join_source": processing.get("JoinSource", "None"),
        "assemble_with": output.get("AssembleWith", "None"),
    }
    spec_file = work / "transform.json"
    spec_file.write_text(json.dumps(spec, indent=1))
    environment = {k: map_path(v, work) for k, v in environment.items()}
    command = [
        *runner.python_command(render(container.get("Image", ""))),
        str(LAUNCHER),
        "transform",
        str(spec_file),
    ]
    runner.run(record, command, environment, work, runner.max_step_seconds)
    uploaded = runner.aws.s3.upload_dir(outputs, output["S3OutputPath"])
    job = job_name(execution_id, name)
    record.properties = {
        **args,
        "TransformJobName": job,
        "TransformJobArn": runner.arn("transform-job", job),
        "TransformJobStatus": "Completed",
    }
    record.outputs = {"predictions": output["S3OutputPath"], "files": len(uploaded)}
