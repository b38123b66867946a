"""Key groups: the necessary conditions rules are grouped under in dispatch functions."""

from __future__ import annotations

from stockade.model import Event, FdInfo, Process
from stockade.rules import ast, load_rules, parse_condition
from stockade.rules.keys import key_groups, key_of, merge, rule_key

PROC = ast.FieldRef("proc.name")
FD = ast.FieldRef("fd.name")


def _any(_ref: ast.FieldRef) -> bool:
    return True


def test_membership_prefix_suffix_and_glob_are_keys() -> None:
    assert key_of(parse_condition("proc.name in (a, b)"), _any) == {
        ("in", PROC): frozenset({"a", "b"})
    }
    assert key_of(parse_condition("fd.name startswith /etc or fd.name = /x"), _any) == {
        ("prefix", FD): frozenset({"/etc"}),
        ("in", FD): frozenset({"/x"}),
    }
    assert key_of(parse_condition("fd.name glob '/proc/*/environ'"), _any) == {
        ("suffix", FD): frozenset({"/environ"})
    }
    assert key_of(parse_condition("fd.name glob '/proc/*'"), _any) == {
        ("prefix", FD): frozenset({"/proc/"})
    }
    assert key_of(parse_condition("fd.name endswith .so"), _any) == {
        ("suffix", FD): frozenset({".so"})
    }


def test_what_is_no_key() -> None:
    for text in (
        "proc.name != a",
        "not proc.name in (a)",
        "fd.name contains x",
        "proc.name = a or fd.name contains b",
        "fd.typechar = f",
        "fd.name glob '*'",
        "fd.name glob '*[ab]'",
        "proc.name in ()",
    ):
        assert key_of(parse_condition(text), _any) is None, text
    assert key_of(parse_condition("proc.name = a"), lambda ref: ref != PROC) is None


def test_rule_key_is_the_first_key_conjunct() -> None:
    tree = parse_condition("fd.name contains x and proc.name = a and fd.name = b")
    assert rule_key(tree, _any) == {("in", PROC): frozenset({"a"})}


def test_rules_sharing_a_test_are_grouped() -> None:
    a = {("in", PROC): frozenset({"a"})}
    b = {("in", PROC): frozenset({"b"}), ("in", FD): frozenset({"/x"})}
    c = {("in", FD): frozenset({"/y"})}
    d = {("prefix", FD): frozenset({"/z"})}
    assert key_groups([a, None, b, c, d]) == [[0, 2, 3]]
    assert merge([a, b])[("in", PROC)] == frozenset({"a", "b"})


RULES = """
- rule: cat reads
  desc: d
  condition: evt.type = openat and proc.name = cat and fd.name startswith /etc
  output: o
  priority: INFO
- rule: tail or cat reads logs
  desc: d
  condition: evt.type = openat and proc.name in (tail, cat) and fd.name startswith /var/log
  output: o
  priority: INFO
- rule: anyone reads shadow
  desc: d
  condition: evt.type = openat and fd.name = /etc/shadow
  output: o
  priority: INFO
- rule: less reads
  desc: d
  condition: evt.type = openat and proc.name = less
  output: o
  priority: INFO
"""


def test_grouped_rules_match_as_their_predicates_do_in_rule_order() -> None:
    ruleset = load_rules([], sources=[("r.yaml", RULES)])
    assert ruleset.ok, ruleset.errors
    for name in ("cat", "tail", "less", "vi"):
        for path in ("/etc/shadow", "/etc/hosts", "/var/log/syslog", "/tmp/x"):
            fd = FdInfo(num=3, type="file", name=path)
            event = Event(type="openat", ts=1, proc=Process(pid=1, name=name), fd=fd)
            expected = [r for r, p in ruleset.candidates("openat") if p(event)]
            assert ruleset.matches(event) == expected, (name, path)
    event = Event(
        type="openat",
        ts=1,
        proc=Process(pid=1, name="cat"),
        fd=FdInfo(num=3, type="file", name="/etc/shadow"),
    )
    assert [r.name for r in ruleset.matches(event)] == ["cat reads", "anyone reads shadow"]


def test_a_conjunction_has_the_key_of_any_child() -> None:
    tree = parse_condition("(fd.name contains /.ssh/ and fd.name glob '/home/*') or fd.name = /r")
    assert key_of(tree, _any) == {
        ("prefix", FD): frozenset({"/home/"}),
        ("in", FD): frozenset({"/r"}),
    }


def test_iglob_keys_are_lowercased_ascii_literals() -> None:
    exe = ast.FieldRef("proc.exepath")
    assert key_of(parse_condition('proc.exepath iglob "*/Bash"'), _any) == {
        ("isuffix", exe): frozenset({"/bash"})
    }
    assert key_of(parse_condition('proc.exepath iglob "/USR/*"'), _any) == {
        ("iprefix", exe): frozenset({"/usr/"})
    }
    assert key_of(parse_condition('proc.exepath iglob "*/ſh"'), _any) is None


SHELLS = """
- rule: bash
  desc: d
  condition: evt.type = execve and proc.exepath iglob "*/BASH"
  output: o
  priority: INFO
- rule: sh
  desc: d
  condition: evt.type = execve and (proc.exepath iglob "*/sh" or proc.exepath iglob "/opt/*")
  output: o
  priority: INFO
"""


def test_iglob_rules_match_as_the_regex_does_beyond_ascii() -> None:
    ruleset = load_rules([], sources=[("r.yaml", SHELLS)])
    assert ruleset.ok, ruleset.errors
    for path, hits in [
        ("/bin/bash", ["bash"]),
        ("/BIN/Bash", ["bash"]),
        ("/bin/ſh", ["sh"]),  # U+017F folds to "s" in the regex, not in str.lower()
        ("/OPT/x", ["sh"]),
        ("/bin/zsh2", []),
        ("/bin/dash", []),
    ]:
        event = Event(type="execve", ts=1, proc=Process(pid=1, name="x", exepath=path))
        expected = [r for r, p in ruleset.candidates("execve") if p(event)]
        assert [r.name for r in ruleset.matches(event)] == hits, path
        assert ruleset.matches(event) == expected, path


def test_a_large_key_group_is_cut_into_chunks_that_agree_with_the_predicates() -> None:
    text = "".join(
        f"- rule: r{i}\n  desc: d\n"
        f"  condition: evt.type = execve and proc.name in (n{i}, n{i + 1}, shared)\n"
        "  output: o\n  priority: INFO\n"
        for i in range(20)
    )
    ruleset = load_rules([], sources=[("r.yaml", text)])
    assert ruleset.ok, ruleset.errors
    for name, hits in [("n5", ["r4", "r5"]), ("shared", [f"r{i}" for i in range(20)]), ("x", [])]:
        event = Event(type="execve", ts=1, proc=Process(pid=1, name=name))
        assert [r.name for r in ruleset.matches(event)] == hits
