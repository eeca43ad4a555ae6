"""The one query for "the model in production": the newest Approved version of a group.

Used by the Resolve step (inference), the Compare step (the gate's champion) and the ops
CLI, so they can never disagree on which version is the champion. Versioned packages
only: `ListModelPackages` lists unversioned packages when `ModelPackageType` is absent.
"""

from __future__ import annotations

from typing import Any


def latest_approved_request(group: str) -> dict[str, Any]:
    """ListModelPackages arguments whose first result is the group's champion."""
    return {
        "ModelPackageGroupName": group,
        "ModelApprovalStatus": "Approved",
        "ModelPackageType": "Versioned",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 1,
    }


def latest_approved(sagemaker: Any, group: str) -> dict[str, Any] | None:
    """The champion's ModelPackageSummary (newest Approved version of `group`), or None."""
    response = sagemaker.list_model_packages(**latest_approved_request(group))
    summaries = response.get("ModelPackageSummaryList") or []
    return dict(summaries[0]) if summaries else None
