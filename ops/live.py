"""The live board of `run --wait` and `status --watch` when the output is a terminal.

A rich table with one row per followed execution (its status, how many of its started
steps are done, what runs now or why it failed), redrawn after every poll; the change
lines that `ops.watch.follow` says are printed above it, so the terminal keeps the
history and the board shows the present. Piped or `--json` output gets the lines only
(the board would be cursor-movement noise in a log). Redrawn only when a poll ends: no
refresh thread, so the fake clock of the tests drives it like real time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ops.watch import Followed

STYLES = {"Succeeded": "green", "Failed": "bold red", "Stopped": "red", "Executing": "yellow"}


def board_table(followed: Sequence[Followed]) -> Table:
    """The board: execution, status, steps done (of those started), what runs now or the
    failed step and its reason."""
    table = Table(expand=False)
    table.add_column("execution", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("steps done", justify="right", no_wrap=True)
    table.add_column("now")
    for item in followed:
        done = sum(status == "Succeeded" for status in item.steps.values())
        failed = [name for name, status in item.steps.items() if status == "Failed"]
        if failed:
            reason = item.reasons.get(failed[0], "")
            now = Text(f"{failed[0]} failed" + (f": {reason}" if reason else ""), style="red")
        else:
            now = Text(", ".join(n for n, s in item.steps.items() if s == "Executing"))
        status = item.status or "(waiting)"
        table.add_row(
            item.label,
            Text(status, style=STYLES.get(status, "")),
            f"{done}/{len(item.steps)}",
            now,
        )
    return table


class Board:
    """A context manager around one `follow`: `say` and `update` are its callbacks.

    With a console (a terminal), lines print above a live board; without one (None),
    lines go to `fallback` and the board stays silent."""

    def __init__(self, console: Console | None, *, fallback: Callable[[str], None]) -> None:
        self._console = console
        self._fallback = fallback
        self._live: Live | None = None

    def __enter__(self) -> Board:
        if self._console is not None:
            self._live = Live(
                board_table([]),
                console=self._console,
                auto_refresh=False,  # redrawn after each poll, not by a thread
                transient=False,  # the last board stays on screen
            )
            self._live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def say(self, text: str) -> None:
        """A change line: above the board, or to the fallback."""
        if self._live is None:
            self._fallback(text)
        else:
            self._live.console.print(text, highlight=False, markup=False)

    def update(self, followed: Sequence[Followed]) -> None:
        """Redraw the board from the executions' state after a poll."""
        if self._live is not None:
            self._live.update(board_table(followed), refresh=True)
