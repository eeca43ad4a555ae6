"""The model's serving code installs OFFLINE, as the scikit-learn serving container runs it.

At start-up the serving stack (sagemaker-containers 2.8.6.post2 in an image with pip
26.1.2 and setuptools 80.10.2, no wheel) copies SAGEMAKER_SUBMIT_DIRECTORY (the `code/`
folder of model.tar.gz, extracted to /opt/ml/model) to /opt/ml/code
(`_files.download_and_extract`), writes setup.py, setup.cfg and MANIFEST.in there when
there is no setup.py (`_modules.prepare`, the module named after SAGEMAKER_PROGRAM), then
runs `<python> -m pip install . ` in that folder (`_modules.install`) with the model
container's Environment. Models run with network isolation.

Here: a throwaway venv with those pip and setuptools versions (built once per session,
from the package index), a model trained by train.py and tarred as SageMaker tars the
model dir, the same three generated files, and the same pip command run with no network
at all (`unshare --net`), no pip configuration (PIP_CONFIG_FILE=/dev/null: no index,
no find-links) and the Environment of the model containers in the synthesized training
pipeline definition. A negative control runs it without PIP_NO_BUILD_ISOLATION.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.pipelines.definition import model_containers

pytestmark = pytest.mark.slow

PIP_VERSION = "26.1.2"
SETUPTOOLS_VERSION = "80.10.2"
MODEL_DIR = "/opt/ml/model"  # where SageMaker extracts model.tar.gz
CODE_DIR = "/opt/ml/code"  # sagemaker_containers._env.code_dir: where the code is installed
SETUPTOOLS_MISSING = "Could not find a version that satisfies the requirement setuptools>=40.8.0"


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (fixed commands)
        command, capture_output=True, text=True, check=False, timeout=600, **kwargs
    )


@pytest.fixture(scope="session")
def no_network() -> list[str]:
    """The command prefix that runs a command without any network (skips if unavailable)."""
    prefix = ["unshare", "--net", "--"]
    if shutil.which("unshare") is None:
        pytest.skip(
            "SKIPPED LOUDLY: `unshare` is not installed, so the serving install cannot be "
            "run without network; the offline install of the model code is NOT verified"
        )
    probe = _run([*prefix, "true"])
    if probe.returncode != 0:
        pytest.skip(
            "SKIPPED LOUDLY: `unshare --net` is not permitted here (needs root or "
            f"CAP_SYS_ADMIN: {probe.stderr.strip()}); the offline install of the model code "
            "is NOT verified"
        )
    # No traffic is sent to find out: a fresh network namespace has the loopback
    # interface only (and it is down).
    interfaces = _run(
        [*prefix, sys.executable, "-c", "import socket; print(socket.if_nameindex())"]
    )
    assert interfaces.returncode == 0, interfaces.stderr
    assert interfaces.stdout.strip() == "[(1, 'lo')]", (
        f"unshare --net left network interfaces: {interfaces.stdout}"
    )
    return prefix


@pytest.fixture(scope="session")
def serving_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv's python with the serving image's pip and setuptools (and no wheel)."""
    venv = tmp_path_factory.mktemp("serving-venv")
    created = _run([sys.executable, "-m", "venv", "--clear", str(venv)])
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    installed = _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            f"pip=={PIP_VERSION}",
            f"setuptools=={SETUPTOOLS_VERSION}",
        ]
    )
    assert installed.returncode == 0, f"cannot build the serving venv:\n{installed.stderr}"
    _run([str(python), "-m", "pip", "uninstall", "--yes", "wheel"])  # the image has none
    versions = _run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m, importlib.util as u, json; print(json.dumps("
            "[m.version('pip'), m.version('setuptools'), u.find_spec('wheel') is None]))",
        ]
    )
    assert json.loads(versions.stdout) == [PIP_VERSION, SETUPTOOLS_VERSION, True]
    return python


@pytest.fixture(scope="session")
def model_environment() -> dict[str, str]:
    """The Environment of the models the synthesized training pipeline creates/registers
    (the inference model runs the registered package's, see tests/pipelines)."""
    from pipeline_defs.training import build_training_pipeline
    from tests.pipelines.conftest import training_inputs

    doc = json.loads(build_training_pipeline(training_inputs()))
    environments = [c["Environment"] for _, c in model_containers(doc) if "Environment" in c]
    assert len(environments) == 3 and all(e == environments[0] for e in environments)
    return dict(environments[0])


