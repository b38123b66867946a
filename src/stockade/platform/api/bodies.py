"""Request bodies read with a size limit, and JSON responses encoded by msgspec."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import Request, Response
from fastapi.responses import JSONResponse

from stockade.platform.errors import PlatformError

_encoder = msgspec.json.Encoder()


class BodyTooLarge(PlatformError):
    """The request body exceeds the limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (BodyTooLarge) anything over `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body of {declared} bytes exceeds {limit} bytes")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def json_response(value: Any, status: int = 200) -> Response:
    """A JSON response from msgspec-encodable values (structs, dataclasses, builtins)."""
    return Response(_encoder.encode(value), status_code=status, media_type="application/json")


def error(status: int, detail: str, **extra: Any) -> JSONResponse:
    """An error body: {"detail": reason, ...extra}."""
    return JSONResponse({"detail": detail, **extra}, status_code=status)
