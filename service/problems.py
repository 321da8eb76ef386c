"""Domain errors and their one translation into RFC 9457 ``application/problem+json``.

Services raise these classes; they never raise ``HTTPException``. ``install(app)`` registers
the handlers, and ``PROBLEM_RESPONSES`` declares every problem status in the OpenAPI.
GraphQL maps the same classes to ``extensions.code`` (see ``code``).
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("ascent.problems")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:ascent:problem:"


class FieldError(BaseModel):
    field: str = Field(description="Path of the offending field, e.g. `levels[2].order`")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI identifying the problem type")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str = Field(description="Stable machine-readable code, e.g. `not_found`")
    errors: list[FieldError] | None = Field(
        None, description="Field-level errors (validation problems)"
    )


class ProblemError(Exception):
    """Base of all domain errors: a status, a stable code and a human detail."""

    status = 500
    code = "internal_error"
    title = "Internal Server Error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extra = extra

    def headers(self) -> dict[str, str]:
        return {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_PREFIX + self.code.replace("_", "-"),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "code": self.code,
        }
        # Extra members add context (e.g. current_status); they never replace the standard ones.
        body.update({k: v for k, v in self.extra.items() if k not in body})
        return body


class BadRequest(ProblemError):
    status, code, title = 400, "bad_request", "Bad Request"


class Unauthorized(ProblemError):
    status, code, title = 401, "unauthenticated", "Unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="ascent"'}


class Forbidden(ProblemError):
    status, code, title = 403, "insufficient_scope", "Forbidden"

    def __init__(self, detail: str | None = None, scope: str | None = None, **extra: Any):
        super().__init__(detail, **({"scope": scope} if scope else {}), **extra)
        self.scope = scope

    def headers(self) -> dict[str, str]:
        value = 'Bearer realm="ascent", error="insufficient_scope"'
        return {"WWW-Authenticate": value + (f', scope="{self.scope}"' if self.scope else "")}


class NotFound(ProblemError):
    status, code, title = 404, "not_found", "Not Found"


class MethodNotAllowed(ProblemError):
    status, code, title = 405, "method_not_allowed", "Method Not Allowed"


class Conflict(ProblemError):
    status, code, title = 409, "conflict", "Conflict"


class PreconditionFailed(ProblemError):
    status, code, title = 412, "precondition_failed", "Precondition Failed"


class PayloadTooLarge(ProblemError):
    status, code, title = 413, "payload_too_large", "Content Too Large"


class UnsupportedMediaType(ProblemError):
    status, code, title = 415, "unsupported_media_type", "Unsupported Media Type"


class InvalidInput(ProblemError):
    status, code, title = 422, "invalid_input", "Unprocessable Content"

    def __init__(self, detail: str | None = None, errors: list[FieldError] | None = None):
        super().__init__(detail or "The request has invalid fields.")
        self.errors = errors or []

    @classmethod
    def field(cls, field: str, message: str) -> "InvalidInput":
        return cls(message, [FieldError(field=field, message=message)])

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return super().body(instance) | {"errors": [e.model_dump() for e in self.errors]}


class PreconditionRequired(ProblemError):
    status, code, title = 428, "precondition_required", "Precondition Required"


class TooManyRequests(ProblemError):
    status, code, title = 429, "too_many_requests", "Too Many Requests"

    def __init__(self, detail: str | None = None, retry_after: int = 1, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(ProblemError):
    status, code, title = 503, "unavailable", "Service Unavailable"


_BY_STATUS = {
    cls.status: cls
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, Conflict,
                PreconditionFailed, PayloadTooLarge, UnsupportedMediaType, InvalidInput,
                PreconditionRequired, TooManyRequests, ServiceUnavailable)
}


def problem_response(error: ProblemError, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        error.body(instance),
        status_code=error.status,
        headers=error.headers(),
        media_type=PROBLEM_MEDIA_TYPE,
    )


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "levels", 2, "order")`` -> ``levels[2].order``; query/path/header keep
    their source as the first part (``query.limit``)."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


def _validation_problem(exc: RequestValidationError) -> ProblemError:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadRequest("The request body is not valid JSON.")
    return InvalidInput(
        "The request has invalid fields.",
        [FieldError(field=field_path(e.get("loc", ())), message=e.get("msg", "invalid"))
         for e in errors],
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _domain(request: Request, exc: ProblemError):
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return problem_response(_validation_problem(exc), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        cls = _BY_STATUS.get(exc.status_code)
        error = cls(str(exc.detail)) if cls else ProblemError(str(exc.detail))
        if not cls:
            error.status = exc.status_code
        response = problem_response(error, request.url.path)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            ProblemError("An unexpected error occurred; it has been logged."), request.url.path
        )


_DESCRIPTIONS = {
    400: "Malformed request (e.g. a body that is not valid JSON)",
    401: "No valid credential (`WWW-Authenticate: Bearer`)",
    403: "The credential lacks the scope this operation needs (`insufficient_scope`)",
    404: "No such resource (or not visible to this principal)",
    409: "Conflicts with the resource's current state",
    412: "`If-Match` does not match the current ETag",
    413: "Request body larger than the configured limit",
    415: "Unsupported request media type",
    422: "Invalid input; `errors` lists each field path with a message",
    428: "`If-Match` is required for this update",
    429: "Too many invalid credentials from this client; wait `Retry-After` seconds",
    500: "Unexpected server error (no details leak)",
    503: "Not ready: the database is unreachable or not migrated",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries declaring problem+json for the given statuses."""
    return {
        s: {
            "description": _DESCRIPTIONS[s],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }


def add_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put ``Problem`` (referenced by every problem response) into the OpenAPI components."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(schema.pop("$defs", {}))
    schemas["Problem"] = schema
    return openapi


# Declared on every /v1 route: the statuses any authenticated route can answer.
PROBLEM_RESPONSES = responses(400, 401, 403, 404, 413, 422, 429, 500)
