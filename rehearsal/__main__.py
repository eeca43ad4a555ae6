"""`python -m rehearsal`: run the rehearsal scenario; exit 1 if any expectation fails.

python -m rehearsal                        # package type mailer, temporary folder
python -m rehearsal --package-type box     # another configured type
python -m rehearsal --all                  # mailer, bag, box and sioc
python -m rehearsal --workdir /tmp/r --keep  # keep the local S3, registry, DuckDB, logs
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from rehearsal.scenario import ALL_PACKAGE_TYPES, ScenarioConfig, prepare_workdir, run_scenario


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags (see the module doc)."""
    parser = argparse.ArgumentParser(
        prog="python -m rehearsal",
        description="Run the synthesized training and inference pipelines locally, offline.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--package-type", default="mailer", choices=ALL_PACKAGE_TYPES)
    which.add_argument("--all", action="store_true", help="every package type")
    parser.add_argument("--workdir", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards")
    parser.add_argument("--rows", type=int, default=3_000, help="products per training week")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the scenario; 0 when every expectation held."""
    args = parse_args(argv)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    workdir = prepare_workdir(args.workdir or Path(tempfile.mkdtemp(prefix="rehearsal-")))
    package_types = ALL_PACKAGE_TYPES if args.all else (args.package_type,)
    try:
        result = run_scenario(
            ScenarioConfig(workdir=workdir, package_types=package_types, training_rows=args.rows)
        )
    finally:
        if args.keep:
            print(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
