"""The agent's pure stages after the context stage: drop its own activity, detect, stamp the
origin, aggregate repeats (enrichment is `ContextStage.enrich_all`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from stockade.agent.aggregate import AlertAggregator
from stockade.detect.base import Detector
from stockade.model import Alert, Event, Host


def without_own_activity(events: Iterable[Event], own_pid: int) -> list[Event]:
    """Events not caused by the agent itself (or its threads)."""
    return [e for e in events if e.proc.pid != own_pid]


def detect(
    events: Iterable[Event],
    detectors: Sequence[Detector],
    host: Host,
    aggregator: AlertAggregator | None = None,
    on_alert: Callable[[Alert, Event], None] | None = None,
) -> list[Alert]:
    """Every detector's alerts for every event, stamped with this host.

    With an aggregator, repeats of an alert are counted instead of returned, and the
    aggregates whose windows have ended are returned after the new alerts. `on_alert`
    sees every alert with its event as soon as it is made, repeats too (the responder).
    """
    alerts: list[Alert] = []
    for event in events:
        for detector in detectors:
            for alert in detector.inspect(event):
                alert.hostname = host.hostname
                alert.host_id = host.id
                alert.container_id = alert.container_id or event.container.id
                if on_alert is not None:
                    on_alert(alert, event)
                if aggregator is None:
                    alerts.append(alert)
                else:
                    alerts += aggregator.offer(alert, event.proc.exepath or event.proc.name)
    if aggregator is not None:
        alerts += aggregator.due()
    return alerts
