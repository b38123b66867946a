"""The Sigma sample generator itself: regex samples, satisfied values, negated literals."""

from __future__ import annotations

import re

from sigma.types import SigmaRegularExpression, SigmaString

from tests.rules.sigma_samples import Literal, field_values, regex_sample, satisfy, value_matches


def test_regex_samples_are_found_by_their_pattern() -> None:
    patterns = [
        r"(.){200,}",
        r"(?:\s-[^-\s]{0,20}i|\s--inode\s)",
        r"-(W|R)\s?(\s|\"|')([0-9a-fA-F]{2}\s?){2,20}(\s|\"|')",
        r"\s-[FTd]\s",
    ]
    for pattern in patterns:
        assert re.search(pattern, regex_sample(pattern)), pattern


def test_satisfy_combines_anchors_substrings_and_regexes() -> None:
    values: list[object] = [
        SigmaString("*/bin/*"),
        SigmaString("*--inode*"),
        SigmaString("ls *"),
        SigmaRegularExpression(r"\s-d\b"),
    ]
    text = satisfy(values)
    assert text is not None
    assert all(value_matches(text, v) for v in values)


def test_a_negated_literal_that_the_values_meet_rejects_the_term() -> None:
    term = (
        Literal("Image", SigmaString("*/curl"), True),
        Literal("Image", SigmaString("/usr/bin/curl"), False),
    )
    values = field_values(term)
    assert values is not None and values["Image"] == "/curl"
    blocked = (Literal("Image", SigmaString("/usr/bin/curl"), True), term[1])
    assert field_values(blocked) is None
