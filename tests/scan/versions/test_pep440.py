"""PEP 440 ordering on real PyPI versions."""

from __future__ import annotations

import pytest

from stockade.scan.versions import SCHEMES, VersionError

PEP440 = SCHEMES.get("pep440")

PAIRS = [
    ("2.19.0", "2.20.0", -1),
    ("2.19", "2.19.0", 0),
    ("1.24.1", "1.24.2", -1),
    ("2.10", "2.10.1", -1),
    ("2.11.0a1", "2.11.0", -1),
    ("2.11.0rc1", "2.11.0b2", 1),
    ("1.0.post1", "1.0", 1),
    ("1.0.dev1", "1.0a1", -1),
    ("1!0.1", "2.0", 1),
    ("2018.4.16", "2022.12.7", -1),
    ("5.3", "5.3.1", -1),
    ("5.4b1", "5.3.1", 1),
    ("1.0+local", "1.0", 1),
    ("0.12.01", "0.12.1", 0),
    ("3.0.4", "3.0.4", 0),
]


@pytest.mark.parametrize(("a", "b", "expected"), PAIRS, ids=[f"{a}|{b}" for a, b, _ in PAIRS])
def test_pep440_order(a: str, b: str, expected: int) -> None:
    assert PEP440.compare(a, b) == expected
    assert PEP440.compare(b, a) == -expected


def test_pep440_invalid() -> None:
    assert not PEP440.valid("not a version")
    with pytest.raises(VersionError):
        PEP440.compare("1.0", "foo bar")
