"""The FIM baseline on disk: every scope's file states and the kept text copies.

Written whole to a temporary file and renamed, so a crash leaves the previous baseline.
A scope is "host" or a container id.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from stockade.host.fim_policy import FimError
from stockade.host.fim_scan import FileState

Scopes = dict[str, dict[str, FileState]]


class StoredBaseline(msgspec.Struct, kw_only=True):
    """The file's content: states by scope and path, texts by `scope:path`."""

    version: int = 1
    scopes: Scopes = msgspec.field(default_factory=dict)
    texts: dict[str, str] = msgspec.field(default_factory=dict)


_decoder = msgspec.msgpack.Decoder(StoredBaseline)
_encoder = msgspec.msgpack.Encoder()


def load(path: Path) -> StoredBaseline | None:
    """The saved baseline, or None when there is none yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise FimError(f"{path}: cannot read the FIM baseline: {e.strerror}") from e
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError:
        return None  # unreadable: a fresh baseline is taken, as on a first start


def save(path: Path, baseline: StoredBaseline) -> None:
    """Replace the saved baseline atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(_encoder.encode(baseline))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
