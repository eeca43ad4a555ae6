"""The three ways a rehearsal execution can go wrong, as exceptions."""

from __future__ import annotations


class StepError(Exception):
    """A step failed; the message is its failure reason."""


class UnsupportedError(StepError):
    """The step uses a type or feature the rehearsal does not emulate."""


class DefinitionError(ValueError):
    """The definition itself is unusable (unknown reference, cycle, missing parameter)."""
