"""Who is calling: the ``Principal`` and the FastAPI dependencies that authorise a route.

Routes declare what they need with an alias, e.g. ``principal: Authorized["rubrics:read"]``
is spelt ``Annotated[Principal, Security(authorize, scopes=["rubrics:read"])]``; see
``require``. Credentials: ``Authorization: Bearer <api key>``; JWT bearer tokens plug in at
``_authenticate`` (a later issue).
"""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from ..problems import Forbidden, Unauthorized
from .scopes import ADMIN

bearer = HTTPBearer(auto_error=False, description="An Ascent API key or a JWT")


@dataclass(frozen=True)
class Principal:
    id: str  # stable identity, e.g. "key:asc_1a2b3c4d" or "jwt:<sub>"
    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    person: str | None = None  # external_id when bound to a person (self-service)

    def has(self, scope: str) -> bool:
        return ADMIN in self.scopes or scope in self.scopes

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes


def _authenticate(request: Request, token: str) -> Principal | None:
    from .service import authenticate_api_key

    return authenticate_api_key(request.app.state.engine, token)


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("This operation needs `Authorization: Bearer <credential>`.")
    principal = _authenticate(request, credentials.credentials)
    if principal is None:
        raise Unauthorized("The credential is unknown, expired or revoked.")
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
