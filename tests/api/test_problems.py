"""Bad input never produces a 5xx: every error is an RFC 9457 problem, nothing is applied."""

import pytest
from fastapi import APIRouter

from service.app import create_app
from tests.factories.rubrics import create_rubric, rubric_doc

pytestmark = pytest.mark.anyio

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS and body["status"] == status
    assert body["type"].startswith("urn:ascent:problem:")
    return body


async def test_malformed_json_is_400(admin):
    response = await admin.post("/v1/rubrics", content=b'{"key": ',
                                headers={"content-type": "application/json"})
    assert_problem(response, 400)


async def test_wrong_types_and_unknown_keys_are_422_with_paths(admin):
    doc = rubric_doc()
    doc["levels"][1]["order"] = "second"
    doc["surprise"] = True
    body = assert_problem(await admin.post("/v1/rubrics", json=doc), 422)
    assert {e["field"] for e in body["errors"]} == {"levels[1].order", "surprise"}
    assert (await admin.get("/v1/rubrics")).json()["data"] == []


async def test_bad_query_and_path_params_are_422(admin):
    body = assert_problem(await admin.get("/v1/rubrics", params={"limit": 0}), 422)
    assert body["errors"][0]["field"] == "query.limit"
    assert_problem(await admin.get("/v1/rubrics/x/versions/abc"), 422)
    assert_problem(await admin.get("/v1/rubrics", params={"status": "gone"}), 422)


async def test_unknown_route_and_method(admin):
    assert_problem(await admin.get("/v1/nothing-here"), 404)
    assert_problem(await admin.delete("/v1/rubrics"), 405)


async def test_oversize_bodies_are_413_and_change_nothing(settings, make_key):
    import httpx

    settings.max_body_bytes = 2_000
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {make_key('admin')}"}
    big = rubric_doc(description="x" * 5_000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t", headers=headers) as client:
        assert_problem(await client.post("/v1/rubrics", json=big), 413)

        async def chunks():  # no Content-Length: the limit is enforced while streaming
            for _ in range(10):
                yield b" " * 500
        assert_problem(await client.post("/v1/rubrics", content=chunks(),
                                         headers={"content-type": "application/json"}), 413)
        assert (await client.get("/v1/rubrics")).json()["data"] == []
    app.state.engine.dispose()


async def test_unexpected_errors_are_500_without_a_trace(settings, make_key):
    import httpx

    app = create_app(settings)
    boom = APIRouter()

    @boom.get("/boom")
    def explode():
        raise RuntimeError("secret internals at /srv/app.py line 42")

    app.include_router(boom)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://t") as client:
        response = await client.get("/boom")
    body = assert_problem(response, 500)
    assert "secret" not in response.text and "Traceback" not in response.text
    assert body["code"] == "internal_error"
    app.state.engine.dispose()


async def test_conflict_carries_the_current_status(admin):
    await create_rubric(admin)
    body = assert_problem(await admin.post("/v1/rubrics/eng-ladder/versions/1/publish"), 409)
    assert body["current_status"] == "published" and "published" in body["detail"]
