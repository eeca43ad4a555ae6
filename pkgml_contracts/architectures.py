"""The model-architecture contract: what an architecture declares, and its hyperparameters.

An architecture is one folder, `pipeline_defs/architectures/<name>/`, holding
`architecture.json` (read by `parse_declaration`), its training entry point(s) and its
serving code. Everything else is derived from the declaration: the training pipeline's
Train step(s) and their hyperparameter parameters, the run file's validation of the
architecture's hyperparameters, the docs, the rehearsal and the contract tests.

Declaration (JSON object; unknown keys are errors):

    name             the folder's name: lowercase letters, digits, '-' (2-20)
    summary          one line for people
    image            {"framework": "sklearn" | "xgboost", "version": "1.9-0"}: the
                     SageMaker framework container the Train step(s) and serving run
    mode             "script": the image runs the architecture's own programs;
                     "builtin": the image's own algorithm trains (no training
                     programs; the training data is Split's label-first CSV, `train_csv`)
    processors       ["cpu"] or ["cpu", "gpu"]: the image's processors
    distributed      true if training uses every instance of TrainingInstanceCount
                     (the train channel is sharded by S3 key); false refuses counts > 1
    inputs           feature groups the model reads: ["tabular"] or ["tabular", "text"]
    stages           sequential training stages, each {"name", "program"}; a stage gets
                     the previous stage's model artifact as its `previous` channel; the
                     last stage's artifact is the model (builtin: one stage, no program)
    serving          {"program": "<file>.py"}: the module of the architecture's folder
                     the serving container loads (SAGEMAKER_PROGRAM), required in script
                     mode; builtin: {} (the container's own serving) or a program (the
                     pipeline adds the folder to the model artifact as `code/`)
    spot             true if the Train step(s) may run on managed spot capacity: an
                     interrupted job restarts and completes, resuming from
                     /opt/ml/checkpoints where the program or container supports it
    fixed_hyperparameters  {name: string} passed to every training job unchanged
                     (e.g. a built-in algorithm's objective); not settable per run
    hyperparameters  {name: {"type": "integer" | "number" | "string" | "boolean",
                     "default": value, "minimum"/"maximum" (numbers), "choices" (strings),
                     "description"}}: names are lowercase snake_case

Standard library only: the trigger Lambda validates run files with it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

NAME_PATTERN: Final = re.compile(r"[a-z][a-z0-9-]{1,19}")
HYPERPARAMETER_PATTERN: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")
STAGE_PATTERN: Final = re.compile(r"[A-Z][A-Za-z0-9]{0,30}")
FRAMEWORKS: Final = ("sklearn", "xgboost")
MODES: Final = ("script", "builtin")
PROCESSORS: Final = ("cpu", "gpu")
INPUTS: Final = ("tabular", "text")
TYPES: Final = ("integer", "number", "string", "boolean")
DECLARATION_FILE: Final = "architecture.json"

_KEYS: Final = (
    "name",
    "summary",
    "image",
    "mode",
    "processors",
    "distributed",
    "inputs",
    "stages",
    "serving",
    "spot",
    "fixed_hyperparameters",
    "hyperparameters",
)
_HYPERPARAMETER_KEYS: Final = ("type", "default", "minimum", "maximum", "choices", "description")


class ArchitectureError(ValueError):
    """A declaration, or a value checked against one, that is not valid; names the field."""


@dataclass(frozen=True)
class Hyperparameter:
    """One typed, bounded hyperparameter of an architecture."""

    name: str
    type: str
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def parameter_name(self) -> str:
        """The pipeline parameter that carries it, e.g. max_iter -> 'MaxIter'."""
        return "".join(part.capitalize() for part in self.name.split("_"))

    def accepted(self) -> str:
        """The accepted form, for messages and docs."""
        if self.type in ("integer", "number"):
            kind = "an integer" if self.type == "integer" else "a number"
            return f"{kind} from {_show(self.minimum)} to {_show(self.maximum)}"
        if self.type == "boolean":
            return "true or false"
        return "one of " + ", ".join(self.choices)

    def check(self, value: Any, path: str) -> Any:
        """`value` if it is valid for this hyperparameter; ArchitectureError naming `path`."""
        if self.type == "boolean":
            valid = isinstance(value, bool)
        elif self.type == "string":
            valid = isinstance(value, str) and value in self.choices
        else:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            valid = numeric and (self.type == "number" or isinstance(value, int))
            if valid:
                if isinstance(value, float) and not math.isfinite(value):
                    raise ArchitectureError(f"{path}: must be finite; {self.accepted()}")
                # Integers beyond float range compare exactly with ints; bounds are finite.
                low, high = self.minimum, self.maximum
                if (low is not None and value < low) or (high is not None and value > high):
                    raise ArchitectureError(f"{path}: out of range; {self.accepted()}")
        if not valid:
            raise ArchitectureError(f"{path}: must be {self.accepted()}")
        return value

    def text(self, value: Any) -> str:
        """How the value travels as a pipeline parameter and a training hyperparameter."""
        if self.type == "boolean":
            return "true" if value else "false"
        return str(value)


@dataclass(frozen=True)
class Stage:
    """One sequential training stage: a program of the architecture's folder."""

    name: str
    program: str | None


