"""Live query: collect one inventory table on this host now, answered through the action
report (its rows as JSON in the result's `data`), so it is ordered, delivered and audited
like every other action."""

from __future__ import annotations

import msgspec

from stockade.host.table import TABLES, Scope
from stockade.model.actions import ActionResult, ActionTarget
from stockade.respond.base import RESPONSE_ACTIONS, ActionContext, ResponseAction, done
from stockade.respond.errors import TargetError

MAX_ROWS = 10_000


class QueryTable(ResponseAction):
    """Collect an inventory table (osquery's name) on the host and answer its rows."""

    name = "query_table"
    summary = "collect one inventory table now and answer its rows (live query)"
    needs = ("table",)

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:  # noqa: ARG002
        """Collect `target.table` in the host's scope; rows as JSON in data["rows"]."""
        if target.table not in TABLES:
            raise TargetError(f"query_table: {TABLES.unknown(target.table)}")
        rows = TABLES.get(target.table).collect(Scope())[:MAX_ROWS]
        encoded = msgspec.json.encode(rows).decode()
        return done(f"{len(rows)} rows of {target.table}", rows=encoded, count=str(len(rows)))


RESPONSE_ACTIONS.register(QueryTable.name, QueryTable())
