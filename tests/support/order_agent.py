"""An enrolled agent's responder and order channel, without a sensor: orders only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stockade.agent.action_journal import ActionJournal
from stockade.agent.enroll import Credentials
from stockade.agent.orders import OrderChannel
from stockade.agent.responder import Responder
from stockade.model import Host
from stockade.respond.base import ActionContext
from tests.support.platform_runner import PlatformRunner


@dataclass
class OrderAgent:
    """The agent's id, its responder (with its journal) and its running order channel."""

    agent_id: str
    responder: Responder
    channel: OrderChannel


@contextlib.contextmanager
def order_agent(platform: PlatformRunner, state_dir: Path, host: Host) -> Iterator[OrderAgent]:
    """Enroll `state_dir` with the platform and run its order channel until the block ends."""
    creds = platform.credentials(state_dir, host)
    with running_channel(platform.agent_url, creds, state_dir, host) as agent:
        yield agent


@contextlib.contextmanager
def running_channel(
    agent_url: str,
    creds: Credentials,
    state_dir: Path,
    host: Host,
    channel_type: type[OrderChannel] = OrderChannel,
    **channel_args: float,
) -> Iterator[OrderAgent]:
    """An enrolled agent's responder and order channel (`channel_type`, built with
    `channel_args` besides) on `agent_url`, running until the block ends."""
    responder = Responder(
        ActionJournal(state_dir / "actions"),
        ActionContext(state_dir / "respond"),
        agent_id=creds.agent_id,
        host_id=host.id,
    )
    channel = channel_type(agent_url, creds, responder, **channel_args).start()
    try:
        yield OrderAgent(creds.agent_id, responder, channel)
    finally:
        responder.close()
        channel.stop()
        responder.journal.close()
