"""The probe daemon: sensor -> context -> detect -> spool -> transport."""

from __future__ import annotations

from stockade.agent.errors import AgentError

__all__ = ["AgentError"]
