"""The FastAPI dependencies that authenticate a request and authorise a route.

Routes declare what they need with an alias, e.g. ``principal: Authorized["rubrics:read"]``
is spelt ``Annotated[Principal, Security(authorize, scopes=["rubrics:read"])]``; see
``require``. Credentials: ``Authorization: Bearer <api key>`` or a JWT (``jwt_bearer.py``),
told apart in ``_authenticate``.
"""

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from ..db import SessionDep
from ..people.service import find_existing
from ..problems import Forbidden, Unauthorized
from .jwt_bearer import looks_like_jwt
from .principal import Principal
from .scopes import ADMIN
from .service import authenticate_api_key, cached_api_key
from .throttle import client_address

bearer = HTTPBearer(auto_error=False, description="An Ascent API key or a JWT")


def _authenticate(session: Session, token: str, verifier=None) -> Principal | None:
    if verifier is not None and looks_like_jwt(token):
        claims = verifier.claims(token)
        if claims is None:
            return None
        sub = str(claims["sub"])
        principal = verifier.principal(claims, bool(find_existing(session, {sub})))
        if principal is None:
            raise Unauthorized("The token's subject is not a person Ascent knows, nor a "
                               "configured service subject.")
        return principal
    return authenticate_api_key(session, token)


async def current_principal(
    request: Request,
    session: SessionDep,  # the request's own session: one connection per request, never two
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Async: an API key this process verified in the last few seconds costs no thread hop;
    anything else is looked up in the thread pool."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("This operation needs `Authorization: Bearer <credential>`.")
    throttle = getattr(request.app.state, "auth_throttle", None)  # auth/throttle.py
    if throttle is not None:
        throttle.check(client_address(request), credentials.credentials)
    verifier = getattr(request.app.state, "jwt_verifier", None)
    known, principal = (False, None) if verifier is not None and looks_like_jwt(
        credentials.credentials) else cached_api_key(credentials.credentials)
    if not known:
        principal = await run_in_threadpool(_authenticate, session, credentials.credentials,
                                            verifier)
    if principal is None:
        if throttle is not None:
            throttle.failed(client_address(request), credentials.credentials)
        raise Unauthorized("The credential is unknown, expired or revoked.")
    if principal.person is not None and principal.is_admin:
        # A person binding limits a principal to that person "unless its scopes say more":
        # admin says more (e.g. an HR admin whose JWT `sub` is their own employee id).
        principal = replace(principal, person=None)
    request.state.principal = principal
    return principal


async def authorize(
    security_scopes: SecurityScopes,
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    for scope in security_scopes.scopes:
        if not principal.has(scope):
            raise Forbidden(f"This operation needs the `{scope}` scope.", scope=scope)
    return principal


def require(*scopes: str):
    """``Annotated`` alias for a principal holding every scope given."""
    return Annotated[Principal, Security(authorize, scopes=list(scopes))]


PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = require(ADMIN)
