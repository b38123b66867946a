"""Commands for the probe: `stockade agent` (and `agent revoke`), `stockade replay`."""

from __future__ import annotations

import dataclasses
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stockade.cli.configured import ConfigFile, Overrides, command_config
from stockade.cli.datadir import agent_dir

if TYPE_CHECKING:  # imported when a command runs: keeps `stockade --help` fast
    from stockade.agent import Agent, AgentConfig
    from stockade.agent.oci_hook_server import HookSettings
    from stockade.config import StockadeConfig
    from stockade.host.fim_policy import FimPolicy
    from stockade.model import Alert

DEFAULT_STATE_DIR = agent_dir(None)
DEFAULT_SERVER = "https://127.0.0.1:8701"


TOKEN_ENV = "STOCKADE_ENROLL_TOKEN"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    from stockade.cli.platform import agent_revoke

    agents = typer.Typer(invoke_without_command=True, help="Run the agent (or manage agents).")
    agents.callback()(agent)
    agents.command("revoke")(agent_revoke)
    agents.command("uninstall")(agent_uninstall)
    agents.command("oci-hook")(agent_oci_hook)
    app.add_typer(agents, name="agent")
    app.command("replay")(replay_command)


def _enroll_token(token: str | None, token_file: Path | None) -> str | None:
    """The enrollment token from --enroll, --enroll-token-file or STOCKADE_ENROLL_TOKEN."""
    import os

    from stockade.errors import UsageError

    if token is not None and token_file is not None:
        raise UsageError("give the token by --enroll or by --enroll-token-file, not both")
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as e:
            raise UsageError(f"cannot read --enroll-token-file {token_file}: {e.strerror}") from e
        if not token:
            raise UsageError(f"--enroll-token-file {token_file} is empty")
    return token or os.environ.get(TOKEN_ENV) or None


AGENT_FLAGS = {  # parameter -> configuration key
    "state_dir": "agent.state_dir",
    "server": "agent.server",
    "enroll_token_file": "agent.enroll_token_file",
    "source": "agent.sources",
    "ca": "agent.ca",
    "ca_fingerprint": "agent.ca_fingerprint",
    "rules": "agent.rules",
    "detector": "agent.detectors",
    "scan_images": "agent.scan_images",
    "vulndb": "agent.vulndb",
    "alert_window": "agent.alert_window",
    "policy": "agent.policies",
    "pin_dir": "agent.pin_dir",
}


