"""Alerts as Falco prints them: its JSON output (json_output) or its text line."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

from stockade.model import Alert
from stockade.outputs.settings import OutputSettings

# The prefix the rule engine puts on `output`, as Falco does: "23:17:03.123456789: Warning "
_CLOCK_PREFIX = re.compile(r"\d\d:\d\d:\d\d\.\d{9}: [A-Z][a-z]+ ")
_STOCKADE_FIELDS = ("host_id", "container_id", "event_seq", "seq", "count")
_encode = msgspec.json.Encoder().encode


def falco_dict(alert: Alert, settings: OutputSettings) -> dict[str, Any]:
    """The alert as Falco's JSON object (its keys, in its order), per the json_* settings."""
    body: dict[str, Any] = {"uuid": alert.uuid}
    if settings.json_include_output_property:
        body["output"] = alert.output
    body["priority"] = alert.priority
    body["rule"] = alert.rule
    body["time"] = alert.time
    body["output_fields"] = alert.output_fields
    body["source"] = alert.source
    if settings.json_include_tags_property:
        body["tags"] = alert.tags
    body["hostname"] = alert.hostname
    if settings.json_include_stockade_fields:
        for name in _STOCKADE_FIELDS:
            body[name] = getattr(alert, name)
    return body


def falco_json(alert: Alert, settings: OutputSettings) -> bytes:
    """The alert as one line of Falco JSON (no newline)."""
    return _encode(falco_dict(alert, settings))


def message(alert: Alert) -> str:
    """The rule's output text without the time and priority Falco puts before it."""
    return _CLOCK_PREFIX.sub("", alert.output, count=1)


def falco_text(alert: Alert, settings: OutputSettings) -> bytes:
    """The alert as Falco's text line: `<time>: <Priority> <output>` (no newline)."""
    if not settings.time_format_iso_8601 and _CLOCK_PREFIX.match(alert.output):
        return alert.output.encode()
    when = _iso_8601(alert.time) if settings.time_format_iso_8601 else alert.time[11:29]
    return f"{when}: {alert.priority} {message(alert)}".encode()


def _iso_8601(rfc3339: str) -> str:
    """Falco's ISO 8601 spelling of a UTC time: `2026-12-06T23:17:03.123456789+0000`."""
    return rfc3339.removesuffix("Z") + "+0000"


def line_formatter(settings: OutputSettings) -> Callable[[Alert], bytes]:
    """The formatter the stream outputs (stdout, file, program) use: JSON or text."""
    if settings.json_output:
        return lambda alert: falco_json(alert, settings)
    return lambda alert: falco_text(alert, settings)
