"""Alerts and settings for the outputs' tests (used by this package's tests only)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from stockade.model import Alert
from stockade.outputs.settings import OutputSettings, OutputsQueue

MESSAGE = "Shell in container (user=root proc.name=bash|x=1"  # `|` and `=` to escape in CEF


def alert(n: int, source: str = "host-a", priority: str = "Warning") -> Alert:
    """Alert number `n` from host `source` (its seq is `n`: order is checkable)."""
    return Alert(
        uuid=f"00000000-0000-0000-0000-{n:012d}",
        output=f"23:17:03.{n:09d}: {priority} {MESSAGE} n={n})",
        priority=priority,
        rule="Terminal shell in container",
        time=f"2026-12-06T23:17:03.{n:09d}Z",
        output_fields={"proc.name": "bash", "user.name": "root", "proc.pid": 1000 + n},
        tags=["container", "shell", "mitre_execution"],
        hostname=source,
        host_id=source,
        container_id="c0ffee" * 10 + "abcd",
        event_seq=n,
        seq=n,
    )


def alerts(count: int, first: int = 1) -> list[Alert]:
    """`count` alerts numbered from `first`, alternating between two sources."""
    return [alert(n, source=("host-a", "host-b")[n % 2]) for n in range(first, first + count)]


def fast_retry(queue_dir: Path, **changes: object) -> OutputSettings:
    """Settings whose queue retries within a second (the tests' receiver outages are short)."""
    queue = OutputsQueue(
        directory=str(queue_dir), retry_initial=0.05, retry_max=0.5, drain_timeout=2.0
    )
    return msgspec.structs.replace(OutputSettings(outputs_queue=queue), **changes)
