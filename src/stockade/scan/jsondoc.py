"""JSON decoding for documents read from images: nesting too deep is malformed JSON too."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


def _too_deep(e: RecursionError) -> msgspec.DecodeError:
    return msgspec.DecodeError(f"JSON nested too deeply ({e})")


def decode_json(data: bytes) -> Any:
    """The document as Python values; msgspec.DecodeError when malformed or nested too deep."""
    try:
        return msgspec.json.decode(data)
    except RecursionError as e:  # a hostile file must not end the scan
        raise _too_deep(e) from e


def decode_json_as(data: bytes, kind: type[T]) -> T:
    """The document as `kind`; msgspec.DecodeError (or ValidationError) when it is not one."""
    try:
        return msgspec.json.decode(data, type=kind)
    except RecursionError as e:
        raise _too_deep(e) from e
