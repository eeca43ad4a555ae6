"""The instance-type allowlist against SageMaker's own API model and the volume-key rule."""

from __future__ import annotations

import botocore.session
import pytest

from pkgml_contracts.instance_types import (
    CPU,
    GPU,
    INSTANCE_STORAGE_FAMILIES,
    JOBS,
    PROCESSOR,
    SIZES,
    UNVERIFIED_FAMILIES,
    InstanceTypeError,
    check_instance_type,
    supported,
)

ENUM_SHAPES = {
    "processing": "ProcessingInstanceType",
    "training": "TrainingInstanceType",
    "transform": "TransformInstanceType",
}


@pytest.fixture(scope="module")
def api_types() -> dict[str, set[str]]:
    """Every instance type SageMaker's API accepts per job (botocore's service model)."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return {job: set(model.shape_for(shape).enum) for job, shape in ENUM_SHAPES.items()}


@pytest.mark.parametrize("job", JOBS)
def test_every_listed_type_exists_in_the_sagemaker_api(api_types, job):
    listed = set(supported(job, (CPU, GPU)))
    assert listed, job
    assert sorted(listed - api_types[job]) == []


@pytest.mark.parametrize("job", JOBS)
def test_no_family_with_instance_storage_is_listed(job):
    assert sorted(set(SIZES[job]) & INSTANCE_STORAGE_FAMILIES) == []


@pytest.mark.parametrize("job", JOBS)
def test_every_api_family_is_classified(api_types, job):
    """A family SageMaker adds must be decided on (listed, or known to have local storage)."""
    families = {t.split(".")[1] for t in api_types[job]}
    unknown = families - set(PROCESSOR) - INSTANCE_STORAGE_FAMILIES - UNVERIFIED_FAMILIES
    assert sorted(unknown) == [], "classify these families in pkgml_contracts/instance_types.py"


@pytest.mark.parametrize(
    ("value", "job", "words"),
    [
        ("ml.m5d.xlarge", "training", ["ml.m5d", "local instance storage"]),
        ("ml.c5d.2xlarge", "processing", ["ml.c5d", "local instance storage"]),
        ("ml.g4dn.xlarge", "transform", ["ml.g4dn", "local instance storage"]),
        ("ml.p3.2xlarge", "training", ["ml.p3", "GPU", "CPU only"]),
        ("ml.m5.3xlarge", "training", ["ml.m5", "3xlarge", "12xlarge"]),
        ("ml.r6i.large", "training", ["ml.r6i", "training"]),
        ("m5.xlarge", "training", ["ml.<family>.<size>"]),
        (5, "transform", ["not a SageMaker instance type"]),
    ],
)
def test_refusals_name_the_family_and_the_reason(value, job, words):
    with pytest.raises(InstanceTypeError) as caught:
        check_instance_type(value, job)
    for word in words:
        assert word in str(caught.value)


def test_gpu_families_are_accepted_where_the_image_has_gpus():
    assert check_instance_type("ml.p3.2xlarge", "training", (CPU, GPU)) == "ml.p3.2xlarge"


@pytest.mark.parametrize("job", JOBS)
def test_the_default_type_is_accepted_for_every_job(job):
    assert check_instance_type("ml.m5.xlarge", job) == "ml.m5.xlarge"


def test_an_unknown_job_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown job kind"):
        check_instance_type("ml.m5.xlarge", "serving")
