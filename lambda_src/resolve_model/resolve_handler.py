"""Pipeline Lambda step: the latest *Approved* model package of a registry group.

Event (from the inference pipeline's Resolve step): {"model_package_group": "<name>"}.
Returns {"model_package_arn", "model_package_version", "approved_at", "architecture",
"with_text", "image", "baseline_s3_uri", "score_baseline_s3_uri"} (the champion's training
feature statistics and validation scores, the drift baselines, or "none" for a package
without them; with_text "true"
when the champion's architecture reads the text column, from the package's
`architecture_inputs` metadata: Prepare then writes it; image: the champion's serving
image). Rejected and pending versions are ignored, so a rejected challenger never serves;
no approved version raises `NoApprovedModelError` naming the group, which fails the step
(and therefore the run) before anything is predicted or loaded.

The training pipeline's ResolveChampion step adds `"allow_none": "true"` and
`"fallback_image": "<uri>"`: there, no champion (the first model) is an answer:
model_package_arn and architecture "none", with_text "false", image the fallback (the
processing image ScoreChampion then runs in to record that there is no champion).

The query is `pkgml_contracts.registry.latest_approved` (newest Approved *Versioned*
package), the one the gate (compare.py) and the ops CLI use for the champion; the package
folder ships in this function's asset.

Environment: ALLOWED_GROUPS (JSON list): the only groups this function may resolve.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

import boto3

from pkgml_contracts import registry

LOGGER = logging.getLogger()
LOGGER.setLevel(logging.INFO)

_GROUP = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


NO_CHAMPION = "none"


class NoApprovedModelError(RuntimeError):
    """The group has no Approved version: nothing may be scored."""


class BadRequestError(ValueError):
    """The event does not name an allowed model package group."""


def _allowed_groups() -> frozenset[str]:
    raw = os.environ.get("ALLOWED_GROUPS", "[]")
    try:
        groups = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"ALLOWED_GROUPS is not a JSON list: {exc}") from exc
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise RuntimeError("ALLOWED_GROUPS must be a JSON list of group names")
    return frozenset(groups)


ALLOWED_GROUPS = _allowed_groups()
SAGEMAKER = boto3.client("sagemaker")


def latest_approved(
    client: Any, group: str, *, fallback_image: str | None = None
) -> dict[str, Any]:
    """The champion (newest Approved version) of `group`; with no Approved version,
    NoApprovedModelError, or the "none" answer when a fallback_image is given."""
    latest = registry.latest_approved(client, group)
    if latest is None and fallback_image is not None:
        return {
            "model_package_arn": NO_CHAMPION,
            "model_package_version": "",
            "approved_at": "",
            "architecture": NO_CHAMPION,
            "with_text": "false",
            "image": fallback_image,
            "baseline_s3_uri": NO_CHAMPION,
            "score_baseline_s3_uri": NO_CHAMPION,
        }
    if latest is None:
        raise NoApprovedModelError(
            f"model package group {group!r} has no Approved version: train and approve a "
            "model (or approve an existing version) before running inference"
        )
    described = client.describe_model_package(ModelPackageName=latest["ModelPackageArn"])
    metadata = described.get("CustomerMetadataProperties") or {}
    inputs = str(metadata.get("architecture_inputs", "tabular")).split(",")
    containers = (described.get("InferenceSpecification") or {}).get("Containers") or [{}]
    return {
        "model_package_arn": latest["ModelPackageArn"],
        "model_package_version": str(latest.get("ModelPackageVersion", "")),
        "approved_at": str(latest.get("CreationTime", "")),
        # the champion's architecture; packages from before architectures were recorded
        # are the tabular-only hgb model
        "architecture": str(metadata.get("architecture", "hgb")),
        "with_text": "true" if "text" in inputs else "false",
        "image": str(containers[0].get("Image", "")),
        # the training data's feature statistics (inference measures drift against them);
        # packages from before baselines were recorded have none
        "baseline_s3_uri": _s3_uri_or_none(metadata.get("baseline_s3_uri")),
        "score_baseline_s3_uri": _s3_uri_or_none(metadata.get("score_baseline_s3_uri")),
    }


def _s3_uri_or_none(value: Any) -> str:
    """`value` when it is an s3:// URI, else "none" (nothing to compare with)."""
    return value if isinstance(value, str) and value.startswith("s3://") else NO_CHAMPION


def parse_group(event: Any, allowed: frozenset[str]) -> str:
    """The group the event names, if it is one this function serves."""
    group = event.get("model_package_group") if isinstance(event, dict) else None
    if not isinstance(group, str) or not _GROUP.fullmatch(group):
        raise BadRequestError(f"event needs a model_package_group name, got {group!r}")
    if group not in allowed:
        raise BadRequestError(
            f"model package group {group!r} is not one of this environment's groups"
        )
    return group


def parse_fallback(event: Any) -> str | None:
    """The fallback image when the event allows no champion (training), else None."""
    allow = event.get("allow_none", "false") if isinstance(event, dict) else "false"
    if allow not in ("true", "false"):
        raise BadRequestError(f"allow_none must be 'true' or 'false', got {allow!r}")
    if allow == "false":
        return None
    image = event.get("fallback_image")
    if not isinstance(image, str) or not image:
        raise BadRequestError("allow_none needs a fallback_image (the image to score in)")
    return image


def handler(event: Any, _context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    group = parse_group(event, ALLOWED_GROUPS)
    result = latest_approved(SAGEMAKER, group, fallback_image=parse_fallback(event))
    LOGGER.info(json.dumps({"event": "resolved", "group": group, **result}))
    return result
