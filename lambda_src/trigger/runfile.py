"""Run file, schema version 1: parse, validate, and map to SageMaker pipeline parameters.

Standard library and `pkgml_contracts` only (the trigger must cold-start fast; the ops
CLI loads this file by path). `RUN_FILE.md` beside this module documents the schema for
people; every check here raises `RunFileError` with a reason code, the field's dotted path
and the accepted form. No input, however odd (huge integers, deep nesting, lone
surrogates), raises anything else.

A training run trains, for each package type, one of the architectures deployed for it
(`Deployment`): the one the run names in `model.architecture`, else the package type's
configured one. Its hyperparameters are checked against that architecture's declaration
(`pkgml_contracts.architectures`), and its pipeline parameters are derived from it, so
they may differ per package type: `pipeline_parameters(run, package_type)`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pkgml_contracts import gate
from pkgml_contracts.architectures import Architecture, ArchitectureError
from pkgml_contracts.instance_types import TYPE_PATTERN, InstanceTypeError, check_instance_type
from pkgml_contracts.names import DataPrefixes
from pkgml_contracts.runs import (
    INFERENCE_KINDS,
    RUN_ID_FORM,
    RUN_ID_PATTERN,
    RUN_KINDS,
    TRAINING_KINDS,
    pipeline_for_run,
)

SCHEMA_VERSION = 1
# A run file nests 3 levels (model.hyperparameters.max_depth); deeper is never valid
# and, far deeper, would exhaust the JSON parser's recursion.
MAX_JSON_DEPTH = 20
# s3://<bucket>/unload/<dataset>/<extract id>/manifest
MANIFEST_PATTERN = re.compile(
    r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/"
    + re.escape(DataPrefixes.UNLOAD)
    + r"(?P<dataset>[a-z0-9-]+)/(?P<extract_id>[A-Za-z0-9][A-Za-z0-9-]{0,62})/manifest"
)
# Which unload datasets (each kind's extract) each kind may read: training needs labels,
# inference does not.
DATASETS_FOR_KIND: Mapping[str, frozenset[str]] = {
    **dict.fromkeys(TRAINING_KINDS, TRAINING_KINDS),
    **dict.fromkeys(INFERENCE_KINDS, INFERENCE_KINDS),
}


class Reason:
    """Reason codes written to the quarantine report and the alert."""

    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    BAD_KEY = "bad_key"
    SCHEMA_VIOLATION = "schema_violation"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    UNKNOWN_KIND = "unknown_kind"
    KEY_MISMATCH = "key_mismatch"
    UNKNOWN_PACKAGE_TYPE = "unknown_package_type"
    OUT_OF_RANGE = "out_of_range"
    NOT_FOR_KIND = "parameter_not_for_kind"
    MANIFEST_MISSING = "manifest_missing"
    MANIFEST_INVALID = "manifest_invalid"
    MANIFEST_EMPTY = "manifest_empty"
    ARCHITECTURE_NOT_DEPLOYED = "architecture_not_deployed"


class RunFileError(ValueError):
    """A run file that must not start anything: reason code, field path, readable message."""

    def __init__(self, reason: str, field: str, message: str) -> None:
        named = not field or message.startswith(f"{field}:")  # the contract's messages do
        super().__init__(message if named else f"{field}: {message}")
        self.reason = reason
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RunKey:
    """What a run file's S3 key says: runs/<kind>/<run_id>.json."""

    kind: str
    run_id: str


def parse_run_key(key: str, runs_prefix: str) -> RunKey:
    """Split `<runs_prefix><kind>/<run_id>.json`; raise RunFileError(bad_key/unknown_kind)."""
    form = f"{runs_prefix}<kind>/<run_id>.json"
    rest = key[len(runs_prefix) :] if key.startswith(runs_prefix) else None
    parts = rest.split("/") if rest is not None else []
    if len(parts) != 2 or not parts[1].endswith(".json"):
        raise RunFileError(Reason.BAD_KEY, "key", f"must be {form} (got {key!r})")
    kind, run_id = parts[0], parts[1][: -len(".json")]
    if kind not in RUN_KINDS:
        raise RunFileError(
            Reason.UNKNOWN_KIND,
            "key",
            f"folder must be one of {_choices(RUN_KINDS)} (got {kind!r})",
        )
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise RunFileError(
            Reason.BAD_KEY, "key", f"file name must be <run_id>.json, run_id {RUN_ID_FORM}"
        )
    return RunKey(kind=kind, run_id=run_id)


