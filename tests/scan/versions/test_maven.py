"""Maven ComparableVersion basics."""

from __future__ import annotations

import pytest

from stockade.scan.versions import SCHEMES

MAVEN = SCHEMES.get("maven")

PAIRS = [
    ("1", "1.0", 0),
    ("1.0", "1.0.0", 0),
    ("1.0-ga", "1.0", 0),
    ("1.0.final", "1.0", 0),
    ("1.0-alpha1", "1.0-beta1", -1),
    ("1.0-a1", "1.0-alpha1", 0),
    ("1.0-b2", "1.0-beta2", 0),
    ("1.0-m3", "1.0-milestone3", 0),
    ("1.0-beta2", "1.0-milestone1", -1),
    ("1.0-milestone1", "1.0-rc1", -1),
    ("1.0-cr1", "1.0-rc1", 0),
    ("1.0-rc1", "1.0-SNAPSHOT", -1),
    ("1.0-SNAPSHOT", "1.0", -1),
    ("1.0", "1.0-sp1", -1),
    ("1.0-sp1", "1.0.1", -1),
    ("1.0.1", "1.0.2", -1),
    ("2.9.10.8", "2.9.10.7", 1),
    ("2.12.7.1", "2.13.0", -1),
    ("2.17.0", "2.17.1", -1),
    ("2.0-rc1", "2.0", -1),
    ("5.3.18", "5.3.9", 1),
    ("1.0-foo", "1.0-sp", 1),
    ("1.0.0.RELEASE", "1.0.0", 0),
    ("1.0.1", "1", 1),
]


@pytest.mark.parametrize(("a", "b", "expected"), PAIRS, ids=[f"{a}|{b}" for a, b, _ in PAIRS])
def test_maven_order(a: str, b: str, expected: int) -> None:
    assert MAVEN.compare(a, b) == expected
    assert MAVEN.compare(b, a) == -expected
