"""What every job-like step emulator uses: the step's program as a subprocess (through
`_launch.py`, with local AWS clients), S3 downloads, container paths mapped into the
step's work folder, job names and ARNs, and the checks of features that are not emulated.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pkgml_contracts import exit_message
from rehearsal.executor.errors import StepError, UnsupportedError
from rehearsal.executor.records import StepRecord
from rehearsal.executor.world import LocalAws
from rehearsal.localaws import ACCOUNT_ID

LAUNCHER = Path(__file__).resolve().parent.parent / "_launch.py"
CONTAINER_ROOT = "/opt/ml"
EXIT_MESSAGE_FILE = exit_message.FILE
_DROPPED_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "PYTHONPATH",
)


@dataclass(frozen=True)
class JobRunner:
    """Runs step programs against one local world. `interpreter`: the command that runs
    Python for a step's image URI (None: `python` for every image)."""

    aws: LocalAws
    python: str
    interpreter: Callable[[str], Sequence[str]] | None
    max_step_seconds: int

    def arn(self, kind: str, name: str) -> str:
        """The ARN of a SageMaker resource of this world's region and account."""
        return f"arn:aws:sagemaker:{self.aws.region}:{ACCOUNT_ID}:{kind}/{name.lower()}"

    def download(self, uri: Any, destination: Path) -> list[Path]:
        """Copy every object under an S3 prefix into `destination`; the files written."""
        if not isinstance(uri, str):
            raise StepError(f"input URI {uri!r} is not a string")
        try:
            return self.aws.s3.download_prefix(uri, destination)
        except ValueError as error:
            raise StepError(str(error)) from error
        except Exception as error:
            raise StepError(f"cannot read {uri}: {error}") from error

    def python_command(self, image: Any) -> list[str]:
        """The command that runs Python in a step whose container image is `image`."""
        if self.interpreter is None:
            return [self.python]
        return list(self.interpreter(str(image)))

    def timeout(self, args: Mapping[str, Any]) -> Any:
        """The job's StoppingCondition.MaxRuntimeInSeconds, else the executor's limit."""
        return args.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", self.max_step_seconds)

    def run(
        self,
        record: StepRecord,
        command: list[str],
        environment: dict[str, str],
        cwd: Path,
        timeout: Any,
    ) -> None:
        """Run a step program; StepError with the last error line when it fails.

        Programs write only under the step's work folder when every container path they use
        arrives as an argument or variable. A program that writes to a default /opt/ml/...
        path nobody mapped would create /opt/ml on this machine: the executor then removes
        it (only if it did not exist before) and records a warning, since SageMaker would
        silently drop such files (they are in no ProcessingOutput).
        """
        name = record.name
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_VARIABLES}
        env.update(
            {
                "AWS_DEFAULT_REGION": self.aws.region,
                "AWS_REGION": self.aws.region,
                "AWS_ACCESS_KEY_ID": "rehearsal",
                "AWS_SECRET_ACCESS_KEY": "rehearsal",
                "AWS_EC2_METADATA_DISABLED": "true",
                # Any boto3 route the launcher did not replace hits a closed local port.
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
                "PYTHONDONTWRITEBYTECODE": "1",
                **self.aws.environment(),
                **environment,
            }
        )
        logs = cwd if cwd.name != "code" else cwd.parents[2]
        tmp = logs / "tmp"
        tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = str(tmp)
        host_root = Path(CONTAINER_ROOT)
        host_root_existed = host_root.exists()
        with (logs / "stdout.log").open("w") as out, (logs / "stderr.log").open("w") as err:
            try:
                completed = subprocess.run(  # noqa: S603 - our interpreter, our launcher
                    command,
                    cwd=cwd,
                    env=env,
                    stdout=out,
                    stderr=err,
                    timeout=min(int(timeout), self.max_step_seconds),
                    check=False,
                )
            except subprocess.TimeoutExpired as error:
                raise StepError(
                    f"step {name!r} exceeded its {error.timeout} s runtime limit"
                ) from error
            finally:
                if not host_root_existed and host_root.exists():
                    record.warnings.append(_strays(host_root))
        if completed.returncode != 0:
            tail = [line for line in (logs / "stderr.log").read_text().splitlines() if line.strip()]
            reason = tail[-1] if tail else "(no error output)"
            raise StepError(
                f"AlgorithmError: {reason} (exit code {completed.returncode}; "
                f"log {logs / 'stderr.log'})"
            )


def job_name(execution_id: str, step: str) -> str:
    """The name SageMaker Pipelines gives a step's job (or model): at most 63 characters."""
    return f"pipelines-{execution_id}-{step}"[:63]


def map_path(value: str, work: Path) -> str:
    """Container paths (/opt/ml/...) inside a string -> the step's work folder."""
    if CONTAINER_ROOT not in value:
        return value
    return re.sub(r"(?<![\w/])/opt/ml(?=/|$|\b)", f"{work}/opt/ml", value)


def single_instance(step: str, count: Any) -> None:
    """UnsupportedError unless the job asks for one instance."""
    if int(count) != 1:
        raise UnsupportedError(
            f"step {step!r}: InstanceCount {count} is not emulated (one local process only)"
        )


def check_input(step: str, name: Any, data_type: Any, mode: Any, compression: Any) -> None:
    """UnsupportedError for an input that is not an uncompressed S3Prefix in File mode."""
    if data_type not in (None, "S3Prefix"):
        raise UnsupportedError(
            f"step {step!r}: input {name!r} S3DataType {data_type!r} (S3Prefix only)"
        )
    if mode not in (None, "File", "FastFile"):
        raise UnsupportedError(f"step {step!r}: input {name!r} mode {mode!r} (File only)")
    if compression not in (None, "None"):
        raise UnsupportedError(f"step {step!r}: input {name!r} compression {compression!r}")


def extract(tarball: Path, destination: Path) -> None:
    """Unpack a .tar.gz into `destination` (the `data` filter: nothing outside it)."""
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(destination, filter="data")


def _strays(root: Path) -> str:
    """Describe and remove files a program wrote under a host /opt/ml it created."""
    files = sorted(p.as_posix() for p in root.rglob("*") if p.is_file())
    dirs = sorted(p.as_posix() for p in root.rglob("*") if p.is_dir())
    shutil.rmtree(root, ignore_errors=True)
    written = files or dirs
    return (
        f"wrote outside the mapped container paths (SageMaker would drop these; removed "
        f"locally): {', '.join(written[:4])}{' ...' if len(written) > 4 else ''}"
    )
