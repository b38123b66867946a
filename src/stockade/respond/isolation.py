"""Isolating a network namespace and releasing it, shared by container and host isolation.

Isolation saves the namespace's ruleset listing, then adds one table in one transaction.
Release removes the table and, should the ruleset still differ from the saved listing
(counters' running values aside: traffic counted meanwhile changes no rule, and restoring
would turn those counters back), restores that listing whole, so the namespace ends with
exactly the rules it had.
"""

from __future__ import annotations

import json
from pathlib import Path

from stockade.respond import nftables
from stockade.respond.errors import TargetError


def isolate(netns: Path, commands: nftables.JsonObj, saved: Path, table: str) -> bool:
    """Save the ruleset and apply `commands`; False when `table` is there already."""
    before = nftables.list_ruleset(netns)
    if nftables.has_isolation(before, table):
        return False
    saved.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    saved.write_text(json.dumps(before))
    nftables.apply(netns, commands)
    return True


def release(netns: Path, saved: Path, table: str, what: str) -> str:
    """Remove `table`, restore the saved listing if needed; how it ended, in a few words."""
    if not nftables.has_isolation(nftables.list_ruleset(netns), table):
        raise TargetError(f"{what} is not isolated")
    nftables.apply(netns, nftables.delete_command(table))
    if not saved.exists():
        return "no saved ruleset"
    before = json.loads(saved.read_text())
    how = "exactly as before"
    after = nftables.list_ruleset(netns)
    if nftables.comparable(after) != nftables.comparable(before):
        nftables.apply(netns, nftables.restore_commands(before))
        how = "saved ruleset restored whole"
    saved.unlink()
    return how
