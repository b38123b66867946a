"""The generated per-type dispatch functions: what each keeps alive."""

from __future__ import annotations

from pathlib import Path
from types import CodeType

from stockade.rules import load_rules

RULES = """
- rule: Passwd read
  desc: d
  condition: evt.type = openat and fd.name in (/etc/passwd, /etc/shadow, /etc/gshadow)
  output: o %fd.name
  priority: WARNING
- rule: Miner started
  desc: d
  condition: evt.type = execve and proc.name in (xmrig, minerd, cpuminer, t-rex)
  output: o %proc.name
  priority: WARNING
"""


def _names_read(code: CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _names_read(const)
    return names


def test_each_dispatch_keeps_only_the_names_its_code_reads(tmp_path: Path) -> None:
    # The compiler's namespace holds every rule's constants; a copy of it per event type
    # made the dispatch functions cost megabytes with Falco's rule files loaded.
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    ruleset = load_rules([path])
    assert ruleset.ok
    opens, execs = ruleset.dispatch["openat"], ruleset.dispatch["execve"]
    for dispatch in (opens, execs):
        kept = set(dispatch.__globals__) - {"__builtins__"}
        assert kept <= _names_read(dispatch.__code__)
    assert set(opens.__globals__) != set(execs.__globals__)  # each has its own key sets


def test_dispatch_still_judges_its_rules(tmp_path: Path) -> None:
    from stockade.model import Event, FdInfo, Process

    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    ruleset = load_rules([path])
    read = Event(
        type="openat", ts=1, proc=Process(pid=1, name="cat"), fd=FdInfo(name="/etc/shadow")
    )
    miner = Event(type="execve", ts=1, proc=Process(pid=2, name="xmrig"))
    assert [a.rule for a in ruleset.evaluate(read)] == ["Passwd read"]
    assert [a.rule for a in ruleset.evaluate(miner)] == ["Miner started"]
