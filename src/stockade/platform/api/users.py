"""User API for accounts: users and roles, the audit log (admin); own password and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from stockade.platform.api.bodies import error, json_response
from stockade.platform.api.deps import Admin, SelfService, Services
from stockade.platform.api.http_errors import error_responses
from stockade.platform.services.accounts import MAX_TOKEN_DAYS, AccountError
from stockade.platform.services.roles import Role
from stockade.platform.store import ApiTokenRecord, UserRecord
from stockade.platform.timestamps import format_ns

router = APIRouter(prefix="/api/v1")
REFUSALS = error_responses(403, 404, 409, 422)


class NewUser(BaseModel):
    """A user to create."""

    username: str
    password: str
    role: Role = Role.VIEWER


class UserChange(BaseModel):
    """What to change about a user; omitted fields stay."""

    role: Role | None = None
    password: str | None = None


class PasswordChange(BaseModel):
    """The caller's current and new password."""

    current_password: str
    new_password: str


class NewToken(BaseModel):
    """A name for the token and its lifetime."""

    name: str = Field(min_length=1, max_length=64)
    days: int = Field(30, ge=1, le=MAX_TOKEN_DAYS)


def refused(e: AccountError) -> Response:
    """The error response of a refused account operation."""
    response = error(e.status, e.reason)
    if e.retry_after_s is not None:
        response.headers["Retry-After"] = str(e.retry_after_s)
    return response


def user_view(user: UserRecord) -> dict[str, str]:
    """A user without its password hash."""
    return {"username": user.username, "role": user.role}


def token_view(token: ApiTokenRecord) -> dict[str, str]:
    """An API token's id, name and lifetime (never the token)."""
    return {
        "id": token.id,
        "name": token.name,
        "created_at": format_ns(token.created_at),
        "expires_at": format_ns(token.expires_at),
    }


@router.get("/users")
async def list_users(services: Services, _: Admin) -> Response:
    """Every user and its role (admin)."""
    return json_response([user_view(u) for u in await services.accounts.list_users()])


@router.post("/users", status_code=201, responses=REFUSALS)
async def create_user(body: NewUser, services: Services, _: Admin) -> Response:
    """Add a user with a role (admin)."""
    try:
        await services.accounts.create_user(body.username, body.password, body.role)
    except AccountError as e:
        return refused(e)
    return json_response({"username": body.username, "role": body.role}, status=201)


@router.patch("/users/{username}", status_code=204, responses=REFUSALS)
async def update_user(username: str, body: UserChange, services: Services, _: Admin) -> Response:
    """Change a user's role or set its password (admin)."""
    try:
        await services.accounts.update_user(username, body.role, body.password)
    except AccountError as e:
        return refused(e)
    return Response(status_code=204)


@router.delete("/users/{username}", status_code=204, responses=REFUSALS)
async def delete_user(username: str, services: Services, who: Admin) -> Response:
    """Remove a user with its sessions and tokens (admin; not yourself)."""
    try:
        await services.accounts.delete_user(who, username)
    except AccountError as e:
        return refused(e)
    return Response(status_code=204)


@router.get("/audit")
async def audit(
    services: Services, _: Admin, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
) -> Response:
    """The newest state-changing calls: who, what, when, from where, and the status (admin)."""
    found = await services.audit.newest(limit)
    return json_response(
        [
            {
                "time": format_ns(a.ts),
                "username": a.username,
                "method": a.method,
                "path": a.path,
                "status": a.status,
                "source": a.source,
            }
            for a in found
        ]
    )


@router.get("/auth/me")
async def me(who: SelfService) -> dict[str, str]:
    """The logged-in user and its role."""
    return {"username": who.username, "role": who.role}


@router.post("/auth/password", status_code=204, responses=REFUSALS)
async def change_password(body: PasswordChange, services: Services, who: SelfService) -> Response:
    """Change your own password (ends your other login sessions)."""
    try:
        await services.accounts.change_password(who, body.current_password, body.new_password)
    except AccountError as e:
        return refused(e)
    return Response(status_code=204)


@router.get("/auth/tokens")
async def list_tokens(services: Services, who: SelfService) -> Response:
    """Your live API tokens (ids and names; the tokens themselves are shown only once)."""
    return json_response([token_view(t) for t in await services.accounts.list_api_tokens(who)])


@router.post("/auth/tokens", status_code=201, responses=REFUSALS)
async def create_token(body: NewToken, services: Services, who: SelfService) -> Response:
    """A new API token with your role, for scripts and Prometheus; shown only now."""
    try:
        token = await services.accounts.create_api_token(who, body.name, body.days)
    except AccountError as e:
        return refused(e)
    return json_response({"token": token, "name": body.name, "days": body.days}, status=201)


@router.delete("/auth/tokens/{token_id}", status_code=204, responses=REFUSALS)
async def revoke_token(token_id: str, services: Services, who: SelfService) -> Response:
    """Revoke one of your API tokens."""
    try:
        await services.accounts.revoke_api_token(who, token_id)
    except AccountError as e:
        return refused(e)
    return Response(status_code=204)
