"""Network isolation of the whole host: nftables in the host's network namespace.

The host keeps loopback, connections conntrack already tracks (established/related), TCP
to and from the platform's address and port (so the agent still takes orders, among them
`release_host`), and the target's `allow` addresses. Release restores the ruleset listed
before exactly (see `isolation`).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from stockade.model.actions import ActionResult, ActionTarget
from stockade.respond import nftables
from stockade.respond.base import RESPONSE_ACTIONS, ActionContext, ResponseAction, done
from stockade.respond.errors import RespondError
from stockade.respond.isolation import isolate, release

TABLE = "stockade_isolate_host"


def platform_peers(url: str) -> tuple[tuple[str, int], ...]:
    """The (address, port) pairs the platform URL resolves to; none without a URL."""
    if not url:
        return ()
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as e:
        raise RespondError(f"isolate_host: the platform {host!r} does not resolve: {e}") from e
    return tuple(sorted({(str(info[4][0]), port) for info in infos}))


class IsolateHost(ResponseAction):
    """Cut the host off the network but for the platform and the allowed peers."""

    name = "isolate_host"
    summary = "drop the host's traffic but loopback, the platform connection and `allow`"
    needs = ()

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Save the host's ruleset, then add the isolation table in one transaction."""
        peers = platform_peers(context.platform_url)
        commands = nftables.isolation_commands(
            target.allow, TABLE, tcp_peers=peers, established=True
        )
        saved = context.state_dir / "isolation" / "host.json"
        if not isolate(context.host_netns, commands, saved, TABLE):
            return done("the host is isolated already")
        kept = [f"{address}:{port}" for address, port in peers] + list(target.allow)
        return done(f"isolated the host (allowed: {', '.join(kept) or 'nothing but loopback'})")


class ReleaseHost(ResponseAction):
    """Undo a host isolation: the host's ruleset becomes what it was before."""

    name = "release_host"
    summary = "undo isolate_host, restoring the ruleset listed before it"
    needs = ()

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:  # noqa: ARG002
        """Remove the isolation table; restore the saved listing if anything else changed."""
        saved = context.state_dir / "isolation" / "host.json"
        how = release(context.host_netns, saved, TABLE, "the host")
        return done(f"released the host ({how})")


RESPONSE_ACTIONS.register(IsolateHost.name, IsolateHost())
RESPONSE_ACTIONS.register(ReleaseHost.name, ReleaseHost())
