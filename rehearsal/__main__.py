"""`python -m rehearsal`: run the rehearsal scenario; exit 1 if any expectation fails.

python -m rehearsal                                  # package type mailer, architecture hgb
python -m rehearsal --architecture multimodal        # another architecture's training pipeline
python -m rehearsal --all-architectures              # the scenario once per architecture
python -m rehearsal --cross-architecture             # hgb champion, multimodal challenger
                                                     # approved, degraded hgb rejected, then
                                                     # the same-data gate both ways
python -m rehearsal --cross-architecture hgb,xgboost[,multimodal]   # A,B[,C]
python -m rehearsal --package-type box               # another type of cdk.json's package_types
python -m rehearsal --all                            # every type of cdk.json's package_types
python -m rehearsal --faithful                       # every step in its image's packages
python -m rehearsal --workdir /tmp/r --keep          # keep the local S3, registry, DuckDB, logs
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
from pathlib import Path

from rehearsal.plan import (
    CONFIGURED_ARCHITECTURE,
    DEFAULT_CROSS,
    ScenarioConfig,
    check_config,
    configured_package_types,
)
from rehearsal.scenario import ScenarioResult, run_scenario
from rehearsal.setup import prepare_workdir


def _architecture_list(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not 2 <= len(names) <= 3:
        raise argparse.ArgumentTypeError(f"{text!r}: give A,B or A,B,C")
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags (see the module doc)."""
    from pipeline_defs.architectures import architectures

    known = sorted(architectures())
    parser = argparse.ArgumentParser(
        prog="python -m rehearsal",
        description="Run the synthesized training and inference pipelines locally, offline.",
    )
    which = parser.add_mutually_exclusive_group()
    types = configured_package_types()
    which.add_argument(
        "--package-type",
        default=types[0],
        choices=types,
        help=f"one of cdk.json's package_types (default {types[0]}); a type added there "
        "gets generated data with a rule of its own",
    )
    which.add_argument("--all", action="store_true", help="every type of cdk.json's package_types")
    model = parser.add_mutually_exclusive_group()
    model.add_argument(
        "--architecture",
        choices=known,
        help=f"the architecture both training weeks use (default {CONFIGURED_ARCHITECTURE})",
    )
    model.add_argument(
        "--all-architectures",
        action="store_true",
        help="run the scenario once per architecture, each in its own local world",
    )
    model.add_argument(
        "--cross-architecture",
        nargs="?",
        const=DEFAULT_CROSS,
        type=_architecture_list,
        metavar="A,B[,C]",
        help=(
            "week 1 A approved, week 2 B approved over it (inference follows B), week 3 C "
            "(default A) on degraded data rejected, week 4 B on harder data approved on "
            "the same rows (the stored comparison would reject), week 5 a weak B on easy "
            "data rejected on the same rows (the stored comparison would approve); "
            f"default {','.join(DEFAULT_CROSS)}"
        ),
    )
    parser.add_argument(
        "--faithful",
        action="store_true",
        help=(
            "run every step in its SageMaker image's own Python and packages (venvs built "
            "from containers/images/*.txt, cached), with no network (needs root for the "
            "sandbox)"
        ),
    )
    parser.add_argument("--workdir", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards")
    parser.add_argument(
        "--reports",
        type=Path,
        default=Path("reports/rehearsal"),
        help="where each training run's model report is copied (default reports/rehearsal/)",
    )
    parser.add_argument("--rows", type=int, default=3_000, help="products per training week")
    parser.add_argument(
        "--inference-rows", type=int, default=2_000, help="products per inference day"
    )
    parser.add_argument(
        "--instance-count",
        type=int,
        default=2,
        help="TrainingInstanceCount of a distributed architecture (emulated hosts; default 2)",
    )
    return parser.parse_args(argv)


def configs(args: argparse.Namespace, workdir: Path) -> list[tuple[str, ScenarioConfig]]:
    """(label, config) of every scenario the flags ask for (checked)."""
    from pipeline_defs.architectures import architectures

    base = ScenarioConfig(
        workdir=workdir,
        package_types=configured_package_types() if args.all else (args.package_type,),
        architecture=args.architecture or CONFIGURED_ARCHITECTURE,
        cross_architectures=tuple(args.cross_architecture or ()),
        training_rows=args.rows,
        inference_rows=args.inference_rows,
        training_instance_count=args.instance_count,
        faithful=args.faithful,
        progress=True,
    )
    if args.all_architectures:
        made = [
            (name, dataclasses.replace(base, architecture=name, workdir=workdir / name))
            for name in sorted(architectures())
        ]
    else:
        label = ",".join(base.cross_architectures) or base.architecture
        made = [(label, base)]
    for _, config in made:
        check_config(config)
    return made


def copy_reports(reports: list[Path], destination: Path) -> list[Path]:
    """Copy each report folder (report.html, charts/) to <destination>/<pipeline>/<run id>/
    (the run ids repeat across package types); the copies' report.html paths. A report is
    at .../<pipeline>/<run id>/Compare/decision/report.html."""
    copies = []
    for page in reports:
        target = destination / page.parents[3].name / page.parents[2].name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(page.parent, target)
        copies.append(target / page.name)
    return copies


def main(argv: list[str] | None = None) -> int:
    """Run the scenario(s); 0 when every expectation held, 2 for unusable flags."""
    args = parse_args(argv)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    try:
        configs(args, Path("unused"))
    except ValueError as error:
        print(f"python -m rehearsal: {error}", file=sys.stderr)
        return 2
    workdir = prepare_workdir(args.workdir or Path(tempfile.mkdtemp(prefix="rehearsal-")))
    results: list[tuple[str, ScenarioResult]] = []
    try:
        for label, config in configs(args, workdir):
            config.workdir.mkdir(parents=True, exist_ok=True)
            result = run_scenario(config)
            results.append((label, result))
            kept = copy_reports(result.reports, args.reports / label.replace(",", "-"))
            if kept:
                print(f"\nModel reports (open in a browser): {', '.join(map(str, kept))}")
    finally:
        if args.keep:
            print(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if len(results) > 1:
        print("\nEvery architecture")
        for label, result in results:
            passed = sum(e.ok for e in result.expectations)
            print(
                f"  [{'ok' if result.ok else 'FAILED'}] {label}: {passed}/"
                f"{len(result.expectations)} expectations held in {result.seconds:.1f} s"
            )
    return 0 if results and all(result.ok for _, result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
