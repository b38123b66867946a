"""FastAPI dependencies: the platform's services, the logged-in user, the calling agent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from cryptography import x509
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from stockade.platform.api.peercert import PEER_CERT_STATE
from stockade.platform.services import PlatformServices
from stockade.platform.services.accounts import Principal
from stockade.platform.services.agents import AgentIdentity, AgentRefused
from stockade.platform.services.roles import Role
from stockade.platform.store import StoreError

_bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/auth/login")


async def platform_services(request: Request) -> PlatformServices:
    """The services the app was created with."""
    # async although it awaits nothing: FastAPI runs a plain def dependency on its thread
    # pool, a round trip through another thread for every request (every agent batch)
    return cast(PlatformServices, request.app.state.services)


Services = Annotated[PlatformServices, Depends(platform_services)]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
USER_STATE = "username"  # request.state attribute the audit log reads


async def any_user(
    request: Request,
    services: Services,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The user behind the bearer token, whatever its role; 401 without a live one."""
    user = None
    if credentials is not None:
        user = await services.accounts.principal_for(credentials.credentials)
    if user is None:
        raise HTTPException(
            401, "log in first: POST /api/v1/auth/login", {"WWW-Authenticate": "Bearer"}
        )
    setattr(request.state, USER_STATE, user.username)
    return user


async def current_user(
    request: Request, user: Annotated[Principal, Depends(any_user)]
) -> Principal:
    """The logged-in user; a viewer may only read (403 for anything that changes state)."""
    if request.method not in SAFE_METHODS and not user.role.allows(Role.ANALYST):
        raise HTTPException(403, f"role {user.role} may only read")
    return user


def require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only users whose role allows what `role` may do."""

    async def check(user: Annotated[Principal, Depends(current_user)]) -> Principal:
        if not user.role.allows(role):
            raise HTTPException(403, f"this needs role {role} or higher; you are {user.role}")
        return user

    return check


async def calling_agent(request: Request, services: Services) -> AgentIdentity:
    """The calling agent and its host: from its verified client cert, enrolled, not revoked."""
    der: bytes | None = getattr(request.state, PEER_CERT_STATE, None)
    if not der:
        raise HTTPException(401, "a client certificate issued at enrollment is required")
    try:
        return await services.agents.identify(x509.load_der_x509_certificate(der))
    except AgentRefused as e:
        raise HTTPException(e.status, e.reason) from e
    except StoreError as e:
        raise HTTPException(503, f"cannot check the agent's identity now, retry later: {e}") from e


User = Annotated[Principal, Depends(current_user)]
SelfService = Annotated[Principal, Depends(any_user)]  # calls a viewer may make on itself
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
CallingAgent = Annotated[AgentIdentity, Depends(calling_agent)]
