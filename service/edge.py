"""Edge hardening: security headers on every answer (a strict CSP on HTML ones) and CORS from
``ASCENT_CORS_ORIGINS`` (nothing allowed by default); the same layer binds the request id
(``X-Request-ID``, echoed on every answer), writes the access log line and records the request
metrics."""

import time

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import REQUEST_ID_HEADER, access_log, bind_request_id, route_template
from .metrics import RequestMetrics

# HTML this API answers (rendered outlines, error pages) needs nothing from anywhere; the docs
# pages set their own, wider policy (service/docs.py) and keep it.
HTML_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
CORS_HEADERS = ["Authorization", "Content-Type", "If-Match", "Idempotency-Key", "X-Request-ID"]
CORS_EXPOSED = ["ETag", "Location", "Link", "X-Request-ID", "Idempotent-Replayed",
                "WWW-Authenticate", "Retry-After"]


def frames_allowed(csp: str) -> bool:
    """Whether a CSP lets some origin frame the page. X-Frame-Options cannot name an origin,
    so such a page goes without it rather than contradict its own CSP."""
    for directive in csp.split(";"):
        name, _, sources = directive.strip().partition(" ")
        if name.lower() == "frame-ancestors":
            return sources.strip() not in ("", "'none'")
    return False


def secure(message: Message) -> MutableHeaders:
    """Security headers on an ``http.response.start`` message (its headers returned); an
    answer's own ones stay."""
    headers = MutableHeaders(scope=message)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if headers.get("content-type", "").startswith("text/html"):
        headers.setdefault("Content-Security-Policy", HTML_CSP)
        if not frames_allowed(headers["content-security-policy"]):
            headers.setdefault("X-Frame-Options", "DENY")
    return headers


class Edge:
    """The one pure-ASGI layer around every HTTP answer, outermost of ours (so even a 413 has
    a request id): the request id (``logs.bind_request_id``), security headers and the id on
    the answer, then the access log line and the request metrics by route template. One layer
    instead of four: each layer costs a call and a wrapped ``send`` per request."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                bind_request_id(scope)
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500
        request_id = bind_request_id(scope)

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                secure(message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe(route, scope["method"], status, seconds)
            access_log(scope, route, status, seconds)


def install(app: FastAPI, cors_origins: list[str]) -> None:
    """CORS (when configured) inside the edge layer, so its answers get the same headers,
    log line and metrics."""
    if cors_origins:  # no middleware at all by default: browsers get no CORS grant
        app.add_middleware(CORSMiddleware, allow_origins=cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=CORS_HEADERS, expose_headers=CORS_EXPOSED, max_age=600)
    app.add_middleware(Edge, metrics=app.state.request_metrics)
