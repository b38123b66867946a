"""OSV range semantics, table-driven: introduced/fixed/last_affected/limit and versions lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.matchers import evaluate, match_packages
from stockade.scan.vulndb import (
    Advisory,
    Affected,
    AffectedRange,
    RangeEvent,
    open_db,
)


def events(*pairs: tuple[str, str]) -> AffectedRange:
    return AffectedRange(type="ECOSYSTEM", events=tuple(RangeEvent(**{k: v}) for k, v in pairs))


INTRO0_FIX = events(("introduced", "0"), ("fixed", "2.0"))
TWO_SPANS = events(("introduced", "1.0"), ("fixed", "1.5"), ("introduced", "2.0"), ("fixed", "2.3"))
UNSORTED = events(("fixed", "2.3"), ("introduced", "2.0"), ("fixed", "1.5"), ("introduced", "1.0"))
LAST = events(("introduced", "1.0"), ("last_affected", "1.4"))
OPEN = events(("introduced", "1.2"))
LIMITED = events(("introduced", "0"), ("limit", "1.8"))

# (range, version, affected, fixed)
CASES = [
    (INTRO0_FIX, "0.1", True, "2.0"),
    (INTRO0_FIX, "1.9.9", True, "2.0"),
    (INTRO0_FIX, "2.0", False, ""),
    (INTRO0_FIX, "2.0rc1", True, "2.0"),
    (TWO_SPANS, "0.9", False, ""),
    (TWO_SPANS, "1.0", True, "1.5"),
    (TWO_SPANS, "1.7", False, ""),
    (TWO_SPANS, "2.1", True, "2.3"),
    (TWO_SPANS, "2.3", False, ""),
    (UNSORTED, "1.2", True, "1.5"),
    (UNSORTED, "2.2", True, "2.3"),
    (UNSORTED, "1.6", False, ""),
    (LAST, "1.4", True, ""),
    (LAST, "1.4.1", False, ""),
    (LAST, "0.9", False, ""),
    (OPEN, "99.0", True, ""),
    (OPEN, "1.1", False, ""),
    (LIMITED, "1.7", True, ""),
    (LIMITED, "1.8", False, ""),
]


@pytest.mark.parametrize(
    ("rng", "version", "hit", "fixed"),
    CASES,
    ids=[f"{i}-{v}" for i, (_, v, _, _) in enumerate(CASES)],
)
def test_event_ranges(rng: AffectedRange, version: str, hit: bool, fixed: str) -> None:
    verdict = evaluate(Affected(ecosystem="PyPI", name="x", ranges=(rng,)), version)
    assert (verdict is not None) is hit
    if verdict is not None:
        assert verdict.fixed == fixed


def test_versions_list_alone() -> None:
    affected = Affected(ecosystem="PyPI", name="x", versions=("1.0", "1.1.0"))
    assert evaluate(affected, "1.0") is not None
    assert evaluate(affected, "1.1") is not None  # PEP 440 equal to 1.1.0
    assert evaluate(affected, "1.2") is None


def test_semver_range_in_go() -> None:
    rng = AffectedRange(
        type="SEMVER", events=(RangeEvent(introduced="0"), RangeEvent(fixed="1.2.3"))
    )
    affected = Affected(ecosystem="Go", name="example.com/m", ranges=(rng,))
    assert evaluate(affected, "v1.2.2") is not None
    assert evaluate(affected, "v0.0.0-20191109021931-daa7c04131f5") is not None
    assert evaluate(affected, "v1.2.3") is None


def test_npm_expression_and_fix() -> None:
    rng = AffectedRange(
        type="NPM", expression="<3.11 || >= 4 <4.5", fixed_expression=">=3.11 <4 || >=4.5"
    )
    affected = Affected(ecosystem="npm", name="express", ranges=(rng,))
    assert evaluate(affected, "4.16.0") is None
    verdict = evaluate(affected, "4.2.0")
    assert verdict is not None and verdict.fixed == "4.5.0"
    verdict = evaluate(affected, "3.0.0")
    assert verdict is not None and verdict.fixed == "3.11.0"


def test_unorderable_range_is_ignored() -> None:
    affected = Affected(
        ecosystem="PyPI", name="x", ranges=(events(("introduced", "not a version")),)
    )
    assert evaluate(affected, "1.0") is None


def test_alpine_matching(tmp_path: Path) -> None:
    db = open_db(tmp_path / "v.sqlite", create=True)
    rng = events(("introduced", "0"), ("fixed", "3.1.4-r1"))
    db.replace_source(
        "secdb",
        ["alpine-secdb"],
        [
            Advisory(
                id="CVE-2023-5678",
                source="alpine-secdb",
                affected=(Affected(ecosystem="Alpine:v3.18", name="openssl", ranges=(rng,)),),
            )
        ],
    )
    libcrypto = Package(
        name="libcrypto3", version="3.1.4-r0", ecosystem=Ecosystem.ALPINE, source_name="openssl"
    )
    (finding,) = match_packages([libcrypto], "alpine 3.18.4", db)
    assert (finding.id, finding.fixed_version) == ("CVE-2023-5678", "3.1.4-r1")
    fixed = Package(
        name="libcrypto3", version="3.1.4-r1", ecosystem=Ecosystem.ALPINE, source_name="openssl"
    )
    assert match_packages([fixed], "alpine 3.18.4", db) == []
    assert match_packages([libcrypto], "alpine 3.19.0", db) == []
    db.close()
