"""Rubrics over HTTP: lifecycle, publish rules, immutability, ETags, idempotency, import/export."""

import csv
import io
from types import SimpleNamespace

import pytest
import yaml

from tests.factories.rubrics import content_of, create_rubric, rubric_doc

pytestmark = pytest.mark.anyio


def fields(response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


async def test_create_publish_get_and_list(admin):
    draft = await create_rubric(admin, publish=False)
    assert draft["status"] == "draft" and draft["version"] == 1
    assert (await admin.get("/v1/rubrics/eng-ladder")).status_code == 404  # nothing published

    await create_rubric(admin, rubric_doc("other-ladder"))
    published = await admin.post("/v1/rubrics/eng-ladder/versions/1/publish")
    assert published.status_code == 200
    got = await admin.get("/v1/rubrics/eng-ladder")
    assert got.status_code == 200
    body = got.json()
    assert content_of(body) == content_of(rubric_doc() | {"policy": "progress"}) | {
        "competencies": body["competencies"]}
    assert [e["proficiency"] for e in body["competencies"][0]["expectations"]] == [1, 3, 4]
    assert body["competencies"][0]["expectations"][2]["gate"] is True

    listed = (await admin.get("/v1/rubrics")).json()
    assert [r["key"] for r in listed["data"]] == ["eng-ladder", "other-ladder"]
    assert listed["data"][0]["published_version"] == 1


async def test_list_is_cursor_paginated_and_filters_by_status(admin):
    for key in ("a-ladder", "b-ladder", "c-ladder"):
        await create_rubric(admin, rubric_doc(key), publish=key != "b-ladder")
    first = await admin.get("/v1/rubrics", params={"limit": 2})
    assert [r["key"] for r in first.json()["data"]] == ["a-ladder", "b-ladder"]
    assert 'rel="next"' in first.headers["link"]
    second = await admin.get("/v1/rubrics", params={"limit": 2,
                                                    "cursor": first.json()["next_cursor"]})
    assert [r["key"] for r in second.json()["data"]] == ["c-ladder"]
    assert second.json()["next_cursor"] is None and "link" not in second.headers

    drafts = await admin.get("/v1/rubrics", params={"status": "draft"})
    assert [r["key"] for r in drafts.json()["data"]] == ["b-ladder"]
    bad = await admin.get("/v1/rubrics", params={"cursor": "not-a-cursor!"})
    assert bad.status_code == 422 and fields(bad) == {"query.cursor"}


def _breaks(doc_changes):
    doc = rubric_doc()
    doc_changes(doc)
    return doc


PUBLISH_RULES = [
    ("no levels", lambda d: d.update(levels=[], competencies=[
        c | {"expectations": []} for c in d["competencies"]]), {"levels"}),
    ("no competencies", lambda d: d.update(competencies=[]), {"competencies"}),
    ("duplicate level key", lambda d: d["levels"][1].update(key="junior"),
     {"levels[1].key", "competencies[0].expectations[1].level",
      "competencies[1].expectations[1].level"}),
    ("levels out of order", lambda d: d["levels"][2].update(order=1), {"levels[2].order"}),
    ("duplicate competency", lambda d: d["competencies"][1].update(key="delivery"),
     {"competencies[1].key"}),
    ("weight zero", lambda d: d["competencies"][0].update(weight=0),
     {"competencies[0].weight"}),
    ("missing expectation", lambda d: d["competencies"][1]["expectations"].pop(),
     {"competencies[1].expectations"}),
    ("unknown level", lambda d: d["competencies"][1]["expectations"][2].update(level="staff"),
     {"competencies[1].expectations[2].level", "competencies[1].expectations"}),
    ("outside the scale", lambda d: d["competencies"][0]["expectations"][2].update(
        proficiency=9), {"competencies[0].expectations[2].proficiency"}),
    ("decreasing", lambda d: d["competencies"][1]["expectations"][2].update(proficiency=2),
     {"competencies[1].expectations[2].proficiency"}),
    ("scale inverted", lambda d: d.update(scale={"min": 5, "max": 1}),
     {"scale.max", "competencies[0].expectations[0].proficiency",
      "competencies[0].expectations[1].proficiency",
      "competencies[0].expectations[2].proficiency", "competencies[1].expectations[0].proficiency",
      "competencies[1].expectations[1].proficiency",
      "competencies[1].expectations[2].proficiency"}),
]


@pytest.mark.parametrize(("rule", "change", "expected"), PUBLISH_RULES,
                         ids=[r[0] for r in PUBLISH_RULES])
async def test_publish_rejects_each_rule_with_field_errors(admin, rule, change, expected):
    await create_rubric(admin, _breaks(change), publish=False)
    response = await admin.post("/v1/rubrics/eng-ladder/versions/1/publish")
    assert response.status_code == 422, rule
    assert response.headers["content-type"] == "application/problem+json"
    assert fields(response) == expected
    still = await admin.get("/v1/rubrics/eng-ladder/versions/1")
    assert still.json()["status"] == "draft"  # nothing half-applied


async def test_published_versions_are_immutable(admin):
    await create_rubric(admin)
    current = await admin.get("/v1/rubrics/eng-ladder/versions/1")
    content = {k: v for k, v in rubric_doc().items() if k != "key"}
    update = await admin.put("/v1/rubrics/eng-ladder/versions/1", json=content,
                             headers={"If-Match": current.headers["etag"]})
    assert update.status_code == 409 and update.json()["current_status"] == "published"
    assert (await admin.post("/v1/rubrics/eng-ladder/versions/1/publish")).status_code == 409
    after = await admin.get("/v1/rubrics/eng-ladder/versions/1")
    assert after.json() == current.json() and after.headers["etag"] == current.headers["etag"]


async def test_new_version_retire_and_latest(admin):
    await create_rubric(admin)
    draft = await admin.post("/v1/rubrics/eng-ladder/versions")
    assert draft.status_code == 201 and draft.json()["version"] == 2
    assert draft.headers["location"] == "/v1/rubrics/eng-ladder/versions/2"
    assert (await admin.post("/v1/rubrics/eng-ladder/versions")).status_code == 409  # one draft
    assert (await admin.post("/v1/rubrics/eng-ladder/versions/2/retire")).status_code == 409
    assert (await admin.post("/v1/rubrics/eng-ladder/versions/2/publish")).status_code == 200
    assert (await admin.get("/v1/rubrics/eng-ladder")).json()["version"] == 2
    retired = await admin.post("/v1/rubrics/eng-ladder/versions/2/retire")
    assert retired.json()["status"] == "retired" and retired.json()["retired_at"]
    assert (await admin.get("/v1/rubrics/eng-ladder")).json()["version"] == 1
    versions = (await admin.get("/v1/rubrics/eng-ladder/versions")).json()
    assert [(v["version"], v["status"]) for v in versions] == [(1, "published"), (2, "retired")]


async def test_if_match_is_required_and_checked(admin):
    await create_rubric(admin, publish=False)
    new_content = {k: v for k, v in rubric_doc(name="Renamed").items() if k != "key"}
    url = "/v1/rubrics/eng-ladder/versions/1"
    etag = (await admin.get(url)).headers["etag"]

    missing = await admin.put(url, json=new_content)
    assert missing.status_code == 428
    stale = await admin.put(url, json=new_content, headers={"If-Match": '"1.99"'})
    assert stale.status_code == 412
    assert (await admin.get(url)).json()["name"] == "Engineering ladder"

    ok = await admin.put(url, json=new_content, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.json()["name"] == "Renamed"
    assert ok.headers["etag"] != etag
    again = await admin.put(url, json=new_content, headers={"If-Match": etag})
    assert again.status_code == 412  # the old ETag no longer matches


async def test_idempotent_create(admin):
    doc = rubric_doc()
    headers = {"Idempotency-Key": "create-eng-ladder-1"}
    first = await admin.post("/v1/rubrics", json=doc, headers=headers)
    replay = await admin.post("/v1/rubrics", json=doc, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["etag"] == first.headers["etag"]
    other = await admin.post("/v1/rubrics", json=doc | {"name": "Else"}, headers=headers)
    assert other.status_code == 422 and fields(other) == {"header.Idempotency-Key"}
    without_key = await admin.post("/v1/rubrics", json=doc)
    assert without_key.status_code == 409  # a plain retry is not idempotent
    assert len((await admin.get("/v1/rubrics")).json()["data"]) == 1


@pytest.mark.parametrize("fmt", ["json", "yaml"])
async def test_export_then_import_gives_an_equal_rubric(admin, fmt):
    original = await create_rubric(admin)
    exported = await admin.get("/v1/rubrics/eng-ladder/export", params={"format": fmt})
    assert exported.status_code == 200
    media = "application/json" if fmt == "json" else "application/yaml"
    assert exported.headers["content-type"].startswith(media)

    imported = await admin.post("/v1/rubrics:import", content=exported.content,
                                headers={"content-type": media}, params={"publish": "true"})
    assert imported.status_code == 201, imported.text
    assert imported.json()["version"] == 2 and imported.json()["status"] == "published"
    assert content_of(imported.json()) == content_of(original)

    renamed = (yaml.safe_load(exported.text) if fmt == "yaml" else exported.json()) | {
        "key": "copied-ladder"}
    copy = await admin.post("/v1/rubrics:import", json=renamed)
    assert copy.status_code == 201 and copy.json()["version"] == 1
    assert content_of(copy.json()) == content_of(original) | {"key": "copied-ladder"}


async def test_import_validates_like_publish(admin):
    broken = rubric_doc()
    broken["competencies"][0]["expectations"][2]["proficiency"] = 0
    response = await admin.post("/v1/rubrics:import", json=broken)
    assert response.status_code == 422
    assert fields(response) == {"competencies[0].expectations[2].proficiency"}
    bad_yaml = await admin.post("/v1/rubrics:import", content=b"key: [unclosed",
                                headers={"content-type": "application/yaml"})
    assert bad_yaml.status_code == 422
    wrong_type = await admin.post("/v1/rubrics:import", content=b"<xml/>",
                                  headers={"content-type": "application/xml"})
    assert wrong_type.status_code == 415
    assert (await admin.get("/v1/rubrics")).json()["data"] == []


async def test_csv_export_is_the_level_matrix(admin):
    await create_rubric(admin)
    response = await admin.get("/v1/rubrics/eng-ladder/versions/1/export",
                               params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["competency", "name", "weight", "junior", "mid", "senior", "gates"]
    assert rows[1] == ["delivery", "Delivery", "2.0", "1", "3", "4", "senior"]
    assert rows[2] == ["craft", "Craft", "1.0", "2", "3", "3", ""]


async def test_unknown_rubric_and_version_are_404(admin):
    await create_rubric(admin)
    for url in ("/v1/rubrics/nope", "/v1/rubrics/nope/versions",
                "/v1/rubrics/eng-ladder/versions/9", "/v1/rubrics/nope/export"):
        response = await admin.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"


async def test_the_latest_version_is_seen_at_once_here_and_within_the_ttl_elsewhere(
        admin, app, engine, monkeypatch):
    from sqlalchemy import event

    from service import cache
    from service.db import open_session
    from service.rubrics import service

    clock = SimpleNamespace(now=1000.0)  # stands in for the time module of service/cache.py
    clock.monotonic = lambda: clock.now
    monkeypatch.setattr(cache, "time", clock)
    statements = []
    event.listen(app.state.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    await create_rubric(admin)
    assert (await admin.get("/v1/rubrics/eng-ladder")).json()["version"] == 1
    statements.clear()
    again = await admin.get("/v1/rubrics/eng-ladder")
    assert again.json()["version"] == 1 and statements == []  # cached: no query at all

    # Another server process (whose caches are not this one's) publishes version 2 ...
    with monkeypatch.context() as elsewhere, open_session(engine, write=True) as session:
        elsewhere.setattr(service._latest, "forget", lambda *args: None)
        service.publish(session, service.new_draft(session, "eng-ladder"))
        session.commit()
    clock.now += cache.LATEST_TTL * 0.9
    assert (await admin.get("/v1/rubrics/eng-ladder")).json()["version"] == 1
    clock.now += cache.LATEST_TTL * 0.2  # ... which this one sees once its answer is too old
    latest = await admin.get("/v1/rubrics/eng-ladder")
    assert latest.json()["version"] == 2 and latest.headers["etag"] != again.headers["etag"]

    # What this process publishes or retires is seen at once.
    assert (await admin.post("/v1/rubrics/eng-ladder/versions")).status_code == 201
    assert (await admin.post("/v1/rubrics/eng-ladder/versions/3/publish")).status_code == 200
    assert (await admin.get("/v1/rubrics/eng-ladder")).json()["version"] == 3
    assert (await admin.post("/v1/rubrics/eng-ladder/versions/3/retire")).status_code == 200
    assert (await admin.get("/v1/rubrics/eng-ladder")).json()["version"] == 2
