"""npm semver ordering and range syntax, checked against node-semver on the advisory corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nodesemver
import pytest

from stockade.scan.versions import SCHEMES, NpmRange, VersionError
from stockade.scan.versions.semver import SemVer

SEMVER = SCHEMES.get("semver")

ORDER = [
    ("1.0.0-alpha", "1.0.0-alpha.1", -1),
    ("1.0.0-alpha.1", "1.0.0-alpha.beta", -1),
    ("1.0.0-alpha.beta", "1.0.0-beta", -1),
    ("1.0.0-beta.2", "1.0.0-beta.11", -1),
    ("1.0.0-rc.1", "1.0.0", -1),
    ("1.0.0+build.5", "1.0.0", 0),
    ("4.17.15", "4.17.19", -1),
    ("4.17.21", "4.17.19", 1),
    ("v1.2.0", "1.2.0", 0),
]


@pytest.mark.parametrize(("a", "b", "expected"), ORDER, ids=[f"{a}|{b}" for a, b, _ in ORDER])
def test_semver_order(a: str, b: str, expected: int) -> None:
    assert SEMVER.compare(a, b) == expected
    assert SEMVER.compare(b, a) == -expected


# (range, version, satisfied) written from npm's documentation of each form
RANGES = [
    (">=1.2.0 <1.4.2 || >=2.0.0 <2.1.1", "1.3.9", True),
    (">=1.2.0 <1.4.2 || >=2.0.0 <2.1.1", "1.4.2", False),
    (">=1.2.0 <1.4.2 || >=2.0.0 <2.1.1", "2.1.0", True),
    ("<=4.17.15", "4.17.15", True),
    ("<=4.17.15", "4.17.16", False),
    ("<= 4.17.15", "4.17.0", True),
    ("^1.2.3", "1.9.9", True),
    ("^1.2.3", "2.0.0", False),
    ("^0.2.3", "0.3.0", False),
    ("^0.0.3", "0.0.4", False),
    ("^1.2", "1.2.0", True),
    ("~1.2", "1.2.9", True),
    ("~1.2", "1.3.0", False),
    ("~1.2.3", "1.2.2", False),
    ("~1", "1.9.0", True),
    ("*", "0.0.1", True),
    ("", "9.9.9", True),
    ("1.x", "1.99.0", True),
    ("1.x", "2.0.0", False),
    ("1.2.*", "1.2.7", True),
    ("1.2.3 - 2.3", "2.3.9", True),
    ("1.2.3 - 2.3", "2.4.0", False),
    (">1.2", "1.2.9", False),
    (">1.2", "1.3.0", True),
    ("<1.2", "1.1.9", True),
    ("<2.0.0", "2.0.0-beta.1", False),  # a pre-release needs a set naming its own release
    (">=2.0.0-beta.1 <2.0.0", "2.0.0-beta.2", True),
    (">=1.0.0 <2.0.0", "1.5.0-rc.1", False),
]


@pytest.mark.parametrize(
    ("expr", "version", "expected"), RANGES, ids=[f"{r}@{v}" for r, v, _ in RANGES]
)
def test_npm_range(expr: str, version: str, expected: bool) -> None:
    assert NpmRange.parse(expr).satisfied_by(version) is expected


def test_npm_range_rejects_garbage() -> None:
    with pytest.raises(VersionError):
        NpmRange.parse(">=foo")
    with pytest.raises(VersionError):
        SemVer.parse("1.2")


def _corpus_ranges(corpus: Path) -> set[str]:
    out: set[str] = set()
    for path in (corpus / "vulndb/nodejs-security-wg/vuln/npm").glob("*.json"):
        doc = json.loads(path.read_text())
        out.update(doc[k] for k in ("vulnerable_versions", "patched_versions") if doc.get(k))
    return out


def _probe_versions(expr: str) -> list[str]:
    """Every version the range names, its neighbours and a pre-release of each."""
    out: set[str] = {"0.0.0", "0.1.0", "1.0.0", "99.0.0"}
    for text in re.findall(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?", expr):
        major, minor, patch = (int(x) for x in text.split("-")[0].split("."))
        out.update(
            {
                text,
                f"{major}.{minor}.{patch + 1}",
                f"{major}.{minor + 1}.0",
                f"{major + 1}.0.0",
                f"{major}.{minor}.{patch}-beta.1",
            }
        )
    return sorted(out)


def test_npm_ranges_agree_with_node_semver_on_corpus(corpus: Path) -> None:
    ranges = _corpus_ranges(corpus)
    assert len(ranges) > 400
    disagreements = [
        (expr, v)
        for expr in sorted(ranges)
        for v in _probe_versions(expr)
        if NpmRange.parse(expr).satisfied_by(v) != nodesemver.satisfies(v, expr, loose=False)
    ]
    assert disagreements == []
