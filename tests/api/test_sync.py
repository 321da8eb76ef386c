"""Incremental sync over HTTP: `updated_since` and change cursors on people, assessments,
outlines and stored readiness reports; deactivations and supersessions show up as changes;
bad timestamps and cursors are 422 problems. Concurrent writers: tests/db/test_sync_concurrency.py.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.http import encode_cursor
from tests.factories.assessments import create_assessment, rate, ratings
from tests.factories.outlines import create_outline, load_defaults, opportunity
from tests.factories.people import sync_person

pytestmark = pytest.mark.anyio

EPOCH = "1970-01-01T00:00:00Z"


@pytest.fixture
async def defaults(engine, db_url):
    load_defaults(engine)


async def read_all(client, path: str, **params: Any) -> tuple[list[dict[str, Any]], str]:
    """Every page of a change list (following `next_cursor`), and the cursor to keep."""
    rows: list[dict[str, Any]] = []
    while True:
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        assert body["sync_cursor"], body
        if body["next_cursor"] is None:
            return rows, body["sync_cursor"]
        assert body["next_cursor"] == body["sync_cursor"]
        params = {k: v for k, v in params.items() if k != "updated_since"}
        params["cursor"] = body["next_cursor"]


def stamps(rows: list[dict[str, Any]], key: str = "updated_at") -> list[tuple[datetime, str]]:
    return [(datetime.fromisoformat(r[key]), r["id"]) for r in rows]


async def test_people_changes_page_resume_and_show_deactivation(admin, defaults):
    for n in range(5):
        await sync_person(admin, f"E{n}")
    rows, cursor = await read_all(admin, "/v1/people", updated_since=EPOCH, limit=2)
    assert sorted(r["external_id"] for r in rows) == [f"E{n}" for n in range(5)]
    assert stamps(rows) == sorted(stamps(rows))  # oldest change first, (updated_at, id)

    nothing, same = await read_all(admin, "/v1/people", cursor=cursor)
    assert nothing == [] and same == cursor  # caught up: keep the same cursor

    await sync_person(admin, "E2", active=False)  # a deactivation is a change
    await sync_person(admin, "E9")
    await sync_person(admin, "E3")  # sending what is stored again changes nothing
    changed, later = await read_all(admin, "/v1/people", cursor=cursor)
    assert [(r["external_id"], r["active"]) for r in changed] == [("E2", False), ("E9", True)]
    assert later != cursor
    assert (await read_all(admin, "/v1/people", cursor=later))[0] == []

    # updated_since alone, and with the other filters
    since = changed[0]["updated_at"]
    assert [r["external_id"] for r in (await read_all(
        admin, "/v1/people", updated_since=since))[0]] == ["E2", "E9"]
    assert [r["external_id"] for r in (await read_all(
        admin, "/v1/people", updated_since=since, active="true"))[0]] == ["E9"]


async def test_ordinary_lists_are_unchanged(admin, defaults):
    for n in (3, 1, 2):
        await sync_person(admin, f"E{n}")
    body = (await admin.get("/v1/people")).json()
    assert [p["external_id"] for p in body["data"]] == ["E1", "E2", "E3"]
    assert body["sync_cursor"] is None


async def test_supersession_moves_the_old_assessment(admin, defaults):
    first = await create_assessment(admin, "E1")
    assert (await rate(admin, first["id"], "self", None, ratings(strategy=3))).status_code == 200
    assert (await admin.post(f"/v1/assessments/{first['id']}/submit")).status_code == 200
    rows, cursor = await read_all(admin, "/v1/assessments", updated_since=EPOCH)
    assert [(r["id"], r["status"]) for r in rows] == [(first["id"], "submitted")]

    successor = (await admin.post(f"/v1/assessments/{first['id']}/supersede")).json()
    rows, _ = await read_all(admin, "/v1/assessments", cursor=cursor)
    assert sorted((r["id"], r["status"]) for r in rows) == sorted(
        [(first["id"], "superseded"), (successor["id"], "draft")])
    old = next(r for r in rows if r["id"] == first["id"])
    assert old["superseded_by"] == successor["id"]
    assert (await read_all(admin, "/v1/assessments", cursor=cursor, status="superseded"))[0] \
        == [old]


async def test_outline_status_changes_are_listed(admin, defaults):
    await sync_person(admin, "E1")
    outline = await create_outline(admin, opportunity() | {"person": "E1"})
    rows, cursor = await read_all(admin, "/v1/outlines", updated_since=EPOCH)
    assert [r["id"] for r in rows] == [outline["id"]]
    changed = await admin.post(f"/v1/outlines/{outline['id']}/status", json={"status": "active"},
                               headers={"If-Match": "*"})
    assert changed.status_code == 200, changed.text
    rows, _ = await read_all(admin, "/v1/outlines", cursor=cursor)
    assert [(r["id"], r["status"]) for r in rows] == [(outline["id"], "active")]


async def finalized(admin, person: str) -> str:
    made = await create_assessment(admin, person, sync=False)
    assert (await rate(admin, made["id"], "self", None, ratings(strategy=3))).status_code == 200
    for step in ("submit", "finalize"):
        assert (await admin.post(f"/v1/assessments/{made['id']}/{step}")).status_code == 200
    return made["id"]


async def test_reports_are_a_change_list_and_person_bound_keys_get_their_own(
        admin, defaults, client_with, make_key):
    for person in ("E1", "E2"):
        await sync_person(admin, person)
    ids = [await finalized(admin, "E1"), await finalized(admin, "E2")]
    rows, cursor = await read_all(admin, "/v1/readiness/reports", limit=1)
    assert [r["assessment_id"] for r in rows] == ids
    assert [r["person"] for r in rows] == ["E1", "E2"]
    assert stamps(rows, "created_at") == sorted(stamps(rows, "created_at"))
    stored = await admin.get(f"/v1/assessments/{ids[0]}/readiness")
    assert rows[0]["report"]["inputs_digest"] == stored.json()["inputs_digest"]

    third = await finalized(admin, "E2")
    assert [r["assessment_id"] for r in (await read_all(
        admin, "/v1/readiness/reports", cursor=cursor))[0]] == [third]

    async with client_with(make_key("readiness:read", person="E1")) as mine:
        own, _ = await read_all(mine, "/v1/readiness/reports")
        assert [r["person"] for r in own] == ["E1"]
        assert (await read_all(mine, "/v1/readiness/reports", person="E2"))[0] == []
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await read_all(admin, "/v1/readiness/reports", updated_since=later))[0] == []


@pytest.mark.parametrize("path", ["/v1/people", "/v1/assessments", "/v1/outlines",
                                  "/v1/readiness/reports"])
@pytest.mark.parametrize("params, field", [
    ({"updated_since": "yesterday"}, "query.updated_since"),
    ({"updated_since": "2026-11-30T10:00:00"}, "query.updated_since"),  # no offset
    ({"cursor": "not-a-cursor"}, "query.cursor"),
    ({"cursor": encode_cursor(["changes", "2026-11-30T10:00:00", None])}, "query.cursor"),
    ({"cursor": encode_cursor(["changes", "2026-11-30T10:00:00+00:00", "x"])}, "query.cursor"),
    ({"cursor": encode_cursor(["changes", 7, None])}, "query.cursor"),
])
async def test_bad_timestamps_and_cursors_are_422(admin, defaults, path, params, field):
    await sync_person(admin, "E1")
    response = await admin.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_an_ordinary_cursor_with_updated_since_is_422(admin, defaults):
    for n in range(3):
        await sync_person(admin, f"E{n}")
    ordinary = (await admin.get("/v1/people", params={"limit": 1})).json()["next_cursor"]
    response = await admin.get("/v1/people", params={"limit": 1, "cursor": ordinary,
                                                     "updated_since": EPOCH})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.cursor"]


PEOPLE_CHANGED = """query($since: DateTime, $after: String) {
  people(first: 2, after: $after, filter: {updatedSince: $since}) {
    edges { cursor node { externalId active updatedAt etag } }
    pageInfo { hasNextPage endCursor } } }"""


async def test_graphql_people_changes_equal_rest(admin, defaults):
    for n in range(3):
        await sync_person(admin, f"E{n}")
    await sync_person(admin, "E0", active=False)
    rest, _ = await read_all(admin, "/v1/people", updated_since=EPOCH, limit=2)
    nodes, after, end = [], None, None
    while True:
        answer = (await admin.post("/graphql", json={"query": PEOPLE_CHANGED, "variables": {
            "since": EPOCH, "after": after}})).json()
        assert "errors" not in answer, answer
        connection = answer["data"]["people"]
        nodes += [e["node"] for e in connection["edges"]]
        end = connection["pageInfo"]["endCursor"] or end
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert [(n["externalId"], n["active"]) for n in nodes] == \
        [(p["external_id"], p["active"]) for p in rest] == [("E1", True), ("E2", True),
                                                           ("E0", False)]
    assert [datetime.fromisoformat(n["updatedAt"]) for n in nodes] == \
        [datetime.fromisoformat(p["updated_at"]) for p in rest]

    await sync_person(admin, "E1", active=False)
    answer = (await admin.post("/graphql", json={"query": PEOPLE_CHANGED, "variables": {
        "since": EPOCH, "after": end}})).json()
    assert [e["node"]["externalId"] for e in answer["data"]["people"]["edges"]] == ["E1"]

    naive = (await admin.post("/graphql", json={"query": PEOPLE_CHANGED, "variables": {
        "since": "2026-11-30T10:00:00"}})).json()
    assert naive["errors"][0]["extensions"]["code"] == "INVALID_INPUT", naive
    for since in ("2026-11-30T10:00:00", "0001-01-01T00:00:00+14:00"):
        answer = (await admin.post("/graphql", json={"query": PEOPLE_CHANGED, "variables": {
            "since": since}})).json()
        assert [e["field"] for e in answer["errors"][0]["extensions"]["errors"]] == \
            ["filter.updatedSince"], answer


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_timestamps_past_the_ends_of_the_calendar_are_422(admin, defaults, since):
    await sync_person(admin, "E1")
    response = await admin.get("/v1/people", params={"updated_since": since})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["query.updated_since"]
    first = await admin.get("/v1/people", params={"updated_since": "0001-01-01T00:00:00Z"})
    assert [p["external_id"] for p in first.json()["data"]] == ["E1"]
