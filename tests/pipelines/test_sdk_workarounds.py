"""One test per workaround in `pipeline_defs/sdk_workarounds.py`, against the pinned SDK.

Each test first shows the SDK behaviour the workaround exists for (an SDK upgrade that
changes it fails here, and the test's name says which workaround can go), then that the
workaround gives what the builders need. The golden definitions prove the output unchanged.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import botocore.loaders
import botocore.session
import jsonschema
import pydantic
import pytest
from sagemaker.core import common_utils
from sagemaker.core.config.config_manager import SageMakerConfig
from sagemaker.core.helper import session_helper
from sagemaker.core.transformer import Transformer
from sagemaker.core.workflow.parameters import ParameterInteger, ParameterString
from sagemaker.mlops.workflow import steps as sdk_steps
from sagemaker.mlops.workflow.model_step import ModelStep

from pipeline_defs import sdk_workarounds
from pipeline_defs.placeholders import Placeholders
from pipeline_defs.sdk_session import SDK_CONFIG, pipeline_definition, sdk_build
from pipeline_defs.step_builders import create_model_step, register_model_step, transform_step

# --- validated_once ------------------------------------------------------------------


def test_validated_once__the_sdk_validates_its_whole_config_on_every_lookup(monkeypatch):
    calls: list[Any] = []
    monkeypatch.setattr(
        SageMakerConfig, "validate_sagemaker_config", staticmethod(calls.append), raising=True
    )
    for _ in range(3):
        common_utils.resolve_value_from_config(
            config_path="SageMaker.PythonSDK.Modules.TelemetryOptOut", sagemaker_config=SDK_CONFIG
        )
    assert calls == [SDK_CONFIG] * 3  # the same configuration, validated three times
    # ... and once per session made with it
    assert "validate_sagemaker_config(sagemaker_config)" in inspect.getsource(
        session_helper.Session._initialize
    )


def test_validated_once__validates_each_configuration_once_and_failures_always():
    validate = SageMakerConfig.__dict__["validate_sagemaker_config"].__func__
    calls: list[Any] = []

    def spy(config: Any = None) -> None:
        calls.append(config)
        validate(config)

    once = sdk_workarounds.validated_once(spy, seen=set())
    once(SDK_CONFIG)
    once(json.loads(json.dumps(SDK_CONFIG)))  # an equal configuration
    assert len(calls) == 1
    other = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {}}}}
    once(other)
    assert len(calls) == 2
    bad = {"SchemaVersion": "1.0", "SageMaker": {"NotAKey": True}}
    for _ in range(2):
        with pytest.raises(jsonschema.ValidationError):
            once(bad)
    assert len(calls) == 4  # a failing configuration is checked, and fails, every time


def test_validated_once__is_in_place_during_a_build_and_restored_after():
    validate = SageMakerConfig.__dict__["validate_sagemaker_config"]
    validate_session = session_helper.validate_sagemaker_config
    with sdk_build("us-east-1"):
        assert SageMakerConfig.__dict__["validate_sagemaker_config"] is not validate
        assert session_helper.validate_sagemaker_config is not validate_session
    assert SageMakerConfig.__dict__["validate_sagemaker_config"] is validate
    assert session_helper.validate_sagemaker_config is validate_session


# --- shared_loader -------------------------------------------------------------------


def test_shared_loader__every_session_and_image_lookup_loads_the_data_again(monkeypatch):
    """Each botocore session has its own data loader (the service models parsed again),
    and the SDK's endpoint resolver (image lookups) makes a loader on every call."""
    first, second = botocore.session.Session(), botocore.session.Session()
    assert first.get_component("data_loader") is not second.get_component("data_loader")
    made: list[Any] = []
    create = botocore.loaders.create_loader

    def counting(search_path_string: Any = None) -> Any:
        made.append(search_path_string)
        return create(search_path_string)

    monkeypatch.setattr(botocore.loaders, "create_loader", counting)
    common_utils._botocore_resolver()
    common_utils._botocore_resolver()
    assert len(made) == 2


def test_shared_loader__loaders_are_shared_during_a_build_and_restored_after():
    module_create = botocore.loaders.create_loader
    session_create = botocore.session.create_loader
    with sdk_build("us-east-1"):
        assert botocore.loaders.create_loader() is botocore.loaders.create_loader()
        assert botocore.session.create_loader() is botocore.session.create_loader()
        first, second = botocore.session.Session(), botocore.session.Session()
        assert first.get_component("data_loader") is second.get_component("data_loader")
        resolver = common_utils._botocore_resolver()
        assert resolver.construct_endpoint("ecr", "eu-west-1")["hostname"].endswith("amazonaws.com")
    assert botocore.loaders.create_loader is module_create
    assert botocore.session.create_loader is session_create
    assert botocore.loaders.create_loader() is not botocore.loaders.create_loader()