@dataclass(frozen=True)
class Architecture:
    """One model architecture's declaration (see the module docstring)."""

    name: str
    summary: str
    framework: str
    framework_version: str
    mode: str
    processors: tuple[str, ...]
    distributed: bool
    inputs: tuple[str, ...]
    stages: tuple[Stage, ...]
    serving_program: str | None
    spot: bool
    fixed_hyperparameters: tuple[tuple[str, str], ...]
    hyperparameters: tuple[Hyperparameter, ...]

    def hyperparameter(self, name: str) -> Hyperparameter:
        """The hyperparameter called `name`; ArchitectureError if the schema has none."""
        for item in self.hyperparameters:
            if item.name == name:
                return item
        known = ", ".join(h.name for h in self.hyperparameters) or "none"
        raise ArchitectureError(
            f"{self.name} has no hyperparameter {name!r}; its hyperparameters: {known}"
        )

    def defaults(self) -> dict[str, Any]:
        """{name: default} of every hyperparameter."""
        return {h.name: h.default for h in self.hyperparameters}

    def validate(self, values: Mapping[str, Any], path: str = "hyperparameters") -> dict[str, Any]:
        """`values` checked against the schema (every name known, every value in range)."""
        if not isinstance(values, Mapping):
            raise ArchitectureError(f"{path}: must be an object of {self.name} hyperparameters")
        return {
            name: self.hyperparameter(str(name)).check(value, f"{path}.{name}")
            for name, value in values.items()
        }

    def to_json(self) -> dict[str, Any]:
        """The declaration as written (what `parse_declaration` reads back)."""
        return {
            "name": self.name,
            "summary": self.summary,
            "image": {"framework": self.framework, "version": self.framework_version},
            "mode": self.mode,
            "processors": list(self.processors),
            "distributed": self.distributed,
            "inputs": list(self.inputs),
            "stages": [
                {"name": s.name, **({"program": s.program} if s.program else {})}
                for s in self.stages
            ],
            "serving": {"program": self.serving_program} if self.serving_program else {},
            "spot": self.spot,
            "fixed_hyperparameters": dict(self.fixed_hyperparameters),
            "hyperparameters": {
                h.name: {
                    "type": h.type,
                    "default": h.default,
                    **({"minimum": h.minimum} if h.minimum is not None else {}),
                    **({"maximum": h.maximum} if h.maximum is not None else {}),
                    **({"choices": list(h.choices)} if h.choices else {}),
                    "description": h.description,
                }
                for h in self.hyperparameters
            },
        }


