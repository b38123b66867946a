"""Strings of exec records and identities that repeat, decoded once per distinct value."""

from __future__ import annotations

_CACHE_MAX = 4096
_argvs: dict[bytes, tuple[tuple[str, ...], str]] = {}
_comms: dict[bytes, str] = {}


def argv_of(raw: bytes) -> tuple[tuple[str, ...], str]:
    """The argv of an exec record's slot (NUL-separated), and its arguments joined by spaces.

    A NUL never belongs to a UTF-8 sequence, so decoding first and splitting after gives
    what splitting first gives, in one call.
    """
    found = _argvs.get(raw)
    if found is None:
        argv = tuple(raw.decode(errors="replace").split("\0"))
        if argv and argv[-1] == "":
            argv = argv[:-1]
        if len(_argvs) >= _CACHE_MAX:
            _argvs.clear()
        found = _argvs[raw] = (argv, " ".join(argv[1:]))
    return found


def comm_of(raw: bytes) -> str:
    """The task's comm from its 16-byte, NUL-padded field."""
    found = _comms.get(raw)
    if found is None:
        if len(_comms) >= _CACHE_MAX:
            _comms.clear()
        found = _comms[raw] = raw.split(b"\0", 1)[0].decode(errors="replace")
    return found
