"""Debian version ordering: dpkg's rules on real package versions."""

from __future__ import annotations

import pytest

from stockade.scan.versions import SCHEMES, VersionError

DEBIAN = SCHEMES.get("debian")

# (a, b, expected sign of compare(a, b)); pairs seen in bookworm/bullseye and dpkg's tests
PAIRS = [
    ("1.0", "1.0", 0),
    ("1.0-1", "1.0-2", -1),
    ("1.0~rc1-1", "1.0-1", -1),
    ("1.0~~", "1.0~", -1),
    ("1.0~", "1.0", -1),
    ("1.0", "1.0+b1", -1),
    ("1:1.0", "2.0", 1),
    ("0:1.0", "1.0", 0),
    ("2.36-9+deb12u4", "2.36-9+deb12u3", 1),
    ("2.36-9+deb12u10", "2.36-9+deb12u9", 1),
    ("3.0.11-1~deb12u2", "3.0.11-1", -1),
    ("3.0.11-1~deb12u2", "3.0.11-1~deb12u1", 1),
    ("1:2.38.1-5+deb12u3", "1:2.38.1-5+deb12u2", 1),
    ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1),
    ("1.2.13.dfsg-1", "1:1.2.13.dfsg-1", -1),
    ("5.2.15-2+b2", "5.2.15-2", 1),
    ("2.2.1-5", "2.2.1-5+deb12u1", -1),
    ("9.2p1-2+deb12u3", "9.2p1-2+deb12u2", 1),
    ("252.22-1~deb12u1", "252.19-1~deb12u1", 1),
    ("1.0a", "1.0", 1),
    ("1.0.a", "1.0a", 1),  # letters sort before other non-digits
    ("a", "b", -1),
    ("1.10", "1.9", 1),
    ("1.0-0", "1.0", 0),
]


@pytest.mark.parametrize(("a", "b", "expected"), PAIRS, ids=[f"{a}|{b}" for a, b, _ in PAIRS])
def test_debian_order(a: str, b: str, expected: int) -> None:
    assert DEBIAN.compare(a, b) == expected
    assert DEBIAN.compare(b, a) == -expected


def test_debian_rejects_garbage() -> None:
    with pytest.raises(VersionError):
        DEBIAN.compare("1:", "1.0")
