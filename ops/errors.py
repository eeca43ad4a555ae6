"""Errors the CLI turns into exit codes: 1 for refused/failed, 2 for usage."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class OpsError(Exception):
    """The command was refused or failed (exit code 1); the message says why."""

    exit_code = EXIT_FAILED


class UsageError(OpsError):
    """The command line is wrong (exit code 2): bad values, unknown names, missing options."""

    exit_code = EXIT_USAGE
