"""The live board of `run --wait` and `status --watch` on a terminal (rich), fake clock."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from rich.console import Console

from ops.live import Board, board_table
from ops.watch import Followed, follow
from tests.ops.conftest import Clients, Names, Runner
from tests.ops.test_watch import ARN, FakeClock, poll, trigger_started, with_sagemaker


def text_of(renderable: Any, width: int = 110) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def words(line: str) -> list[str]:
    """A board line's words, without the table's borders."""
    return [word for word in line.split() if word not in ("│", "┃")]


def terminal(width: int = 110) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=width, force_terminal=True, color_system=None), out


def test_the_board_has_a_row_per_execution_with_its_progress() -> None:
    running = Followed("mailer training e1", ARN, "Executing")
    running.steps.update(Split="Succeeded", DataQuality="Succeeded", Train="Executing")
    failed = Followed("bag training e2", ARN, "Failed")
    failed.steps.update(Split="Succeeded", Train="Failed")
    failed.reasons["Train"] = "AlgorithmError: OOM"
    waiting = Followed("box training e3", ARN)
    lines = [words(line) for line in text_of(board_table([running, failed, waiting])).splitlines()]
    assert lines[1] == ["execution", "status", "steps", "done", "now"]
    assert lines[3] == ["mailer", "training", "e1", "Executing", "2/3", "Train"]
    assert lines[4] == [
        "bag", "training", "e2", "Failed", "1/2", "Train", "failed:", "AlgorithmError:", "OOM",
    ]  # fmt: skip
    assert lines[5] == ["box", "training", "e3", "(waiting)", "0/0"]


def test_on_a_terminal_the_board_follows_each_poll_and_lines_go_above_it(stubbed) -> None:
    client, stub = stubbed
    poll(stub, "Executing", ("Split", "Executing", ""))
    poll(stub, "Succeeded", ("Split", "Succeeded", ""), ("Train", "Succeeded", ""))
    console, out = terminal()
    with Board(console, fallback=lambda _: None) as board:
        final = follow(
            client, {"mailer": ARN}, say=board.say, clock=FakeClock(), on_poll=board.update
        )
    assert final == {"mailer": "Succeeded"}
    shown = out.getvalue()
    assert "03:00:00 mailer Split: Executing" in shown
    assert "03:00:30 mailer: execution Succeeded" in shown
    # the board as each poll left it (a redraw repeats the row as it stands)
    rows = [words(line) for line in shown.splitlines() if "mailer" in words(line)[:1]]
    assert [row for i, row in enumerate(rows) if i == 0 or row != rows[i - 1]] == [
        ["mailer", "Executing", "0/1", "Split"],
        ["mailer", "Succeeded", "2/2"],
    ]


def test_without_a_terminal_the_board_is_silent_and_lines_go_to_the_fallback() -> None:
    said: list[str] = []
    with Board(None, fallback=said.append) as board:
        board.say("03:00:00 mailer Split: Executing")
        board.update([Followed("mailer", ARN, "Executing")])
    assert said == ["03:00:00 mailer Split: Executing"]  # the board drew nothing anywhere


def test_run_wait_on_a_terminal_shows_the_board(
    s3: Any,
    names: Names,
    clients: Clients,
    stubbed,
    make_runner: Callable[..., Runner],
) -> None:
    client, stub = stubbed
    arn = ARN.replace("222222222222", names.env.account)
    trigger_started(stub, arn, "w-2-mailer")
    poll(stub, "Succeeded", ("Split", "Succeeded", ""), arn=arn)
    console, out = terminal()
    run = make_runner(with_sagemaker(client, clients), FakeClock(), console=console)
    result = run(
        "run", "--kind", "training", "--manifest", names.manifest(), "--run-id", "w-2",
        "--package-type", "mailer", "--wait",
    )  # fmt: skip
    assert result.code == 0, result.err
    board = out.getvalue()
    assert "execution" in board and "steps done" in board
    assert "03:00:00 mailer Split: Succeeded" in board  # said above the board, not printed
    assert "03:00:00 mailer Split: Succeeded" not in result.out
