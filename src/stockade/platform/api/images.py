"""User API for image scans: upload a `ScanResult`, list images, one image's findings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from stockade.model.inventory import Severity
from stockade.platform.api.bodies import BodyTooLarge, error, json_response, read_body
from stockade.platform.api.deps import Services, User, current_user
from stockade.platform.api.http_errors import error_responses, names_pattern
from stockade.platform.api.image_views import (
    image_detail_view,
    image_view,
    parse_severity,
)
from stockade.platform.services.scans import MAX_SCAN_BYTES, ScanRejected
from stockade.platform.store import ImageQuery

MAX_LIMIT = 10_000
Names = Annotated[list[str] | None, Query(description="names the image is known by")]
SeverityParam = Annotated[
    str | None,
    Query(
        description="this severity or worse, e.g. HIGH",
        pattern=names_pattern([s.name for s in Severity]),
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="at most this many")]

router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_user)])


def _severity(value: str | None) -> Severity | None:
    try:
        return parse_severity(value) if value else None
    except ValueError as e:
        raise HTTPException(422, f"severity: {e}") from e


@router.post(
    "/scans",
    status_code=201,
    responses=error_responses(413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the JSON of `stockade scan image --format json`",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def upload_scan(request: Request, services: Services, name: Names = None) -> Response:
    """Store the JSON of `stockade scan image --format json`; answers the image digest."""
    try:
        body = await read_body(request, MAX_SCAN_BYTES)
        image = await services.scans.submit(
            body, name or (), content_type=request.headers.get("content-type", "")
        )
    except BodyTooLarge as e:
        return error(413, str(e))
    except ScanRejected as e:
        return error(e.status, e.reason)
    return json_response({"digest": image.digest, "image": image_view(image)}, status=201)


@router.post("/images/{digest}/scan-request", status_code=202)
async def request_scan(digest: str, services: Services, user: User) -> Response:
    """Let agents upload a scan of this image even if none of theirs runs it."""
    await services.scans.request(digest, user.username)
    return json_response({"digest": digest, "requested_by": user.username}, status=202)


@router.get("/images")
async def images(
    services: Services, name: str | None = None, severity: SeverityParam = None, limit: Limit = 100
) -> Response:
    """Scanned images with finding counts, most recently scanned first."""
    minimum = _severity(severity)
    query = ImageQuery(
        name=name, min_severity=int(minimum) if minimum is not None else None, limit=limit
    )
    found = await services.runner.read(services.store.list_images, query)
    return json_response([image_view(i) for i in found])


@router.get("/images/{digest}", responses=error_responses(404))
async def image(
    digest: str,
    services: Services,
    kind: str | None = None,
    severity: SeverityParam = None,
    limit: Limit = 1000,
) -> Response:
    """One image: layers, packages and findings (filtered by kind and severity)."""
    minimum = _severity(severity)
    scan = await services.runner.read(services.store.get_scan, digest)
    if scan is None:
        return error(404, f"no scan of image {digest} is stored")
    return json_response(image_detail_view(scan, kind, minimum, limit))
