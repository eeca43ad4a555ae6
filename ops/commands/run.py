"""`ops run`: write a run file to s3://<data bucket>/runs/<kind>/<run_id>.json.

The trigger Lambda starts the pipelines when the file lands; this command only writes it,
after checking it with the trigger's own rules (lambda_src/trigger/runfile.py) and the
manifest it names, so a file it writes is never quarantined for its content.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from ops.context import OpsContext
from ops.errors import OpsError, UsageError
from ops.formatting import Result, table
from ops.runfiles import (
    STATE_REASONS,
    deployment,
    encode,
    parameters_from_sets,
    run_file_document,
    trigger_rules,
)
from ops.watch import find_started, follow
from pkgml_contracts.names import DataPrefixes, run_file_key, training_pipeline_name
from pkgml_contracts.runs import RUN_KINDS, RunKind, pipeline_for_run

_MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_CONDITION_FAILED = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `run`."""
    parser = subparsers.add_parser(
        "run",
        parents=parents,
        help="write a run file (the trigger then starts the pipelines)",
        description=(
            "Write runs/<kind>/<run_id>.json to the data bucket, validated with the trigger's "
            "rules (lambda_src/trigger/RUN_FILE.md). --package-type limits the run to those "
            "package types (default: all configured). A training run trains each package "
            "type's configured architecture unless --architecture names another deployed one."
        ),
    )
    parser.add_argument("--kind", required=True, choices=RUN_KINDS)
    parser.add_argument(
        "--manifest",
        required=True,
        metavar="S3_URI",
        help="s3://<data bucket>/unload/<dataset>/<extract id>/manifest",
    )
    parser.add_argument("--run-id", help="default: <kind>-<UTC yyyymmdd-hhmmss>")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a run parameter, e.g. hyperparameters.max_depth=8 (repeatable)",
    )
    parser.add_argument(
        "--architecture",
        metavar="NAME",
        help=(
            "training: the architecture to train (model.architecture), deployed for every "
            "package type of the run; hyperparameters.* --set values become its "
            "model.hyperparameters (default: each package type's configured architecture)"
        ),
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing run file")
    parser.add_argument("--dry-run", action="store_true", help="validate and print, write nothing")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="then follow the executions the trigger starts, step by step, until they end "
        "(exit 1 unless every one succeeds)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=240.0,
        metavar="MINUTES",
        help="with --wait: stop waiting after this long (the executions go on; default 240)",
    )
    parser.set_defaults(handler=run_command)


