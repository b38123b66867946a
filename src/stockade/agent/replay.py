"""Replaying a JSON Lines capture through detection (and, optionally, to a platform)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import msgspec

from stockade.agent import pipeline
from stockade.agent.enroll import load_credentials
from stockade.agent.errors import AgentError, CaptureError
from stockade.agent.spool import Spool
from stockade.agent.transport import Transport
from stockade.detect.base import Detector
from stockade.model import Alert, Event, Host
from stockade.model.events import decode_jsonl


def read_capture(path: Path) -> list[Event]:
    """The events of a capture file; CaptureError names the file and line of a bad one."""
    try:
        return list(decode_jsonl(path.read_bytes(), origin=str(path)))
    except OSError as e:
        raise CaptureError(f"cannot read {path}: {e.strerror}") from e
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise CaptureError(str(e)) from e


def replay(
    events: Iterable[Event],
    detectors: Sequence[Detector],
    host: Host,
    on_alert: Callable[[Alert], None],
    spool: Spool | None = None,
) -> int:
    """Run each event through detection (context-free: the capture carries the context).

    With a spool, events and their alerts are spooled in order as the daemon does (the
    events get this agent's sequence numbers and host, the one its certificate is bound
    to). Returns the number of alerts.
    """
    count = 0
    for event in events:
        if spool is not None:
            event = msgspec.structs.replace(event, host_id=host.id)
            spool.append([event])
        alerts = pipeline.detect([event], detectors, host)
        if spool is not None:
            spool.append(alerts)
        for alert in alerts:
            on_alert(alert)
        count += len(alerts)
    return count


def open_sender(state_dir: Path, server_url: str) -> tuple[Spool, Transport]:
    """The spool and transport of an enrolled agent state dir."""
    creds = load_credentials(state_dir)
    if creds is None:
        raise AgentError(f"no agent credentials in {state_dir}: run `stockade agent --enroll`")
    spool = Spool(state_dir / "spool")
    return spool, Transport(spool, server_url, creds)
