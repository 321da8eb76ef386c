"""HTTP conventions shared by every domain: ETags and If-Match, cursor pages, Link headers."""

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

from .problems import InvalidInput, PreconditionFailed, PreconditionRequired

T = TypeVar("T")


# --- routing -----------------------------------------------------------------------------

class Router(APIRouter):
    """An APIRouter that rules itself out of a request whose path none of its routes can
    match, before FastAPI tries them one by one: that costs a few microseconds a route, for
    every route of every router ahead of the one that answers (about 15% of a readiness
    score). Include it without a prefix: the gate knows only its routes' own paths."""

    _prefixes: tuple[str, ...] | None = None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self._prefixes is None:
            self._prefixes = tuple(set(_literal_prefixes(self.routes)))
        if not get_route_path(scope).startswith(self._prefixes):
            return Match.NONE, {}
        return super().matches(scope)


def _literal_prefixes(routes: Iterable[Any]) -> Iterator[str]:
    """The text before the first path parameter of every route: a path that starts with none
    of them matches none of these routes. A route of an unknown kind lets every path by."""
    for route in routes:
        if isinstance(path := getattr(route, "path", None), str):
            yield path.split("{", 1)[0]
        elif isinstance(inner := getattr(route, "original_router", None), APIRouter):
            # FastAPI's record of an include_router(); its own prefix, if any, comes first
            prefix = getattr(getattr(route, "include_context", None), "prefix", None)
            if not isinstance(prefix, str):
                yield ""
                continue
            yield from (prefix + p for p in _literal_prefixes(inner.routes))
        else:
            yield ""


# --- ETags -------------------------------------------------------------------------------

def etag(*parts: object) -> str:
    """A strong ETag built from a resource's identity and its row version."""
    return '"' + ".".join(str(p) for p in parts) + '"'


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="ETag of the version being changed (required)"),
]


def check_if_match(if_match: str | None, current: str, *, required: bool = True) -> None:
    """428 when the header is required but missing, 412 when it names another version."""
    if if_match is None:
        if required:
            raise PreconditionRequired(
                "This update needs an If-Match header with the resource's current ETag."
            )
        return
    candidates = {c.strip().removeprefix("W/") for c in if_match.split(",")}
    if "*" not in candidates and current not in candidates:
        raise PreconditionFailed(
            f"The resource has changed: its current ETag is {current}.", current_etag=current
        )


# --- Cursor pagination ---------------------------------------------------------------------

class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page")


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput.field("query.cursor", "not a cursor this API issued") from exc
    if not isinstance(values, list):
        raise InvalidInput.field("query.cursor", "not a cursor this API issued")
    return values


def where_given(query, *filters: tuple[Any, Any]):
    """``query`` narrowed to ``column == value`` for each (column, value) whose value is given."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query


def next_page(rows: list[T], limit: int, cursor_of: Callable[[T], list[Any]]
              ) -> tuple[list[T], str | None]:
    """Rows read with ``limit + 1``: the page, and the cursor after its last row when more
    follow."""
    page = rows[:limit]
    return page, (encode_cursor(cursor_of(page[-1])) if len(rows) > limit else None)


class PageParams(BaseModel):
    limit: int
    after: list[Any] | None


Limit = Annotated[int | None, Query(ge=1, le=500, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=1000,
                                     description="Opaque cursor from a previous `next_cursor`")]


def page_params(request: Request, limit: int | None, cursor: str | None) -> PageParams:
    settings = request.app.state.settings
    return PageParams(
        limit=min(limit or settings.page_size_default, settings.page_size_max),
        after=decode_cursor(cursor),
    )


def set_link_header(request: Request, response: Response, next_cursor: str | None) -> None:
    if next_cursor:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'


def paged(request: Request, response: Response, limit: int | None, cursor: str | None,
          fetch: Callable[[PageParams], tuple[list, str | None]]) -> Page:
    """A list answer: ``fetch`` reads one page within the bounds, the `Link` header names the
    next one."""
    data, next_cursor = fetch(page_params(request, limit, cursor))
    set_link_header(request, response, next_cursor)
    return Page(data=data, next_cursor=next_cursor)
