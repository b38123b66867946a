"""apk version ordering on real Alpine package versions and apk-tools' rules."""

from __future__ import annotations

import pytest

from stockade.scan.versions import SCHEMES, VersionError

APK = SCHEMES.get("apk")

PAIRS = [
    ("1.2.3-r0", "1.2.3-r0", 0),
    ("1.2.3-r0", "1.2.3-r1", -1),
    ("1.2.3-r9", "1.2.3-r10", -1),
    ("1.2.3", "1.2.3-r0", -1),
    ("1.2", "1.2.1", -1),
    ("1.2_rc1", "1.2", -1),
    ("1.2_alpha1", "1.2_beta1", -1),
    ("1.2_beta", "1.2_pre", -1),
    ("1.2_pre2", "1.2_rc1", -1),
    ("1.2_p1", "1.2", 1),
    ("1.2_p1", "1.2-r9", 1),
    ("1.2_p1", "1.2.1", -1),
    ("1.2a", "1.2", 1),
    ("1.2a", "1.2b", -1),
    ("1.2a", "1.2.1", -1),
    ("1.2_git20230101", "1.2", 1),
    ("1.2_cvs", "1.2_svn", -1),
    ("3.1.4-r1", "3.1.4-r0", 1),
    ("3.0.12-r4", "3.1.0-r0", -1),
    ("1.36.1-r15", "1.36.1-r2", 1),
    ("2.38-r11", "2.39-r0", -1),
    ("8.4.0-r0", "8.11.1-r0", -1),
    ("1.1.1t-r0", "1.1.1u-r0", -1),
    ("1.1.1w-r1", "1.1.1w-r0", 1),
    ("9.3_p2-r0", "9.3_p1-r3", 1),
    ("9.3_p2-r0", "9.4_p1-r0", -1),
    ("1.0_rc1", "1.0_rc10", -1),
    ("0.3.5_git20230312-r0", "0.3.5-r0", 1),
]


@pytest.mark.parametrize(("a", "b", "expected"), PAIRS, ids=[f"{a}|{b}" for a, b, _ in PAIRS])
def test_apk_order(a: str, b: str, expected: int) -> None:
    assert APK.compare(a, b) == expected
    assert APK.compare(b, a) == -expected


@pytest.mark.parametrize("bad", ["", "r1", "1.2_foo", "1.2 3"])
def test_apk_rejects(bad: str) -> None:
    with pytest.raises(VersionError):
        APK.compare(bad, "1.0")
