"""PackageModel step: a built-in algorithm's model.tar.gz + the serving code -> model.tar.gz.

Runs as `python3 package_model.py` in a SageMaker Processing job, after the Train step of
a built-in architecture that declares a serving program (architecture.json "serving").

Why: a built-in training job writes only its own files (XGBoost: `xgboost-model`) into
model.tar.gz, but the serving container runs the program from SAGEMAKER_SUBMIT_DIRECTORY,
which must be a local folder: the models run with network isolation, so the container
cannot download a source tarball from S3 at start-up. SageMaker extracts model.tar.gz to
/opt/ml/model, so the code goes into the archive as `code/` and the model's environment
names /opt/ml/model/code, the same layout a script-mode architecture's training writes.

Inputs:
- `--model-dir`: the Train step's artifact folder, holding exactly one `model.tar.gz`.
- `--code-dir`: the architecture's code bundle (flat: its programs, its declaration and
  the step modules they import); `--program` (the serving program) must be in it.

Output: `--output-dir`/model.tar.gz: every member of the trained archive unchanged (the
archive is streamed, never extracted), then `code/` with every file of the code bundle.
A trained archive that already has a `code/` entry is refused, never merged.
"""

from __future__ import annotations

import argparse
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

ARCHIVE = "model.tar.gz"
CODE_FOLDER = "code"


def _top_folder(name: str) -> str:
    """First path part of an archive member name ('./code/x.py' -> 'code')."""
    parts = [p for p in PurePosixPath(name).parts if p not in (".", "/")]
    return parts[0] if parts else ""


def code_files(code_dir: Path) -> list[Path]:
    """The code bundle's files, by name (hidden files and caches left out)."""
    if not code_dir.is_dir():
        raise FileNotFoundError(f"code folder {code_dir} does not exist")
    files = sorted(
        p
        for p in code_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix != ".pyc"
    )
    if not files:
        raise FileNotFoundError(f"code folder {code_dir} is empty")
    return files


def package(model_dir: Path, code_dir: Path, program: str, output_dir: Path) -> dict[str, Any]:
    """Write `output_dir`/model.tar.gz (see the module docstring); a summary of what it holds."""
    archives = sorted(p for p in model_dir.rglob("*") if p.is_file())
    if [p.name for p in archives] != [ARCHIVE]:
        raise FileNotFoundError(
            f"expected exactly one {ARCHIVE} in {model_dir} (the Train step's artifact), "
            f"found {[str(p.relative_to(model_dir)) for p in archives]}"
        )
    files = code_files(code_dir)
    if program not in {p.name for p in files}:
        raise FileNotFoundError(
            f"serving program {program} is not in the code bundle {code_dir} "
            f"({', '.join(p.name for p in files)})"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / ARCHIVE
    model_members: list[str] = []
    with tarfile.open(archives[0], "r:gz") as source, tarfile.open(target, "w:gz") as out:
        for member in source:
            if _top_folder(member.name) == CODE_FOLDER:
                raise ValueError(
                    f"the trained {ARCHIVE} already has {member.name!r}: refusing to mix "
                    "its code with the architecture's serving code"
                )
            content = source.extractfile(member) if member.isfile() else None
            out.addfile(member, content)
            if member.isfile():
                model_members.append(member.name)
        if not model_members:
            raise ValueError(f"the trained {ARCHIVE} holds no file")
        folder = tarfile.TarInfo(CODE_FOLDER)
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        folder.mtime = max(int(p.stat().st_mtime) for p in files)
        out.addfile(folder)
        for path in files:
            info = out.gettarinfo(str(path), arcname=f"{CODE_FOLDER}/{path.name}")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o644
            with path.open("rb") as handle:
                out.addfile(info, handle)
    return {
        "archive": str(target),
        "model_files": model_members,
        "code_files": [f"{CODE_FOLDER}/{p.name}" for p in files],
        "program": program,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Arguments; paths default to the SageMaker Processing container paths."""
    parser = argparse.ArgumentParser(description="Add the serving code to a trained model.")
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/processing/input/model"))
    parser.add_argument(
        "--code-dir", type=Path, default=Path("/opt/ml/processing/input/serving_code")
    )
    parser.add_argument("--program", required=True, help="the serving program, e.g. serve.py")
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output/model"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point: package, then print the summary."""
    args = parse_args(argv)
    print(json.dumps(package(args.model_dir, args.code_dir, args.program, args.output_dir)))


if __name__ == "__main__":
    main()
