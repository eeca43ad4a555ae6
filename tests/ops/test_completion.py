"""`ops completion`: scripts generated from the parser, so every command completes."""

from __future__ import annotations

import pytest

from ops.cli import main


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_script_offers_every_command_and_option(shell: str, capsys) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for word in ("status", "run", "retry", "logs", "models", "approve", "rollback"):
        assert word in script, word
    for option in ("--execution-arn", "--package-type", "--wait", "--watch"):
        spelled = f"-l {option[2:]}" if shell == "fish" else option  # fish: `-l watch`
        assert spelled in script, option


def test_an_unknown_shell_is_a_usage_error(capsys) -> None:
    assert main(["completion", "csh"]) == 2
    assert "invalid choice: 'csh'" in capsys.readouterr().err
