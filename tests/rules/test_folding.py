"""Disjunctions of case-insensitive string tests on one field, folded into one test."""

from __future__ import annotations

import pytest

from stockade.model import Event, Process
from stockade.rules import ast, load_rules, parse_condition
from stockade.rules.folding import fold


def _or(text: str) -> ast.Or:
    node = parse_condition(text)
    assert isinstance(node, ast.Or)
    return node


def test_simple_globs_and_icontains_fold_by_shape() -> None:
    folded = fold(
        _or(
            'proc.exepath iglob "*/Bash" or proc.exepath iglob "/USR/*" or '
            'proc.exepath iglob "*tmp*" or proc.exepath iglob "sh" or proc.exepath icontains X'
        )
    )
    assert folded is not None
    assert (folded.suffixes, folded.prefixes, folded.equal) == ({"/bash"}, {"/usr/"}, {"sh"})
    assert folded.contained == ["tmp", "x"]


@pytest.mark.parametrize(
    "text",
    [
        'proc.exepath iglob "*/a" or proc.name iglob "*/b"',  # two fields
        'proc.exepath iglob "*/a?" or proc.exepath iglob "*/b"',  # a wildcard inside
        'proc.exepath iglob "*/ſ" or proc.exepath iglob "*/b"',  # not ASCII
        'proc.exepath glob "*/a" or proc.exepath iglob "*/b"',  # case-sensitive
        'proc.exepath iglob "*" or proc.exepath iglob "*/b"',  # no literal
    ],
)
def test_what_does_not_fold(text: str) -> None:
    assert fold(_or(text)) is None


RULE = """
- rule: tools
  desc: d
  condition: >
    evt.type = execve and (proc.exepath iglob "*/Curl" or proc.exepath iglob "/OPT/*"
    or proc.exepath iglob "*/tmp/*" or proc.exepath iglob "/bin/sh"
    or proc.exepath icontains "WGET")
  output: o
  priority: INFO
"""


@pytest.mark.parametrize(
    ("path", "hit"),
    [
        ("/usr/bin/curl", True),
        ("/USR/BIN/CURL", True),
        ("/usr/bin/curl2", False),
        ("/opt/x", True),
        ("/var/tmp/x", True),
        ("/BIN/SH", True),
        ("/bin/sh2", False),
        ("/usr/bin/Wget2", True),
        ("/usr/bin/ſh", False),
        ("/bin/ſh", True),  # U+017F folds to "s" in the glob's regex
        ("/usr/bin/cürl", False),
    ],
)
def test_folded_rule_matches_as_each_test_would(path: str, hit: bool) -> None:
    ruleset = load_rules([], sources=[("r.yaml", RULE)])
    assert ruleset.ok, ruleset.errors
    event = Event(type="execve", ts=1, proc=Process(pid=1, name="x", exepath=path))
    assert bool(ruleset.matches(event)) is hit
    assert ruleset.rules[0].predicate(event) is hit
