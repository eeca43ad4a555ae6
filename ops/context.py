"""What every command works with: validated settings, derived names, AWS clients, the terminal.

Names come from `stacks.settings.load_settings` (cdk.json context plus `--context key=value`
overrides, the same dotted keys as `cdk synth -c`) and `pkgml_contracts.names`, the rules
the stacks name resources by.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.errors import UsageError
from ops.live import Board
from ops.watch import Clock
from pkgml_contracts.names import bucket_name, model_package_group_name, pipeline_name
from pkgml_contracts.runs import PIPELINE_KINDS, PipelineKind
from stacks import settings as settings_module
from stacks.settings import (
    REGION_PATTERN,
    AppSettings,
    ConfigError,
    EnvironmentSettings,
    load_settings,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = PROJECT_ROOT / "cdk.json"

ClientFactory = Callable[[str, str], Any]
"""(service name, region) -> boto3 client; tests inject moto- or Stubber-backed clients."""


def boto3_client(service: str, region: str) -> Any:
    """A boto3 client from the default credential chain."""
    import boto3

    return boto3.session.Session(region_name=region).client(service)


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The `context` block of cdk.json (the app's own reader); UsageError if unreadable."""
    try:
        return settings_module.cdk_json_context(path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`key=value` strings (like `cdk synth -c key=value`) -> {key: value}; UsageError if bad."""
    try:
        return settings_module.parse_overrides(pairs)
    except ConfigError as exc:
        raise UsageError(f"--context {exc}") from None


@dataclass
class OpsContext:
    """One environment's names and clients, plus how to talk to the operator."""

    settings: AppSettings
    environment: EnvironmentSettings
    package_types: tuple[str, ...]
    package_types_given: bool
    region: str
    json_output: bool = False
    assume_yes: bool = False
    client_factory: ClientFactory = boto3_client
    clock: Clock = field(default_factory=Clock)
    console: Any = None
    """A rich Console when stdout is a terminal (live boards); None for captured output."""
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    # --- names ------------------------------------------------------------------------

    @property
    def project(self) -> str:
        """The project name from the configuration."""
        return self.settings.project

    @property
    def env_name(self) -> str:
        """The environment's name, e.g. 'dev'."""
        return self.environment.name

    @property
    def data_bucket(self) -> str:
        """The environment's data bucket (run files, unloads, predictions)."""
        env = self.environment
        return bucket_name(self.project, env.name, "data", env.account, env.region)

    def pipeline_name(self, kind: PipelineKind, package_type: str) -> str:
        """SageMaker pipeline of one kind and package type in this environment."""
        return pipeline_name(self.project, self.env_name, kind, package_type)

    def group_name(self, package_type: str) -> str:
        """Model package group of one package type in this environment."""
        return model_package_group_name(self.project, self.env_name, package_type)

    def known_pipelines(self) -> dict[str, tuple[PipelineKind, str]]:
        """{pipeline name: (kind, package type)} for every configured package type."""
        return {
            self.pipeline_name(kind, package_type): (kind, package_type)
            for package_type in self.settings.package_types
            for kind in PIPELINE_KINDS
        }

    def single_package_type(self) -> str:
        """The one package type a registry change applies to; UsageError unless exactly one."""
        if len(self.package_types) == 1 and (
            self.package_types_given or len(self.settings.package_types) == 1
        ):
            return self.package_types[0]
        raise UsageError(
            "this command changes one model package group: give exactly one --package-type "
            f"(configured: {', '.join(self.settings.package_types)})"
        )

    # --- AWS --------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """The service's client in the selected region, created once."""
        if service not in self._clients:
            self._clients[service] = self.client_factory(service, self.region)
        return self._clients[service]

    # --- the operator -----------------------------------------------------------------

    def say(self, text: str = "") -> None:
        """Human-readable progress: stdout, or stderr under --json (stdout stays pure JSON)."""
        print(text, file=sys.stderr if self.json_output else sys.stdout, flush=True)

    def board(self) -> Board:
        """The live board of a `follow` (a terminal), or its change lines (otherwise)."""
        return Board(self.console, fallback=self.say)

    def confirm(self, question: str) -> bool:
        """True when --yes was given or the operator types 'y'/'yes'; anything else is no."""
        if self.assume_yes:
            return True
        stream = sys.stderr if self.json_output else sys.stdout
        print(f"{question} [y/N] ", end="", file=stream, flush=True)
        answer = sys.stdin.readline()
        if not answer:
            print("(no input; use --yes to confirm non-interactively)", file=stream)
        return answer.strip().lower() in ("y", "yes")


def load_context(
    *,
    env_name: str,
    package_types: Sequence[str] | None,
    region: str | None,
    overrides: Sequence[str],
    cdk_json: Path = CDK_JSON,
    json_output: bool = False,
    assume_yes: bool = False,
    client_factory: ClientFactory = boto3_client,
    clock: Clock | None = None,
    console: Any = None,
) -> OpsContext:
    """Validate the configuration and the global options into an OpsContext (UsageError)."""
    context = cdk_json_context(cdk_json)
    context.update(parse_overrides(overrides))
    try:
        settings = load_settings(context)
        environment = settings.environment(env_name)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    selected = tuple(dict.fromkeys(package_types or ()))
    unknown = [p for p in selected if p not in settings.package_types]
    if unknown:
        raise UsageError(
            f"--package-type {', '.join(unknown)}: not configured; "
            f"configured: {', '.join(settings.package_types)}"
        )
    if region is not None and not REGION_PATTERN.fullmatch(region):
        raise UsageError(f"--region {region!r}: must be an AWS region code, e.g. 'eu-west-1'")
    return OpsContext(
        settings=settings,
        environment=environment,
        # Configuration order, so output is stable whatever order the flags came in.
        package_types=tuple(p for p in settings.package_types if p in selected)
        or settings.package_types,
        package_types_given=bool(selected),
        region=region or environment.region,
        json_output=json_output,
        assume_yes=assume_yes,
        client_factory=client_factory,
        clock=clock or Clock(),
        console=console,
    )
