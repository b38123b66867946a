"""Go module version ordering: v-prefix, +incompatible, pseudo-versions."""

from __future__ import annotations

import pytest

from stockade.scan.versions import SCHEMES

GO = SCHEMES.get("go")

PAIRS = [
    ("v1.2.3", "v1.2.4", -1),
    ("v1.2.3", "1.2.3", 0),
    ("v2.0.0+incompatible", "v2.0.0", 0),
    ("v2.0.0+incompatible", "v2.1.0+incompatible", -1),
    ("v0.0.0-20191109021931-daa7c04131f5", "v0.0.1", -1),
    ("v0.0.0-20191109021931-daa7c04131f5", "v0.0.0-20200101000000-aaaaaaaaaaaa", -1),
    ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3", 1),
    ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4", -1),
    ("v1.2.4-pre.0.20191109021931-daa7c04131f5", "v1.2.4-pre", 1),
    ("v0.17.0", "v0.9.1", 1),
    ("v1.0.0-rc.1", "v1.0.0-rc.2", -1),
    ("v1.0.0-rc.10", "v1.0.0-rc.2", 1),
    ("v1.0.0-alpha", "v1.0.0-alpha.1", -1),
    ("v1.0.0-alpha.beta", "v1.0.0-alpha.1", 1),
    ("v1.2", "v1.2.0", 0),
    ("go1.21.0", "v1.21.0", 0),
    ("go1.20", "1.20.0", 0),
    ("v1.21rc2", "v1.21.0", -1),
    ("go1.21rc2", "1.21.0-rc.2", 0),
    ("go1.9beta1", "go1.9rc1", -1),
]


@pytest.mark.parametrize(("a", "b", "expected"), PAIRS, ids=[f"{a}|{b}" for a, b, _ in PAIRS])
def test_go_order(a: str, b: str, expected: int) -> None:
    assert GO.compare(a, b) == expected
    assert GO.compare(b, a) == -expected
