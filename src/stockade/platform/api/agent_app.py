"""The agent port's app (served over mTLS): enroll, batches, ack, heartbeat.

Contract (bodies are `stockade.model.wire` structs; errors are JSON {"detail": reason}):

    POST /api/v1/agent/enroll     JSON EnrollRequest -> 200 EnrollResponse; no client cert
                                  needed; 403 unknown/used/expired token; 409 the host id is
                                  held by another active agent (the reason says the way out);
                                  422 bad request/CSR; 503 store unavailable (retry)
    GET  /api/v1/agent/ca         -> 200 the CA certificate (PEM); no client cert needed: an
                                  agent enrolling keeps it only if its fingerprint is pinned
    POST /api/v1/agent/batches    zstd(msgpack(Batch)) with Content-Type BATCH_CONTENT_TYPE and
                                  Content-Encoding zstd -> 200 Ack; 409 {"detail", "acked_seq"}
                                  on a gap; 400 bad bytes; 413 too large; 415 wrong headers;
                                  422 wrong shape or seqs; 403 agent_id is not the cert's CN
                                  or a record names another host than the agent's;
                                  503 store unavailable (retry)
    GET  /api/v1/agent/ack        -> 200 Ack (0 before anything is stored; seqs start at 1)
    POST /api/v1/agent/heartbeat  JSON Heartbeat -> 200 {"status": "ok"}; 403 another agent
                                  or another host than the one enrolled
    POST /api/v1/agent/renew      JSON RenewRequest -> 200 RenewResponse: a new certificate
    POST /api/v1/agent/scans      a ScanResult in the upload format (model.wire.encode_scan),
                                  optional ?name=REF (repeatable) -> 201 {"digest"}; 413; 422;
                                  403 an image the agent reported no container of and no
                                  user asked to have scanned
    GET  /api/v1/agent/scans/{digest}  -> 200 {"digest"} when this agent or a user stored a
                                  scan of it, else 404: each agent scans each digest once
    GET  /api/v1/agent/orders, POST /api/v1/agent/actions: response actions (agent_orders.py)
    POST /api/v1/agent/flows, GET /api/v1/agent/firewall/rules: the firewall (agent_firewall.py)
    POST /api/v1/agent/inventory: host inventory differences (agent_inventory.py)
    POST /api/v1/agent/baseline: baseline check results (agent_baseline.py)

GET /openapi.json documents all of this (bodies typed from the wire structs, every error).
Every route but enroll and ca answers 401 without a client certificate and 403 for a certificate
whose CN is not an enrolled agent, is revoked, or is not one issued to it; a certificate
from another CA (or expired) fails the TLS handshake.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from fastapi import APIRouter, FastAPI, Request, Response

import stockade
from stockade.model.wire import (
    BATCH_CONTENT_TYPE,
    BATCH_ENCODING,
    SCAN_CONTENT_TYPE,
    Ack,
    EnrollRequest,
    EnrollResponse,
    Heartbeat,
    RenewRequest,
    RenewResponse,
)
from stockade.platform.api import http_errors
from stockade.platform.api.agent_baseline import router as baseline_router
from stockade.platform.api.agent_firewall import router as firewall_router
from stockade.platform.api.agent_inventory import router as inventory_router
from stockade.platform.api.agent_orders import router as orders_router
from stockade.platform.api.agent_profiles import router as agent_profiles_router
from stockade.platform.api.agent_rules import router as agent_rules_router
from stockade.platform.api.agent_schema import (
    Digest,
    HeartbeatAnswer,
    binary_body,
    errors,
    install_wire_schemas,
    wire_answer,
    wire_body,
)
from stockade.platform.api.bodies import BodyTooLarge, error, json_response, read_body
from stockade.platform.api.deps import CallingAgent, Services
from stockade.platform.api.images import Names
from stockade.platform.pki import CsrError
from stockade.platform.services import PlatformServices
from stockade.platform.services.enrollment import EnrollmentRefused
from stockade.platform.services.ingest import MAX_BODY_BYTES, IngestError
from stockade.platform.services.scans import MAX_SCAN_BYTES, ScanRejected
from stockade.platform.store import StoreError, UnknownAgentError

SMALL_BODY_BYTES = 1024 * 1024
PEM = "application/x-pem-file"
_PEM_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": "CA certificate", "content": {PEM: {"schema": {"type": "string"}}}}
}
_ZSTD_HEADER = {  # a batch's Content-Encoding (415 otherwise)
    "name": "Content-Encoding",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "enum": [BATCH_ENCODING]},
}

router = APIRouter(prefix="/api/v1/agent")


@router.post(
    "/enroll",
    openapi_extra=wire_body(EnrollRequest),
    responses={**wire_answer(EnrollResponse), **errors(403, 409, 413, 422, 503)},
)
async def enroll(request: Request, services: Services) -> Response:
    """Exchange a one-time token and a CSR for a client certificate (EnrollResponse)."""
    try:
        body = await read_body(request, SMALL_BODY_BYTES)
        enroll_request = msgspec.json.decode(body, type=EnrollRequest)
        answer = await services.enrollment.enroll(enroll_request)
    except BodyTooLarge as e:
        return error(413, str(e))
    except (msgspec.DecodeError, RecursionError, CsrError) as e:
        return error(422, f"bad enrollment request: {e}")
    except EnrollmentRefused as e:
        return error(e.status, str(e))
    except StoreError as e:
        return error(503, f"cannot enroll now, retry later: {e}")
    return json_response(answer)


@router.get("/ca", response_class=Response, responses=_PEM_ANSWER)
async def ca(services: Services) -> Response:
    """The platform's CA certificate (PEM), which agents pin by its fingerprint."""
    return Response(services.agents.ca_pem, media_type=PEM)


