"""RubyGems ordering, per Gem::Version's own test cases."""

from __future__ import annotations

import pytest

from stockade.scan.versions import SCHEMES, VersionError, scheme_for

GEMS = SCHEMES.get("rubygems")

PAIRS = [
    ("1.0", "1.0.0", 0),
    ("1.0.0", "1", 0),
    ("1.8.2", "0.0.0", 1),
    ("1.8.2", "1.8.2.a", 1),
    ("1.8.2.b", "1.8.2.a", 1),
    ("1.8.2.a10", "1.8.2.a9", 1),
    ("1.0.0.pre", "1.0.0", -1),
    ("1.0-beta", "1.0.pre.beta", 0),
    ("1.0.a", "1.0.0.a", 0),
    ("5.2.4.rc1", "5.2.4", -1),
    ("6.0.3.1", "6.0.3", 1),
    ("6.0.3.1", "6.0.4", -1),
    ("2.2.10", "2.2.9", 1),
    ("0.9", "0.10", -1),
]


@pytest.mark.parametrize(("a", "b", "expected"), PAIRS, ids=[f"{a}|{b}" for a, b, _ in PAIRS])
def test_rubygems_order(a: str, b: str, expected: int) -> None:
    assert GEMS.compare(a, b) == expected
    assert GEMS.compare(b, a) == -expected


@pytest.mark.parametrize("bad", ["", "junk", "1..2", "1.0 beta", ".1"])
def test_invalid_versions_are_version_errors(bad: str) -> None:
    with pytest.raises(VersionError):
        GEMS.compare(bad, "1.0")


def test_rubygems_advisories_are_ordered_by_this_scheme() -> None:
    assert scheme_for("RubyGems") is GEMS
