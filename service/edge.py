"""Edge hardening: security headers on every answer (a strict CSP on HTML ones) and CORS from
``ASCENT_CORS_ORIGINS`` (nothing allowed by default)."""

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", HTML_CSP)
                    if not frames_allowed(headers["content-security-policy"]):
                        headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI, cors_origins: list[str]) -> None:
    app.add_middleware(SecurityHeaders)
    if cors_origins:  # no middleware at all by default: browsers get no CORS grant
        app.add_middleware(CORSMiddleware, allow_origins=cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=CORS_HEADERS, expose_headers=CORS_EXPOSED, max_age=600)
