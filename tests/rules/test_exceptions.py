"""Rule exceptions, appends and overrides change which events fire, as in Falco."""

from __future__ import annotations

import pytest

from stockade.model import Ancestor, Event, Process
from stockade.rules import load_rules

BASE = """
- list: shells
  items: [bash, sh]
- rule: Shell
  desc: d
  condition: evt.type = execve and proc.name in (shells)
  output: "%proc.name"
  priority: WARNING
"""


def _exec(name: str, parent: str = "init", cmdline: tuple[str, ...] = ()) -> Event:
    return Event(
        type="execve",
        ts=1,
        proc=Process(pid=2, name=name, argv=(name, *cmdline)),
        ancestors=(Ancestor(pid=1, name=parent),),
    )


def _fired(extra: str, event: Event) -> bool:
    ruleset = load_rules([], sources=[("base.yaml", BASE), ("extra.yaml", extra)])
    assert ruleset.errors == []
    return bool(ruleset.matches(event))


@pytest.mark.parametrize(
    ("extra", "event", "fires"),
    [
        pytest.param(
            """
- rule: Shell
  exceptions:
    - name: from_cron
      fields: [proc.pname, proc.name]
      values: [[cron, bash]]
  override:
    exceptions: append
""",
            _exec("bash", "cron"),
            False,
            id="two-field exception matches",
        ),
        pytest.param(
            """
- rule: Shell
  exceptions:
    - name: from_cron
      fields: [proc.pname, proc.name]
      values: [[cron, bash]]
  override:
    exceptions: append
""",
            _exec("sh", "cron"),
            True,
            id="two-field exception needs both",
        ),
        pytest.param(
            """
- rule: Shell
  exceptions:
    - name: parents
      fields: proc.pname
      values: [cron, sshd]
  override:
    exceptions: append
""",
            _exec("bash", "sshd"),
            False,
            id="single field exception uses in",
        ),
        pytest.param(
            """
- rule: Shell
  exceptions:
    - name: prefixes
      fields: [proc.pname]
      comps: [startswith oneof]
      values: [[[cro, ssh]]]
  override:
    exceptions: append
""",
            _exec("bash", "sshd"),
            False,
            id="modifier comparison",
        ),
        pytest.param(
            """
- list: shells
  items: [zsh]
  override:
    items: append
""",
            _exec("zsh"),
            True,
            id="list append",
        ),
        pytest.param(
            """
- rule: Shell
  condition: and not proc.pname = sshd
  override:
    condition: append
""",
            _exec("bash", "sshd"),
            False,
            id="condition append",
        ),
        pytest.param(
            """
- rule: Shell
  enabled: false
  override:
    enabled: replace
""",
            _exec("bash"),
            False,
            id="disabled by override",
        ),
        pytest.param(
            """
- rule: Shell
  desc: d
  condition: evt.type = execve and proc.name = zsh
  output: "%proc.name"
  priority: WARNING
""",
            _exec("bash"),
            False,
            id="redefinition replaces",
        ),
    ],
)
def test_changes_to_a_rule(extra: str, event: Event, fires: bool) -> None:
    assert _fired(extra, event) is fires
    baseline = _fired("[]", event)  # without the change, only the base list's shells fire
    assert baseline is (event.proc.name in ("bash", "sh"))


def test_override_replace_priority_and_output() -> None:
    extra = """
- rule: Shell
  priority: CRITICAL
  output: "shell %proc.name"
  override:
    priority: replace
    output: replace
"""
    ruleset = load_rules([], sources=[("base.yaml", BASE), ("extra.yaml", extra)])
    (alert,) = ruleset.evaluate(_exec("bash"))
    assert alert.priority == "Critical"
    assert alert.output.endswith("Critical shell bash container_id=host container_name=host")
