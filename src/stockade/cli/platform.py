"""Commands for the platform: `stockade server`, `stockade token create`,
`stockade agent revoke` (registered by the agent command's module)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stockade.cli.configured import ConfigFile, Overrides, command_config
from stockade.cli.datadir import platform_dir
from stockade.errors import UsageError

if TYPE_CHECKING:  # imported when a command runs: keeps `stockade --help` fast
    from stockade.config import StockadeConfig
    from stockade.platform import Platform, PlatformConfig

DataDir = Annotated[
    Path | None,
    typer.Option(help="Data root; the platform's state is in its platform/ (as for `up`)."),
]
# Options `server` and `worker` share (one fleet, one `server` configuration section).
StoreId = Annotated[str, typer.Option(help="Store to keep state in (a registered id).")]
StoreLocation = Annotated[
    str, typer.Option(help="The store's file or URL; default: stockade.db in the data dir.")
]
BusId = Annotated[str, typer.Option(help="Bus between API nodes and workers (a registered id).")]
BusLocation = Annotated[
    str,
    typer.Option(help="The bus's URL, e.g. nats://127.0.0.1:4222; none: it runs in-process."),
]
EventsDays = Annotated[
    float, typer.Option(help="Days events are kept, by their time (0: no limit).", min=0)
]
AlertsDays = Annotated[
    float,
    typer.Option(
        help="Days alerts are kept, by their time (0: no limit). An incident goes with its "
        "last alert when closed, or untouched and this old; one a user worked on stays "
        "until closed.",
        min=0,
    ),
]
StoreMaxGb = Annotated[
    float,
    typer.Option(
        help="GB the stored data may occupy; past it the oldest events go first (0: no cap).",
        min=0,
    ),
]
IncidentWindowMin = Annotated[
    float,
    typer.Option(
        help="Minutes within which alerts of one container or process ancestry are one incident.",
        min=0.01,
    ),
]
MAX_PORT = 65535


def check_port(option: str, port: int) -> None:
    """UsageError unless `port` is one a listener can be asked for (0 would pick any)."""
    if not 1 <= port <= MAX_PORT:
        raise UsageError(f"{option} {port}: choose a port from 1 to {MAX_PORT}")


PlainHttp = Annotated[
    bool, typer.Option("--plain-http", help="Serve the console over plain HTTP instead of TLS.")
]
TlsFile = Annotated[
    Path | None,
    typer.Option(
        help="The console's TLS certificate/key (PEM); default: issued by the platform CA."
    ),
]


def announce(platform: Platform) -> None:
    """Print the console URL, the agents' URL and, on first start only, the admin login."""
    typer.echo(f"Stockade console: {platform.console_url}")
    typer.echo(f"Agent endpoint:   {platform.agent_url}")
    if platform.first_admin_password is not None:
        typer.echo(f"Admin login: admin / {platform.first_admin_password}  (shown only once)")
    if platform.console_url.startswith("https:") and platform.config.console_cert is None:
        typer.echo(f"Console certificate issued by the platform CA: {platform.ca_path}")


async def _serve_until_signalled(platform: Platform) -> None:
    """Serve; announce the URLs once both listeners accept; stop cleanly on SIGINT/SIGTERM."""
    import asyncio

    ready = asyncio.Event()
    task = asyncio.create_task(platform.serve(ready))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if ready.is_set():
        announce(platform)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise


_SERVER_KEYS = (
    "host port agent_port store store_location bus bus_location query_budget "
    "events_days alerts_days store_max_gb agent_cert_days incident_window_min plain_http "
    "tls_cert tls_key"
)
SERVER_FLAGS = {  # parameter -> configuration key
    "data_dir": "data_dir",
    **{name: f"server.{name}" for name in _SERVER_KEYS.split()},
}


def server(
    ctx: typer.Context,
    config: ConfigFile = None,
    option: Overrides = None,
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Console port (HTTPS unless --plain-http).")] = 8700,
    agent_port: Annotated[
        int | None, typer.Option(help="Agent port (mTLS); default: console port + 1.")
    ] = None,
    store: StoreId = "sqlite",
    store_location: StoreLocation = "",
    bus: BusId = "inprocess",
    bus_location: BusLocation = "",
    query_budget: Annotated[
        float,
        typer.Option(help="Seconds a user query may run before it is stopped.", min=0.01),
    ] = 2.0,
    events_days: EventsDays = 7,
    alerts_days: AlertsDays = 90,
    store_max_gb: StoreMaxGb = 5,
    agent_cert_days: Annotated[
        int,
        typer.Option(
            help="Days an agent certificate is valid (agents renew theirs with a third left).",
            min=1,
        ),
    ] = 30,
    incident_window_min: IncidentWindowMin = 30,
    plain_http: PlainHttp = False,
    tls_cert: TlsFile = None,
    tls_key: TlsFile = None,
) -> None:
    """Run the platform: web console and user API, and the agents' mTLS endpoint.

    On a shared bus (--bus nats --bus-location URL) this is one stateless API node: it
    publishes agents' batches, and `stockade worker` processes store them.
    """
    import asyncio

    from stockade.platform import Platform

    settings = command_config(
        ctx,
        config,
        option,
        SERVER_FLAGS,
        data_dir=data_dir,
        host=host,
        port=port,
        agent_port=agent_port,
        store=store,
        store_location=store_location,
        bus=bus,
        bus_location=bus_location,
        query_budget=query_budget,
        events_days=events_days,
        alerts_days=alerts_days,
        store_max_gb=store_max_gb,
        agent_cert_days=agent_cert_days,
        incident_window_min=incident_window_min,
        plain_http=plain_http,
        tls_cert=tls_cert,
        tls_key=tls_key,
    )
    platform = Platform.open(platform_config(settings))
    try:
        asyncio.run(_serve_until_signalled(platform))
    finally:
        platform.close()


