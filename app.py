#!/usr/bin/env python3
"""CDK entry point: read the configuration, build one stage per environment, synthesize."""

from __future__ import annotations

import sys

from stacks.app_factory import build_app
from stacks.settings import ConfigError


def main() -> int:
    """Synthesize; a configuration error prints one clear message and exits 1."""
    try:
        app, _, _ = build_app()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
