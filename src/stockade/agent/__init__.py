"""The probe daemon: sensor -> context -> detect -> spool -> transport."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

# httpx imports its command line (click, rich, pygments: ~5 MB resident) whenever those are
# installed, as they are beside typer; the agent never runs it. An entry of None makes
# that import fail, which httpx expects and handles (`httpx.main` then says to install it).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from stockade.agent.errors import AgentError  # noqa: E402 (after the guard)

if TYPE_CHECKING:
    from stockade.agent.daemon import Agent, AgentConfig

__all__ = ["Agent", "AgentConfig", "AgentError"]


def __getattr__(name: str) -> object:
    """`Agent` and `AgentConfig`, imported from `daemon` on first use: the image scan
    child (`python -m stockade.agent.scan_child`) needs neither, and importing the
    daemon's modules would cost each child process about half a second of CPU."""
    if name in ("Agent", "AgentConfig"):
        from stockade.agent import daemon

        return getattr(daemon, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
