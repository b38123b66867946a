"""rpmvercmp on the cases of rpm's own test suite and real RHEL versions."""

from __future__ import annotations

import pytest

from stockade.scan.versions import SCHEMES

RPM = SCHEMES.get("rpm")

PAIRS = [
    ("1.0", "1.0", 0),
    ("1.0", "2.0", -1),
    ("2.0.1", "2.0", 1),
    ("2.0.1a", "2.0.1", 1),
    ("5.5p1", "5.5p2", -1),
    ("5.5p10", "5.5p1", 1),
    ("10xyz", "10.1xyz", -1),
    ("xyz10", "xyz10.1", -1),
    ("xyz.4", "8", -1),
    ("1b.fc17", "1.fc17", -1),
    ("1b.fc17", "1b.fc17", 0),
    ("1.0~rc1", "1.0", -1),
    ("1.0~rc1", "1.0~rc2", -1),
    ("1.0~rc1~git123", "1.0~rc1", -1),
    ("1.0^", "1.0", 1),
    ("1.0^git1", "1.0", 1),
    ("1.0^git1", "1.01", -1),
    ("1.0^git1", "1.0^git2", -1),
    ("1.0^git1~pre", "1.0^git1", -1),
    ("1.0~rc1^git1", "1.0~rc1", 1),
    ("1.0^git1", "1.0~rc1", 1),
    ("2_0", "2_0", 0),
    ("2.0", "2_0", 0),
    ("a+", "a_", 0),
    ("+_", "_+", 0),
    ("1:1.0-1", "2.0-1", 1),
    ("0:1.0-1", "1.0-1", 0),
    ("1.1.1k-7.el8_6", "1.1.1k-9.el8_7", -1),
    ("3.0.7-25.el9_3", "3.0.7-24.el9", 1),
    ("1:3.0.7-27.el9", "1:3.0.7-27.el9", 0),
    ("2.28-225.el9", "2.28-225.el9_3.1", -1),
    ("4.18.0-513.5.1.el8_9", "4.18.0-513.24.1.el8_9", -1),
]


@pytest.mark.parametrize(("a", "b", "expected"), PAIRS, ids=[f"{a}|{b}" for a, b, _ in PAIRS])
def test_rpm_order(a: str, b: str, expected: int) -> None:
    assert RPM.compare(a, b) == expected
    assert RPM.compare(b, a) == -expected
