"""The per-request GraphQL context, built by a FastAPI dependency: the request's session (the
request is the unit of work, as on REST), the principal, and fresh DataLoaders.

Resolvers run on the event loop while the session is synchronous, so every piece of session
work goes through ``Context.run``: one call at a time (a Session is not safe for concurrent
use) in the thread pool (the loop keeps serving other requests meanwhile).
"""

import asyncio
import json
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from sqlmodel import Session
from strawberry.fastapi import BaseContext

from ..auth.deps import bearer, current_principal
from ..auth.principal import Principal
from ..db import SessionDep, hop, read_only
from ..problems import Forbidden, Unauthorized
from ..settings import Settings
from .loaders import Loaders

T = TypeVar("T")
MAX_TOKENS = 3000  # also the parser limit of the schema (schema.py)


class Context(BaseContext):
    def __init__(self, session: Session, principal: Principal | None, settings: Settings,
                 auth_error: Unauthorized | None = None) -> None:
        super().__init__()
        self.session, self.principal, self.settings = session, principal, settings
        self.auth_error = auth_error
        self._lock = asyncio.Lock()
        self.loaders = Loaders.create(self)

    def require(self, scope: str) -> Principal:
        """The principal, if it holds ``scope`` (403 ``insufficient_scope`` as on REST)."""
        if self.principal is None:
            raise self.auth_error or Unauthorized("This operation needs a credential.")
        if not self.principal.has(scope):
            raise Forbidden(f"This operation needs the `{scope}` scope.", scope=scope)
        return self.principal

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """``fn(*args)`` with the session to itself, off the event loop."""
        async with self._lock:
            return await hop(self.session, fn, *args)

    async def write(self, fn: Callable[..., T], /, *args: Any) -> T:
        """A mutation: ``fn(*args)`` in a savepoint, so a failing mutation leaves nothing behind
        while the ones before it in the same document keep their effect (they commit with the
        request). Loaders start afresh: what they cached may have just changed."""
        def in_savepoint() -> T:
            with self.session.begin_nested():
                return fn(*args)

        self.loaders = Loaders.create(self)
        return await self.run(in_savepoint)


def _has_mutation(body: bytes) -> bool:
    """Whether a GraphQL POST body holds a mutation (unparseable: no, it will not execute)."""
    try:
        data = json.loads(body)
        items = data if isinstance(data, list) else [data]
        for item in items:
            query = item.get("query") if isinstance(item, dict) else None
            if isinstance(query, str) and _declares_mutation(query):
                return True
    except (ValueError, RecursionError, GraphQLError):  # the router answers these
        return False
    return False


@lru_cache(maxsize=256)  # clients send the same few documents; failures are not cached
def _declares_mutation(query: str) -> bool:
    return any(isinstance(d, OperationDefinitionNode) and d.operation == OperationType.MUTATION
               for d in parse(query, no_location=True, max_tokens=MAX_TOKENS).definitions)


async def _classify(request: Request) -> None:
    """Queries sent by POST take no SQLite write lock (``db.get_session`` opens a write
    transaction for POSTs unless told otherwise), so portal reads do not queue behind writers."""
    if request.method == "POST" and not _has_mutation(await request.body()):
        await read_only(request)


async def get_context(
    request: Request,
    _: Annotated[None, Depends(_classify)],  # before the session: it decides its kind
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Context:
    """The context of one GraphQL request. A missing or bad credential is kept, not raised: the
    IDE page is public, and the router answers every operation without a principal with 401."""
    try:
        principal, error = await current_principal(request, credentials), None
    except Unauthorized as exc:
        principal, error = None, exc
    return Context(session, principal, request.app.state.settings, error)
