"""Every error under /scim/v2 as a SCIM Error message (RFC 7644 section 3.12), with
``scimType`` and ``status`` as a string, while the rest of the API keeps RFC 9457 problems.
Domain errors (``problems.py``) raised by the people service are translated here, once."""

import logging
from typing import Any

import scim2_models as scim
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..problems import BadRequest, Conflict, InvalidInput, ProblemError
from .resources import MEDIA_TYPE

log = logging.getLogger("ascent.scim")


def error_response(status: int, detail: str, scim_type: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = scim.Error(status=status, scim_type=scim_type, detail=detail)
    return JSONResponse(body.model_dump(scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE),
                        status_code=status, headers=headers, media_type=MEDIA_TYPE)


def from_problem(exc: ProblemError) -> JSONResponse:
    """A domain error (``problems.py``) as a SCIM Error message."""
    detail = exc.detail or exc.title
    if isinstance(exc, InvalidInput):  # the people rules: an invalid value, named
        named = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        return error_response(400, f"{detail} ({named})" if named else detail, "invalidValue")
    scim_type = {Conflict: "uniqueness", BadRequest: "invalidSyntax"}.get(type(exc))
    return error_response(exc.status, detail, scim_type, exc.headers())


def _first_error(errors: list[dict[str, Any]]) -> JSONResponse:
    found = scim.Error.from_validation_errors(errors)
    error = found[0] if isinstance(found, list) else found
    return error_response(int(error.status or 400), error.detail or "Invalid request.",
                          error.scim_type)


def install(app: FastAPI) -> None:
    @app.exception_handler(scim.SCIMException)
    async def _scim(request: Request, exc: scim.SCIMException):
        error = exc.to_error()
        return error_response(int(error.status or exc.status), error.detail or exc.detail,
                              error.scim_type)

    @app.exception_handler(ValidationError)  # a payload scim2-models refused
    async def _payload(request: Request, exc: ValidationError):
        return _first_error(exc.errors())

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError):
        return from_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _request(request: Request, exc: RequestValidationError):
        return error_response(400, "The request has invalid parameters.", "invalidValue")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail), None, exc.headers)

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError):
        return error_response(412, "The User was changed by another request; fetch it again.")

    @app.exception_handler(IntegrityError)  # a concurrent writer took the same unique value
    async def _taken(request: Request, exc: IntegrityError):
        return error_response(409, "Another request took the same userName or externalId.",
                              "uniqueness")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "An unexpected error occurred; it has been logged.")
