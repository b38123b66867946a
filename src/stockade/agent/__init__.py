"""The probe daemon: sensor -> context -> detect -> spool -> transport."""

from __future__ import annotations

from stockade.agent.daemon import Agent, AgentConfig
from stockade.agent.errors import AgentError

__all__ = ["Agent", "AgentConfig", "AgentError"]
