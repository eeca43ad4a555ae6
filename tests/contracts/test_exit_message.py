"""The ExitMessage file the step scripts write (pkgml_contracts.exit_message)."""

from __future__ import annotations

from pathlib import Path

from pkgml_contracts import exit_message


def test_the_message_file_holds_at_most_1000_bytes_of_whole_characters(tmp_path: Path) -> None:
    text = exit_message.write(tmp_path / "out" / "message", "é" * 600)  # 1,200 bytes
    assert text == "é" * 500
    assert (tmp_path / "out" / "message").read_bytes() == ("é" * 500).encode()
    assert exit_message.cut("ab" + "é" * 499) == "ab" + "é" * 499  # 1,000 bytes: kept
    assert exit_message.cut("a" + "é" * 500) == "a" + "é" * 499  # a split é is dropped


def test_an_unwritable_message_file_is_reported_not_raised(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("")
    assert exit_message.write(tmp_path / "file" / "message", "x") == "x"
    assert "could not write" in capsys.readouterr().err


def test_the_file_is_where_sagemaker_reads_it() -> None:
    assert exit_message.FILE == "/opt/ml/output/message"
