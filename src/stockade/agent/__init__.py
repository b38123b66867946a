"""The probe daemon: sensor -> context -> detect -> spool -> transport."""

from __future__ import annotations

import sys

# httpx imports its command line (click, rich, pygments: ~5 MB resident) whenever those are
# installed, as they are beside typer; the agent never runs it. An entry of None makes
# that import fail, which httpx expects and handles (`httpx.main` then says to install it).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from stockade.agent.daemon import Agent, AgentConfig  # noqa: E402 (after the guard)
from stockade.agent.errors import AgentError  # noqa: E402

__all__ = ["Agent", "AgentConfig", "AgentError"]
