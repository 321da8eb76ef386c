"""Swagger UI (`/docs`) and ReDoc (`/redoc`) served with the app's own assets: HR networks
often have no CDN access, and a docs page must not pull scripts from third parties.

The assets come from the ``fastapi-standalone-docs`` package (Swagger UI 5 and ReDoc 2, which
render OpenAPI 3.1; the ``swagger-ui-bundle`` package ships Swagger UI 4, which cannot). Its
static folders are mounted; the pages are FastAPI's own HTML pointing at them, and each
response carries a Content-Security-Policy allowing only those assets plus the page's inline
bootstrap script, by nonce.
"""

import re
import secrets
from collections.abc import Callable
from pathlib import Path

import fastapi_standalone_docs
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(fastapi_standalone_docs.__file__).parent / "static"
ASSETS = "/docs-assets"
_INLINE_SCRIPT = re.compile(r"<script>")


def docs_csp(nonce: str) -> str:
    return ("default-src 'none'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self' 'unsafe-inline'; "  # both UIs set inline styles at run time
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "worker-src 'self' blob:; "  # ReDoc's search runs in a blob: worker
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def _page(html: HTMLResponse) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    body = _INLINE_SCRIPT.sub(f'<script nonce="{nonce}">', bytes(html.body).decode())
    return HTMLResponse(body, headers={"Content-Security-Policy": docs_csp(nonce)})


def install(app: FastAPI) -> None:
    """Mount the assets and the two pages (create the app with docs_url=redoc_url=None)."""
    app.mount(f"{ASSETS}/swagger", StaticFiles(directory=STATIC / "swagger"), name="swagger")
    app.mount(f"{ASSETS}/redoc", StaticFiles(directory=STATIC / "redoc"), name="redoc")
    app.mount(f"{ASSETS}/fastapi", StaticFiles(directory=STATIC / "fastapi"), name="favicon")
    favicon = f"{ASSETS}/fastapi/favicon.png"

    def page(path: str, name: str, html: Callable[[str], HTMLResponse]) -> None:
        """Serve ``html(root)`` at ``path``, ``root`` being the app's root path (behind a
        proxy's prefix, every URL of the page starts with it)."""
        @app.get(path, include_in_schema=False, name=name)
        def serve(request: Request) -> HTMLResponse:
            return _page(html(request.scope.get("root_path", "")))

    page("/docs", "swagger_ui", lambda root: get_swagger_ui_html(
        openapi_url=root + app.openapi_url, title=f"{app.title} - Swagger UI",
        swagger_js_url=root + f"{ASSETS}/swagger/swagger-ui-bundle.js",
        swagger_css_url=root + f"{ASSETS}/swagger/swagger-ui.css",
        swagger_favicon_url=root + favicon,
        swagger_ui_parameters={"validatorUrl": None}))  # no badge from a public validator
    page("/redoc", "redoc", lambda root: get_redoc_html(
        openapi_url=root + app.openapi_url, title=f"{app.title} - ReDoc",
        redoc_js_url=root + f"{ASSETS}/redoc/redoc.standalone.js",
        redoc_favicon_url=root + favicon, with_google_fonts=False))
