"""Every place the builders patch or subclass SageMaker SDK (or botocore) internals.

Each workaround names the SDK behaviour it exists for; `tests/pipelines/
test_sdk_workarounds.py` has one test per workaround that checks the behaviour still holds
in the pinned SDK (an upgrade that changes it fails that test, which says which workaround
can go) and that the workaround gives what the builders need. The golden definitions
(`tests/pipelines/golden/`) prove the output unchanged.

Two kinds:

- Speed-ups, active only inside `patched_for_builds()` (which `sdk_session.sdk_build`
  enters) and restored on exit: `validated_once`, `shared_loader`, `name_only`.
- Step classes the SDK lacks: `raw_request_step_class()` (a step that emits a given
  CreateModel / CreateModelPackage request) and `count_parameter_transform_step_class()`
  (a TransformStep whose instance count is a pipeline parameter).

Importing this module is cheap: the SDK is imported only inside the functions.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

_LOADERS: dict[Any, Any] = {}
_VALIDATED_CONFIGS: set[str] = set()


def validated_once(
    validate: Callable[..., Any], seen: set[str] | None = None
) -> Callable[..., None]:
    """`validate(config)`, skipped for a configuration (by its text) it already passed.

    Works around: the SDK validates its whole configuration against a large JSON schema
    on every config lookup (`resolve_value_from_config` calls
    `SageMakerConfig.validate_sagemaker_config`: about 0.15 s each, ~70 per build) and
    once per session it creates (`session_helper.validate_sagemaker_config`, 0.4 s). An
    equal configuration (the same text) gets the same verdict, so each distinct one is
    validated once per process (`seen`, default: one set per process). A configuration
    that fails is validated, and fails, every time.
    """
    checked = _VALIDATED_CONFIGS if seen is None else seen

    def validate_once(sagemaker_config: dict[str, Any] | None = None) -> None:
        key = f"{validate.__module__}:" + json.dumps(sagemaker_config, sort_keys=True, default=repr)
        if key not in checked:
            validate(sagemaker_config)
            checked.add(key)

    return validate_once


def shared_loader(
    create: Callable[..., Any], loaders: dict[Any, Any] | None = None
) -> Callable[..., Any]:
    """botocore's `create_loader`, returning one loader per search path (per process).

    Works around: the SDK creates several boto3 sessions per build (its step classes make
    their own), and each new botocore session parses the service models and endpoints JSON
    again (about 90 % of a build's time); the image lookups (`common_utils.
    _botocore_resolver`) build their own loader with `botocore.loaders.create_loader()` and
    parse the endpoints file on every call. Those files do not change within a process, so
    every botocore session made during a build shares one data loader per search path.
    """
    made = _LOADERS if loaders is None else loaders

    def shared(search_path_string: Any = None) -> Any:
        if search_path_string not in made:
            made[search_path_string] = create(search_path_string)
        return made[search_path_string]

    return shared


def name_only(client_class: type) -> type:
    """`client_class` without its constructor: its methods (and their names) are all the
    step classes read from it.

    Works around: ProcessingStep and TransformStep create a local-mode client
    (`LocalSagemakerClient()`, a whole session, ~50 ms) only to read one method's
    `__name__` (`create_processing_job`, `create_transform_job`).
    """

    class NameOnly(client_class):
        def __init__(self) -> None:  # no session, no boto3 clients
            pass

    return NameOnly


@contextlib.contextmanager
def patched_for_builds() -> Iterator[None]:
    """Apply the three speed-ups (`validated_once`, `shared_loader`, `name_only`) to the
    SDK and botocore; restore the originals on exit. The definitions built are unchanged."""
    import botocore.loaders
    import botocore.session
    from sagemaker.core.config.config_manager import SageMakerConfig
    from sagemaker.core.helper import session_helper
    from sagemaker.mlops.workflow import steps as sdk_steps

    validate = SageMakerConfig.__dict__["validate_sagemaker_config"]
    validate_session = session_helper.validate_sagemaker_config
    create_loader = botocore.session.create_loader
    create_module_loader = botocore.loaders.create_loader
    local_client = sdk_steps.LocalSagemakerClient
    SageMakerConfig.validate_sagemaker_config = staticmethod(validated_once(validate.__func__))
    session_helper.validate_sagemaker_config = validated_once(validate_session)
    botocore.session.create_loader = shared_loader(create_loader)
    botocore.loaders.create_loader = shared_loader(create_module_loader)
    sdk_steps.LocalSagemakerClient = name_only(local_client)
    try:
        yield
    finally:
        sdk_steps.LocalSagemakerClient = local_client
        botocore.loaders.create_loader = create_module_loader
        botocore.session.create_loader = create_loader
        session_helper.validate_sagemaker_config = validate_session
        SageMakerConfig.validate_sagemaker_config = validate


@functools.cache
def raw_request_step_class() -> type:
    """A Step whose arguments are a fixed request dict (CreateModel / CreateModelPackage).

    Works around: the SDK's ModelStep accepts only step arguments captured from
    ModelBuilder.build() / register() (or Model.create) under a PipelineSession, and
    refuses a request dict; ModelBuilder.register() uploads code (S3 calls) while
    building. The pipeline service only needs the request, so this step emits it, with
    the retry policies and `properties` (e.g. `ModelName`) of the response shape given.
    """
    from sagemaker.core.workflow.properties import Properties
    from sagemaker.mlops.workflow.steps import ConfigurableRetryStep

    class RawRequestStep(ConfigurableRetryStep):
        """A step of a given type whose Arguments are the request given."""

        def __init__(
            self,
            *,
            name: str,
            step_type: Any,
            request: dict[str, Any],
            shape_name: str,
            retry_policies: list[Any],
            depends_on: list[Any] | None = None,
        ) -> None:
            super().__init__(
                name=name,
                step_type=step_type,
                depends_on=depends_on,
                retry_policies=retry_policies,
            )
            self._request = request
            self._properties = Properties(step_name=name, step=self, shape_name=shape_name)

        @property
        def arguments(self) -> dict[str, Any]:
            return self._request

        @property
        def properties(self) -> Any:
            return self._properties

    return RawRequestStep


@functools.cache
def count_parameter_transform_step_class() -> type:
    """TransformStep whose InstanceCount may be a pipeline parameter.

    Works around: sagemaker-core types `TransformResources.instance_count` as a plain int,
    so a Transformer with a ParameterInteger count fails pydantic validation when the
    step's arguments are built. The transformer is built with 1 and this step puts the
    given value (the parameter) back into the request.
    """
    from sagemaker.mlops.workflow.steps import TransformStep

    class CountParameterTransformStep(TransformStep):
        """A TransformStep with TransformResources.InstanceCount = the given value."""

        def __init__(self, *, instance_count: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._instance_count = instance_count

        @property
        def arguments(self) -> dict[str, Any]:
            request: dict[str, Any] = super().arguments
            request["TransformResources"]["InstanceCount"] = self._instance_count
            return request

    return CountParameterTransformStep
