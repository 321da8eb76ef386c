"""Outline templates over HTTP: lifecycle, publish rules, immutability, ETags, idempotency."""

import pytest

from tests.factories.outlines import content_of, create_template, template_doc
from tests.factories.rubrics import create_rubric

pytestmark = pytest.mark.anyio


def fields(response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


@pytest.fixture
async def ladder(admin):
    """The rubric the test template's competency and level fields refer to."""
    return await create_rubric(admin)


async def test_create_publish_get_and_list(admin, ladder):
    draft = await create_template(admin, publish=False)
    assert draft["status"] == "draft" and draft["version"] == 1
    assert content_of(draft)["fields"][0] == {
        "key": "summary", "label": "Summary", "type": "text", "required": True, "help": "",
        "options": None, "multiple": False, "min": None, "max": None, "max_length": 40,
        "max_items": None, "rubric": None, "group": None}
    assert (await admin.get("/v1/templates/growth-plan")).status_code == 404  # not published

    published = await admin.post("/v1/templates/growth-plan/versions/1/publish")
    assert published.status_code == 200 and published.json()["published_at"]
    got = await admin.get("/v1/templates/growth-plan")
    assert got.status_code == 200 and got.headers["etag"]
    assert content_of(got.json()) == content_of(draft)
    assert [f["key"] for f in got.json()["fields"]] == [
        "summary", "notes", "quadrant", "due", "months", "steps", "skills", "goal", "mentor"]

    listed = (await admin.get("/v1/templates")).json()
    assert listed["data"] == [{"key": "growth-plan", "name": "Growth plan",
                               "description": "A template for tests.", "latest_version": 1,
                               "published_version": 1, "draft_version": None}]


async def test_list_is_cursor_paginated_and_filters_by_status(admin, ladder):
    for key in ("a-plan", "b-plan", "c-plan"):
        await create_template(admin, template_doc(key), publish=key != "b-plan")
    first = await admin.get("/v1/templates", params={"limit": 2})
    assert [t["key"] for t in first.json()["data"]] == ["a-plan", "b-plan"]
    assert 'rel="next"' in first.headers["link"]
    second = await admin.get("/v1/templates",
                             params={"limit": 2, "cursor": first.json()["next_cursor"]})
    assert [t["key"] for t in second.json()["data"]] == ["c-plan"]
    assert second.json()["next_cursor"] is None
    drafts = await admin.get("/v1/templates", params={"status": "draft"})
    assert [t["key"] for t in drafts.json()["data"]] == ["b-plan"]


def _field(doc, key):
    return next(f for f in doc["fields"] if f["key"] == key)


PUBLISH_RULES = [
    ("no fields", lambda d: d.update(fields=[]), {"fields"}),
    ("duplicate key", lambda d: _field(d, "notes").update(key="summary"), {"fields[1].key"}),
    ("enum without options", lambda d: _field(d, "quadrant").update(options=[]),
     {"fields[2].options"}),
    ("enum options missing", lambda d: _field(d, "quadrant").pop("options"),
     {"fields[2].options"}),
    ("repeated option", lambda d: _field(d, "quadrant").update(options=["a", "a"]),
     {"fields[2].options"}),
    ("options on text", lambda d: _field(d, "summary").update(options=["a"]),
     {"fields[0].options"}),
    ("min above max", lambda d: _field(d, "months").update(min=20), {"fields[4].max"}),
    ("bounds on text", lambda d: _field(d, "summary").update(min=1), {"fields[0].min"}),
    ("max_length on a date", lambda d: _field(d, "due").update(max_length=10),
     {"fields[3].max_length"}),
    ("multiple text", lambda d: _field(d, "notes").update(multiple=True),
     {"fields[1].multiple"}),
    ("max_items on a single value", lambda d: _field(d, "goal").update(max_items=2),
     {"fields[7].max_items"}),
    ("competency without rubric", lambda d: _field(d, "skills").pop("rubric"),
     {"fields[6].rubric"}),
    ("unknown rubric", lambda d: _field(d, "goal").update(rubric="nope"), {"fields[7].rubric"}),
    ("rubric on a person", lambda d: _field(d, "mentor").update(rubric="eng-ladder"),
     {"fields[8].rubric"}),
    ("group split", lambda d: _field(d, "summary").update(group="Target"), {"fields[3].group"}),
]


@pytest.mark.parametrize(("rule", "change", "expected"), PUBLISH_RULES,
                         ids=[r[0] for r in PUBLISH_RULES])
async def test_publish_rejects_each_rule_with_field_errors(admin, ladder, rule, change,
                                                           expected):
    doc = template_doc()
    change(doc)
    await create_template(admin, doc, publish=False)
    response = await admin.post("/v1/templates/growth-plan/versions/1/publish")
    assert response.status_code == 422, rule
    assert response.headers["content-type"] == "application/problem+json"
    assert fields(response) == expected
    still = await admin.get("/v1/templates/growth-plan/versions/1")
    assert still.json()["status"] == "draft"  # nothing half-applied


async def test_every_broken_rule_is_reported_at_once(admin, ladder):
    doc = template_doc()
    _field(doc, "quadrant").update(options=[])
    _field(doc, "months").update(min=20)
    _field(doc, "goal").update(rubric="nope")
    await create_template(admin, doc, publish=False)
    response = await admin.post("/v1/templates/growth-plan/versions/1/publish")
    assert fields(response) == {"fields[2].options", "fields[4].max", "fields[7].rubric"}


async def test_shape_errors_are_422_on_any_request(admin):
    doc = template_doc()
    _field(doc, "summary").update(type="blob")
    _field(doc, "notes").update(key="Not A Key")
    doc["extra"] = True
    response = await admin.post("/v1/templates", json=doc)
    assert response.status_code == 422
    assert fields(response) == {"fields[0].type", "fields[1].key", "extra"}


async def test_published_versions_are_immutable(admin, ladder):
    await create_template(admin)
    url = "/v1/templates/growth-plan/versions/1"
    current = await admin.get(url)
    content = {k: v for k, v in template_doc(name="Changed").items() if k != "key"}
    update = await admin.put(url, json=content, headers={"If-Match": current.headers["etag"]})
    assert update.status_code == 409 and update.json()["current_status"] == "published"
    assert (await admin.post(f"{url}/publish")).status_code == 409
    after = await admin.get(url)
    assert after.json() == current.json() and after.headers["etag"] == current.headers["etag"]


async def test_new_version_retire_and_latest(admin, ladder):
    first = await create_template(admin)
    draft = await admin.post("/v1/templates/growth-plan/versions")
    assert draft.status_code == 201 and draft.json()["version"] == 2
    assert draft.headers["location"] == "/v1/templates/growth-plan/versions/2"
    assert content_of(draft.json()) == content_of(first)  # a copy of version 1
    assert (await admin.post("/v1/templates/growth-plan/versions")).status_code == 409
    assert (await admin.post("/v1/templates/growth-plan/versions/2/retire")).status_code == 409
    assert (await admin.post("/v1/templates/growth-plan/versions/2/publish")).status_code == 200
    assert (await admin.get("/v1/templates/growth-plan")).json()["version"] == 2
    retired = await admin.post("/v1/templates/growth-plan/versions/2/retire")
    assert retired.json()["status"] == "retired" and retired.json()["retired_at"]
    assert (await admin.get("/v1/templates/growth-plan")).json()["version"] == 1
    versions = (await admin.get("/v1/templates/growth-plan/versions")).json()
    assert [(v["version"], v["status"]) for v in versions] == [(1, "published"), (2, "retired")]


async def test_if_match_is_required_and_checked(admin, ladder):
    await create_template(admin, publish=False)
    url = "/v1/templates/growth-plan/versions/1"
    new_content = {k: v for k, v in template_doc(name="Renamed").items() if k != "key"}
    etag = (await admin.get(url)).headers["etag"]

    assert (await admin.put(url, json=new_content)).status_code == 428
    stale = await admin.put(url, json=new_content, headers={"If-Match": '"growth-plan.1.99"'})
    assert stale.status_code == 412
    assert (await admin.get(url)).json()["name"] == "Growth plan"

    ok = await admin.put(url, json=new_content, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.json()["name"] == "Renamed"
    assert ok.headers["etag"] != etag
    assert (await admin.put(url, json=new_content, headers={"If-Match": etag})).status_code == 412
    publish_stale = await admin.post(f"{url}/publish", headers={"If-Match": etag})
    assert publish_stale.status_code == 412


async def test_idempotent_create(admin):
    doc = template_doc()
    headers = {"Idempotency-Key": "create-growth-plan"}
    first = await admin.post("/v1/templates", json=doc, headers=headers)
    replay = await admin.post("/v1/templates", json=doc, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    other = await admin.post("/v1/templates", json=doc | {"name": "Else"}, headers=headers)
    assert other.status_code == 422 and fields(other) == {"header.Idempotency-Key"}
    assert (await admin.post("/v1/templates", json=doc)).status_code == 409
    assert len((await admin.get("/v1/templates")).json()["data"]) == 1


async def test_scopes(admin, ladder, make_key, client_with):
    await create_template(admin)
    async with client_with(make_key("templates:read")) as reader:
        assert (await reader.get("/v1/templates/growth-plan")).status_code == 200
        denied = await reader.post("/v1/templates/growth-plan/versions")
        assert denied.status_code == 403 and denied.json()["scope"] == "templates:write"


async def test_unknown_template_and_version_are_404(admin, ladder):
    await create_template(admin)
    for url in ("/v1/templates/nope", "/v1/templates/nope/versions",
                "/v1/templates/growth-plan/versions/9"):
        response = await admin.get(url)
        assert response.status_code == 404 and response.json()["code"] == "not_found", url
