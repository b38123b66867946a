"""Prometheus metrics of one platform: ingest counters and agents' sensor counters."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from stockade.platform.store import AgentRecord


class _AgentCollector(Collector):
    """Exposes the agents' last heartbeat as metrics (set just before each scrape)."""

    def __init__(self) -> None:
        self.agents: list[AgentRecord] = []

    def collect(self) -> Iterator[Metric]:
        """One family per agent figure, labelled by agent id and hostname."""
        labels = ["agent_id", "hostname"]
        last_seen = GaugeMetricFamily(
            "stockade_agent_last_seen_seconds", "When the agent was last heard from", labels=labels
        )
        acked = GaugeMetricFamily(
            "stockade_agent_acked_seq", "Highest sequence stored for the agent", labels=labels
        )
        events = CounterMetricFamily(
            "stockade_agent_sensor_events",
            "Events the agent's sensor produced, by type",
            labels=[*labels, "source", "type"],
        )
        dropped = CounterMetricFamily(
            "stockade_agent_sensor_dropped", "Events the sensor lost", labels=[*labels, "source"]
        )
        decode_errors = CounterMetricFamily(
            "stockade_agent_sensor_decode_errors",
            "Kernel records the sensor could not decode",
            labels=[*labels, "source"],
        )
        refused = CounterMetricFamily(
            "stockade_agent_records_refused",
            "Records the platform refused (4xx) and the agent then skipped",
            labels=labels,
        )
        spool_dropped = CounterMetricFamily(
            "stockade_agent_spool_dropped",
            "Records the agent dropped because its spool was at its cap",
            labels=labels,
        )
        degraded = GaugeMetricFamily(
            "stockade_agent_sensor_degraded",
            "1 when the agent runs a fallback event source",
            labels=[*labels, "source", "reason"],
        )
        for a in self.agents:
            ids = [a.id, a.hostname]
            last_seen.add_metric(ids, a.last_seen / 1e9)
            acked.add_metric(ids, a.acked_seq)
            refused.add_metric(ids, float(a.records_refused))
            if a.sensor is None:
                continue
            spool_dropped.add_metric(ids, float(a.sensor.get("spool_dropped", 0)))
            source = str(a.sensor.get("source", ""))
            by_type = a.sensor.get("events_by_type") or {}
            for kind, count in sorted(by_type.items()):
                events.add_metric([*ids, source, str(kind)], float(count))
            dropped.add_metric([*ids, source], float(a.sensor.get("dropped", 0)))
            decode_errors.add_metric([*ids, source], float(a.sensor.get("decode_errors", 0)))
            reason = str(a.sensor.get("degraded", ""))
            degraded.add_metric([*ids, source, reason], 1.0 if reason else 0.0)
        yield from (last_seen, acked, refused, spool_dropped)
        yield from (events, dropped, decode_errors, degraded)


class PlatformMetrics:
    """The platform's own registry (not the global one: several platforms may share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.batches = Counter(
            "stockade_ingest_batches",
            "Agent batches received, by result",
            ["result"],
            registry=self.registry,
        )
        self.events_stored = Counter(
            "stockade_ingest_events_stored", "Events stored", registry=self.registry
        )
        self.alerts_stored = Counter(
            "stockade_ingest_alerts_stored", "Alerts stored", registry=self.registry
        )
        self.retention_deleted = Counter(
            "stockade_retention_deleted",
            "Records deleted by retention (age or size cap), by kind",
            ["kind"],
            registry=self.registry,
        )
        self.store_bytes = Gauge(
            "stockade_store_bytes",
            "Bytes the store's data occupies, as of the last retention pass",
            registry=self.registry,
        )
        self._agents = _AgentCollector()
        self.registry.register(self._agents)

    def render(self, agents: list[AgentRecord]) -> bytes:
        """The Prometheus text exposition, with `agents` as the current agent snapshot."""
        self._agents.agents = agents
        return generate_latest(self.registry)