@pytest.fixture(scope="session")
def model_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """model.tar.gz of a tiny model trained by train.py, tarred as SageMaker tars the
    training job's model dir (its contents, relative names)."""
    from pipeline_defs import synthetic_data
    from pipeline_defs.architectures.hgb import train
    from pipeline_defs.steps import split

    root = tmp_path_factory.mktemp("artifact")
    table = synthetic_data.generate_training_set(800, seed=3, package_types=("mailer",))
    synthetic_data.write_parquet(table, root / "unload", rows_per_file=1_000)
    split.main(
        ["--package-type", "mailer", "--validation-ratio", "0.25",
         "--input-dir", str(root / "unload"), "--output-dir", str(root / "split")]
    )  # fmt: skip
    model_dir = root / "model"
    train.main(
        ["--train", str(root / "split" / "train"), "--model-dir", str(model_dir),
         "--validation", str(root / "split" / "validation"), "--max-iter", "5"]
    )  # fmt: skip
    archive = root / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
    return archive


# sagemaker_containers._modules.prepare (2.8.6.post2): the text it writes, dedented alike.
_SETUP_PY = textwrap.dedent(
    """
        from setuptools import setup
        setup(packages=[''],
              name="%s",
              version='1.0.0',
              include_package_data=True)
        """
)
_SETUP_CFG = textwrap.dedent(
    """
        [wheel]
        universal = 1
        """
)
_MANIFEST_IN = textwrap.dedent(
    """
        recursive-include . *
        recursive-exclude . __pycache__*
        recursive-exclude . *.pyc
        recursive-exclude . *.pyo
        """
)


def _prepare(path: Path, name: str) -> None:
    """What the toolkit's `prepare` does to a code folder without a setup.py."""
    if (path / "setup.py").exists():
        return
    (path / "setup.py").write_text(_SETUP_PY % name)
    (path / "setup.cfg").write_text(_SETUP_CFG)
    (path / "MANIFEST.in").write_text(_MANIFEST_IN)


def _module_name(environment: dict[str, str]) -> str:
    """The toolkit's module name: SAGEMAKER_PROGRAM without '.py'."""
    return environment["SAGEMAKER_PROGRAM"].removesuffix(".py")


@pytest.fixture
def serving_code(tmp_path: Path, model_tar: Path, model_environment: dict[str, str]) -> Path:
    """The folder pip runs in: model.tar.gz extracted at <tmp>/opt/ml/model, its
    SAGEMAKER_SUBMIT_DIRECTORY copied to <tmp>/opt/ml/code and prepared."""
    model = tmp_path / MODEL_DIR.lstrip("/")
    model.mkdir(parents=True)
    with tarfile.open(model_tar, "r:gz") as tar:
        tar.extractall(model, filter="data")
    submitted = Path(model_environment["SAGEMAKER_SUBMIT_DIRECTORY"]).relative_to(MODEL_DIR)
    code = tmp_path / CODE_DIR.lstrip("/")
    shutil.copytree(model / submitted, code)
    _prepare(code, _module_name(model_environment))
    return code


def _pip_install(
    prefix: list[str], python: Path, folder: Path, environment: dict[str, str], home: Path
) -> subprocess.CompletedProcess[str]:
    """`<python> -m pip install . ` in `folder`, offline, with the container's variables
    (plus: no pip configuration files, a fresh HOME, no retries of the unreachable index)."""
    home.mkdir(exist_ok=True)
    env = {
        "PATH": f"{python.parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(home),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_RETRIES": "0",
        **environment,
    }
    return _run([*prefix, str(python), "-m", "pip", "install", "."], cwd=folder, env=env)


def test_the_model_code_installs_offline_with_the_models_environment(
    no_network: list[str],
    serving_python: Path,
    serving_code: Path,
    model_environment: dict[str, str],
    tmp_path: Path,
) -> None:
    shipped = sorted(p.name for p in serving_code.glob("*.py") if p.name != "setup.py")
    assert "train.py" in shipped and "features.py" in shipped
    result = _pip_install(
        no_network, serving_python, serving_code, model_environment, tmp_path / "home"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    name = _module_name(model_environment)
    assert f"Successfully installed {name}-1.0.0" in output
    where = _run(
        [
            str(serving_python),
            "-c",
            "import importlib.metadata as m, importlib.util as u, json, sys; print(json.dumps("
            "[m.version(sys.argv[1])] + [u.find_spec(n).origin for n in sys.argv[2:]]))",
            name,
            *(Path(n).stem for n in shipped),
        ],
        cwd=tmp_path,
    )
    version, *origins = json.loads(where.stdout)
    assert version == "1.0.0"
    site = serving_python.parent.parent / "lib"
    assert all(Path(origin).is_relative_to(site) for origin in origins), origins


def test_negative_control_without_the_setting_pip_needs_the_index(
    no_network: list[str],
    serving_python: Path,
    serving_code: Path,
    model_environment: dict[str, str],
    tmp_path: Path,
) -> None:
    assert "PIP_NO_BUILD_ISOLATION" in model_environment
    without = {k: v for k, v in model_environment.items() if k != "PIP_NO_BUILD_ISOLATION"}
    result = _pip_install(no_network, serving_python, serving_code, without, tmp_path / "home")
    assert result.returncode != 0
    assert SETUPTOOLS_MISSING in result.stdout + result.stderr
