"""The views a hunt sees: events and alerts inside its time window, containers, hosts, and
one view per inventory table named and shaped like osquery's (pure: SQL text out)."""

from __future__ import annotations

import msgspec

from stockade.host.table import TABLES

WINDOWED = ("events", "alerts")  # views limited to the hunt's time window


def _events(since: int, until: int) -> str:
    return (
        "SELECT ts AS time, host_id, agent_id, container_id, type AS evt_type, "
        "proc_name, proc_pid, seq AS event_seq FROM main.events "
        f"WHERE ts >= {since} AND ts < {until}"
    )


def _alerts(since: int, until: int) -> str:
    return (
        "SELECT ts AS time, host_id, agent_id, container_id, rule, priority, priority_num, "
        "output, proc_name, proc_pid, proc_cmdline, type AS evt_type, "
        "json_extract(body, '$.tags') AS tags FROM main.alerts "
        f"WHERE ts >= {since} AND ts < {until}"
    )


FIXED = {
    "containers": (
        "SELECT id AS container_id, name AS container_name, image AS container_image, "
        "image_digest, runtime, first_seen, last_seen, host_id FROM main.containers"
    ),
    "hosts": (
        "SELECT host_id, id AS agent_id, hostname, status, version, last_seen FROM main.agents"
    ),
}


def inventory_views() -> dict[str, str]:
    """One view per registered inventory table: the host and the row's fields as columns."""
    views: dict[str, str] = {}
    for name, table in TABLES.items():
        columns = [f.name for f in msgspec.structs.fields(table.row)]
        picked = ", ".join(f"json_extract(row, '$.{c}') AS \"{c}\"" for c in columns)
        views[name] = (
            f"SELECT host_id, {picked} FROM main.host_inventory WHERE table_name = '{name}'"
        )
    return views


def view_sql(since: int, until: int) -> dict[str, str]:
    """Every view's SELECT, by view name, for a window of [since, until) ns."""
    return {"events": _events(since, until), "alerts": _alerts(since, until)} | (
        FIXED | inventory_views()
    )