def agent(
    ctx: typer.Context,
    config: ConfigFile = None,
    option: Overrides = None,
    state_dir: Annotated[Path, typer.Option(help="Keys, certificate and spool.")] = (
        DEFAULT_STATE_DIR
    ),
    server: Annotated[str, typer.Option(help="The platform's agent URL.")] = DEFAULT_SERVER,
    enroll: Annotated[
        str | None,
        typer.Option(
            "--enroll",
            help=f"One-time enrollment token (visible to other users: prefer ${TOKEN_ENV} "
            "or --enroll-token-file).",
        ),
    ] = None,
    enroll_token_file: Annotated[
        Path | None, typer.Option(help="A file holding the one-time enrollment token.")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="Event source id (a+b merges), tried in order (repeatable)."),
    ] = None,
    ca: Annotated[
        Path | None,
        typer.Option(help="The platform's CA certificate, to verify it when enrolling."),
    ] = None,
    ca_fingerprint: Annotated[
        str | None,
        typer.Option(
            help="SHA-256 fingerprint of the platform's CA (printed by `token create`): "
            "enrollment fails unless the platform's CA has it."
        ),
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="Rule file (repeatable); default: Stockade's rules."),
    ] = None,
    detector: Annotated[
        list[str] | None,
        typer.Option("--detector", help="Detector id (repeatable); default: rules, correlation."),
    ] = None,
    scan_images: Annotated[
        bool, typer.Option(help="Scan the image of each new container once per digest.")
    ] = True,
    vulndb: Annotated[
        Path | None,
        typer.Option(help="Vulnerability database for image scans (`stockade db import`)."),
    ] = None,
    alert_window: Annotated[
        float | None,
        typer.Option(
            min=0, help="Seconds within which identical alerts go out as one (0: off; default 30)."
        ),
    ] = None,
    policy: Annotated[
        list[Path] | None,
        typer.Option("--policy", help="Response policy file (YAML, repeatable)."),
    ] = None,
    pin_dir: Annotated[
        Path | None,
        typer.Option(
            help="bpffs directory (e.g. /sys/fs/bpf/stockade) where the eBPF sensor stays"
            " pinned: it records while the agent restarts or upgrades; remove it with"
            " `stockade agent uninstall`."
        ),
    ] = None,
) -> None:
    """Run the agent until SIGTERM or Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return  # `stockade agent revoke ...`
    import logging

    from stockade.agent import Agent

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = command_config(
        ctx,
        config,
        option,
        AGENT_FLAGS,
        state_dir=state_dir,
        server=server,
        enroll_token_file=enroll_token_file,
        source=source,
        ca=ca,
        ca_fingerprint=ca_fingerprint,
        rules=rules,
        detector=detector,
        scan_images=scan_images,
        vulndb=vulndb,
        alert_window=alert_window,
        policy=policy,
        pin_dir=pin_dir,
    )
    agent_config = build_agent_config(settings, enroll)
    state_dir = agent_config.state_dir
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def announce(running: Agent) -> None:
        """Tell the operator (and scripts waiting for it) that events flow."""
        typer.echo(
            f"stockade agent running: id {running.agent_id}, source {running.source_name},"
            f" spool {state_dir / 'spool'}"
        )

    Agent(agent_config, on_ready=announce).run(stop)


def agent_oci_hook(
    socket: Annotated[Path, typer.Option(help="The agent's hook socket (in its state dir).")],
    deadline: Annotated[float, typer.Option(help="Seconds to wait for the agent.")] = 2.0,
    fail_closed: Annotated[
        bool, typer.Option(help="Without an answer, refuse to start the container.")
    ] = False,
) -> None:
    """The OCI createRuntime hook (the runtime runs it, OCI state on stdin): asks the agent
    to guard the container before it runs."""
    from stockade.agent.oci_hook import run

    code = run(str(socket), deadline, fail_closed, sys.stdin.buffer.read())
    raise typer.Exit(code)


def agent_uninstall(
    pin_dir: Annotated[
        Path, typer.Option(help="The bpffs directory the agent ran with (--pin-dir).")
    ] = Path("/sys/fs/bpf/stockade"),
) -> None:
    """Remove the pinned eBPF sensor (after stopping the agent for good): it stops recording."""
    from stockade.errors import UsageError
    from stockade.sensor.base import SensorError
    from stockade.sensor.bpf.pins import unpin

    try:
        removed = unpin(pin_dir)
    except SensorError as e:
        raise UsageError(str(e)) from e
    typer.echo(
        f"removed {removed} pins under {pin_dir}" if removed else f"nothing pinned under {pin_dir}"
    )


def build_agent_config(settings: StockadeConfig, enroll: str | None) -> AgentConfig:
    """The agent's configuration from the `agent` section and the output keys."""
    from stockade.agent import AgentConfig
    from stockade.agent.enroll import pin_ca
    from stockade.errors import UsageError
    from stockade.rules.dns import DNS_NAMES

    DNS_NAMES.use(settings.dns_resolver)  # before the agent compiles its rules
    section = settings.agent
    root = Path(settings.data_dir) if settings.data_dir else None
    state_dir = Path(section.state_dir) if section.state_dir else agent_dir(root)
    if section.ca:
        try:
            pem = Path(section.ca).read_bytes()
        except OSError as e:
            raise UsageError(f"cannot read --ca {section.ca}: {e.strerror}") from e
        pin_ca(state_dir, pem)
    token_file = Path(section.enroll_token_file) if section.enroll_token_file else None
    config = AgentConfig(
        state_dir,
        section.server,
        _enroll_token(enroll, token_file),
        ca_fingerprint=section.ca_fingerprint or None,
        rules=tuple(Path(r) for r in section.rules),
        scan_images=section.scan_images,
        vulndb=Path(section.vulndb) if section.vulndb else None,
        inventory=section.inventory,
        shell_history=section.shell_history,
        alert_window_s=section.alert_window,
        policies=tuple(Path(p) for p in section.policies),
        outputs=settings,
        fim=_fim_policy(section.fim, section.fim_policy),
        baseline=section.baseline,
        firewall=section.firewall,
        firewall_dns=tuple(section.firewall_dns),
        pin_dir=Path(section.pin_dir) if section.pin_dir else None,
        ring_bytes=_ring_bytes(section.ring_mib),
        hook=_hook_settings(settings),
    )
    if section.sources:
        from stockade.sensor.fallback import parse_chain

        config = dataclasses.replace(config, sources=parse_chain(section.sources))
    if section.detectors:
        config = dataclasses.replace(config, detectors=tuple(section.detectors))
    return config


