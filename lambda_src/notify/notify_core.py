"""What every formatter shares: the message shape, lookups, field access, names, commands.

Every notification has one shape, built by `notification(...)` alone:

    subject   "[<env>] <what happened>", at most 99 printable ASCII characters
              (`pkgml_contracts.notifications.sns_subject`: the one cap)
    headline  what happened, in a sentence
    rows      where (Environment first, then package type, pipeline, run, resource) and
              why (Reason / Problem / the gate's decision)
    sections  more of the why, when there is a list of it (the gate's reasons, scores)
    NEXT ACTION  what to do, with the exact command (`python -m ops ...` where the ops CLI
              has one: it checks what a raw AWS call would not and records who acted)

`lookup` adds what an event lacks (the failed step, the RunId parameter, the gate's
reasons); the default `NO_LOOKUP` does no I/O, so without it formatting is pure. A lookup
that raises or answers None is shown as "(not available)", never as an error.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from notify_settings import Settings

from pkgml_contracts.names import owned, parse_group_name
from pkgml_contracts.names import parse_pipeline_name as parse_name
from pkgml_contracts.notifications import EventShapeError, sns_subject

# The contract's field readers, re-exported for the formatters (they raise EventShapeError).
from pkgml_contracts.notifications import optional_text as optional_text
from pkgml_contracts.notifications import required_text as required_text

VALUE_MAX = 2000  # characters of any one field shown in a body
BODY_MAX_BYTES = 200_000  # SNS allows 256 KiB per message, attributes included
NEXT_ACTION = "NEXT ACTION"

_PIPELINE_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:\d{12}:pipeline/(?P<name>[^/\s]+)"
    r"(?:/execution/(?P<execution>[^/\s]+))?"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Malformed(EventShapeError):
    """The event lacks a field this formatter needs, or has it with the wrong type (field
    reads raise the contract's EventShapeError, its base: catch that)."""


# --- the message -------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """A rendered message: `kind` decides the topic (notify_format.route)."""

    kind: str
    subject: str
    body: str
    attributes: Mapping[str, str] = field(default_factory=dict)


def _value(value: Any, limit: int = VALUE_MAX) -> str:
    """A body value: valid UTF-8, no control characters but newlines and tabs, bounded."""
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub("?", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _rows(rows: Sequence[tuple[str, Any]]) -> list[str]:
    """'Label:   value' lines, aligned; None values skipped; continuation lines indented."""
    shown = [(label, value) for label, value in rows if value is not None]
    width = max((len(label) for label, _ in shown), default=0) + 2
    lines = []
    for label, value in shown:
        first, *rest = _value(value).split("\n")
        lines.append(f"{label + ':':<{width}}{first}")
        lines.extend(" " * width + line for line in rest)
    return lines


def notification(
    s: Settings,
    kind: str,
    *,
    subject: str,
    headline: str,
    rows: Sequence[tuple[str, Any]],
    action: Sequence[str],
    sections: Sequence[tuple[str, Sequence[str]]] = (),
    appendix: Sequence[tuple[str, Sequence[str]]] = (),
    package_type: str | None = None,
) -> Notification:
    """The one message shape (see the module docstring): `rows` after Environment, then
    `sections`, NEXT ACTION (`action`, never empty) and `appendix` (e.g. a raw event).
    Message attributes `environment`, `kind` and `package_type` allow SNS subscription
    filter policies (e.g. one team, one package type)."""
    if not action:
        raise ValueError(f"{kind}: every notification says what to do next")
    parts = [_value(headline), "", *_rows([("Environment", s.environment), *rows])]
    for title, lines in (*sections, (NEXT_ACTION, action), *appendix):
        if lines:
            parts += ["", title, *(f"  {_value(line)}" for line in lines)]
    body = "\n".join(parts) + "\n"
    encoded = body.encode("utf-8")
    if len(encoded) > BODY_MAX_BYTES:
        body = encoded[:BODY_MAX_BYTES].decode("utf-8", "ignore") + "\n... (truncated)\n"
    attributes = {"environment": s.environment, "kind": kind}
    if package_type:
        attributes["package_type"] = package_type
    return Notification(
        kind=kind,
        subject=sns_subject(f"[{s.environment}] {subject}"),
        body=body,
        attributes=attributes,
    )


# --- commands and links ------------------------------------------------------------------


def sh(value: str) -> str:
    """`value` quoted for a POSIX shell (a command people paste)."""
    return shlex.quote(value)


def ops_command(s: Settings, *arguments: str) -> str:
    """The operator CLI command (`python -m ops`, README "Operations guide") for this
    environment: it checks what the raw AWS call would not (the execution is this
    environment's and retryable; a registry change re-reads the group and says what
    happens to the champion) and records who acted."""
    return " ".join(("python -m ops --env", sh(s.environment), *arguments))


def package_type_option(package_type: str | None) -> tuple[str, ...]:
    """`--package-type <type>` when it is known, else nothing (the command covers all)."""
    return ("--package-type", sh(package_type)) if package_type else ()


def console_host(region: str) -> str:
    """The AWS console's host for `region` (China and GovCloud have their own)."""
    if region.startswith("cn-"):
        return f"https://{region}.console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "https://console.amazonaws-us-gov.com"
    return f"https://{region}.console.aws.amazon.com"


def execution_link(s: Settings, pipeline: str, execution_id: str) -> str:
    """Studio page of the execution if CONSOLE_BASE is set, else the SageMaker console."""
    if s.console_base:
        return f"{s.console_base}/pipelines/{quote(pipeline)}/executions/{quote(execution_id)}"
    return f"{console_host(s.region)}/sagemaker/home?region={s.region}"


def model_package_link(s: Settings, group: str, version: int | None) -> str:
    """Studio page of the model version if CONSOLE_BASE is set, else the SageMaker console."""
    if s.console_base:
        tail = f"/versions/{version}" if version is not None else ""
        return f"{s.console_base}/models/registered-models/{quote(group)}{tail}"
    return f"{console_host(s.region)}/sagemaker/home?region={s.region}"


# --- lookups: what the event does not carry ----------------------------------------------


@dataclass(frozen=True)
class StepFailure:
    """The failed step of an execution, as ListPipelineExecutionSteps reports it."""

    name: str
    step_type: str | None = None
    reason: str | None = None
    job_arn: str | None = None


@dataclass(frozen=True)
class GateDecision:
    """What decision.json says: "approve" | "reject", the reasons and the scores compared."""

    decision: str | None
    reasons: tuple[str, ...]
    scores: tuple[str, ...] = ()


def decision_scores(document: Mapping[str, Any]) -> tuple[str, ...]:
    """decision.json's scores as lines: both models on the same rows (when measured), the
    champion's stored score (its own validation set, for the trend) and the comparison the
    gate used. Empty for a document without scores."""

    def number(value: Any) -> float | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else None

    lines: list[str] = []
    same_data = document.get("same_data")
    if isinstance(same_data, Mapping) and isinstance(same_data.get("text"), str):
        lines.append(f"same rows: {same_data['text']}")
    challenger = number(document.get("challenger_score"))
    champion = number(document.get("champion_score"))
    if challenger is not None and champion is not None:
        lines.append(
            f"stored: challenger {challenger:.3f} on this week's rows vs the champion's "
            f"{champion:.3f} on its own week's"
        )
    comparison = document.get("comparison")
    if lines and isinstance(comparison, str) and comparison != "none":
        lines.append(f"the gate judged the drop on: {comparison.replace('_', '-')} scores")
    return tuple(lines)


@dataclass(frozen=True)
class DriftNews:
    """What a run's drift.json says (the Load step's judgement of the batch). Only a
    succeeded run is asked, so its batch was loaded (a blocked one fails the Load step)."""

    verdict: str
    summary: str
    uri: str


class Lookup(Protocol):
    """Best-effort enrichment; every method may return None (unknown, failed, disabled)."""

    def drift(self, pipeline_name: str, run_id: str) -> DriftNews | None: ...

    def failed_step(self, execution_arn: str) -> StepFailure | None: ...

    def run_id(self, execution_arn: str) -> str | None: ...

    def decision(self, s3_uri: str) -> GateDecision | None: ...

    def model_package_metadata(self, model_package_arn: str) -> Mapping[str, str] | None: ...


class NoLookup:
    """No I/O: every lookup answers None."""

    def failed_step(self, execution_arn: str) -> StepFailure | None:
        return None

    def run_id(self, execution_arn: str) -> str | None:
        return None

    def decision(self, s3_uri: str) -> GateDecision | None:
        return None

    def model_package_metadata(self, model_package_arn: str) -> Mapping[str, str] | None:
        return None

    def drift(self, pipeline_name: str, run_id: str) -> DriftNews | None:
        return None


NO_LOOKUP = NoLookup()
_T = TypeVar("_T")


def ask(call: Callable[..., _T | None], *arguments: str) -> _T | None:
    """A lookup answer, or None if the lookup raised (it must never break formatting)."""
    try:
        return call(*arguments)
    except Exception:
        return None


# --- field access ------------------------------------------------------------------------


def resources(event: Mapping[str, Any]) -> list[str]:
    """The event's `resources` (ARNs) that are strings."""
    listed = event.get("resources")
    return [r for r in listed if isinstance(r, str)] if isinstance(listed, list) else []


# --- names -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    """A pipeline name of this environment; package type, kind and architecture None if
    off-pattern (architecture also None for the configured one's pipeline and inference)."""

    name: str
    package_type: str | None
    kind: str | None
    architecture: str | None = None

    @property
    def who(self) -> str:
        """'<package type> <kind>' (e.g. 'mailer training'), or the raw name."""
        if self.package_type and self.kind:
            return f"{self.package_type} {self.kind}"
        return self.name


def parse_pipeline_name(name: str, s: Settings) -> Pipeline | None:
    """`<project>-<env>-<package type>-training[-<architecture>]|inference`
    (`pkgml_contracts.names`; ARNs carry names lowercased); None if another environment's."""
    if not owned(name, s.prefix):
        return None
    parts = parse_name(name, s.prefix)
    if parts is None or (s.package_types and parts.package_type not in s.package_types):
        return Pipeline(name=name, package_type=None, kind=None)
    return Pipeline(
        name=name,
        package_type=parts.package_type,
        kind=parts.kind,
        architecture=parts.architecture,
    )


def group_package_type(group: str, s: Settings) -> str | None:
    """The configured package type of this environment's model package group, else None."""
    package_type = parse_group_name(group, s.prefix)
    if package_type is None or (s.package_types and package_type not in s.package_types):
        return None
    return package_type


def package_type_of(value: str, s: Settings) -> str | None:
    """`value` if it is a package type this environment has (any, without PACKAGE_TYPES)."""
    if not value or (s.package_types and value not in s.package_types):
        return None
    return value


def execution_parts(arn: str) -> tuple[str, str]:
    """(pipeline name, execution id) of a pipeline execution ARN, else Malformed."""
    match = _PIPELINE_ARN.fullmatch(arn)
    if match is None or match["execution"] is None:
        raise Malformed(f"pipelineExecutionArn: not a pipeline execution ARN: {arn[:200]!r}")
    return match["name"], match["execution"]


def execution_arn_of(event: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    """detail.pipelineExecutionArn, else the execution ARN among the event's resources."""
    arn = optional_text(detail, "pipelineExecutionArn", "detail")
    if arn is None:
        arn = next((r for r in resources(event) if "/execution/" in r), None)
    if arn is None:
        raise Malformed("detail.pipelineExecutionArn: missing (and not in resources)")
    return arn


def run_id_of(
    display_name: str | None, pipeline: Pipeline, execution_arn: str, lookup: Lookup
) -> str | None:
    """The trigger names executions '<run_id>-<package_type>'; else the RunId parameter."""
    suffix = f"-{pipeline.package_type}" if pipeline.package_type else None
    if display_name and suffix and display_name.endswith(suffix) and display_name != suffix:
        return display_name[: -len(suffix)]
    return ask(lookup.run_id, execution_arn)
