"""The one mapper from domain errors to GraphQL errors.

Services raise the classes of ``problems.py`` for REST and GraphQL alike. Here each error of a
GraphQL result gets ``extensions.code`` (``NOT_FOUND``, ``INVALID_INPUT`` with the field paths
in ``extensions.errors``, ``CONFLICT``, ``FORBIDDEN``, ``UNAUTHENTICATED``, ...) and the HTTP
status REST would have answered; anything unexpected is logged with its traceback and answered
with a fixed message, so no Python detail leaks.
"""

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from sqlalchemy.orm.exc import StaleDataError

from ..problems import FieldError, InvalidInput, PreconditionFailed, ProblemError

log = logging.getLogger("ascent.graphql")

UNEXPECTED = "An unexpected error occurred; it has been logged."
# Stable codes; REST's problem codes upper-cased, except where GraphQL has a common name.
_RENAMED = {"insufficient_scope": "FORBIDDEN", "internal_error": "INTERNAL_SERVER_ERROR"}


def code_of(error: ProblemError) -> str:
    return _RENAMED.get(error.code, error.code.upper())


def extensions_of(error: ProblemError) -> dict[str, Any]:
    """``code``, the REST ``status``, the problem's extra members and, for invalid input,
    ``errors``: one ``{field, message}`` per offending field."""
    ext: dict[str, Any] = {"code": code_of(error), "status": error.status}
    ext |= {k: v for k, v in error.extra.items() if k not in ext}
    if isinstance(error, InvalidInput):
        ext["errors"] = [e.model_dump() for e in error.errors]
    return ext


def problem_body(error: ProblemError) -> dict[str, Any]:
    """A whole GraphQL answer carrying one domain error (e.g. the 401 before execution)."""
    return {"data": None, "errors": [{"message": error.detail or error.title,
                                      "extensions": extensions_of(error)}]}


def map_error(error: GraphQLError) -> None:
    """Give one error of a result its code, in place (see ``AscentSchema.process_errors``)."""
    original = error.original_error
    if isinstance(original, StaleDataError):  # a concurrent writer won, as REST's 412
        original = PreconditionFailed(
            "The resource was changed by another request; fetch it again.")
    if isinstance(original, ProblemError):
        error.message = original.detail or original.title
        error.extensions = extensions_of(original)
    elif isinstance(error, GraphQLSyntaxError):
        error.extensions = {"code": "GRAPHQL_PARSE_FAILED"}
    elif error.path is None and (original is None or isinstance(original, ValueError | TypeError)):
        # Validation, a limit, or a variable/literal that its type refused (scalars raise
        # ValueError): the client's document, reported before anything was executed.
        error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED"}
    else:
        log.error("unexpected GraphQL error at %s", error.path,
                  exc_info=(type(original), original, original.__traceback__)
                  if original is not None else None)
        error.message = UNEXPECTED
        error.extensions = {"code": "INTERNAL_SERVER_ERROR", "status": 500}
        error.original_error = None


# --- field paths ----------------------------------------------------------------------------

_SEGMENT = re.compile(r"^([^\[]*)(.*)$")  # "ratings[2]" -> ("ratings", "[2]")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def graphql_path(field: str, prefix: str | None = None,
                 renames: Mapping[str, str] | None = None) -> str:
    """A service's field path (``target_level``, ``ratings[1].proficiency``) as the GraphQL
    client wrote it: camelCase under the argument ``prefix`` (``input.targetLevel``). Keys
    inside a JSON ``values`` object are the template's own and stay as they are."""
    if renames and field in renames:
        return renames[field]
    parts, raw = [], False
    for segment in field.split("."):
        name, index = _SEGMENT.match(segment).groups()
        parts.append((name if raw else _camel(name)) + index)
        raw = raw or name == "values"
    path = ".".join(parts)
    return f"{prefix}.{path}" if prefix and path else (prefix or path)


@contextmanager
def arguments(prefix: str | None = None, renames: Mapping[str, str] | None = None
              ) -> Iterator[None]:
    """Report the field paths of an ``InvalidInput`` raised inside as GraphQL argument paths."""
    try:
        yield
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, [
            FieldError(field=graphql_path(e.field, prefix, renames), message=e.message)
            for e in exc.errors]) from exc
