"""The agent package's exceptions; every message is one line saying what to do."""

from __future__ import annotations

from stockade.errors import USAGE_EXIT, StockadeError


class AgentError(StockadeError):
    """Base error of the agent package."""


class SpoolError(AgentError):
    """The on-disk spool cannot be used."""


class SpoolFull(SpoolError):
    """The spool reached its size cap or the disk is full; the records were not accepted."""


class EnrollError(AgentError):
    """Enrollment with the platform failed."""


class TransportError(AgentError):
    """The platform could not be reached or refused what was sent."""


class CaptureError(AgentError):
    """A capture file to replay cannot be read or holds a malformed event."""

    exit_code = USAGE_EXIT
