"""The FastAPI dependencies that authenticate a request and authorise a route.

Routes declare what they need with an alias, e.g. ``principal: Authorized["rubrics:read"]``
is spelt ``Annotated[Principal, Security(authorize, scopes=["rubrics:read"])]``; see
``require``. Credentials: ``Authorization: Bearer <api key>`` or a JWT (``jwt_bearer.py``),
told apart in ``_authenticate``. ``authorize`` is one dependency (the bearer scheme itself, so
the OpenAPI document names it with the scopes) rather than three nested ones: each level costs
FastAPI's dependency solving on every request.
"""

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from ..db import open_session
from ..people.service import find_existing
from ..problems import Forbidden, Unauthorized
from .jwt_bearer import looks_like_jwt
from .principal import Principal
from .scopes import ADMIN
from .service import authenticate_api_key, cached_api_key
from .throttle import client_address

BEARER_DESCRIPTION = "An Ascent API key or a JWT"
bearer = HTTPBearer(auto_error=False, description=BEARER_DESCRIPTION)


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


def _authenticate_apart(engine: Engine, token: str, verifier=None) -> Principal | None:
    """``_authenticate`` on a read session of its own, closed before the request's work starts
    (so a request still holds one connection at a time). On the request's session, a write
    request would begin its write transaction here (on SQLite: take the writer lock) and keep
    it into the endpoint's thread hop, which a thread pool full of writers waiting for that
    lock would never give it."""
    with open_session(engine) as session:
        return _authenticate(session, token, verifier)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The principal of ``Authorization: Bearer <credential>`` (as ``bearer`` reads it), or
    Unauthorized."""
    token = None if credentials is None or credentials.scheme.lower() != "bearer" \
        else credentials.credentials
    return await _principal(request, token)


def _bearer_token(request: Request) -> str | None:
    """The credential ``bearer`` would read (``Authorization: Bearer <credential>``)."""
    authorization = request.headers.get("Authorization")
    scheme, token = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and token) or scheme.lower() != "bearer":
        return None
    return token


async def _principal(request: Request, token: str | None) -> Principal:
    """Async: an API key this process verified in the last few seconds costs no thread hop;
    anything else is looked up in the thread pool."""
    if token is None:
        raise Unauthorized("This operation needs `Authorization: Bearer <credential>`.")
    throttle = getattr(request.app.state, "auth_throttle", None)  # auth/throttle.py
    if throttle is not None:
        throttle.check(client_address(request), token)
    verifier = getattr(request.app.state, "jwt_verifier", None)
    known, principal = (False, None) if verifier is not None and looks_like_jwt(
        token) else cached_api_key(token)
    if not known:
        principal = await run_in_threadpool(_authenticate_apart, request.app.state.engine, token,
                                            verifier)
    if principal is None:
        if throttle is not None:
            throttle.failed(client_address(request), token)
        raise Unauthorized("The credential is unknown, expired or revoked.")
    if principal.person is not None and principal.is_admin:
        # A person binding limits a principal to that person "unless its scopes say more":
        # admin says more (e.g. an HR admin whose JWT `sub` is their own employee id).
        principal = replace(principal, person=None)
    request.state.principal = principal
    return principal


class _Authorize(HTTPBearer):
    """The bearer scheme as the dependency that authenticates the request and checks the
    scopes its ``Security`` names (and those of any ``Security`` it sits under)."""

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        security_scopes: SecurityScopes,
    ) -> Principal:
        principal = await _principal(request, _bearer_token(request))
        for scope in security_scopes.scopes:
            if not principal.has(scope):
                raise Forbidden(f"This operation needs the `{scope}` scope.", scope=scope)
        return principal


# Named as ``bearer`` is in the OpenAPI document (one scheme, "HTTPBearer").
authorize = _Authorize(auto_error=False, scheme_name="HTTPBearer",
                       description=BEARER_DESCRIPTION)


def require(*scopes: str):
    """``Annotated`` alias for a principal holding every scope given."""
    return Annotated[Principal, Security(authorize, scopes=list(scopes))]


PrincipalDep = Annotated[Principal, Depends(authorize)]
AdminDep = require(ADMIN)
