#!/usr/bin/env python3
"""CDK entry point: read the configuration, build one stage per environment, synthesize."""

from __future__ import annotations

import json
import os
import sys

from stacks.settings import ConfigError, cdk_json_context, load_settings


def _start_definitions() -> None:
    """Start building missing pipeline definitions before aws_cdk is imported, from the
    context the App will read (the CDK CLI's, else cdk.json); `build_app` asks again and
    finds them started."""
    from stacks.pipeline_plan import start_definitions

    given = os.environ.get("CDK_CONTEXT_JSON")
    start_definitions(load_settings(json.loads(given) if given else cdk_json_context()))


def main() -> int:
    """Synthesize; a configuration error prints one clear message and exits 1."""
    try:
        _start_definitions()
        from stacks.app_factory import build_app

        # CloudFormation's built-in synth-time validation (3-4 s) checks less than the
        # cfn-lint run of `make test`, which the delivery pipeline runs before every
        # synth; PKGML_CFN_VALIDATION=1 turns it on. cdk-nag always runs.
        app, _, _ = build_app(validation=os.environ.get("PKGML_CFN_VALIDATION") == "1")
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
