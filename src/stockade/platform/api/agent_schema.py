"""The agent port's OpenAPI: bodies typed from the msgspec wire structs, every error declared.

The agent routes read their bodies themselves (msgspec, size-limited), so FastAPI cannot see
their types: each route declares its request and answer bodies here, and the app's OpenAPI
document gets the wire structs' JSON schemas (made by msgspec, the encoder the routes use).
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from stockade.platform.api.http_errors import ErrorBody, error_responses

_REF = "#/components/schemas/{name}"
_WIRE_TYPES: set[Any] = set()  # the structs some route's body names


class SequenceGapBody(ErrorBody):
    """A batch's 409: it starts past what is stored; resend from `acked_seq` + 1."""

    acked_seq: int


class Digest(BaseModel):
    """The image digest a scan is stored under."""

    digest: str


class HeartbeatAnswer(BaseModel):
    """A heartbeat was recorded."""

    status: str


class ActionsStored(BaseModel):
    """How many action outcomes were stored."""

    stored: int


def _schema_of(wire_type: Any) -> dict[str, Any]:
    _WIRE_TYPES.add(wire_type)
    (schema,), _ = msgspec.json.schema_components([wire_type], ref_template=_REF)
    return schema


def wire_body(wire_type: Any, media_type: str = "application/json") -> dict[str, Any]:
    """`openapi_extra` for a route whose request body is JSON of a wire struct."""
    content = {media_type: {"schema": _schema_of(wire_type)}}
    return {"requestBody": {"required": True, "content": content}}


def binary_body(*media_types: str) -> dict[str, Any]:
    """`openapi_extra` for a route whose request body is bytes of one of `media_types`."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"requestBody": {"required": True, "content": dict.fromkeys(media_types, binary)}}


def wire_answer(wire_type: Any, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a success answering JSON of a wire struct (or a list of them)."""
    content = {"application/json": {"schema": _schema_of(wire_type)}}
    return {status: {"description": "OK", "content": content}}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses (ErrorBody; a 409 is a SequenceGapBody)."""
    found = error_responses(*(s for s in statuses if s != 409))
    if 409 in statuses:
        found[409] = {"model": SequenceGapBody, "description": "the batch starts past a gap"}
    return found


def install_wire_schemas(app: FastAPI) -> None:
    """Make `app`'s OpenAPI document carry the schemas of the wire structs its routes name."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, routes=app.routes, description=app.description
            )
            _, components = msgspec.json.schema_components(_WIRE_TYPES, ref_template=_REF)
            document.setdefault("components", {}).setdefault("schemas", {}).update(components)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
