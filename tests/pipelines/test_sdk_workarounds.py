"""`sdk_build`'s speed-ups lean on SageMaker SDK internals: each is checked against the
pinned SDK, so an upgrade shows which still apply (the golden definitions prove the
output unchanged)."""

from __future__ import annotations

import inspect

import botocore.loaders
import botocore.session
from sagemaker.core import common_utils
from sagemaker.mlops.workflow import steps as sdk_steps

from pipeline_defs.common import sdk_build


def test_step_classes_build_a_local_mode_client_only_for_a_method_name():
    """Why the name-only client is safe: the steps read `.__name__` and nothing else."""
    processing = inspect.getsource(sdk_steps.ProcessingStep.__init__)
    transform = inspect.getsource(sdk_steps.TransformStep.__init__)
    assert "LocalSagemakerClient().create_processing_job.__name__" in processing
    assert "LocalSagemakerClient().create_transform_job.__name__" in transform


def test_the_name_only_client_has_the_names_and_no_session():
    original = sdk_steps.LocalSagemakerClient
    with sdk_build("us-east-1"):
        client = sdk_steps.LocalSagemakerClient()
        assert isinstance(client, original)
        assert client.create_processing_job.__name__ == "create_processing_job"
        assert client.create_transform_job.__name__ == "create_transform_job"
        assert not hasattr(client, "sagemaker_session")  # no session was made
    assert sdk_steps.LocalSagemakerClient is original  # restored


def test_image_lookups_create_their_own_loader():
    """Why `botocore.loaders.create_loader` is shared too: the SDK's endpoint resolver
    makes a loader per call and parses the endpoints file again."""
    assert "botocore.loaders.create_loader()" in inspect.getsource(common_utils._botocore_resolver)


def test_loaders_are_shared_during_a_build_and_restored_after():
    module_create = botocore.loaders.create_loader
    session_create = botocore.session.create_loader
    with sdk_build("us-east-1"):
        assert botocore.loaders.create_loader() is botocore.loaders.create_loader()
        assert botocore.session.create_loader() is botocore.session.create_loader()
        resolver = common_utils._botocore_resolver()
        assert resolver.construct_endpoint("ecr", "eu-west-1")["hostname"].endswith("amazonaws.com")
    assert botocore.loaders.create_loader is module_create
    assert botocore.session.create_loader is session_create
    assert botocore.loaders.create_loader() is not botocore.loaders.create_loader()
