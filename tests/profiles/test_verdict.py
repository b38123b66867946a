"""Protect's verdict: drift and unknown executables refused, the ELF interpreter let through."""

from __future__ import annotations

import pytest

from stockade.profiles.groups import GroupId
from stockade.profiles.profile import Behaviour, Kind, Profile, merged
from stockade.profiles.verdict import exec_verdict

PROFILE = merged(
    Profile(group=GroupId("web")),
    [Behaviour(Kind.EXEC, "/usr/bin/ls"), Behaviour(Kind.EXEC_HASH, "/usr/bin/ls sha256:aa")],
)


@pytest.mark.parametrize(
    ("path", "upper", "file_hash", "allow", "drift"),
    [
        ("/usr/bin/ls", False, "sha256:aa", True, False),
        ("/usr/bin/ls", True, "sha256:bb", False, True),
        ("/usr/bin/ls", True, "sha256:aa", True, False),
        ("/usr/bin/id", True, "sha256:aa", False, True),
        ("/usr/bin/ls", False, "sha256:bb", False, True),
        ("/usr/bin/id", False, "sha256:cc", False, False),
        ("/usr/lib64/ld-linux-x86-64.so.2", False, "", True, False),
        ("/tmp/ld-linux-x86-64.so.2", False, "", False, False),
    ],
    ids=[
        "learned",
        "drift",
        "drift-learned-in-discover",
        "drift-unknown",
        "replaced",
        "unknown",
        "interpreter",
        "fake-interpreter",
    ],
)
def test_exec_verdict(path: str, upper: bool, file_hash: str, allow: bool, drift: bool) -> None:
    verdict = exec_verdict(PROFILE, path, upper, lambda: file_hash)
    assert (verdict.allow, verdict.drift) == (allow, drift)
    assert verdict.allow or verdict.reason