def default_run_id(kind: str, now: datetime | None = None) -> str:
    """'<kind>-<yyyymmdd-hhmmss>' in UTC, e.g. 'training-20261123-031500'."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{kind}-{moment:%Y%m%d-%H%M%S}"


def run_command(ctx: OpsContext, args: argparse.Namespace) -> Result:
    """Validate, refuse to overwrite (unless --force), write; print what the trigger will start."""
    rules = trigger_rules()
    run_id = args.run_id or default_run_id(args.kind)
    key = run_file_key(args.kind, run_id)
    document = run_file_document(
        kind=args.kind,
        run_id=run_id,
        manifest=args.manifest,
        package_types=ctx.package_types if ctx.package_types_given else None,
        parameters=parameters_from_sets(args.sets),
        architecture=args.architecture,
    )
    body = encode(document)
    try:
        expected = rules.parse_run_key(key, DataPrefixes.RUNS)
        limit = ctx.environment.trigger.max_run_file_bytes
        if len(body) > limit:
            raise rules.RunFileError(
                rules.Reason.TOO_LARGE, "", f"is {len(body)} bytes; at most {limit}"
            )
        run = rules.parse_run_file(
            rules.decode_json(body),
            expected=expected,
            data_bucket=ctx.data_bucket,
            configured_package_types=ctx.settings.package_types,
            deployment=deployment(ctx.environment, ctx.settings.package_types),
        )
        _check_manifest(ctx, run.manifest_uri)
    except rules.RunFileError as exc:
        error = OpsError if exc.reason in STATE_REASONS else UsageError
        raise error(f"run file rejected ({exc.reason}): {exc}") from None

    s3 = ctx.client("s3")
    exists = _exists(s3, ctx.data_bucket, key)
    uri = f"s3://{ctx.data_bucket}/{key}"
    if exists and not args.force:
        raise OpsError(
            f"{uri} already exists: the trigger has seen this run id. Choose another "
            "--run-id, or pass --force to upload a new version (the trigger starts it again)"
        )
    if not args.dry_run:
        condition = {} if args.force else {"IfNoneMatch": "*"}
        try:
            s3.put_object(
                Bucket=ctx.data_bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                **condition,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _CONDITION_FAILED:
                raise OpsError(
                    f"{uri} was created meanwhile by someone else; not overwritten"
                ) from None
            raise

    trained = {p: model.architecture.name for p, model in run.models.items()}
    pipelines = {p: _pipeline(ctx, args.kind, p, trained.get(p)) for p in run.package_types}
    parameters = {p: rules.pipeline_parameters(run, p) for p in run.package_types}
    data = {
        "s3_uri": uri,
        "bucket": ctx.data_bucket,
        "key": key,
        "written": not args.dry_run,
        "overwrote": bool(exists and not args.dry_run),
        "run_file": document,
        "pipelines": pipelines,
        "architectures": trained,
        "pipeline_parameters": parameters,
    }
    verb = "Would write" if args.dry_run else ("Overwrote" if exists else "Wrote")
    text = "\n".join(
        [
            f"{verb} {uri}",
            "",
            "The trigger starts one execution per package type:",
            table(
                ["package type", "architecture", "pipeline"],
                [(p, trained.get(p, "-"), name) for p, name in sorted(pipelines.items())],
            ),
            "",
            "with parameters:",
            _parameter_table(parameters),
        ]
    )
    if not args.wait or args.dry_run:
        return Result(data=data, text=text)
    return _wait(ctx, args, run.run_id, pipelines, data, text)


def _wait(
    ctx: OpsContext,
    args: argparse.Namespace,
    run_id: str,
    pipelines: dict[str, str],
    data: dict[str, Any],
    text: str,
) -> Result:
    """Follow the run's executions (found by display name) until they end."""
    ctx.say(text)
    ctx.say("")
    ctx.say(f"Waiting for the trigger to start {len(pipelines)} execution(s) ...")
    sagemaker = ctx.client("sagemaker")
    arns = find_started(sagemaker, pipelines, run_id, say=ctx.say, clock=ctx.clock)
    with ctx.board() as board:
        final = follow(
            sagemaker,
            arns,
            say=board.say,
            clock=ctx.clock,
            timeout=args.timeout * 60,
            on_poll=board.update,
        )
    data["executions"] = {p: {"arn": arns[p], "status": final[p]} for p in sorted(arns)}
    rows = [(p, final[p], arns[p]) for p in sorted(arns)]
    failed = [p for p in sorted(arns) if final[p] != "Succeeded"]
    lines = ["", table(["package type", "status", "execution"], rows)]
    if failed:
        lines += [
            "",
            "Not succeeded: " + ", ".join(failed) + ". See why with "
            f"`python -m ops --env {ctx.env_name} status --package-type {failed[0]}`.",
        ]
    return Result(data=data, text="\n".join(lines), exit_code=1 if failed else 0)


def _pipeline(ctx: OpsContext, kind: RunKind, package_type: str, architecture: str | None) -> str:
    """The pipeline the trigger starts: training runs, the architecture's own."""
    if architecture is None:
        return ctx.pipeline_name(pipeline_for_run(kind), package_type)
    configured = ctx.environment.model_for(package_type).architecture
    return training_pipeline_name(ctx.project, ctx.env_name, package_type, architecture, configured)


def _parameter_table(parameters: dict[str, list[dict[str, str]]]) -> str:
    """One table if every package type gets the same parameters, else one row per type."""
    lists = list(parameters.values())
    if all(items == lists[0] for items in lists):
        return table(["parameter", "value"], [(p["Name"], p["Value"]) for p in lists[0]])
    rows = [(t, p["Name"], p["Value"]) for t, items in parameters.items() for p in items]
    return table(["package type", "parameter", "value"], rows)


def _check_manifest(ctx: OpsContext, uri: str) -> None:
    """The trigger's manifest rule: the object exists and lists at least one file."""
    rules = trigger_rules()
    bucket, _, key = uri[len("s3://") :].partition("/")
    try:
        response = ctx.client("s3").get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
            raise rules.RunFileError(
                rules.Reason.MANIFEST_MISSING,
                "data.manifest",
                f"{uri} does not exist (has the extract finished?)",
            ) from None
        raise
    if int(response.get("ContentLength", 0)) > _MAX_MANIFEST_BYTES:
        raise rules.RunFileError(rules.Reason.MANIFEST_INVALID, "data.manifest", "too large")
    rules.validate_manifest(response["Body"].read())


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
            return False
        raise
    return True