def _show(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ArchitectureError(message)


def _hyperparameter(name: str, spec: Any, where: str) -> Hyperparameter:
    path = f"{where}.hyperparameters.{name}"
    _require(bool(HYPERPARAMETER_PATTERN.fullmatch(name)), f"{path}: lowercase snake_case name")
    _require(isinstance(spec, dict), f"{path}: must be an object")
    unknown = sorted(set(spec) - set(_HYPERPARAMETER_KEYS))
    _require(not unknown, f"{path}: unknown keys {unknown}; allowed: {list(_HYPERPARAMETER_KEYS)}")
    kind = spec.get("type")
    _require(kind in TYPES, f"{path}.type: one of {', '.join(TYPES)}")
    description = spec.get("description")
    _require(isinstance(description, str) and bool(description), f"{path}.description: required")
    bounds = {}
    for key in ("minimum", "maximum"):
        bound = spec.get(key)
        if kind in ("integer", "number"):
            _require(
                isinstance(bound, int | float) and not isinstance(bound, bool),
                f"{path}.{key}: required number for type {kind}",
            )
            bounds[key] = bound
        else:
            _require(bound is None, f"{path}.{key}: only for integer and number")
    choices = spec.get("choices")
    if kind == "string":
        _require(
            isinstance(choices, list)
            and bool(choices)
            and all(isinstance(c, str) for c in choices),
            f"{path}.choices: a non-empty list of strings is required for type string",
        )
    else:
        _require(choices is None, f"{path}.choices: only for type string")
    item = Hyperparameter(
        name=name,
        type=kind,
        default=spec.get("default"),
        description=description,
        minimum=bounds.get("minimum"),
        maximum=bounds.get("maximum"),
        choices=tuple(choices or ()),
    )
    if kind in ("integer", "number"):
        _require(bounds["minimum"] <= bounds["maximum"], f"{path}: minimum above maximum")
    item.check(item.default, f"{path}.default")
    return item


def parse_declaration(document: Any, where: str = "architecture.json") -> Architecture:
    """An Architecture from a declaration document; ArchitectureError names what is wrong."""
    _require(isinstance(document, dict), f"{where}: must be a JSON object")
    unknown = sorted(set(document) - set(_KEYS))
    _require(not unknown, f"{where}: unknown keys {unknown}; allowed: {list(_KEYS)}")
    missing = [k for k in _KEYS if k not in document]
    _require(not missing, f"{where}: missing keys {missing}")
    name = document["name"]
    _require(
        isinstance(name, str) and bool(NAME_PATTERN.fullmatch(name)),
        f"{where}.name: 2-20 lowercase letters, digits and '-', starting with a letter",
    )
    summary = document["summary"]
    _require(isinstance(summary, str) and bool(summary.strip()), f"{where}.summary: required")
    image = document["image"]
    _require(
        isinstance(image, dict) and set(image) == {"framework", "version"},
        f"{where}.image: an object with framework and version",
    )
    _require(image["framework"] in FRAMEWORKS, f"{where}.image.framework: one of {FRAMEWORKS}")
    _require(
        isinstance(image["version"], str) and bool(re.fullmatch(r"\d+\.\d+-\d+", image["version"])),
        f"{where}.image.version: the container version, e.g. '1.9-0'",
    )
    mode = document["mode"]
    _require(mode in MODES, f"{where}.mode: one of {MODES}")
    processors = document["processors"]
    _require(
        isinstance(processors, list)
        and bool(processors)
        and all(p in PROCESSORS for p in processors)
        and len(set(processors)) == len(processors),
        f"{where}.processors: a list of {PROCESSORS}",
    )
    for key in ("distributed", "spot"):
        _require(isinstance(document[key], bool), f"{where}.{key}: true or false")
    inputs = document["inputs"]
    _require(
        isinstance(inputs, list) and "tabular" in inputs and all(i in INPUTS for i in inputs),
        f"{where}.inputs: a list of {INPUTS} including 'tabular'",
    )
    stages_raw = document["stages"]
    _require(
        isinstance(stages_raw, list) and bool(stages_raw),
        f"{where}.stages: a non-empty list of stages",
    )
    stages = []
    for index, raw in enumerate(stages_raw):
        path = f"{where}.stages[{index}]"
        _require(isinstance(raw, dict), f"{path}: must be an object")
        _require(set(raw) <= {"name", "program"}, f"{path}: only name and program")
        stage_name = raw.get("name")
        _require(
            isinstance(stage_name, str) and bool(STAGE_PATTERN.fullmatch(stage_name)),
            f"{path}.name: a step name such as 'Train' (letters and digits)",
        )
        program = raw.get("program")
        if mode == "script":
            _require(
                isinstance(program, str) and program.endswith(".py") and "/" not in program,
                f"{path}.program: a .py file of the architecture's folder",
            )
        else:
            _require(program is None, f"{path}.program: builtin stages run no program")
        stages.append(Stage(name=stage_name, program=program))
    names = [s.name for s in stages]
    _require(len(set(names)) == len(names), f"{where}.stages: stage names must be unique")
    _require(names[-1] == "Train", f"{where}.stages: the last stage must be named 'Train'")
    _require(mode == "script" or len(stages) == 1, f"{where}.stages: builtin has one stage")
    serving = document["serving"]
    _require(isinstance(serving, dict), f"{where}.serving: must be an object")
    serving_program = serving.get("program")
    if mode == "script":
        _require(
            set(serving) == {"program"},
            f"{where}.serving: {{'program': '<file>.py'}} in script mode",
        )
    else:
        _require(
            set(serving) <= {"program"},
            f"{where}.serving: {{}} (the container's own serving) or {{'program': '<file>.py'}}"
            " in builtin mode",
        )
    if "program" in serving:
        _require(
            isinstance(serving_program, str)
            and serving_program.endswith(".py")
            and "/" not in serving_program,
            f"{where}.serving.program: a .py file of the architecture's folder",
        )
    fixed = document["fixed_hyperparameters"]
    _require(
        isinstance(fixed, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in fixed.items()),
        f"{where}.fixed_hyperparameters: an object of strings",
    )
    raw_hyperparameters = document["hyperparameters"]
    _require(isinstance(raw_hyperparameters, dict), f"{where}.hyperparameters: an object")
    hyperparameters = tuple(
        _hyperparameter(n, spec, where) for n, spec in raw_hyperparameters.items()
    )
    clash = sorted(set(fixed) & {h.name for h in hyperparameters})
    _require(not clash, f"{where}: {clash} are both fixed and settable")
    parameter_names = [h.parameter_name for h in hyperparameters]
    _require(
        len(set(parameter_names)) == len(parameter_names),
        f"{where}.hyperparameters: two names map to one pipeline parameter",
    )
    return Architecture(
        name=name,
        summary=summary.strip(),
        framework=image["framework"],
        framework_version=image["version"],
        mode=mode,
        processors=tuple(processors),
        distributed=document["distributed"],
        inputs=tuple(inputs),
        stages=tuple(stages),
        serving_program=serving_program,
        spot=document["spot"],
        fixed_hyperparameters=tuple(sorted(fixed.items())),
        hyperparameters=hyperparameters,
    )


def discover(root: Path) -> dict[str, Architecture]:
    """{name: Architecture} of every `<root>/<name>/architecture.json`, sorted by name.

    A folder whose declaration names another folder is an error (the name is the folder).
    """
    found = {}
    for path in sorted(root.glob(f"*/{DECLARATION_FILE}")):
        where = f"{path.parent.name}/{DECLARATION_FILE}"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as exc:
            raise ArchitectureError(f"{where}: not valid JSON ({exc})") from None
        architecture = parse_declaration(document, where)
        _require(
            architecture.name == path.parent.name,
            f"{where}.name: {architecture.name!r} must equal its folder's name",
        )
        found[architecture.name] = architecture
    return found


def from_json_catalog(text: str) -> dict[str, Architecture]:
    """{name: Architecture} from the catalog shipped to the trigger (`catalog_json`)."""
    document = json.loads(text)
    return {name: parse_declaration(item, f"catalog.{name}") for name, item in document.items()}


def catalog_json(architectures: Mapping[str, Architecture]) -> str:
    """The deployed architectures' declarations as one JSON document (name -> declaration)."""
    # Declaration order kept (hyperparameters, stages); architectures by name.
    return json.dumps(
        {name: architectures[name].to_json() for name in sorted(architectures)},
        separators=(",", ":"),
    )
