"""The operator CLI: `python -m ops [global options] <command> [options]`.

Global options may come before or after the command. Exit codes: 0 ok, 1 refused or
failed, 2 usage (bad options, unknown names, invalid configuration).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import shtab
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from ops.commands import drift, logs, models, report, retry, run, status
from ops.context import CDK_JSON, ClientFactory, boto3_client, load_context
from ops.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, OpsError
from ops.formatting import to_json
from ops.watch import Clock

PROG = "python -m ops"
EPILOG = """\
examples:
  python -m ops status --last 3
  python -m ops status --watch                      # follow running executions step by step
  python -m ops --env prod status --package-type mailer
  python -m ops run --kind training \\
      --manifest s3://<data bucket>/unload/training/<extract id>/manifest \\
      --set hyperparameters.max_depth=8 --set thresholds.min_score=0.8 --wait
  python -m ops retry --execution-arn arn:aws:sagemaker:...:pipeline/<name>/execution/<id>
  python -m ops logs --execution-arn <arn> [--step Train]   # the failed step's job log
  python -m ops drift accept --execution-arn <arn> --reason "new catalogue, reviewed"
  python -m ops models --package-type mailer
  python -m ops models show 7 --package-type mailer
  python -m ops report --package-type mailer          # reports/<group>-history.html
  python -m ops approve 7 --package-type mailer --reason "reviewed the lift chart"
  python -m ops reject 7 --package-type mailer --reason "leaks the label"
  python -m ops rollback --package-type mailer --reason "complaints about v7" --yes
  python -m ops completion bash > ~/.local/share/bash-completion/completions/ops

Names (buckets, pipelines, model groups) come from cdk.json and --context overrides.
Exit codes: 0 ok, 1 refused or failed, 2 usage.
"""

# (dest, main-parser default) of the options accepted before and after the command.
_GLOBAL_DEFAULTS: dict[str, Any] = {
    "env": "dev",
    "package_types": None,
    "json": False,
    "region": None,
    "yes": False,
    "context": None,
    "cdk_json": CDK_JSON,
}
_SUB = "sub_"


def _add_global_options(parser: argparse.ArgumentParser, *, sub: bool) -> None:
    """The global options; after the command they land in `sub_*` and win over the main ones."""
    prefix = _SUB if sub else ""

    def default(dest: str) -> Any:
        return None if sub else _GLOBAL_DEFAULTS[dest]

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--env",
        dest=prefix + "env",
        default=default("env"),
        metavar="ENV",
        help="environment from cdk.json: dev or prod (default: dev)",
    )
    group.add_argument(
        "--package-type",
        dest=prefix + "package_types",
        action="append",
        default=None,
        metavar="TYPE",
        help="limit to a package type (repeatable; default: all configured)",
    )
    group.add_argument(
        "--json",
        dest=prefix + "json",
        action="store_true",
        default=default("json"),
        help="print machine-readable JSON on stdout",
    )
    group.add_argument(
        "--region",
        dest=prefix + "region",
        default=None,
        metavar="REGION",
        help="AWS API region (default: the environment's region); names do not change",
    )
    group.add_argument(
        "--yes",
        "-y",
        dest=prefix + "yes",
        action="store_true",
        default=default("yes"),
        help="do not ask for confirmation",
    )
    group.add_argument(
        "--context",
        dest=prefix + "context",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="configuration override, as `cdk synth -c KEY=VALUE` (repeatable)",
    )
    group.add_argument(
        "--cdk-json",
        dest=prefix + "cdk_json",
        type=Path,
        default=default("cdk_json"),
        metavar="PATH",
        help=argparse.SUPPRESS,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Operate the platform's pipelines and model registry.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser, sub=False)
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, sub=True)
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    status.add_parser(subparsers, [common])
    run.add_parser(subparsers, [common])
    retry.add_parser(subparsers, [common])
    drift.add_parser(subparsers, [common])
    logs.add_parser(subparsers, [common])
    models.add_parsers(subparsers, [common])
    report.add_parser(subparsers, [common])
    completion = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish, tcsh, powershell)",
        description=(
            "Print a completion script for the CLI's commands and options, e.g. "
            "`python -m ops completion bash > ~/.local/share/bash-completion/completions/ops`"
            " (completes `python -m ops` via an `ops` alias: alias ops='python -m ops')."
        ),
    )
    completion.add_argument("shell", choices=shtab.SUPPORTED_SHELLS)
    return parser


def _merge_globals(args: argparse.Namespace) -> None:
    """Options after the command win; repeatable ones accumulate from both places."""
    for dest in _GLOBAL_DEFAULTS:
        main_value = getattr(args, dest)
        sub_value = getattr(args, _SUB + dest, None)
        if dest in ("package_types", "context"):
            merged = [*(main_value or []), *(sub_value or [])]
            setattr(args, dest, merged)
        elif sub_value not in (None, False):
            setattr(args, dest, sub_value)


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory = boto3_client,
    clock: Clock | None = None,
    console: Any = None,
) -> int:
    """Run one command; return the exit code (0 ok, 1 refused/failed, 2 usage).

    `console`: where live boards go (tests pass one); by default a rich Console when stdout
    is a terminal and the output is not --json, else none (change lines only)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for usage errors, 0 after --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    _merge_globals(args)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.command == "completion":  # needs no configuration and no AWS
        parser.prog = "ops"
        print(shtab.complete(parser, shell=args.shell))
        return EXIT_OK
    try:
        ctx = load_context(
            env_name=args.env,
            package_types=args.package_types,
            region=args.region,
            overrides=args.context,
            cdk_json=args.cdk_json,
            json_output=args.json,
            assume_yes=args.yes,
            client_factory=client_factory,
            clock=clock,
            console=console if console is not None else _terminal(args.json),
        )
        result = args.handler(ctx, args)
    except OpsError as exc:
        return _fail(args.json, str(exc), exc.exit_code)
    except ClientError as exc:
        return _fail(args.json, f"AWS refused the request: {exc}", EXIT_FAILED)
    except BotoCoreError as exc:
        return _fail(args.json, f"cannot talk to AWS: {exc}", EXIT_FAILED)
    except KeyboardInterrupt:
        return _fail(args.json, "interrupted", EXIT_FAILED)
    print(to_json(result.data) if args.json else result.text)
    return result.exit_code or EXIT_OK


def _terminal(json_output: bool) -> Any:
    """A rich Console on stdout when it is a terminal (and not --json); else None."""
    if json_output or not sys.stdout.isatty():
        return None
    return Console()


def _fail(json_output: bool, message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    if json_output:
        print(to_json({"error": message, "exit_code": code}))
    return code


if __name__ == "__main__":
    sys.exit(main())
