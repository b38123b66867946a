"""The `regex` operator: RE2 whole-value matching, linear time, bad patterns refused at load."""

from __future__ import annotations

import pytest

from stockade.model import Event, Process
from stockade.rules import load_rules
from stockade.rules.errors import RuleCompileError
from stockade.rules.regex import Regex, regex_match

RULE = """\
- rule: Odd command line
  desc: d
  condition: evt.type = execve and proc.cmdline regex '{pattern}'
  output: odd %proc.cmdline
  priority: WARNING
"""


def _exec(*argv: str) -> Event:
    return Event(type="execve", ts=1, proc=Process(pid=9, name=argv[0], argv=argv))


@pytest.mark.timeout(60)  # a backtracking engine takes hours here: the timeout catches it
def test_backtracking_pattern_meets_crafted_command_line_in_linear_time() -> None:
    ruleset = load_rules([], sources=[("odd.yaml", RULE.format(pattern="(a+)+b"))])
    assert ruleset.ok, ruleset.errors
    # 28 characters took 13.5 s with a backtracking engine; each extra one doubles it.
    assert ruleset.evaluate(_exec("a" * 28 + "!")) == []
    assert ruleset.evaluate(_exec("a" * 50_000 + "!")) == []
    assert [a.rule for a in ruleset.evaluate(_exec("aaab"))] == ["Odd command line"]


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("/usr/bin/c.*", "/usr/bin/curl", True),
        ("bin", "/usr/bin/curl", False),  # the whole value must match, as Falco's ANCHOR_BOTH
        ("curl|wget", "curl", True),
        ("[0-9]+", "123", True),
        (r"\d+\s\w+", "12 ab", True),  # RE2's Perl classes
        ("(?i)CURL", "curl", True),  # and its flags (Sigma patterns use them)
        ("a.c", "a\udcffc", False),  # an undecodable byte (kept as a surrogate): no char
        ("b.*", "a\ud800", False),  # a lone surrogate is matched as bytes, not an error
    ],
    ids=["prefix", "whole-value", "alternation", "class", "perl-classes", "flags"]
    + ["bytes-spanned", "lone-surrogate"],
)
def test_regex_matches_whole_values(pattern: str, value: str, expected: bool) -> None:
    assert Regex(pattern).matches(value) is expected
    assert regex_match(value, pattern) is expected


@pytest.mark.parametrize(
    "pattern",
    [r"(a)\1", "(?=a)a", "(?<!a)b", "(", "a{1001}"],
    ids=["backreference", "lookahead", "lookbehind", "unbalanced", "repeat-too-large"],
)
def test_patterns_re2_refuses_are_compile_errors(pattern: str) -> None:
    with pytest.raises(RuleCompileError, match="invalid regular expression"):
        Regex(pattern)
    assert regex_match("a", pattern) is False


def test_bad_pattern_is_a_load_error_with_position_and_code() -> None:
    text = "- list: x\n  items: [a]\n" + RULE.format(pattern="(?=a)a")
    ruleset = load_rules([], sources=[("bad.yaml", text)])
    assert [(e.file, e.line, e.column, e.code) for e in ruleset.errors] == [
        ("bad.yaml", 3, 3, "LOAD_ERR_COMPILE_CONDITION")
    ]
    assert "invalid regular expression" in ruleset.errors[0].message
    assert ruleset.rules == []


def test_cached_verdicts_stay_right_past_the_cache_size() -> None:
    regex = Regex("x[0-9]*7")
    values = [f"x{n}" for n in range(Regex.CACHE_SIZE + 10)] + ["x" + "1" * 5000 + "7"]
    for _ in range(2):  # the second pass reads verdicts from the cache where kept
        assert [regex.matches(v) for v in values] == [v.endswith("7") for v in values]
