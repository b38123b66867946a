"""Rules needing event types the sensor does not capture get a warning at their position."""

from __future__ import annotations

from stockade.rules import load_rules
from stockade.rules.capture import uncaptured_warnings

RULES = """\
- rule: Opens
  desc: d
  condition: evt.type in (open, openat) and fd.name = /etc/shadow
  output: x %fd.name
  priority: WARNING
- rule: Module load
  desc: d
  condition: evt.type in (init_module, finit_module)
  output: x %proc.name
  priority: WARNING
- rule: Sends
  desc: d
  condition: evt.type in (connect, sendto)
  output: x %proc.name
  priority: WARNING
- rule: Anything
  desc: d
  condition: proc.name = zz
  output: x %proc.name
  priority: WARNING
  warn_evttypes: false
- rule: Disabled module load
  desc: d
  condition: evt.type = init_module
  output: x %proc.name
  priority: WARNING
  enabled: false
"""


def test_warns_for_enabled_rules_with_uncaptured_event_types() -> None:
    ruleset = load_rules([], sources=[("r.yaml", RULES)])
    assert ruleset.ok, ruleset.errors
    captured = {"open", "openat", "connect", "execve"}
    warnings = uncaptured_warnings(ruleset.rules, captured)
    assert [(w.line, w.column, w.code, w.item) for w in warnings] == [
        (6, 3, "LOAD_EVTTYPE_NOT_CAPTURED", "rule 'Module load'"),
        (11, 3, "LOAD_EVTTYPE_NOT_CAPTURED", "rule 'Sends'"),
    ]
    assert "finit_module, init_module" in warnings[0].message
    assert "can never match" in warnings[0].message
    assert "sendto" in warnings[1].message and "never" not in warnings[1].message
