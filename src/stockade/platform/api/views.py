"""How stored records look in the user API's JSON (pure functions of records)."""

from __future__ import annotations

from typing import Any

import msgspec

from stockade.platform.alert_fields import image_of
from stockade.platform.store import AgentRecord, ContainerRecord, StoredAlert, StoredEvent
from stockade.platform.timestamps import format_ns

OFFLINE_AFTER_NS = 60 * 1_000_000_000  # agents send a heartbeat every few seconds


def agent_status(agent: AgentRecord, now: int) -> str:
    """enrolled (never heard from), online, degraded (fallback sensor), offline (silent),
    or revoked."""
    if agent.revoked_at is not None:
        return "revoked"
    if agent.last_seen and now - agent.last_seen > OFFLINE_AFTER_NS:
        return "offline"
    return agent.status


def agent_view(agent: AgentRecord, now: int) -> dict[str, Any]:
    """An agent with its status as of `now` and its last heartbeat's sensor counters."""
    return {
        "id": agent.id,
        "hostname": agent.hostname,
        "host_id": agent.host_id,
        "status": agent_status(agent, now),
        "version": agent.version,
        "acked_seq": agent.acked_seq,
        "spooled_seq": agent.spooled_seq,
        "enrolled_at": format_ns(agent.enrolled_at),
        "last_seen": format_ns(agent.last_seen) if agent.last_seen else None,
        "cert_fingerprint": agent.cert_fingerprint,
        "sensor": agent.sensor,
        # records lost on the way: refused by the platform, or dropped by a full agent spool
        "records_refused": agent.records_refused,
        "spool_dropped": int((agent.sensor or {}).get("spool_dropped", 0)),
        # health at a glance: throughput, the sensor's own losses, why it runs degraded
        "events_per_s": round(agent.events_per_s, 1),
        "sensor_dropped": int((agent.sensor or {}).get("dropped", 0)),
        "decode_errors": int((agent.sensor or {}).get("decode_errors", 0)),
        "degraded": str((agent.sensor or {}).get("degraded", "")),
        "revoked_at": format_ns(agent.revoked_at) if agent.revoked_at is not None else None,
    }


def container_view(c: ContainerRecord) -> dict[str, Any]:
    """A container with both its full and 12-char id."""
    return {
        "id": c.id,
        "short_id": c.id[:12],
        "name": c.name,
        "image": c.image,
        "image_digest": c.image_digest,
        "runtime": c.runtime,
        "host_id": c.host_id,
        "agent_id": c.agent_id,
        "first_seen": format_ns(c.first_seen),
        "last_seen": format_ns(c.last_seen),
    }


def event_view(stored: StoredEvent) -> dict[str, Any]:
    """The event's own JSON form plus the agent that sent it."""
    body: dict[str, Any] = msgspec.to_builtins(stored.event)
    body["agent_id"] = stored.agent_id
    return body


def alert_view(stored: StoredAlert) -> dict[str, Any]:
    """Falco's alert JSON plus origin: agent, process, and the container's name and image."""
    alert = stored.alert
    body: dict[str, Any] = msgspec.to_builtins(alert)
    fields = alert.output_fields
    c = stored.container
    container_id = c.id if c else alert.container_id
    body["agent_id"] = stored.agent_id
    body["incident_id"] = stored.incident_id  # GET /api/v1/incidents/{id}; null until grouped
    body["process"] = {
        "name": stored.proc_name,
        "pid": stored.proc_pid,
        "cmdline": stored.proc_cmdline,
    }
    body["container"] = {
        "id": container_id,
        "short_id": container_id if container_id == "host" else container_id[:12],
        "name": c.name if c else str(fields.get("container.name") or ""),
        "image": c.image if c else image_of(fields),
        "image_digest": c.image_digest if c else str(fields.get("container.image.digest") or ""),
    }
    return body
