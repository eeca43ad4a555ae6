"""Stand-ins for deploy-time values in a pipeline definition, and the S3 locations built on them.

The CDK side builds a pipeline definition offline, then replaces every `Placeholders` value
in the returned JSON text with the matching CDK token (`stacks/components/
sagemaker_pipeline.py`). Placeholders therefore stand for exactly the values that are tokens
at synth time; each is a whole string, none is a substring of another, and none names a
real region or account, so a plain string replace is safe.

Step code: each entry script ships in its own content-addressed folder
`s3://<artifacts>/code/<code hash>/` (the script and the sibling modules it imports); the
definition names it by `code_placeholder(script)`. The code's S3 URI is part of each step's
cache key, so a redeploy with unchanged code keeps the cache and changed code misses it.

Standard library only; importing this module has no side effects.
"""

from __future__ import annotations

import re
from typing import Final

from pkgml_contracts.architectures import Architecture
from pkgml_contracts.names import pipeline_outputs_prefix

# Bundle names of architecture code (stacks/components/step_code.py builds them).
ARCHITECTURE_BUNDLE_PREFIX: Final = "arch-"


class Placeholders:
    """Stand-ins for values that are CDK tokens at synth time; the CDK replaces each whole string.

    Region-neutral: the KMS key and Lambda ARNs carry `pkgml-placeholder-region`, not a real
    region, so one replacement table works for a definition built for any region.
    """

    ROLE_ARN: Final = "arn:aws:iam::000000000000:role/pkgml-placeholder-execution-role"
    ARTIFACTS_BUCKET: Final = "pkgml-placeholder-artifacts-bucket"
    DATA_BUCKET: Final = "pkgml-placeholder-data-bucket"
    KMS_KEY_ARN: Final = (
        "arn:aws:kms:pkgml-placeholder-region:000000000000:key/00000000-0000-0000-0000-000000000000"
    )
    RESOLVE_FUNCTION_ARN: Final = (
        "arn:aws:lambda:pkgml-placeholder-region:000000000000:function:pkgml-placeholder-resolve"
    )
    CODE_PREFIX: Final = "pkgml-placeholder-code-hash"
    REDSHIFT_ROLE_ARN: Final = "arn:aws:iam::000000000000:role/pkgml-placeholder-redshift-role"


def placeholder_values() -> dict[str, str]:
    """{constant name: placeholder string} for every placeholder, e.g. {'ROLE_ARN': 'arn:...'}."""
    return {
        name: value
        for name, value in vars(Placeholders).items()
        if name.isupper() and isinstance(value, str)
    }


def code_placeholder(script: str) -> str:
    """Placeholder of one script's code bundle, e.g. 'pkgml-placeholder-code-hash-split'.

    Each entry script ships in its own content-addressed folder holding the script and
    the sibling modules it imports, so a code change invalidates exactly the steps whose
    code changed (the step cache key includes the code's S3 URI).
    """
    stem = script.removesuffix(".py")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", stem):
        raise ValueError(f"script must be a Python file name or a bundle name, got {script!r}")
    return f"{Placeholders.CODE_PREFIX}-{stem}"


def code_prefix_uri(script: str) -> str:
    """S3 URI of `script`'s code bundle folder (ends with '/')."""
    return f"s3://{Placeholders.ARTIFACTS_BUCKET}/code/{code_placeholder(script)}/"


def architecture_code_uri(architecture: Architecture) -> str:
    """S3 URI of an architecture's code bundle folder (its programs and the steps they use)."""
    return code_prefix_uri(f"{ARCHITECTURE_BUNDLE_PREFIX}{architecture.name}")


def code_uri(script: str) -> str:
    """S3 URI of one step script, e.g. code_uri('split.py')."""
    return code_prefix_uri(script) + script


def pipeline_output_root(pipeline_name: str) -> str:
    """s3://<artifacts>/pipelines/<pipeline name> (no trailing slash; RunId follows)."""
    return f"s3://{Placeholders.ARTIFACTS_BUCKET}/{pipeline_outputs_prefix(pipeline_name)}"
