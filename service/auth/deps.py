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

from ..db import SessionDep
from ..people.service import find_existing
from ..problems import Forbidden, Unauthorized
from .jwt_bearer import looks_like_jwt, principal_from_claims
from .principal import Principal
from .scopes import ADMIN
from .service import authenticate_api_key

bearer = HTTPBearer(auto_error=False, description="An Ascent API key or a JWT")


def _authenticate(session: Session, token: str, verifier=None) -> Principal | None:
    if verifier is not None and looks_like_jwt(token):
        claims = verifier.claims(token)
        if claims is None:
            return None
        sub = str(claims["sub"])
        return principal_from_claims(claims, sub if find_existing(session, {sub}) else None)
    return authenticate_api_key(session, token)


def current_principal(
    request: Request,
    session: SessionDep,  # the request's own session: one connection per request, never two
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("This operation needs `Authorization: Bearer <credential>`.")
    principal = _authenticate(session, credentials.credentials,
                              getattr(request.app.state, "jwt_verifier", None))
    if principal is None:
        raise Unauthorized("The credential is unknown, expired or revoked.")
    if principal.person is not None and principal.is_admin:
        # A person binding limits a principal to that person "unless its scopes say more":
        # admin says more (e.g. an HR admin whose JWT `sub` is their own employee id).
        principal = replace(principal, person=None)
    request.state.principal = principal
    return principal


def authorize(
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