def _hook_settings(settings: StockadeConfig) -> HookSettings:
    """Protect's OCI hook from the `protect` section (installed only where hooks_dir says)."""
    from stockade.agent.oci_hook_server import HookSettings

    protect = settings.protect
    hooks_dir = Path(protect.hooks_dir) if protect.hooks_dir else None
    return HookSettings(hooks_dir, protect.hook_fail_closed, protect.hook_deadline)


def _ring_bytes(ring_mib: int) -> int | None:
    """The ring size asked for in bytes (None: the object's 32 MiB); a power of 2 MiB."""
    from stockade.errors import UsageError

    if ring_mib == 0:
        return None
    if ring_mib < 0 or ring_mib & (ring_mib - 1):
        raise UsageError(f"agent.ring_mib must be a power of 2 (MiB), not {ring_mib}")
    return ring_mib << 20


def _fim_policy(enabled: bool, policy_file: str) -> FimPolicy | None:
    """The FIM policy when FIM is on (a policy file turns it on too)."""
    from stockade.host.fim_policy import FimPolicy, load_policy  # yaml: not at CLI start-up

    if policy_file:
        return load_policy(Path(policy_file))
    return FimPolicy() if enabled else None


def replay_command(
    capture: Annotated[Path, typer.Argument(help="JSON Lines capture of events.")],
    server: Annotated[
        str | None, typer.Option(help="Also send events and alerts to this platform.")
    ] = None,
    state_dir: Annotated[Path, typer.Option(help="An enrolled agent's state dir.")] = (
        DEFAULT_STATE_DIR
    ),
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="Rule file (repeatable); default: Stockade's rules."),
    ] = None,
) -> None:
    """Feed a capture through detection; print alerts as Falco JSON lines."""
    import msgspec

    from stockade.agent import AgentError
    from stockade.agent.detection import agent_detectors
    from stockade.agent.hostinfo import this_host
    from stockade.agent.replay import open_sender, read_capture, replay

    encoder = msgspec.json.Encoder()

    def emit(alert: Alert) -> None:
        """One alert as a Falco JSON line."""
        sys.stdout.buffer.write(encoder.encode(alert) + b"\n")

    events = read_capture(capture)
    detectors = agent_detectors(rule_paths=rules or ())
    host = this_host(state_dir if server else None)
    if server is None:
        replay(events, detectors, host, emit)
    else:
        spool, transport = open_sender(state_dir, server)
        try:
            replay(events, detectors, host, emit, spool)
            if not transport.drain(timeout_s=30):
                raise AgentError(f"platform at {server} did not acknowledge within 30 s")
        finally:
            spool.close()
            transport.close()
    sys.stdout.flush()
