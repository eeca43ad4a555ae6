"""Training jobs and model servers run by the images' own toolkits, offline (host side).

`Container(image)` holds an image-faithful venv (`images.venv`) and runs, in the sandbox
(`sandbox.wrap`: no network, its own /opt/ml, the venv overlaid so nothing sticks):

- `train(arguments, channels, work)`: one Training step as SageMaker runs it. From the
  step's rendered arguments: /opt/ml/input/config/hyperparameters.json (the values as
  strings, as the service writes them), inputdataconfig.json (each channel's content
  type, input mode, distribution), resourceconfig.json (one host, algo-1); each channel's
  files copied under /opt/ml/input/data/<name>; the step's Environment on top of the
  image's. Then the image's `train` executable (the toolkit reads SAGEMAKER_TRAINING_MODULE)
  and, as the service does, the model directory tarred into model.tar.gz. A job that
  wrote /opt/ml/output/failure failed, whatever its exit code (the toolkit can exit 0).
- `serve(model_tar, environment, requests, work)`: model.tar.gz extracted at
  /opt/ml/model, the model's Environment (CreateModel / the model package) on top of the
  image's, the image's `serve` started (sagemaker-containers: copy
  SAGEMAKER_SUBMIT_DIRECTORY to /opt/ml/code, `pip install .`, gunicorn with gevent
  workers), and the requests sent over HTTP by `client.py` in the same sandbox.

What differs from the service: nginx is not run in front of gunicorn
(SAGEMAKER_USE_NGINX=false, so gunicorn listens on port 8080 itself); the images' own
packages are shims (containers/shims); one training host.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from containers import images, sandbox

CLIENT = Path(__file__).resolve().parent / "client.py"
STANDIN_PATH_VARIABLE = "REHEARSAL_STANDIN_PATH"  # rehearsal/redshift_data.py reads it
# Libraries of the rehearsal's stand-ins for AWS (not the image's), pinned as for the
# rehearsal itself.
STANDIN_LIBRARIES = ("duckdb",)
PORT = 8080


class ContainerError(AssertionError):
    """A job or a server in an image failed; the message carries its output."""


@dataclass(frozen=True)
class Request:
    body: str
    content_type: str = "text/csv"
    accept: str | None = "text/csv"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


class Container:
    """One image's venv, and the jobs and servers it runs."""

    def __init__(self, image: images.Image, *, python: Path | None = None) -> None:
        self.image = image
        self.python = python or images.venv(image)
        self.venv = self.python.parent.parent

    def environment(self, *layers: Mapping[str, str], home: Path) -> dict[str, str]:
        """A container's variables: the image's, then each layer; nothing of this
        machine's but a PATH to the venv and the system tools (no pip configuration:
        PIP_CONFIG_FILE=/dev/null, as an image has none)."""
        env = {
            "PATH": f"{self.venv / 'bin'}{os.pathsep}/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(home),
            "PIP_CONFIG_FILE": os.devnull,
            "PYTHONPATH": str(images.SHIMS_DIR),
            **self.image.environment,
        }
        for layer in layers:
            env.update(layer)
        return env

    def run(
        self,
        command: Sequence[str],
        *,
        opt_ml: Path,
        env: Mapping[str, str],
        scratch: Path,
        cwd: Path,
        timeout: int = 900,
    ) -> subprocess.CompletedProcess[str]:
        scratch.mkdir(parents=True, exist_ok=True)
        wrapped = sandbox.wrap(command, opt_ml=opt_ml, writable=[self.venv], scratch=scratch)
        return subprocess.run(  # noqa: S603 (our sandbox, the image's executables)
            wrapped,
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )

    # --- training -----------------------------------------------------------------------

    def train(
        self,
        arguments: Mapping[str, Any],
        channels: Mapping[str, Path],
        work: Path,
        *,
        extra_pythonpath: Sequence[Path] = (),
    ) -> Path:
        """model.tar.gz of one Training step (rendered `arguments`) on local `channels`."""
        opt_ml = work / "opt_ml"
        config = opt_ml / "input" / "config"
        config.mkdir(parents=True)
        (opt_ml / "model").mkdir()
        (opt_ml / "output").mkdir()
        (opt_ml / "code").mkdir()
        hyperparameters = {k: str(v) for k, v in (arguments.get("HyperParameters") or {}).items()}
        (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
        data_config = {}
        for channel in arguments["InputDataConfig"]:
            name = channel["ChannelName"]
            if name not in channels:
                raise ContainerError(f"no local data for channel {name!r}")
            source = channel["DataSource"]["S3DataSource"]
            data_config[name] = {
                "TrainingInputMode": channel.get("InputMode", "File"),
                "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
                "RecordWrapperType": channel.get("RecordWrapperType", "None"),
                **({"ContentType": channel["ContentType"]} if "ContentType" in channel else {}),
            }
            shutil.copytree(channels[name], opt_ml / "input" / "data" / name)
        (config / "inputdataconfig.json").write_text(json.dumps(data_config))
        (config / "resourceconfig.json").write_text(
            json.dumps(
                {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "lo"}
            )
        )
        env = self.environment(
            {
                # One host: the toolkit resolves the host names it trains with; in a
                # sandbox without DNS, algo-1 must be this machine.
                "SM_STUDIO_LOCAL_MODE": "true",
            },
            dict(arguments.get("Environment") or {}),
            home=work / "home",
        )
        if extra_pythonpath:
            env["PYTHONPATH"] += os.pathsep + os.pathsep.join(map(str, extra_pythonpath))
        (work / "home").mkdir()
        result = self.run(
            [str(self.venv / "bin" / "train")],
            opt_ml=opt_ml,
            env=env,
            scratch=work / "scratch",
            cwd=work,
        )
        (work / "train.log").write_text(result.stdout + result.stderr)
        failure = opt_ml / "output" / "failure"
        if (
            result.returncode != 0
            or failure.exists()
            or not (opt_ml / "output" / "success").exists()
        ):
            reason = failure.read_text() if failure.exists() else ""
            raise ContainerError(
                f"training in {self.image.key} failed (exit {result.returncode}) {reason}\n"
                f"{_tail(result.stdout + result.stderr)}"
            )
        archive = work / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted((opt_ml / "model").rglob("*")):
                tar.add(path, arcname=str(path.relative_to(opt_ml / "model")), recursive=False)
        return archive

    # --- serving ------------------------------------------------------------------------

    def serve(
        self,
        model_tar: Path,
        environment: Mapping[str, str],
        requests: Sequence[Request],
        work: Path,
        *,
        start_seconds: int = 240,
    ) -> list[Answer]:
        """The answers of the image's server, started on `model_tar` with the model's
        `environment`, to `requests` (in order)."""
        opt_ml = work / "opt_ml"
        (opt_ml / "model").mkdir(parents=True)
        (opt_ml / "code").mkdir()
        with tarfile.open(model_tar) as tar:
            tar.extractall(opt_ml / "model", filter="data")
        bodies = work / "requests"
        bodies.mkdir()
        listed = []
        for index, request in enumerate(requests):
            path = bodies / f"{index:06d}"
            path.write_text(request.body, encoding="utf-8")
            listed.append(
                {"body": str(path), "content_type": request.content_type, "accept": request.accept}
            )
        responses = work / "responses"
        spec = {
            "serve": [str(self.venv / "bin" / "serve")],
            "port": PORT,
            "start_seconds": start_seconds,
            "requests": listed,
            "responses": str(responses),
        }
        (work / "client.json").write_text(json.dumps(spec))
        (work / "home").mkdir()
        env = self.environment(
            dict(environment),
            # No nginx in this venv: gunicorn listens on the port itself.
            {"SAGEMAKER_USE_NGINX": "false", "SAGEMAKER_BIND_TO_PORT": str(PORT)},
            home=work / "home",
        )
        env["TMPDIR"] = str(work / "home")
        result = self.run(
            [str(self.python), str(CLIENT), str(work / "client.json")],
            opt_ml=opt_ml,
            env=env,
            scratch=work / "scratch",
            cwd=work,
            timeout=start_seconds + 600,
        )
        server_log = responses / "server.log"
        log = server_log.read_text() if server_log.exists() else ""
        (work / "serve.log").write_text(result.stdout + result.stderr + log)
        if result.returncode != 0:
            raise ContainerError(
                f"serving in {self.image.key} failed (exit {result.returncode}): "
                f"{result.stdout.strip()}\n{_tail(result.stderr + log)}"
            )
        statuses = json.loads((responses / "status.json").read_text())
        return [
            Answer(s["status"], s["content_type"], (responses / f"{i:06d}.body").read_bytes())
            for i, s in enumerate(statuses)
        ]


def interpreter() -> Callable[[str], list[str]]:
    """For the rehearsal's executor (`--faithful`): the command that runs a step's Python
    in its image's venv (built on first use), offline, with no user site-packages
    (PYTHONPATH is the step's, as the executor sets it). ContainerError now if there can
    be no sandbox."""
    reason = sandbox.unavailable()
    if reason:
        raise ContainerError(f"the faithful mode needs a sandbox, and {reason}")
    built: dict[str, list[str]] = {}

    def command(image_uri: str) -> list[str]:
        image = images.image_of_uri(image_uri)
        if image.key not in built:
            python = images.venv(image)
            variables = []
            try:
                standins = images.standins(python, _standin_requirements())
                variables.append(f"{STANDIN_PATH_VARIABLE}={standins}")
            except images.ImageError:
                # e.g. DuckDB 2 needs Python 3.11: a step of this image that calls the Data
                # API stand-in fails at that import, naming it.
                pass
            built[image.key] = ["env", "-u", "PYTHONHOME", *variables, str(python), "-s"]
        return sandbox.wrap(built[image.key])

    return command


def _standin_requirements() -> list[str]:
    """STANDIN_LIBRARIES at the versions requirements-dev.lock pins for this project."""
    pins = {}
    for line in (images.ROOT / "requirements-dev.lock").read_text().splitlines():
        requirement = line.split(";")[0].rstrip(" \\")
        name, equals, version = requirement.partition("==")
        if equals and not line.startswith((" ", "#")):
            pins[name.strip().lower()] = version.strip()
    missing = [name for name in STANDIN_LIBRARIES if name not in pins]
    if missing:
        raise ContainerError(f"requirements-dev.lock pins no {missing}")
    return [f"{name}=={pins[name]}" for name in STANDIN_LIBRARIES]
