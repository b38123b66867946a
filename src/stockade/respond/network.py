"""Network isolation of a container: nftables in its own network namespace, and release.

Isolation adds one table that drops every packet in and out but loopback and the allowed
peers (the target's `allow`); see `isolation` for how the ruleset before is kept and
restored exactly on release.
"""

from __future__ import annotations

from pathlib import Path

from stockade.model.actions import ActionResult, ActionTarget
from stockade.respond import nftables
from stockade.respond.base import RESPONSE_ACTIONS, ActionContext, ResponseAction, done
from stockade.respond.containers import locate
from stockade.respond.isolation import isolate, release


def _saved_path(context: ActionContext, container_id: str) -> Path:
    return context.state_dir / "isolation" / f"{container_id}.json"


class IsolateContainer(ResponseAction):
    """Cut a container off the network but for loopback and the allowed peers."""

    name = "isolate_container"
    summary = "drop the container's traffic but loopback and `allow` (nftables in its netns)"
    needs = ("container_id",)

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Save the ruleset, then add the isolation table in one transaction."""
        commands = nftables.isolation_commands(target.allow)  # bad `allow`: refused first
        container = locate(target.container_id)
        saved = _saved_path(context, container.id)
        if not isolate(container.netns, commands, saved, nftables.TABLE):
            return done(f"container {container.id[:12]} is isolated already")
        allowed = ", ".join(target.allow) or "nothing but loopback"
        return done(f"isolated container {container.id[:12]} (allowed: {allowed})")


class ReleaseContainer(ResponseAction):
    """Undo an isolation: the container's ruleset becomes what it was before."""

    name = "release_container"
    summary = "undo isolate_container, restoring the ruleset listed before it"
    needs = ("container_id",)

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Remove the isolation table; restore the saved listing if anything else changed."""
        container = locate(target.container_id)
        saved = _saved_path(context, container.id)
        what = f"container {container.id[:12]}"
        how = release(container.netns, saved, nftables.TABLE, what)
        return done(f"released {what} ({how})")


RESPONSE_ACTIONS.register(IsolateContainer.name, IsolateContainer())
RESPONSE_ACTIONS.register(ReleaseContainer.name, ReleaseContainer())
