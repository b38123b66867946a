"""Fleet correlation items: `scope: fleet` in a correlation file, judged by the workers.

    - correlation: Same detection on many hosts
      scope: fleet
      kind: spread                   # or lateral
      alerts:                        # which agent alerts count (all keys optional)
        min_priority: WARNING        # default WARNING
        rules: [Terminal shell in container]
        tags: [T1059]                # any of these
      group_by: rule                 # spread: rule, image or technique (ATT&CK tag)
      hosts: 3                       # spread: distinct hosts within the window
      connection: evt.type = connect # lateral: which events are connections (Falco)
      destination: fd.sip            # lateral: the field holding their address
      window: 10m
      suppress: 1h                   # one alert per group per this (default: window)
      priority: CRITICAL
      output: ... %fleet.hosts ...   # the kind's %fleet.* fields (fleet.OUTPUT_FIELDS)
      tags: [T1210]

Errors are `LoadMessage`s with file:line:column, as for the agents' correlations.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from stockade.detect.correlation_load import ItemCompiler
from stockade.detect.fleet import (
    FIELD_MARK,
    OUTPUT_FIELDS,
    AlertFilter,
    FleetCorrelation,
    FleetKind,
    GroupBy,
)
from stockade.model import Priority

FLEET_KEYS = frozenset(
    {"correlation", "scope", "kind", "desc", "alerts", "group_by", "hosts", "connection"}
    | {"destination", "window", "suppress", "priority", "output", "tags", "enabled"}
)
KIND_KEYS = {FleetKind.SPREAD: ("group_by", "hosts"), FleetKind.LATERAL: ("connection",)}
ALERT_KEYS = frozenset({"min_priority", "rules", "tags"})


class FleetItemCompiler(ItemCompiler):
    """Checks and compiles one `scope: fleet` item."""

    def compile_fleet(self) -> FleetCorrelation:
        """The compiled correlation; CorrelationItemError at the first problem."""
        for key in self.values:
            if key not in FLEET_KEYS:
                known = ", ".join(sorted(FLEET_KEYS))
                raise self.fail(key, f"unknown key '{key}' in a fleet correlation (known: {known})")
        kind = self.choice("kind", FleetKind)
        for key in ("correlation", "window", "priority", "output", *KIND_KEYS[kind]):
            if key not in self.values:
                raise self.fail(key, f"missing key '{key}' (a {kind.value} correlation needs it)")
        for other, keys in KIND_KEYS.items():
            for key in keys:
                if other is not kind and key in self.values:
                    raise self.fail(key, f"'{key}' belongs to a {other.value} correlation")
        window = self.duration("window")
        spec = FleetCorrelation(
            name=self.text("correlation"),
            kind=kind,
            alerts=self.alert_filter(),
            window_ns=window,
            suppress_ns=self.duration("suppress") if "suppress" in self.values else window,
            priority=self.priority(),
            output=self.fleet_output(kind),
            tags=tuple(self.names("tags")) if "tags" in self.values else (),
            description=str(self.values.get("desc", "")),
            file=self.where.file,
            line=self.where.line,
        )
        if kind is FleetKind.SPREAD:
            return self.spread(spec)
        return self.lateral(spec)

    def spread(self, spec: FleetCorrelation) -> FleetCorrelation:
        hosts = self.positive("hosts")
        if hosts < 2:
            raise self.fail("hosts", "'hosts' must be at least 2 (one host is the agent's own)")
        return replace(spec, hosts=hosts, group_by=self.choice("group_by", GroupBy))

    def lateral(self, spec: FleetCorrelation) -> FleetCorrelation:
        step = self.step("connection", self.text("connection"))
        field = self.text("destination") if "destination" in self.values else "fd.sip"
        destination = self.field_getter("destination", field)
        return replace(
            spec,
            connection=step.predicate,
            destination=destination.get,
            connection_types=step.event_types,
        )

    def choice(self, key: str, kind: Any) -> Any:
        value = self.values.get(key)
        names = [member.value for member in kind]
        if value not in names:
            raise self.fail(key, f"'{key}' must be one of {', '.join(names)}, got {value!r}")
        return kind(value)

    def alert_filter(self) -> AlertFilter:
        raw = self.values.get("alerts", {})
        if not isinstance(raw, dict) or set(raw) - ALERT_KEYS:
            known = ", ".join(sorted(ALERT_KEYS))
            raise self.fail("alerts", f"'alerts' must be a mapping of {known}")
        try:
            least = Priority.parse(str(raw.get("min_priority", "WARNING")))
        except ValueError as e:
            raise self.fail("alerts", str(e)) from None
        lists = {}
        for key in ("rules", "tags"):
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.fail("alerts", f"'alerts.{key}' must be a list of strings")
            lists[key] = frozenset(value)
        return AlertFilter(least, lists["rules"], lists["tags"])

    def fleet_output(self, kind: FleetKind) -> str:
        text = self.text("output")
        for name in FIELD_MARK.findall(text):
            if name not in OUTPUT_FIELDS[kind]:
                known = ", ".join(OUTPUT_FIELDS[kind])
                msg = f"output: '%{name}' is not a field of a {kind.value} correlation ({known})"
                raise self.fail("output", msg, "LOAD_ERR_COMPILE_OUTPUT")
        return " ".join(text.split())
