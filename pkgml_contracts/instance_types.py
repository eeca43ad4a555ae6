"""Which SageMaker instance types the platform's jobs may run on, and why others are refused.

Every job (processing, training, transform) encrypts its volume with the environment's
KMS key (`VolumeKmsKeyId`). SageMaker refuses that setting on instance types with local
instance storage (NVMe: `ml.m5d`, `ml.r5d`, `ml.g4dn`, `ml.g5`, `ml.p4d`, ...), so those
families are never accepted. The images the jobs run decide the processor: the
scikit-learn image is CPU only.

`SIZES` lists, per job and family, the sizes SageMaker offers (from the SageMaker API's
own instance-type enumerations; a test checks every entry against botocore's model).
"""

from __future__ import annotations

import re
from typing import Final

JOBS: Final = ("processing", "training", "transform")
CPU: Final = "cpu"
GPU: Final = "gpu"

TYPE_PATTERN: Final = re.compile(r"ml\.(?P<family>[a-z0-9-]+)\.(?P<size>[a-z0-9]+)")

# Families without local instance storage, by processor.
PROCESSOR: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            *("t3", "m4", "c4", "c5", "c5n", "m5", "r5", "m6i", "c6i", "r6i", "m7i", "c7i"),
            *("r7i", "m7i-flex", "c7i-flex", "m8i", "c8i", "r8i", "m8i-flex", "c8i-flex"),
            "r8i-flex",
        ),
        CPU,
    ),
    **dict.fromkeys(("p2", "p3"), GPU),
}

# Families that come with local instance storage: refused with the volume key.
INSTANCE_STORAGE_FAMILIES: Final = frozenset(
    {
        "m5d", "m5ad", "m5dn", "c5d", "c5ad", "r5d", "r5ad", "r5dn", "m6id", "c6id", "r6id",
        "m6gd", "c6gd", "r6gd", "m7gd", "c7gd", "r7gd", "x1", "x1e", "i3", "i3en", "z1d",
        "g4dn", "g4ad", "g5", "g6", "g6e", "g7e", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en",
        "trn1", "trn1n", "trn2", "inf2", "p6-b200", "p6-b300", "p6e-gb200",
    }
)  # fmt: skip

# Families SageMaker offers whose storage was not verified here: refused until they are.
UNVERIFIED_FAMILIES: Final = frozenset({"g7"})

_COMMON: Final[dict[str, str]] = {
    "c4": "xlarge 2xlarge 4xlarge 8xlarge",
    "c5": "xlarge 2xlarge 4xlarge 9xlarge 18xlarge",
    "c7i": "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 48xlarge",
    "m4": "xlarge 2xlarge 4xlarge 10xlarge 16xlarge",
    "m5": "large xlarge 2xlarge 4xlarge 12xlarge 24xlarge",
    "m6i": "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 32xlarge",
    "m7i": "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 48xlarge",
    "p2": "xlarge 8xlarge 16xlarge",
    "p3": "2xlarge 8xlarge 16xlarge",
    "r7i": "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 48xlarge",
}
_C6I_FROM_XLARGE: Final = "xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 32xlarge"
_GEN8: Final = (
    "xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 32xlarge 48xlarge 96xlarge"
)
_FLEX: Final = "xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge"
# 8th-generation and flex families: processing and training only.
_NEWER: Final[dict[str, str]] = {
    "c7i-flex": _FLEX,
    "c8i": _GEN8,
    "c8i-flex": _FLEX,
    "m7i-flex": "large " + _FLEX,
    "m8i": "large " + _GEN8,
    "m8i-flex": "large " + _FLEX,
    "r8i": "large " + _GEN8,
    "r8i-flex": "large " + _FLEX,
}

SIZES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    job: {family: tuple(sizes.split()) for family, sizes in table.items()}
    for job, table in {
        "processing": {
            **_COMMON,
            **_NEWER,
            "c6i": _C6I_FROM_XLARGE,
            "r5": "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge",
            "t3": "medium large xlarge 2xlarge",
        },
        "training": {
            **_COMMON,
            **_NEWER,
            "c5n": "xlarge 2xlarge 4xlarge 9xlarge 18xlarge",
            "c6i": _C6I_FROM_XLARGE,
            "r5": "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge",
            "t3": "medium large xlarge 2xlarge",
        },
        "transform": {
            **_COMMON,
            "c6i": "large " + _C6I_FROM_XLARGE,
            "r6i": "large xlarge 2xlarge 4xlarge 8xlarge 12xlarge 16xlarge 24xlarge 32xlarge",
        },
    }.items()
}


class InstanceTypeError(ValueError):
    """An instance type a job cannot use; the message names the family and the reason."""


def supported(job: str, processors: tuple[str, ...] = (CPU,)) -> tuple[str, ...]:
    """Every instance type `job` accepts on images for `processors`, sorted."""
    return tuple(
        sorted(
            f"ml.{family}.{size}"
            for family, sizes in SIZES[job].items()
            if PROCESSOR[family] in processors
            for size in sizes
        )
    )


def check_instance_type(value: object, job: str, processors: tuple[str, ...] = (CPU,)) -> str:
    """`value` if `job` can run on it with the KMS volume key and these processors.

    Raises InstanceTypeError naming the family and what to use instead.
    """
    if job not in SIZES:
        raise ValueError(f"unknown job kind {job!r}; one of {', '.join(JOBS)}")
    match = TYPE_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InstanceTypeError(
            f"{value!r} is not a SageMaker instance type; use the form 'ml.<family>.<size>', "
            "e.g. 'ml.m5.xlarge'"
        )
    family, size = match["family"], match["size"]
    families = ", ".join(f"ml.{f}" for f in sorted(SIZES[job]) if PROCESSOR[f] in processors)
    if family in INSTANCE_STORAGE_FAMILIES:
        raise InstanceTypeError(
            f"ml.{family} instances have local instance storage, which SageMaker refuses "
            f"together with the KMS volume key every job uses; for {job} jobs use one of: "
            f"{families}"
        )
    processor = PROCESSOR.get(family)
    if processor is None or family not in SIZES[job]:
        raise InstanceTypeError(
            f"ml.{family} is not an instance family this platform runs {job} jobs on; "
            f"use one of: {families}"
        )
    if processor not in processors:
        raise InstanceTypeError(
            f"ml.{family} is a {processor.upper()} family, but the {job} image runs on "
            f"{'/'.join(p.upper() for p in processors)} only; use one of: {families}"
        )
    if size not in SIZES[job][family]:
        raise InstanceTypeError(
            f"ml.{family} has no size {size!r} for {job} jobs; sizes: "
            f"{', '.join(SIZES[job][family])}"
        )
    return value  # type: ignore[return-value]