@router.post(
    "/batches",
    openapi_extra={**binary_body(BATCH_CONTENT_TYPE), "parameters": [_ZSTD_HEADER]},
    responses={**wire_answer(Ack), **errors(400, 401, 403, 409, 413, 415, 422, 503)},
)
async def batches(request: Request, services: Services, agent: CallingAgent) -> Response:
    """Store a zstd-compressed msgpack Batch exactly once; answers the Ack."""
    try:
        body = await read_body(request, MAX_BODY_BYTES)
        ack = await services.ingest.ingest(
            agent,
            body,
            request.headers.get("content-type", ""),
            request.headers.get("content-encoding", ""),
        )
    except BodyTooLarge as e:
        return error(413, str(e))
    except IngestError as e:
        if e.acked_seq is not None:
            return error(e.status, e.reason, acked_seq=e.acked_seq)
        return error(e.status, e.reason)
    return json_response(ack)


@router.get("/ack", responses={**wire_answer(Ack), **errors(401, 403, 503)})
async def ack(services: Services, agent: CallingAgent) -> Response:
    """The highest sequence durable for the calling agent (stored, or held by the bus)."""
    try:
        return json_response(await services.ingest.ack(agent.agent_id))
    except IngestError as e:
        return error(e.status, e.reason)


@router.post(
    "/heartbeat",
    openapi_extra=wire_body(Heartbeat),
    response_model=HeartbeatAnswer,
    responses=errors(401, 403, 413, 422),
)
async def heartbeat(request: Request, services: Services, agent: CallingAgent) -> Response:
    """Record the agent's status (host, version, sensor counters)."""
    try:
        body = await read_body(request, SMALL_BODY_BYTES)
        beat = msgspec.json.decode(body, type=Heartbeat)
    except BodyTooLarge as e:
        return error(413, str(e))
    except (msgspec.DecodeError, RecursionError) as e:
        return error(422, f"bad heartbeat: {e}")
    if beat.agent_id != agent.agent_id:
        return error(
            403, f"heartbeat agent_id {beat.agent_id!r} differs from CN {agent.agent_id!r}"
        )
    if (beat.host.id, beat.host.hostname) != (agent.host_id, agent.hostname):
        return error(
            403,
            f"heartbeat names host {beat.host.id!r} ({beat.host.hostname!r}), but this agent "
            f"enrolled as host {agent.host_id!r} ({agent.hostname!r})",
        )
    try:
        await services.runner.write(services.store.record_heartbeat, beat, time.time_ns())
    except UnknownAgentError as e:
        return error(403, str(e))
    return json_response({"status": "ok"})


@router.post(
    "/renew",
    openapi_extra=wire_body(RenewRequest),
    responses={**wire_answer(RenewResponse), **errors(401, 403, 413, 422)},
)
async def renew(request: Request, services: Services, agent: CallingAgent) -> Response:
    """A new certificate for the calling agent's CSR; the one it called with stays valid."""
    try:
        body = await read_body(request, SMALL_BODY_BYTES)
        renewal = msgspec.json.decode(body, type=RenewRequest)
        cert_pem = await services.agents.renew(agent, renewal.csr_pem)
    except BodyTooLarge as e:
        return error(413, str(e))
    except (msgspec.DecodeError, CsrError) as e:
        return error(422, f"bad renewal request: {e}")
    except UnknownAgentError as e:
        return error(403, str(e))
    return json_response(RenewResponse(cert_pem=cert_pem))


@router.post(
    "/scans",
    status_code=201,
    openapi_extra=binary_body(SCAN_CONTENT_TYPE, "application/json"),
    response_model=Digest,
    responses=errors(401, 403, 413, 422, 503),
)
async def scans(
    request: Request, services: Services, agent: CallingAgent, name: Names = None
) -> Response:
    """Store an image scan made by the calling agent; answers the image digest."""
    try:
        body = await read_body(request, MAX_SCAN_BYTES)
        image = await services.scans.submit(
            body,
            name or (),
            agent_id=agent.agent_id,
            content_type=request.headers.get("content-type", ""),
        )
    except BodyTooLarge as e:
        return error(413, str(e))
    except ScanRejected as e:
        return error(e.status, e.reason)
    return json_response({"digest": image.digest}, status=201)


@router.get("/scans/{digest}", response_model=Digest, responses=errors(401, 403, 404, 422))
async def scan_known(digest: str, services: Services, agent: CallingAgent) -> Response:
    """200 when this agent or a user stored a scan of the digest, 404 when it should scan it."""
    if await services.scans.known(digest, agent.agent_id):
        return json_response({"digest": digest})
    return error(404, f"no scan of image {digest} is stored")


def create_agent_app(services: PlatformServices) -> FastAPI:
    """Routes agents call; all but enroll need the agent's client certificate."""
    app = FastAPI(
        title="Stockade agent API", version=stockade.__version__, docs_url=None, redoc_url=None
    )
    app.state.services = services
    app.include_router(router)
    app.include_router(orders_router)
    app.include_router(inventory_router)
    app.include_router(baseline_router)
    app.include_router(agent_profiles_router)
    app.include_router(firewall_router)
    app.include_router(agent_rules_router)
    install_wire_schemas(app)
    http_errors.install(app)
    return app
