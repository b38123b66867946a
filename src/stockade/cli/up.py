"""`stockade up`: the platform and a local agent in one process, enrolled automatically."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stockade.cli.configured import ConfigFile, Overrides, command_config
from stockade.cli.datadir import agent_dir
from stockade.cli.platform import PlainHttp, announce, platform_config

if TYPE_CHECKING:  # imported when the command runs: keeps `stockade --help` fast
    import asyncio

    from stockade.agent import Agent
    from stockade.platform import Platform

DEFAULT_PORT = 8700


def register(app: typer.Typer) -> None:
    """Add `stockade up` to the top-level app."""
    app.command()(up)


UP_FLAGS = {  # parameter -> configuration key
    "data_dir": "data_dir",
    "port": "server.port",
    "host": "server.host",
    "alert_window": "agent.alert_window",
    "plain_http": "server.plain_http",
}


def up(
    ctx: typer.Context,
    config: ConfigFile = None,
    option: Overrides = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data root: platform/ and agent/ state below it.")
    ] = None,
    port: Annotated[
        int, typer.Option(help="Console port (agents use port+1 unless server.agent_port).")
    ] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    alert_window: Annotated[
        float | None,
        typer.Option(
            min=0, help="Seconds within which identical alerts go out as one (0: off; default 30)."
        ),
    ] = None,
    plain_http: PlainHttp = False,
) -> None:
    """Run the platform and a local agent; print the console URL and the admin login."""
    import asyncio

    from stockade.platform import Platform

    settings = command_config(
        ctx,
        config,
        option,
        UP_FLAGS,
        data_dir=data_dir,
        port=port,
        host=host,
        alert_window=alert_window,
        plain_http=plain_http,
    )
    platform = Platform.open(platform_config(settings))
    root = Path(settings.data_dir) if settings.data_dir else None
    try:
        asyncio.run(_run(platform, agent_dir(root), settings.agent.alert_window))
    finally:
        platform.close()


async def _run(platform: Platform, agent_state: Path, alert_window: float) -> None:
    import asyncio

    from stockade.agent import Agent, AgentConfig
    from stockade.agent.hostinfo import this_host

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    ready = asyncio.Event()
    server = asyncio.create_task(platform.serve(ready))
    await _until(server, ready)
    if server.done():
        server.result()  # re-raises the platform's startup error
    token = None
    if not Agent.is_enrolled(agent_state):
        # the platform's own admin enrolls its local agent: an agent state dir made afresh
        # (a reinstall) replaces the host's previous agent rather than being refused
        token = platform.create_enrollment_token(replaces_host=this_host(agent_state).id)
        agent_state.mkdir(parents=True, exist_ok=True)
        (agent_state / "ca.crt").write_text(platform.ca_pem)  # pin the CA before enrolling
    # the platform forwards the local agent's alerts to the outputs: the agent has none
    config = AgentConfig(
        state_dir=agent_state,
        server_url=platform.agent_url,
        enroll_token=token,
        alert_window_s=alert_window,
    )
    agent_ready = asyncio.Event()

    def on_ready(_: Agent) -> None:
        loop.call_soon_threadsafe(agent_ready.set)

    local = Agent(config, on_ready=on_ready)
    agent = _AgentThread(local, loop, stopping)
    agent.start()
    await _until(server, agent_ready, stopping)  # announce only once events flow
    if agent_ready.is_set():
        announce(platform)
        typer.echo(f"Local agent: {local.agent_id}, event source {local.source_name}")
        typer.echo("Press Ctrl-C to stop.", err=True)
    await _until(server, stopping)
    agent.stop.set()
    await asyncio.to_thread(agent.join, 15)
    server.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server
    if agent.failure is not None:
        raise agent.failure


async def _until(server: asyncio.Task[None], *events: asyncio.Event) -> None:
    """Wait for the first of `events`, or for the server task to end (failed or stopped)."""
    import asyncio

    waiters = {asyncio.create_task(e.wait()) for e in events}
    await asyncio.wait({*waiters, server}, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()


class _AgentThread(threading.Thread):
    """Runs the local agent; a failure stops `stockade up` and is reported by it."""

    def __init__(
        self, agent: Agent, loop: asyncio.AbstractEventLoop, stopping: asyncio.Event
    ) -> None:
        super().__init__(name="stockade-agent", daemon=True)
        self.stop = threading.Event()
        self.failure: Exception | None = None
        self._agent, self._loop, self._stopping = agent, loop, stopping

    def run(self) -> None:
        try:
            self._agent.run(self.stop)
        except Exception as e:  # handed to the main thread, which prints it
            self.failure = e
            self._loop.call_soon_threadsafe(self._stopping.set)
