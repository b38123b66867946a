"""Path arguments: evt.rawarg as given, evt.arg resolved as Falco's filter check does."""

from __future__ import annotations

import pytest

from stockade.model import Event, FdInfo, Process
from stockade.rules import load_rules
from stockade.rules.fields import FIELDS, FieldType

CWD = "/srv/app"


def _event(etype: str, res: int = 0, fd: FdInfo | None = None, **args: object) -> Event:
    return Event(type=etype, ts=1, res=res, proc=Process(pid=7, cwd=CWD), fd=fd, args=args)


def value(event: Event, field: str) -> object:
    definition, arg = FIELDS.lookup(field, None)
    return definition.extractor(arg)(event)


@pytest.mark.parametrize(
    ("event", "field", "expected"),
    [
        # relative to the cwd (AT_FDCWD or no dirfd), "." and ".." folded
        (_event("unlinkat", dirfd=-100, name="./logs/../.bash_history"), "evt.arg.name",
         "/srv/app/.bash_history"),
        (_event("unlinkat", dirfd=-100, name="./logs/../.bash_history"), "evt.rawarg.name",
         "./logs/../.bash_history"),
        (_event("mkdir", path="tmp"), "evt.arg.path", "/srv/app/tmp"),
        (_event("renameat2", olddirfd=-100, oldpath="a", newdirfd=-100, newpath="../b"),
         "evt.arg.newpath", "/srv/b"),
        (_event("execve", res=-2, filename="./run.sh"), "evt.arg.filename", "/srv/app/run.sh"),
        # absolute: as given, not folded
        (_event("unlink", path="/tmp/../etc/x"), "evt.arg.path", "/tmp/../etc/x"),
        # another directory fd: unknown directory, the path stays as given
        (_event("unlinkat", dirfd=5, name="x"), "evt.arg.name", "x"),
        # a symlink's target is text (never resolved); its link path is a path
        (_event("symlink", target="../etc/shadow", linkpath="s"), "evt.arg.target",
         "../etc/shadow"),
        (_event("symlink", target="../etc/shadow", linkpath="s"), "evt.arg.linkpath",
         "/srv/app/s"),
        # an open that succeeded: the kernel's path of the new fd, whatever the dirfd
        (_event("openat", res=3, fd=FdInfo(num=3, type="file", name="/data/f", nameraw="f"),
                dirfd=9, name="f"), "evt.arg.name", "/data/f"),
        (_event("openat", res=3, fd=FdInfo(num=3, type="file", name="/data/f", nameraw="f"),
                dirfd=9, name="f"), "evt.rawarg.name", "f"),
        (_event("openat", res=-2, dirfd=-100, name="../x"), "evt.args",
         "name=../x(/srv/x)"),
        # fs.path.* and evt.abspath: resolved; the *raw ones as given
        (_event("unlinkat", dirfd=-100, name="a/../b"), "fs.path.name", "/srv/app/b"),
        (_event("unlinkat", dirfd=-100, name="a/../b"), "fs.path.nameraw", "a/../b"),
        (_event("unlinkat", dirfd=-100, name="a/../b"), "evt.abspath", "/srv/app/b"),
        (_event("rename", oldpath="x", newpath="../y"), "fs.path.source", "/srv/app/x"),
        (_event("rename", oldpath="x", newpath="../y"), "fs.path.target", "/srv/y"),
        (_event("rename", oldpath="x", newpath="../y"), "fs.path.targetraw", "../y"),
        # numbers stay numbers in evt.rawarg
        (_event("openat", res=-2, dirfd=-100, name="x", flags=65), "evt.rawarg.flags", 65),
    ],
)  # fmt: skip
def test_path_argument(event: Event, field: str, expected: object) -> None:
    if field == "evt.args":
        assert str(expected) in str(value(event, field))
    else:
        assert value(event, field) == expected


def test_an_argument_by_index_resolves_too() -> None:
    event = _event("unlinkat", dirfd=-100, name="x", flags=0)
    definition, arg = FIELDS.lookup("evt.arg", "1")
    assert definition.extractor(arg)(event) == "/srv/app/x"


def test_rawarg_type_follows_the_argument() -> None:
    assert FIELDS.lookup("evt.rawarg.name", None)[0].type is FieldType.STRING
    assert FIELDS.lookup("evt.rawarg", "path")[0].type is FieldType.STRING
    assert FIELDS.lookup("evt.rawarg.flags", None)[0].type is FieldType.INT64


RULES = """
- rule: history removed
  desc: shell history deleted, by any path that names it
  condition: evt.type in (unlink, unlinkat) and evt.arg.name = /srv/app/.bash_history
  output: "%evt.arg.name (given %evt.rawarg.name)"
  priority: WARNING
"""


def test_a_rule_on_the_resolved_path_catches_a_relative_one() -> None:
    rules = load_rules([], sources=[("r.yaml", RULES)])
    attack = _event("unlinkat", dirfd=-100, name="logs/../.bash_history")
    benign = _event("unlinkat", dirfd=-100, name="logs/../.bash_history.bak")
    alerts = rules.evaluate(attack)
    assert [a.output.split(": ", 1)[1].split(" container_id")[0] for a in alerts] == [
        "Warning /srv/app/.bash_history (given logs/../.bash_history)"
    ]
    assert rules.evaluate(benign) == []