def platform_config(settings: StockadeConfig) -> PlatformConfig:
    """The platform's configuration from the `server` section and the output keys."""
    from stockade.platform import PlatformConfig
    from stockade.platform.services.retention import DAY_S, RetentionPolicy

    section = settings.server
    check_port("--port", section.port)
    if section.agent_port is None:
        check_port("the agents' port (--port + 1)", section.port + 1)
    return PlatformConfig(
        data_dir=platform_dir(Path(settings.data_dir) if settings.data_dir else None),
        host=section.host,
        console_port=section.port,
        agent_port=section.agent_port,
        store=section.store,
        store_location=section.store_location,
        bus=section.bus,
        bus_location=section.bus_location,
        query_budget_s=section.query_budget,
        vulndb=Path(section.vulndb) if section.vulndb else None,
        retention=RetentionPolicy(
            events_max_age_s=section.events_days * DAY_S,
            alerts_max_age_s=section.alerts_days * DAY_S,
            max_store_bytes=int(section.store_max_gb * 1024**3),
        ),
        agent_cert_validity_s=section.agent_cert_days * 86400,
        incident_window_s=max(1, round(section.incident_window_min * 60)),
        fleet_correlations=tuple(Path(p) for p in section.fleet_correlations),
        profile_discover_minutes=int(section.profile_discover_min),
        console_tls=not section.plain_http,
        console_cert=Path(section.tls_cert) if section.tls_cert else None,
        console_key=Path(section.tls_key) if section.tls_key else None,
        outputs=settings,
    )


def token_create(
    ctx: typer.Context,
    config: ConfigFile = None,
    option: Overrides = None,
    data_dir: DataDir = None,
    ttl: Annotated[int, typer.Option(help="Seconds the token stays valid.", min=1)] = 3600,
    replace_host: Annotated[
        str,
        typer.Option(
            help="Host id whose active agent this token replaces (a reinstalled host): "
            "enrolling that host with it revokes the old agent.",
        ),
    ] = "",
) -> None:
    """Print a one-time enrollment token for `stockade agent --enroll` (stdout) and the
    platform CA's fingerprint for `--ca-fingerprint` (stderr)."""
    import asyncio
    import getpass

    from stockade.platform import Platform

    if replace_host != replace_host.strip() or (replace_host and not replace_host.isprintable()):
        raise UsageError(f"--replace-host {replace_host!r}: give the host id as the agents list it")
    # the servers' own configuration (file, STOCKADE_*): the token goes to the store they
    # read, a fleet's PostgreSQL as much as the data dir's SQLite
    settings = command_config(ctx, config, option, {"data_dir": "data_dir"}, data_dir=data_dir)
    platform = Platform.open(platform_config(settings))
    try:
        token = platform.create_enrollment_token(ttl, replace_host)
        if replace_host:  # a token that revokes an agent is an admin's act: audited
            what = f"enrollment token replacing the agent of host {replace_host!r}"
            who = f"cli:{getpass.getuser()}"
            asyncio.run(platform.audit.record(who, "CLI", what, 0, "local"))
        typer.echo(token)
        typer.echo(f"CA fingerprint: sha256:{platform.ca_fingerprint}", err=True)
    finally:
        platform.close()


def agent_revoke(
    ctx: typer.Context,
    agent_id: Annotated[str, typer.Argument(help="The agent's id (see /api/v1/agents).")],
    config: ConfigFile = None,
    option: Overrides = None,
    data_dir: DataDir = None,
) -> None:
    """Revoke an agent: every listener refuses its certificate within seconds."""
    from stockade.platform import Platform

    settings = command_config(ctx, config, option, {"data_dir": "data_dir"}, data_dir=data_dir)
    platform = Platform.open(platform_config(settings))
    try:
        if not platform.revoke_agent(agent_id):
            raise UsageError(f"no agent {agent_id!r} is enrolled in {platform.config.data_dir}")
    finally:
        platform.close()
    typer.echo(f"agent {agent_id} revoked")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command()(server)
    tokens = typer.Typer(help="Agent enrollment tokens.", no_args_is_help=True)
    tokens.command("create")(token_create)
    app.add_typer(tokens, name="token")
