"""Path arguments of real calls: evt.rawarg.* as the process gave them, evt.arg.* resolved
as Falco resolves them, fd.name the kernel's path."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.context import ContainerResolver, ContextStage, ProcessTree
from stockade.model import Event, EventType
from stockade.rules import load_rules
from stockade.sensor.bpf import BpfSource
from stockade.sensor.procfs import scan
from tests.support.fields import field_value
from tests.support.sensor import collect_until

pytestmark = [pytest.mark.ebpf, pytest.mark.root]
T = EventType
# Run from the test's directory: relative paths, one through "..", one absolute.
WORKLOAD = (
    "mkdir sub && cat sub/../data >/dev/null && mv data renamed"
    " && rm renamed && cat {absolute}/sub/../missing 2>/dev/null; true"
)
RULES = """
- rule: relative read
  desc: the rule names the resolved path, as a Falco rule would
  condition: evt.type in (open, openat, openat2) and evt.arg.name = {absolute}/data
  output: "%evt.arg.name %evt.rawarg.name"
  priority: WARNING
- rule: raw traversal
  desc: the path as given
  condition: evt.type in (open, openat, openat2) and evt.rawarg.name contains "../"
  output: "%evt.rawarg.name"
  priority: WARNING
"""


@pytest.fixture(scope="module")
def source() -> Iterator[BpfSource]:
    """File calls plus the lifecycle (the tree gives each process its cwd at exec)."""
    src = BpfSource({T.OPENAT, T.OPEN, T.MKDIR, T.MKDIRAT, T.UNLINKAT, T.UNLINK, T.RENAMEAT2,
                     T.RENAMEAT, T.RENAME})  # fmt: skip
    src.start()
    yield src
    src.stop()


def test_path_arguments_raw_and_resolved(source: BpfSource, tmp_path: Path) -> None:
    (tmp_path / "data").write_text("x")
    tree = ProcessTree()
    tree.seed(scan())
    stage = ContextStage(tree, ContainerResolver([]))
    source.poll(0)
    work = subprocess.Popen(["/bin/sh", "-c", WORKLOAD.format(absolute=tmp_path)], cwd=tmp_path)

    def exited(got: list[Event]) -> bool:
        return any(e.type == "procexit" and e.proc.pid == work.pid for e in got)

    events = [stage.enrich(e) for e in collect_until(source, exited, 30, "the workload's exit")]
    assert work.wait(30) == 0
    mine = [e for e in events if str(tmp_path) in (e.proc.cwd or "")]

    def one(etype: tuple[str, ...], raw: str) -> Event:
        found = [
            e for e in mine if e.type in etype and field_value(e, "evt.rawarg." + _key(e)) == raw
        ]
        assert found, f"no {etype} of {raw!r} in {[(e.type, e.args) for e in mine]}"
        return found[0]

    opened = one(("openat", "open"), "sub/../data")
    assert field_value(opened, "evt.arg.name") == f"{tmp_path}/data"
    assert field_value(opened, "fd.name") == f"{tmp_path}/data"
    assert field_value(opened, "fd.nameraw") == "sub/../data"
    assert f"name=sub/../data({tmp_path}/data)" in str(field_value(opened, "evt.args"))
    made = one(("mkdir", "mkdirat"), "sub")
    assert field_value(made, "evt.arg.path") == f"{tmp_path}/sub"
    removed = one(("unlink", "unlinkat"), "renamed")
    key = _key(removed)
    assert field_value(removed, f"evt.arg.{key}") == f"{tmp_path}/renamed"
    moved = one(("rename", "renameat", "renameat2"), "data")
    assert field_value(moved, "evt.arg.newpath") == f"{tmp_path}/renamed"
    # An absolute path is shown as given, "..", failure and all.
    absolute = f"{tmp_path}/sub/../missing"
    failed = one(("openat", "open"), absolute)
    assert failed.res < 0 and field_value(failed, "evt.arg.name") == absolute

    rules = load_rules([], sources=[("r.yaml", RULES.format(absolute=tmp_path))])
    fired = {(a.rule, e.args.get("name")) for e in mine for a in rules.evaluate(e)}
    assert fired == {
        ("relative read", "sub/../data"),
        ("raw traversal", "sub/../data"),
        ("raw traversal", absolute),
    }


def _key(event: Event) -> str:
    """The event's first path argument name (Falco's)."""
    for key in ("name", "path", "oldpath", "filename", "pathname"):
        if key in event.args:
            return key
    return "name"
