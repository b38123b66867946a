"""The respond package's exceptions: one root, one-line messages saying what and where."""

from __future__ import annotations

from stockade.errors import StockadeError


class RespondError(StockadeError):
    """An action could not be done; the message is one line (what, where, what to do)."""


class TargetError(RespondError):
    """The target is missing what the action needs, or is not there (no such container)."""


class PolicyError(RespondError):
    """A response policy file cannot be read or is malformed (file and where in it)."""

    exit_code = 2