def test_shared_loader__one_loader_per_search_path():
    made: dict[Any, Any] = {}
    shared = sdk_workarounds.shared_loader(lambda path=None: object(), made)
    assert shared() is shared()
    assert shared("/a") is shared("/a")
    assert shared("/a") is not shared()
    assert set(made) == {None, "/a"}


# --- name_only -----------------------------------------------------------------------


def test_name_only__step_classes_build_a_local_mode_client_only_for_a_method_name():
    """Why the name-only client is safe: the steps read `.__name__` and nothing else."""
    processing = inspect.getsource(sdk_steps.ProcessingStep.__init__)
    transform = inspect.getsource(sdk_steps.TransformStep.__init__)
    assert "LocalSagemakerClient().create_processing_job.__name__" in processing
    assert "LocalSagemakerClient().create_transform_job.__name__" in transform


def test_name_only__the_client_has_the_names_and_no_session():
    original = sdk_steps.LocalSagemakerClient
    with sdk_build("us-east-1"):
        client = sdk_steps.LocalSagemakerClient()
        assert isinstance(client, original)
        assert client.create_processing_job.__name__ == "create_processing_job"
        assert client.create_transform_job.__name__ == "create_transform_job"
        assert not hasattr(client, "sagemaker_session")  # no session was made
    assert sdk_steps.LocalSagemakerClient is original  # restored


# --- raw_request_step_class ----------------------------------------------------------

CREATE_MODEL = {
    "ExecutionRoleArn": Placeholders.ROLE_ARN,
    "PrimaryContainer": {"ModelPackageName": "arn:aws:sagemaker:us-east-1:1:model-package/g/1"},
    "EnableNetworkIsolation": True,
}


def test_raw_request_step__model_step_refuses_a_request():
    """ModelStep takes only what ModelBuilder.build()/register() capture (and register()
    uploads code); a CreateModel request as such is refused."""
    with pytest.raises(TypeError, match="ModelBuilder"):
        ModelStep(name="CreateModel", step_args=CREATE_MODEL)


def test_raw_request_step__emits_the_request_with_retries_and_properties():
    create = create_model_step("CreateModel", request=CREATE_MODEL)
    request = create.to_request()
    assert request["Name"] == "CreateModel"
    assert request["Type"] == "Model"
    assert request["Arguments"] == CREATE_MODEL
    assert [p["ExceptionType"] for p in request["RetryPolicies"]] == [
        ["Step.SERVICE_FAULT", "Step.THROTTLING"]
    ]
    assert create.properties.ModelName.expr == {"Get": "Steps.CreateModel.ModelName"}
    register = register_model_step("RegisterApproved", request={"ModelPackageGroupName": "g"})
    assert register.to_request()["Type"] == "RegisterModel"
    assert register.properties.ModelPackageArn.expr == {
        "Get": "Steps.RegisterApproved.ModelPackageArn"
    }


# --- count_parameter_transform_step_class --------------------------------------------


def _transform_args(session: Any, instance_count: Any) -> Any:
    transformer = Transformer(
        model_name=ParameterString(name="ModelName"),  # a step property in the pipelines
        instance_count=instance_count,
        instance_type="ml.m5.xlarge",
        output_path="s3://bucket/out/",
        sagemaker_session=session,
    )
    return transformer.transform(data="s3://bucket/in/", data_type="S3Prefix")


def test_count_parameter_transform_step__the_sdk_refuses_a_parameter_count():
    count = ParameterInteger(name="TransformInstanceCount", default_value=1)
    with sdk_build("us-east-1") as session:
        step = sdk_steps.TransformStep(name="Predict", step_args=_transform_args(session, count))
        with pytest.raises(pydantic.ValidationError, match="instance_count"):
            _ = step.arguments
        # an int is accepted: what the workaround builds with
        plain = sdk_steps.TransformStep(name="Predict", step_args=_transform_args(session, 1))
        assert plain.arguments["TransformResources"]["InstanceCount"] == 1


def test_count_parameter_transform_step__puts_the_parameter_in_the_request():
    count = ParameterInteger(name="TransformInstanceCount", default_value=1)
    model = ParameterString(name="ModelName")
    with sdk_build("us-east-1") as session:
        step = transform_step(
            "Predict",
            session,
            model_name=model,
            instance_type="ml.m5.xlarge",
            instance_count=count,
            data="s3://bucket/in/",
            output_path="s3://bucket/out/",
            cache_expiry="P30D",
        )
        assert step.arguments["TransformResources"]["InstanceCount"] is count
        definition = json.loads(
            pipeline_definition(session, name="p", parameters=[model, count], steps=[step])
        )
    (predict,) = definition["Steps"]
    resources = predict["Arguments"]["TransformResources"]
    assert resources["InstanceCount"] == {"Get": "Parameters.TransformInstanceCount"}
