"""Edge hardening: CORS only for configured origins, security headers, body size limit, and
docs pages that load nothing from outside the app."""

import re

import httpx
import pytest

from service.app import create_app
from service.settings import Settings

pytestmark = pytest.mark.anyio

PORTAL = "https://portal.example.com"
PREFLIGHT = {"Origin": PORTAL, "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "authorization"}


async def test_no_cors_grant_by_default(client):
    preflight = await client.options("/v1/rubrics", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers
    simple = await client.get("/livez", headers={"Origin": PORTAL})
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_for_configured_origins_only(db_url, make_key):
    app = create_app(Settings(database_url=db_url, cors_origins=[PORTAL]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        preflight = await client.options("/v1/rubrics", headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == PORTAL
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        other = await client.options("/v1/rubrics", headers=PREFLIGHT | {
            "Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers
        got = await client.get("/v1/rubrics", headers={
            "Origin": PORTAL, "Authorization": f"Bearer {make_key('rubrics:read')}"})
        assert got.headers["access-control-allow-origin"] == PORTAL
        assert "etag" in got.headers["access-control-expose-headers"].lower()
    app.state.engine.dispose()


async def test_security_headers(client):
    api = await client.get("/livez")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in api.headers  # JSON is not rendered


@pytest.mark.parametrize(("page", "assets"), [
    ("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")),
    ("/redoc", ("redoc.standalone.js",)),
])
async def test_docs_pages_are_self_contained(client, page, assets):
    html = await client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    csp = html.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert html.headers["x-frame-options"] == "DENY"
    assert html.headers["x-content-type-options"] == "nosniff"
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    # Every inline script carries the nonce; every URL in the page is the app's own.
    assert all(f'nonce="{nonce}"' in tag for tag in re.findall(r"<script(?! src)[^>]*>",
                                                                 html.text))
    urls = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    urls += re.findall(r"(?:url|spec-url)\s*[:=]\s*['\"]([^'\"]+)['\"]", html.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert not re.search(r"https?://", html.text.replace("http://www.w3.org", ""))
    for asset in assets:
        url = next(u for u in urls if u.endswith(asset))
        served = await client.get(url)
        assert served.status_code == 200 and len(served.content) > 10_000, url
    assert (await client.get("/openapi.json")).status_code == 200
    second = await client.get(page)
    assert second.headers["content-security-policy"] != csp  # a fresh nonce per answer


async def test_oversized_bodies_are_413_with_a_request_id(db_url, make_key):
    app = create_app(Settings(database_url=db_url, max_body_bytes=1000))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {make_key('admin')}"}
                                 ) as client:
        response = await client.post("/v1/webhooks", content=b"{" + b" " * 2000 + b"}",
                                     headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"]
    app.state.engine.dispose()