@dataclass(frozen=True)
class Deployment:
    """What a training run may train in this environment (the trigger's configuration).

    `catalog`: the deployed architectures' declarations, by name; `deployed`: per package
    type, the architectures that have a training pipeline (the configured one first);
    `configured`: per package type, the architecture it trains unless a run names another.
    """

    catalog: Mapping[str, Architecture]
    deployed: Mapping[str, tuple[str, ...]]
    configured: Mapping[str, str]

    def distributed(self, package_types: tuple[str, ...]) -> list[str]:
        """Distributed architectures deployed for every one of `package_types`, sorted."""
        return sorted(
            name
            for name, architecture in self.catalog.items()
            if architecture.distributed and all(name in self.deployed[p] for p in package_types)
        )


@dataclass(frozen=True)
class Model:
    """What one package type's training execution trains: an architecture and the
    hyperparameters the run sets (checked against it; the others keep the pipeline's
    defaults)."""

    architecture: Architecture
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Thresholds:
    """Champion/challenger gate criteria (training runs only): `pkgml_contracts.gate`."""

    max_score_drop: float | None = None
    min_score: float | None = None
    max_label_shift: float | None = None
    max_label_count_change: float | None = None
    max_input_size_change: float | None = None


@dataclass(frozen=True)
class Parameters:
    """Optional per-run overrides; None = the pipeline's default."""

    validation_ratio: float | None = None
    training_instance_type: str | None = None
    training_instance_count: int | None = None
    transform_instance_type: str | None = None
    transform_instance_count: int | None = None
    prepare_instance_count: int | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True)
class RunFile:
    """A validated run file; `models`: per package type of a training run, what it trains
    (empty for inference runs)."""

    kind: str
    run_id: str
    manifest_uri: str
    package_types: tuple[str, ...]
    parameters: Parameters
    models: Mapping[str, Model] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


# --- field specs -----------------------------------------------------------------------

_Check = Callable[[Any, str], Any]


def _choices(values: tuple[str, ...] | frozenset[str]) -> str:
    return ", ".join(repr(v) for v in sorted(values))


class HugeInteger:
    """A JSON integer with more digits than Python converts from text
    (`sys.get_int_max_str_digits`, 4300): only ever out of range."""

    def __init__(self, digits: str) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return self.digits


def _shown(value: Any) -> str:
    """`repr(value)`, shortened if long (an integer of 400 digits is shown as 1000...0)."""
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:12]}...{text[-4:]} ({len(text)} characters)"


