"""Typed JSON of the dashboard's other listings: agents (with their health) and containers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class AgentView(BaseModel):
    """An enrolled agent, its status and its last heartbeat's sensor counters."""

    id: str
    hostname: str
    host_id: str
    status: str = Field(description="enrolled, online, degraded, offline or revoked")
    version: str
    acked_seq: int
    spooled_seq: int
    enrolled_at: str
    last_seen: str | None
    cert_fingerprint: str
    sensor: dict[str, Any] | None = Field(description="the last heartbeat's SensorStatus")
    records_refused: int = Field(description="records the platform refused")
    spool_dropped: int = Field(description="records a full agent spool dropped")
    events_per_s: float = Field(description="sensor events per second between its last two")
    sensor_dropped: int = Field(description="events the sensor dropped")
    decode_errors: int = Field(description="records the sensor could not decode")
    degraded: str = Field(description="why a fallback sensor runs; empty when fully capable")
    revoked_at: str | None


class ContainerView(BaseModel):
    """A container seen in stored events, as one agent reported it."""

    id: str
    short_id: str
    name: str
    image: str
    image_digest: str
    runtime: str
    host_id: str
    agent_id: str
    first_seen: str
    last_seen: str
