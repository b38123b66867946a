"""HTTP edges of the platform: the console app and the agent (mTLS) app."""

from __future__ import annotations

from stockade.platform.api.agent_app import create_agent_app
from stockade.platform.api.console_app import create_console_app
from stockade.platform.api.peercert import PeerCertProtocol

__all__ = ["PeerCertProtocol", "create_agent_app", "create_console_app"]