def _number(low: float, high: float) -> _Check:
    def check(value: Any, path: str) -> float:
        form = f"a number from {low:g} to {high:g}"
        if isinstance(value, HugeInteger):
            raise RunFileError(Reason.OUT_OF_RANGE, path, f"must be {form} (got {_shown(value)})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RunFileError(Reason.SCHEMA_VIOLATION, path, f"must be {form}")
        # int-to-float comparisons are exact in Python, however large the int (no float()
        # first: 10**400 has no float); only a float can be NaN or infinite.
        if (isinstance(value, float) and not math.isfinite(value)) or not low <= value <= high:
            raise RunFileError(Reason.OUT_OF_RANGE, path, f"must be {form} (got {_shown(value)})")
        return float(value)

    return check


def _integer(low: int, high: int) -> _Check:
    def check(value: Any, path: str) -> int:
        form = f"an integer from {low} to {high}"
        if isinstance(value, HugeInteger):
            raise RunFileError(Reason.OUT_OF_RANGE, path, f"must be {form} (got {_shown(value)})")
        if isinstance(value, bool) or not isinstance(value, int):
            raise RunFileError(Reason.SCHEMA_VIOLATION, path, f"must be {form}")
        if not low <= value <= high:
            raise RunFileError(Reason.OUT_OF_RANGE, path, f"must be {form} (got {_shown(value)})")
        return value

    return check


def _instance_type(job: str) -> _Check:
    """The shared instance-type contract for `job` (CPU images; no local instance storage).

    Not of the form ml.<family>.<size> -> schema_violation; a well-formed type the job
    cannot use -> out_of_range; both carry the contract's message (family and why).
    """

    def check(value: Any, path: str) -> str:
        try:
            return check_instance_type(value, job)
        except InstanceTypeError as exc:
            well_formed = isinstance(value, str) and TYPE_PATTERN.fullmatch(value) is not None
            reason = Reason.OUT_OF_RANGE if well_formed else Reason.SCHEMA_VIOLATION
            raise RunFileError(reason, path, str(exc)) from None

    return check


# Which SageMaker job each *_instance_type parameter sizes.
INSTANCE_TYPE_JOBS: Mapping[str, str] = {
    "training_instance_type": "training",
    # Training batch-transforms its validation set; inference scores the inventory.
    "transform_instance_type": "transform",
}


# name -> (check, kinds it applies to)
# Every threshold is a criterion of the training pipeline's champion/challenger gate.
_THRESHOLDS: dict[str, tuple[_Check, frozenset[str]]] = {
    criterion.name: (_number(criterion.low, criterion.high), TRAINING_KINDS)
    for criterion in gate.CRITERIA
}
_PARAMETERS: dict[str, tuple[_Check, frozenset[str]]] = {
    "validation_ratio": (_number(0.05, 0.5), TRAINING_KINDS),
    "training_instance_type": (
        _instance_type(INSTANCE_TYPE_JOBS["training_instance_type"]),
        TRAINING_KINDS,
    ),
    "training_instance_count": (_integer(1, 20), TRAINING_KINDS),
    "transform_instance_type": (
        _instance_type(INSTANCE_TYPE_JOBS["transform_instance_type"]),
        TRAINING_KINDS | INFERENCE_KINDS,
    ),
    "transform_instance_count": (_integer(1, 50), TRAINING_KINDS | INFERENCE_KINDS),
    # Inference's Prepare step shards the extract's files across this many instances.
    "prepare_instance_count": (_integer(1, 20), INFERENCE_KINDS),
}
_TOP_LEVEL = ("schema_version", "kind", "run_id", "data", "package_types", "parameters", "model")
_MODEL_KEYS = ("architecture", "hyperparameters")


def _object(value: Any, path: str, allowed: tuple[str, ...] | list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RunFileError(Reason.SCHEMA_VIOLATION, path, "must be a JSON object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        scope = f" in {path}" if path else ""
        raise RunFileError(
            Reason.SCHEMA_VIOLATION,
            where,
            f"unknown key; accepted keys{scope}: {_choices(tuple(allowed))}",
        )
    return value


def _fields(
    raw: dict[str, Any], path: str, specs: dict[str, tuple[_Check, frozenset[str]]], kind: str
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in raw.items():
        check, kinds = specs[name]
        where = f"{path}.{name}"
        if kind not in kinds:
            raise RunFileError(
                Reason.NOT_FOR_KIND, where, f"applies only to run kinds {_choices(kinds)}"
            )
        values[name] = check(value, where)
    return values


def _group(
    obj: dict[str, Any], name: str, specs: dict[str, tuple[_Check, frozenset[str]]], kind: str
) -> dict[str, Any]:
    """The checked values of the group `parameters.<name>` ({} when absent).

    Even an empty group must suit the kind: `"hyperparameters": {}` in an inference run
    states an intent the run cannot honour (parameter_not_for_kind).
    """
    if name not in obj:
        return {}
    path = f"parameters.{name}"
    values = _fields(_object(obj[name], path, [*specs]), path, specs, kind)
    kinds = frozenset().union(*(kinds for _, kinds in specs.values()))
    if kind not in kinds:
        raise RunFileError(
            Reason.NOT_FOR_KIND, path, f"applies only to run kinds {_choices(kinds)}"
        )
    return values


def _parameters(raw: Any, kind: str) -> tuple[Parameters, dict[str, Any] | None]:
    """The checked parameters, and `parameters.hyperparameters` as given (None if absent):
    those are checked per package type, against the architecture it trains."""
    obj = _object(raw, "parameters", [*_PARAMETERS, "hyperparameters", "thresholds"])
    plain = {k: v for k, v in obj.items() if k in _PARAMETERS}
    values = _fields(plain, "parameters", _PARAMETERS, kind)
    hyperparameters = obj.get("hyperparameters")
    if "hyperparameters" in obj:
        path = "parameters.hyperparameters"
        if not isinstance(hyperparameters, dict):
            raise RunFileError(Reason.SCHEMA_VIOLATION, path, "must be a JSON object")
        if kind not in TRAINING_KINDS:  # even empty: an intent the run cannot honour
            where = f"{path}.{next(iter(hyperparameters))}" if hyperparameters else path
            raise RunFileError(
                Reason.NOT_FOR_KIND, where, f"applies only to run kinds {_choices(TRAINING_KINDS)}"
            )
    parameters = Parameters(
        **values, thresholds=Thresholds(**_group(obj, "thresholds", _THRESHOLDS, kind))
    )
    return parameters, hyperparameters


# --- the model: architecture and hyperparameters ---------------------------------------


def _model(raw: Any, kind: str) -> dict[str, Any]:
    """The `model` object, its shape checked (architecture and hyperparameters later)."""
    if kind not in TRAINING_KINDS:  # even `"model": {}`
        raise RunFileError(
            Reason.NOT_FOR_KIND, "model", f"applies only to run kinds {_choices(TRAINING_KINDS)}"
        )
    obj = _object(raw, "model", _MODEL_KEYS)
    if "hyperparameters" in obj and not isinstance(obj["hyperparameters"], dict):
        raise RunFileError(
            Reason.SCHEMA_VIOLATION,
            "model.hyperparameters",
            "must be a JSON object of the architecture's hyperparameters",
        )
    return obj


def _deployed_list(deployment: Deployment, package_types: tuple[str, ...]) -> str:
    return "; ".join(f"{p}: {', '.join(deployment.deployed[p])}" for p in package_types)


def _named_architecture(
    name: Any, package_types: tuple[str, ...], deployment: Deployment
) -> Architecture:
    """The architecture `model.architecture` names, if deployed for every package type."""
    path = "model.architecture"
    if not isinstance(name, str):
        raise RunFileError(
            Reason.SCHEMA_VIOLATION,
            path,
            "must be the name of an architecture deployed for the run's package types "
            f"({_deployed_list(deployment, package_types)})",
        )
    missing = tuple(p for p in package_types if name not in deployment.deployed[p])
    if missing or name not in deployment.catalog:
        raise RunFileError(
            Reason.ARCHITECTURE_NOT_DEPLOYED,
            path,
            f"{_shown(name)} is not deployed for package type(s) {', '.join(missing)}; "
            f"deployed: {_deployed_list(deployment, missing)}. Name an architecture deployed "
            "for every package type the run starts, or limit package_types",
        )
    return deployment.catalog[name]


def _hyperparameter_reason(architecture: Architecture, name: str, value: Any) -> str:
    """out_of_range for a value of the right type outside the range (or the choices);
    schema_violation for an unknown name or a value of the wrong type."""
    known = {h.name: h for h in architecture.hyperparameters}
    item = known.get(name)
    if item is None:
        return Reason.SCHEMA_VIOLATION
    numeric = not isinstance(value, bool) and isinstance(value, int | HugeInteger)
    if item.type == "number":
        numeric = numeric or isinstance(value, float)
    if (item.type in ("integer", "number") and numeric) or (
        item.type == "string" and isinstance(value, str)
    ):
        return Reason.OUT_OF_RANGE
    return Reason.SCHEMA_VIOLATION


def check_hyperparameters(
    architecture: Architecture, values: Mapping[str, Any], path: str, context: str = ""
) -> dict[str, Any]:
    """`values` checked with the architecture's own rules (`Architecture.validate`), one
    name at a time so the error names its field: RunFileError at `<path>.<name>`, with the
    contract's message (the path and the accepted form) and `context` appended."""
    checked: dict[str, Any] = {}
    for name, value in values.items():
        where = f"{path}.{name}"
        try:
            if isinstance(value, HugeInteger):  # too long for int(): only ever out of range
                item = architecture.hyperparameter(name)
                if item.type in ("integer", "number"):
                    raise ArchitectureError(f"{where}: out of range; {item.accepted()}")
            checked.update(architecture.validate({name: value}, path))
        except ArchitectureError as exc:
            message = str(exc) if str(exc).startswith(f"{where}:") else f"{where}: {exc}"
            reason = _hyperparameter_reason(architecture, name, value)
            if reason == Reason.OUT_OF_RANGE:
                message += f" (got {_shown(value)})"
            raise RunFileError(reason, where, message + context) from None
    return checked


def _models(
    package_types: tuple[str, ...],
    deployment: Deployment,
    model: dict[str, Any] | None,
    parameter_hyperparameters: dict[str, Any] | None,
) -> dict[str, Model]:
    """Per package type: the named (else its configured) architecture, and the run's
    hyperparameters checked against it."""
    given = model is not None  # even `"model": {}` rules out parameters.hyperparameters
    model = model or {}
    named = (
        _named_architecture(model["architecture"], package_types, deployment)
        if "architecture" in model
        else None
    )
    if given and parameter_hyperparameters is not None:
        raise RunFileError(
            Reason.SCHEMA_VIOLATION,
            "parameters.hyperparameters",
            "a run with a `model` object gives its hyperparameters in model.hyperparameters; "
            "remove parameters.hyperparameters (both together are ambiguous)",
        )
    if "hyperparameters" in model:
        values, path = model["hyperparameters"], "model.hyperparameters"
    else:
        values, path = parameter_hyperparameters or {}, "parameters.hyperparameters"
    models: dict[str, Model] = {}
    for package_type in package_types:
        architecture = named or deployment.catalog[deployment.configured[package_type]]
        context = (
            ""
            if named is not None
            else f" (package type {package_type} trains {architecture.name}, "
            "its configured architecture)"
        )
        checked = check_hyperparameters(architecture, values, path, context)
        models[package_type] = Model(architecture=architecture, hyperparameters=checked)
    return models


def _check_instance_count(
    count: int | None, models: Mapping[str, Model], deployment: Deployment, named: bool
) -> None:
    """More than one training instance only for distributed architectures."""
    if count is None or count <= 1:
        return
    single = {p: m.architecture.name for p, m in models.items() if not m.architecture.distributed}
    if not single:
        return
    package_types = tuple(models)
    distributed = deployment.distributed(package_types)
    if named:
        what = f"{next(iter(single.values()))} trains on one instance (it is not distributed)"
    else:  # each package type's configured architecture
        by_architecture: dict[str, list[str]] = {}
        for package_type, name in single.items():
            by_architecture.setdefault(name, []).append(package_type)
        what = "; ".join(
            f"{name} trains on one instance (not distributed; package type(s) "
            f"{', '.join(types)} train it)"
            for name, types in by_architecture.items()
        )
    if distributed:
        hint = (
            "for more instances name a distributed architecture in model.architecture: "
            + ", ".join(distributed)
        )
    else:
        hint = f"no architecture deployed for {', '.join(package_types)} is distributed"
    raise RunFileError(
        Reason.OUT_OF_RANGE,
        "parameters.training_instance_count",
        f"{what}; {hint} (got {_shown(count)})",
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _parse_int(digits: str) -> int | HugeInteger:
    try:
        return int(digits)
    except ValueError:  # longer than int() converts from text: kept only to be refused
        return HugeInteger(digits)


# A JSON string (escapes included), to skip when counting brackets.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (brackets inside strings not counted)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def decode_json(body: bytes) -> Any:
    """UTF-8 JSON, strictly: no NaN/Infinity, no duplicate keys, at most MAX_JSON_DEPTH
    levels; RunFileError otherwise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RunFileError(
            Reason.NOT_UTF8, "", f"must be UTF-8 text (invalid byte at offset {exc.start})"
        ) from None
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise RunFileError(
            Reason.NOT_JSON,
            "",
            f"nests arrays/objects {depth} levels deep; a run file nests at most {MAX_JSON_DEPTH}",
        )
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            object_pairs_hook=_no_duplicate_keys,
        )
    except RecursionError:  # the depth check should have caught it; never crash on input
        raise RunFileError(
            Reason.NOT_JSON, "", "nests arrays/objects too deeply to parse"
        ) from None
    except ValueError as exc:
        raise RunFileError(Reason.NOT_JSON, "", f"must be one JSON object ({exc})") from None


def parse_run_file(
    document: Any,
    *,
    expected: RunKey,
    data_bucket: str,
    configured_package_types: tuple[str, ...],
    deployment: Deployment,
) -> RunFile:
    """Validate a decoded run file against its key, the data bucket, the package types and
    the architectures deployed for them (`deployment` covers every configured type)."""
    obj = _object(document, "", list(_TOP_LEVEL))
    for name in ("schema_version", "kind", "run_id", "data"):
        if name not in obj:
            raise RunFileError(Reason.SCHEMA_VIOLATION, name, "is required")

    version = obj["schema_version"]
    if isinstance(version, HugeInteger):
        raise RunFileError(
            Reason.UNSUPPORTED_SCHEMA_VERSION,
            "schema_version",
            f"must be {SCHEMA_VERSION} (got {_shown(version)})",
        )
    if isinstance(version, bool) or not isinstance(version, int):
        raise RunFileError(Reason.SCHEMA_VIOLATION, "schema_version", f"must be {SCHEMA_VERSION}")
    if version != SCHEMA_VERSION:
        raise RunFileError(
            Reason.UNSUPPORTED_SCHEMA_VERSION,
            "schema_version",
            f"must be {SCHEMA_VERSION} (got {_shown(version)})",
        )

    kind = obj["kind"]
    if not isinstance(kind, str) or kind not in RUN_KINDS:
        raise RunFileError(Reason.UNKNOWN_KIND, "kind", f"must be one of {_choices(RUN_KINDS)}")
    if kind != expected.kind:
        raise RunFileError(
            Reason.KEY_MISMATCH,
            "kind",
            f"must match the run file's folder runs/{expected.kind}/ (got {kind!r})",
        )

    run_id = obj["run_id"]
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        raise RunFileError(Reason.SCHEMA_VIOLATION, "run_id", f"must be {RUN_ID_FORM}")
    if run_id != expected.run_id:
        raise RunFileError(
            Reason.KEY_MISMATCH,
            "run_id",
            f"must match the file name {expected.run_id}.json (got {run_id!r})",
        )

    data = _object(obj["data"], "data", ["manifest"])
    manifest = data.get("manifest")
    form = f"s3://{data_bucket}/unload/<dataset>/<extract id>/manifest"
    match = MANIFEST_PATTERN.fullmatch(manifest) if isinstance(manifest, str) else None
    if not isinstance(manifest, str) or match is None or match["bucket"] != data_bucket:
        raise RunFileError(Reason.SCHEMA_VIOLATION, "data.manifest", f"must be {form}")
    datasets = DATASETS_FOR_KIND[kind]
    if match["dataset"] not in datasets:
        raise RunFileError(
            Reason.SCHEMA_VIOLATION,
            "data.manifest",
            f"a {kind} run reads dataset {_choices(datasets)} (got {match['dataset']!r})",
        )

    package_types = configured_package_types
    if "package_types" in obj:
        package_types = _package_types(obj["package_types"], configured_package_types)

    parameters, hyperparameters = (
        _parameters(obj["parameters"], kind) if "parameters" in obj else (Parameters(), None)
    )
    model = _model(obj["model"], kind) if "model" in obj else None
    models: dict[str, Model] = {}
    if kind in TRAINING_KINDS:
        models = _models(package_types, deployment, model, hyperparameters)
        _check_instance_count(
            parameters.training_instance_count,
            models,
            deployment,
            named=model is not None and "architecture" in model,
        )
    return RunFile(
        kind=kind,
        run_id=run_id,
        manifest_uri=manifest,
        package_types=package_types,
        parameters=parameters,
        models=models,
    )


def _package_types(value: Any, configured: tuple[str, ...]) -> tuple[str, ...]:
    form = f"a non-empty list of distinct package types from {_choices(tuple(configured))}"
    if not isinstance(value, list) or not value:
        raise RunFileError(Reason.SCHEMA_VIOLATION, "package_types", f"must be {form}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            where = f"package_types[{index}]"
            raise RunFileError(Reason.SCHEMA_VIOLATION, where, f"must be {form}")
        if item not in configured:
            raise RunFileError(
                Reason.UNKNOWN_PACKAGE_TYPE,
                f"package_types[{index}]",
                f"unknown package type {item!r}; must be {form}",
            )
    if len(set(value)) != len(value):
        raise RunFileError(Reason.SCHEMA_VIOLATION, "package_types", f"must be {form}")
    # Configuration order, so the starts (and the logs) are always in the same order.
    return tuple(p for p in configured if p in value)


def validate_manifest(body: bytes) -> int:
    """Check an UNLOAD manifest: JSON with a non-empty `entries` list; return its length."""
    if not body.strip():
        raise RunFileError(Reason.MANIFEST_EMPTY, "data.manifest", "the manifest object is empty")
    try:
        document = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise RunFileError(
            Reason.MANIFEST_INVALID, "data.manifest", "the manifest must be UTF-8 JSON"
        ) from None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise RunFileError(
            Reason.MANIFEST_INVALID,
            "data.manifest",
            'the manifest must be a JSON object with an "entries" list (an UNLOAD MANIFEST)',
        )
    if not entries:
        raise RunFileError(
            Reason.MANIFEST_EMPTY, "data.manifest", 'the manifest lists no files ("entries" is [])'
        )
    return len(entries)


# --- SageMaker pipeline parameters ------------------------------------------------------

# The architecture's hyperparameters come between the sizing and the gate's thresholds.
_PIPELINE_PARAMETER_NAMES: tuple[tuple[str, str, str], ...] = (
    # (pipeline parameter, group or "", attribute)
    ("ValidationRatio", "", "validation_ratio"),
    ("TrainingInstanceType", "", "training_instance_type"),
    ("TrainingInstanceCount", "", "training_instance_count"),
    ("TransformInstanceType", "", "transform_instance_type"),
    ("TransformInstanceCount", "", "transform_instance_count"),
    ("PrepareInstanceCount", "", "prepare_instance_count"),
)
_THRESHOLD_PARAMETER_NAMES: tuple[tuple[str, str, str], ...] = tuple(
    (criterion.parameter, "thresholds", criterion.name) for criterion in gate.CRITERIA
)


def _format(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def pipeline_parameters(run: RunFile, package_type: str) -> list[dict[str, str]]:
    """StartPipelineExecution parameters of one package type's execution: InputManifestUri
    and RunId, then only what the run sets. Hyperparameters travel under their pipeline
    parameter names (`Hyperparameter.parameter_name`, e.g. max_iter -> MaxIter) as
    `Hyperparameter.text`; TrainingInstanceCount only to a distributed architecture (a
    single-instance architecture's pipeline has no such parameter)."""
    if package_type not in run.package_types:
        raise ValueError(
            f"package type {package_type!r} is not one of the run's: {', '.join(run.package_types)}"
        )
    model = run.models.get(package_type)
    result = [
        {"Name": "InputManifestUri", "Value": run.manifest_uri},
        {"Name": "RunId", "Value": run.run_id},
    ]

    def add(names: tuple[tuple[str, str, str], ...]) -> None:
        for name, group, attribute in names:
            holder: object = getattr(run.parameters, group) if group else run.parameters
            value = getattr(holder, attribute)
            if name == "TrainingInstanceCount" and (
                model is None or not model.architecture.distributed
            ):
                continue
            if value is not None:
                result.append({"Name": name, "Value": _format(value)})

    add(_PIPELINE_PARAMETER_NAMES)
    if model is not None:
        for item in model.architecture.hyperparameters:  # declaration order
            if item.name in model.hyperparameters:
                value = model.hyperparameters[item.name]
                result.append({"Name": item.parameter_name, "Value": item.text(value)})
    add(_THRESHOLD_PARAMETER_NAMES)
    if pipeline_for_run(run.kind) == "inference":
        # Daily and monthly share the inference pipeline; the kind labels the loaded rows.
        result.append({"Name": "RunKind", "Value": run.kind})
    return result
