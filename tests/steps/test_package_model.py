"""PackageModel (package_model.py): the trained archive unchanged, plus the code as code/."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from pipeline_defs.steps import package_model


def _trained(folder: Path, members: dict[str, bytes]) -> Path:
    """A Train step's artifact folder: one model.tar.gz holding `members`."""
    folder.mkdir(parents=True)
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return folder


def _code(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _contents(archive: Path) -> dict[str, bytes | None]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: (f.read() if (f := tar.extractfile(m)) is not None else None) for m in tar}


def test_the_model_keeps_its_files_and_gains_the_code(tmp_path: Path) -> None:
    trained = _trained(tmp_path / "model", {"xgboost-model": b"\x00booster\xff"})
    code = _code(
        tmp_path / "code",
        {"serve.py": "x = 1\n", "architecture.json": "{}", ".hidden": "no"},
    )
    summary = package_model.package(trained, code, "serve.py", tmp_path / "out")
    contents = _contents(tmp_path / "out" / "model.tar.gz")
    assert contents == {
        "xgboost-model": b"\x00booster\xff",
        "code": None,
        "code/architecture.json": b"{}",
        "code/serve.py": b"x = 1\n",
    }
    assert summary["model_files"] == ["xgboost-model"]
    assert summary["code_files"] == ["code/architecture.json", "code/serve.py"]
    with tarfile.open(tmp_path / "out" / "model.tar.gz") as tar:
        tar.extractall(tmp_path / "extracted", filter="data")  # SageMaker extracts it so
    assert (tmp_path / "extracted" / "code" / "serve.py").read_text() == "x = 1\n"


def test_the_command_line_runs_the_step(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    trained = _trained(tmp_path / "model", {"xgboost-model": b"m"})
    code = _code(tmp_path / "code", {"serve.py": ""})
    package_model.main(
        [
            "--model-dir",
            str(trained),
            "--code-dir",
            str(code),
            "--program",
            "serve.py",
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )
    assert json.loads(capsys.readouterr().out)["program"] == "serve.py"
    assert "code/serve.py" in _contents(tmp_path / "out" / "model.tar.gz")


@pytest.mark.parametrize("name", ["code/serve.py", "./code/other.py"])
def test_an_archive_with_code_already_is_refused(tmp_path: Path, name: str) -> None:
    trained = _trained(tmp_path / "model", {"xgboost-model": b"m", name: b"old"})
    code = _code(tmp_path / "code", {"serve.py": ""})
    with pytest.raises(ValueError, match="already has"):
        package_model.package(trained, code, "serve.py", tmp_path / "out")


def test_a_missing_program_is_named(tmp_path: Path) -> None:
    trained = _trained(tmp_path / "model", {"xgboost-model": b"m"})
    code = _code(tmp_path / "code", {"other.py": ""})
    with pytest.raises(FileNotFoundError, match=r"serving program serve\.py is not in"):
        package_model.package(trained, code, "serve.py", tmp_path / "out")


def test_the_model_folder_must_hold_one_archive(tmp_path: Path) -> None:
    trained = _trained(tmp_path / "model", {"xgboost-model": b"m"})
    (trained / "extra.txt").write_text("?")
    code = _code(tmp_path / "code", {"serve.py": ""})
    with pytest.raises(FileNotFoundError, match=r"exactly one model\.tar\.gz"):
        package_model.package(trained, code, "serve.py", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match=r"exactly one model\.tar\.gz"):
        package_model.package(tmp_path / "code", code, "serve.py", tmp_path / "out")


def test_an_empty_archive_is_refused(tmp_path: Path) -> None:
    trained = _trained(tmp_path / "model", {})
    code = _code(tmp_path / "code", {"serve.py": ""})
    with pytest.raises(ValueError, match="holds no file"):
        package_model.package(trained, code, "serve.py", tmp_path / "out")
