"""Whether a protected group may run an executable (pure: the profile and the file's facts in).

Refused: drift (a file not as the container's image has it: written or replaced after
the container started), unless the profile learned that very file (path and sha256, as a
package installed while the group discovered), an executable the profile does not hold,
or one whose sha256 is not among those the profile learned for its path (an image binary
replaced in place).
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
    profile: Profile, path: str, drifted: bool, file_hash: Callable[[], str]
) -> ExecVerdict:
    """The verdict on running `path` (`drifted`: not as the image has it); `file_hash` is
    called only when the profile has hashes for the path."""
    learned = learned_hashes(profile, path)
    if drifted and not (learned and file_hash() in learned):
        return ExecVerdict(False, "not as the image has it (written after start)", drift=True)
    if _INTERPRETER.match(path):
        return ALLOW
    if not profile.has(Behaviour(Kind.EXEC, path)):
        return ExecVerdict(False, "not in the learned profile")
    if learned and file_hash() not in learned:
        return ExecVerdict(False, "sha256 differs from the learned one", drift=True)
    return ALLOW


def learned_hashes(profile: Profile, path: str) -> list[str]:
    """The sha256 values ("sha256:...") the profile learned for the executable `path`."""
    prefix = path + " "
    return [v[len(prefix) :] for v in profile.items.get(Kind.EXEC_HASH, ()) if v.startswith(prefix)]
