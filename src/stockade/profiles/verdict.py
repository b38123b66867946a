"""Whether a protected group may run an executable (pure: the profile and the file's facts in).

Refused: a file written or replaced after the container started (it is on the overlay's
upper layer: drift), an executable the profile does not hold, or one whose sha256 is not
among those the profile learned for its path (an image binary replaced in place).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stockade.profiles.profile import Behaviour, Kind, Profile


@dataclass(frozen=True, slots=True)
class ExecVerdict:
    """Allowed or not, and why not (one short phrase)."""

    allow: bool
    reason: str = ""
    drift: bool = False


ALLOW = ExecVerdict(allow=True)
# The ELF interpreter is opened for exec too (after the program was allowed); the sensor's
# exec events never name it, so no profile would hold it.
_INTERPRETER = re.compile(r"^/(usr/)?lib(64|32|x32)?/([^/]+/)?ld-(linux|musl)[^/]*\.so[.0-9]*$")


def exec_verdict(
    profile: Profile, path: str, on_upper_layer: bool, file_hash: Callable[[], str]
) -> ExecVerdict:
    """The verdict on running `path`; `file_hash` is called only when the profile has hashes."""
    if on_upper_layer:
        return ExecVerdict(False, "written after the container started", drift=True)
    if _INTERPRETER.match(path):
        return ALLOW
    if not profile.has(Behaviour(Kind.EXEC, path)):
        return ExecVerdict(False, "not in the learned profile")
    prefix = path + " "
    learned = [
        v[len(prefix) :] for v in profile.items.get(Kind.EXEC_HASH, ()) if v.startswith(prefix)
    ]
    if learned and file_hash() not in learned:
        return ExecVerdict(False, "sha256 differs from the learned one", drift=True)
    return ALLOW
