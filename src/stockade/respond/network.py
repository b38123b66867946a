"""Network isolation of a container: nftables in its own network namespace, and release.

Isolation adds one table that drops every packet in and out but loopback and the allowed
peers (the target's `allow`); the ruleset listed before is kept in the state dir. Release
removes the table and, should the ruleset still differ from the saved listing, restores
that listing whole, so the container ends with exactly the rules it had.
"""

from __future__ import annotations

import json
from pathlib import Path

from stockade.model.actions import ActionResult, ActionTarget
from stockade.respond import nftables
from stockade.respond.base import RESPONSE_ACTIONS, ActionContext, ResponseAction, done
from stockade.respond.containers import locate
from stockade.respond.errors import TargetError


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
        before = nftables.list_ruleset(container.netns)
        if nftables.has_isolation(before):
            return done(f"container {container.id[:12]} is isolated already")
        saved = _saved_path(context, container.id)
        saved.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        saved.write_text(json.dumps(before))
        nftables.apply(container.netns, commands)
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
        saved_path = _saved_path(context, container.id)
        current = nftables.list_ruleset(container.netns)
        if not nftables.has_isolation(current):
            raise TargetError(f"container {container.id[:12]} is not isolated")
        nftables.apply(container.netns, nftables.delete_command())
        if not saved_path.exists():
            return done(f"released container {container.id[:12]} (no saved ruleset)")
        saved = json.loads(saved_path.read_text())
        after = nftables.list_ruleset(container.netns)
        how = "exactly as before"
        if nftables.without_metainfo(after) != nftables.without_metainfo(saved):
            nftables.apply(container.netns, nftables.restore_commands(saved))
            how = "saved ruleset restored whole"
        saved_path.unlink()
        return done(f"released container {container.id[:12]} ({how})")


RESPONSE_ACTIONS.register(IsolateContainer.name, IsolateContainer())
RESPONSE_ACTIONS.register(ReleaseContainer.name, ReleaseContainer())
