"""Assessments over HTTP: creation against a pinned published rubric version, ratings per
rater (If-Match), validation that leaves the stored assessment byte-for-byte unchanged, the
lifecycle, supersede, the audit trail, filters, and what person-bound principals may do."""

import pytest

from service import events
from tests.factories.assessments import create_assessment, etag_of, rate, ratings
from tests.factories.people import sync_person
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio


@pytest.fixture
async def ladder(engine, db_url):
    await load_default_rubric(engine)


def fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


async def snapshot(client, assessment_id: str) -> tuple[bytes, str, bytes]:
    """The stored assessment as the API shows it: body bytes, ETag, history bytes."""
    got = await client.get(f"/v1/assessments/{assessment_id}")
    history = await client.get(f"/v1/assessments/{assessment_id}/history")
    assert got.status_code == 200 and history.status_code == 200
    return got.content, got.headers["etag"], history.content


async def actions(client, assessment_id: str) -> list[str]:
    response = await client.get(f"/v1/assessments/{assessment_id}/history")
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["data"]]


# --- creating --------------------------------------------------------------------------------

async def test_create_pins_the_latest_published_version_and_the_next_level(admin, ladder):
    await sync_person(admin, level="senior-pm", org_unit="payments")
    response = await admin.post("/v1/assessments", json={"person": "E123", "cycle": "2026-H2"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/assessments/{body['id']}"
    assert body["person"] == "E123" and body["rubric"] == {"key": "product-leadership",
                                                           "version": 2}
    assert (body["current_level"], body["target_level"]) == ("senior-pm", "lead-pm")
    assert (body["cycle"], body["status"], body["ratings"]) == ("2026-H2", "draft", [])
    assert body["org_unit"] == "payments"

    got = await admin.get(f"/v1/assessments/{body['id']}")
    assert got.status_code == 200 and got.json() == body
    assert got.headers["etag"] == response.headers["etag"]


async def test_explicit_target_and_rubric_version(admin, ladder):
    await sync_person(admin, level="apm")
    body = await create_assessment(admin, sync=False, target_level="senior-pm",
                                   rubric={"key": "product-leadership", "version": 1})
    assert (body["current_level"], body["target_level"]) == ("apm", "senior-pm")


@pytest.mark.parametrize(("person_level", "body", "field"), [
    ("cpo", {}, "target_level"),                                   # already at the top
    ("senior-pm", {"target_level": "pm"}, "target_level"),         # below the current level
    ("senior-pm", {"target_level": "senior-pm"}, "target_level"),  # not above
    ("senior-pm", {"target_level": "staff-pm"}, "target_level"),   # no such level
    ("pm", {"person": "E404"}, "person"),                          # never synced
    ("pm", {"rubric": {"key": "no-such-ladder"}}, "rubric.key"),
    ("pm", {"rubric": {"key": "product-leadership", "version": 9}}, "rubric.version"),
    ("pm", {"cycle": ""}, "cycle"),
    ("pm", {"ratings": []}, "ratings"),                            # unknown field
])
async def test_create_refuses_what_cannot_be_assessed(admin, ladder, person_level, body, field):
    await sync_person(admin, level=person_level)
    response = await admin.post("/v1/assessments",
                                json={"person": "E123", "cycle": "2026-H2"} | body)
    assert response.status_code == 422, response.text
    assert fields(response) == [field]
    assert (await admin.get("/v1/assessments")).json()["data"] == []


async def test_only_published_versions_are_pinned_and_pins_survive_new_versions(admin, ladder):
    await sync_person(admin)
    first = await create_assessment(admin, sync=False)
    draft = await admin.post("/v1/rubrics/product-leadership/versions")
    assert draft.status_code == 201 and draft.json()["version"] == 3
    refused = await admin.post("/v1/assessments", json={
        "person": "E123", "cycle": "2026-H2",
        "rubric": {"key": "product-leadership", "version": 3}})
    assert refused.status_code == 422 and fields(refused) == ["rubric.version"]
    assert "draft" in refused.json()["errors"][0]["message"]

    published = await admin.post("/v1/rubrics/product-leadership/versions/3/publish")
    assert published.status_code == 200
    second = await create_assessment(admin, sync=False)
    assert second["rubric"]["version"] == 3
    again = await admin.get(f"/v1/assessments/{first['id']}")
    assert again.json()["rubric"]["version"] == 2


async def test_idempotency_key_replays_the_creation_once(admin, ladder):
    await sync_person(admin)
    headers = {"Idempotency-Key": "cycle-2026-h2-E123"}
    body = {"person": "E123", "cycle": "2026-H2"}
    first = await admin.post("/v1/assessments", json=body, headers=headers)
    replay = await admin.post("/v1/assessments", json=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert len((await admin.get("/v1/assessments")).json()["data"]) == 1
    assert await actions(admin, first.json()["id"]) == ["created"]
    other = await admin.post("/v1/assessments", json=body | {"cycle": "2027-H1"},
                             headers=headers)
    assert other.status_code == 422


# --- ratings ---------------------------------------------------------------------------------

async def test_ratings_are_replaced_per_rater_and_need_if_match(admin, ladder):
    a = await create_assessment(admin)
    url = f"/v1/assessments/{a['id']}/ratings"
    body = {"rater_role": "manager", "rater_id": "E001", "ratings": ratings(strategy=4)}
    missing = await admin.put(url, json=body)
    assert missing.status_code == 428
    stale = await admin.put(url, json=body, headers={"If-Match": '"stale.0"'})
    assert stale.status_code == 412

    etag = await etag_of(admin, a["id"])
    manager = await admin.put(url, json=body, headers={"If-Match": etag})
    assert manager.status_code == 200, manager.text
    assert manager.headers["etag"] != etag
    assert manager.headers["etag"] == await etag_of(admin, a["id"])
    assert manager.json()["ratings"] == [{"competency": "strategy", "rater_role": "manager",
                                          "rater_id": "E001", "proficiency": 4,
                                          "evidence": "evidence for strategy"}]
    reused = await admin.put(url, json=body, headers={"If-Match": etag})
    assert reused.status_code == 412  # the ETag moved on

    selfr = await rate(admin, a["id"], "self", None, ratings(strategy=5, execution=3))
    assert selfr.status_code == 200
    replaced = await rate(admin, a["id"], "manager", "E001", ratings(execution=2, strategy=3))
    assert replaced.status_code == 200
    peer = await rate(admin, a["id"], "peer", "E200",
                      [{"competency": "communication-influence", "proficiency": 4}])
    assert peer.status_code == 200
    got = (await admin.get(f"/v1/assessments/{a['id']}")).json()["ratings"]
    assert [(r["rater_role"], r["rater_id"], r["competency"], r["proficiency"]) for r in got] == [
        ("self", "E123", "strategy", 5), ("self", "E123", "execution", 3),
        ("manager", "E001", "execution", 2), ("manager", "E001", "strategy", 3),
        ("peer", "E200", "communication-influence", 4)]
    assert got[-1]["evidence"] is None  # absent evidence stays visibly absent

    removed = await rate(admin, a["id"], "peer", "E200", [])
    assert [r["rater_role"] for r in removed.json()["ratings"]] == ["self"] * 2 + ["manager"] * 2


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"rater_role": "manager", "rater_id": "E001",
      "ratings": [{"competency": "strategy", "proficiency": 4},
                  {"competency": "telepathy", "proficiency": 4}]}, 422, "ratings[1].competency"),
    ({"rater_role": "manager", "rater_id": "E001",
      "ratings": [{"competency": "strategy", "proficiency": 7}]}, 422, "ratings[0].proficiency"),
    ({"rater_role": "manager", "rater_id": "E001",
      "ratings": [{"competency": "strategy", "proficiency": 0}]}, 422, "ratings[0].proficiency"),
    ({"rater_role": "manager", "rater_id": "E001",
      "ratings": [{"competency": "strategy", "proficiency": 101}]}, 422,
     "ratings[0].proficiency"),
    ({"rater_role": "manager", "rater_id": "E001",
      "ratings": [{"competency": "strategy", "proficiency": 3},
                  {"competency": "strategy", "proficiency": 4}]}, 422, "ratings[1].competency"),
    ({"rater_role": "manager", "rater_id": "E001",
      "ratings": [{"competency": "strategy", "proficiency": 3, "evidence": "x" * 5001}]}, 422,
     "ratings[0].evidence"),
    ({"rater_role": "boss", "rater_id": "E001", "ratings": []}, 422, "rater_role"),
    ({"rater_role": "manager", "ratings": []}, 422, "rater_id"),
    ({"rater_role": "self", "rater_id": "E001", "ratings": []}, 422, "rater_id"),
])
async def test_bad_ratings_are_refused_and_change_nothing(admin, ladder, body, status, field):
    a = await create_assessment(admin)
    assert (await rate(admin, a["id"], "self", None, ratings(strategy=3))).status_code == 200
    before = await snapshot(admin, a["id"])
    response = await admin.put(f"/v1/assessments/{a['id']}/ratings", json=body,
                               headers={"If-Match": before[1]})
    assert response.status_code == status, response.text
    assert fields(response) == [field]
    assert await snapshot(admin, a["id"]) == before


async def test_rating_a_submitted_or_finalized_assessment_is_409_and_changes_nothing(
        admin, ladder):
    a = await create_assessment(admin)
    assert (await rate(admin, a["id"], "manager", "E001", ratings(strategy=4))).status_code == 200
    assert (await admin.post(f"/v1/assessments/{a['id']}/submit")).status_code == 200
    for _ in range(2):
        before = await snapshot(admin, a["id"])
        response = await rate(admin, a["id"], "manager", "E001", ratings(strategy=6),
                              etag=before[1])
        assert response.status_code == 409, response.text
        assert response.json()["current_status"] in ("submitted", "finalized")
        assert await snapshot(admin, a["id"]) == before
        assert (await admin.post(f"/v1/assessments/{a['id']}/finalize")).status_code in (200,
                                                                                          409)
    assert (await admin.get(f"/v1/assessments/{a['id']}")).json()["status"] == "finalized"


# --- lifecycle -------------------------------------------------------------------------------

async def test_lifecycle_and_illegal_transitions(admin, ladder):
    a = await create_assessment(admin)
    url = f"/v1/assessments/{a['id']}"

    async def expect_conflict(action: str, status: str):
        before = await snapshot(admin, a["id"])
        response = await admin.post(f"{url}/{action}")
        assert response.status_code == 409, (action, response.text)
        assert response.json()["current_status"] == status
        assert response.headers["content-type"] == "application/problem+json"
        assert await snapshot(admin, a["id"]) == before

    await expect_conflict("finalize", "draft")
    await expect_conflict("supersede", "draft")
    etag = await etag_of(admin, a["id"])
    stale = await admin.post(f"{url}/submit", headers={"If-Match": '"x.1"'})
    assert stale.status_code == 412
    submitted = await admin.post(f"{url}/submit", headers={"If-Match": etag})
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted" and submitted.json()["submitted_at"]
    assert submitted.headers["etag"] != etag
    await expect_conflict("submit", "submitted")
    finalized = await admin.post(f"{url}/finalize")
    assert finalized.status_code == 200 and finalized.json()["status"] == "finalized"
    assert finalized.json()["finalized_at"]
    await expect_conflict("submit", "finalized")
    await expect_conflict("finalize", "finalized")
    assert (await admin.post(f"/v1/assessments/{'0' * 32}/submit")).status_code == 404


async def test_supersede_copies_ratings_into_a_new_draft(admin, ladder):
    a = await create_assessment(admin)
    await rate(admin, a["id"], "self", None, ratings(strategy=5))
    await rate(admin, a["id"], "manager", "E001", ratings(strategy=4, execution=3))
    await admin.post(f"/v1/assessments/{a['id']}/submit")
    await admin.post(f"/v1/assessments/{a['id']}/finalize")
    finalized = (await admin.get(f"/v1/assessments/{a['id']}")).json()

    response = await admin.post(f"/v1/assessments/{a['id']}/supersede")
    assert response.status_code == 201, response.text
    new = response.json()
    assert response.headers["location"] == f"/v1/assessments/{new['id']}"
    assert new["id"] != a["id"] and new["status"] == "draft" and new["supersedes"] == a["id"]
    assert new["ratings"] == finalized["ratings"]
    for key in ("person", "rubric", "current_level", "target_level", "cycle", "org_unit"):
        assert new[key] == finalized[key]
    old = (await admin.get(f"/v1/assessments/{a['id']}")).json()
    assert old["status"] == "superseded" and old["superseded_by"] == new["id"]
    assert old["ratings"] == finalized["ratings"]

    again = await admin.post(f"/v1/assessments/{a['id']}/supersede")
    assert again.status_code == 409 and again.json()["current_status"] == "superseded"
    changed = await rate(admin, new["id"], "manager", "E001", ratings(strategy=5))
    assert changed.status_code == 200
    assert (await admin.get(f"/v1/assessments/{a['id']}")).json()["ratings"] == \
        finalized["ratings"]


async def test_supersede_a_submitted_assessment_with_idempotency(admin, ladder):
    a = await create_assessment(admin)
    await admin.post(f"/v1/assessments/{a['id']}/submit")
    headers = {"Idempotency-Key": "redo-1"}
    first = await admin.post(f"/v1/assessments/{a['id']}/supersede", headers=headers)
    replay = await admin.post(f"/v1/assessments/{a['id']}/supersede", headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    listed = (await admin.get("/v1/assessments")).json()["data"]
    assert sorted(x["status"] for x in listed) == ["draft", "superseded"]


async def test_submit_and_finalize_emit_events_in_the_transaction(admin, ladder):
    seen: list[tuple[str, str, str]] = []

    def handler(session, event):
        seen.append((event.name, str(event.assessment.id), event.assessment.status))

    events.subscribe(events.AssessmentSubmitted, handler)
    events.subscribe(events.AssessmentFinalized, handler)
    try:
        a = await create_assessment(admin)
        await admin.post(f"/v1/assessments/{a['id']}/submit")
        await admin.post(f"/v1/assessments/{a['id']}/finalize")
        await admin.post(f"/v1/assessments/{a['id']}/finalize")  # 409: no second event
    finally:
        for kind in (events.AssessmentSubmitted, events.AssessmentFinalized):
            events.unsubscribe(kind, handler)
    assert seen == [("assessment.submitted", a["id"], "submitted"),
                    ("assessment.finalized", a["id"], "finalized")]


# --- audit trail -----------------------------------------------------------------------------

async def test_history_records_each_change_once_in_order(admin, ladder, make_key, client_with):
    a = await create_assessment(admin)
    hr_key = make_key("assessments:write", "assessments:read", name="hr")
    async with client_with(hr_key) as hr:
        await rate(hr, a["id"], "manager", "E001", ratings(strategy=4))
        await rate(hr, a["id"], "manager", "E001", ratings(strategy=3))
        await rate(hr, a["id"], "manager", "E001", ratings(strategy=9))     # refused: 422
        await admin.post(f"/v1/assessments/{a['id']}/finalize")            # refused: 409
        await admin.get(f"/v1/assessments/{a['id']}")                     # reads record nothing
        await hr.post(f"/v1/assessments/{a['id']}/submit")
    await admin.post(f"/v1/assessments/{a['id']}/finalize")
    new = (await admin.post(f"/v1/assessments/{a['id']}/supersede")).json()

    history = (await admin.get(f"/v1/assessments/{a['id']}/history")).json()["data"]
    assert [(e["seq"], e["action"]) for e in history] == [
        (1, "created"), (2, "ratings_set"), (3, "ratings_set"), (4, "submitted"),
        (5, "finalized"), (6, "superseded")]
    principals = [e["principal"] for e in history]
    assert principals[1] == principals[2] == principals[3] != principals[0]
    assert principals[0] == principals[4] == principals[5]
    assert all(p.startswith("key:") for p in principals)
    assert history[2]["details"] == {"rater_role": "manager", "rater_id": "E001",
                                     "ratings": {"strategy": 3}, "previous": {"strategy": 4}}
    assert history[5]["details"]["by"] == new["id"]
    assert [e["at"] for e in history] == sorted(e["at"] for e in history)
    assert await actions(admin, new["id"]) == ["created"]

    page = await admin.get(f"/v1/assessments/{a['id']}/history", params={"limit": 4})
    assert [e["seq"] for e in page.json()["data"]] == [1, 2, 3, 4]
    rest = await admin.get(f"/v1/assessments/{a['id']}/history",
                           params={"limit": 4, "cursor": page.json()["next_cursor"]})
    assert [e["seq"] for e in rest.json()["data"]] == [5, 6]


# --- listing ---------------------------------------------------------------------------------

async def test_list_filters_and_pagination(admin, ladder):
    await sync_person(admin, "E1", org_unit="payments", level="pm")
    await sync_person(admin, "E2", org_unit="growth", level="senior-pm")
    a1 = await create_assessment(admin, "E1", sync=False)
    a2 = await create_assessment(admin, "E2", sync=False, cycle="2027-H1")
    a3 = await create_assessment(admin, "E1", sync=False, target_level="lead-pm")
    await admin.post(f"/v1/assessments/{a2['id']}/submit")
    # E1 moves org: the assessments keep the org unit they were made in.
    await sync_person(admin, "E1", org_unit="platform", level="pm")
    a4 = await create_assessment(admin, "E1", sync=False)

    async def ids(**params):
        response = await admin.get("/v1/assessments", params=params)
        assert response.status_code == 200, response.text
        return [x["id"] for x in response.json()["data"]]

    assert await ids() == [a1["id"], a2["id"], a3["id"], a4["id"]]
    assert await ids(person="E1") == [a1["id"], a3["id"], a4["id"]]
    assert await ids(status="submitted") == [a2["id"]]
    assert await ids(cycle="2027-H1") == [a2["id"]]
    assert await ids(org_unit="payments") == [a1["id"], a3["id"]]
    assert await ids(org_unit="platform") == [a4["id"]]
    assert await ids(target_level="lead-pm") == [a2["id"], a3["id"]]
    assert await ids(rubric="product-leadership", person="E2") == [a2["id"]]
    assert await ids(rubric="other") == []
    bad = await admin.get("/v1/assessments", params={"status": "archived"})
    assert bad.status_code == 422 and fields(bad) == ["query.status"]

    seen, cursor = [], None
    while True:
        response = await admin.get("/v1/assessments", params={"limit": 3} | (
            {"cursor": cursor} if cursor else {}))
        seen += [x["id"] for x in response.json()["data"]]
        cursor = response.json()["next_cursor"]
        assert ('link' in response.headers) == (cursor is not None)
        if cursor is None:
            break
    assert seen == [a1["id"], a2["id"], a3["id"], a4["id"]]
    assert (await admin.get("/v1/assessments", params={"cursor": "WyJ4Il0"})).status_code == 422


async def test_unknown_or_malformed_ids_are_404_or_422(admin, ladder):
    assert (await admin.get(f"/v1/assessments/{'0' * 32}")).status_code == 404
    assert (await admin.get(f"/v1/assessments/{'0' * 32}/history")).status_code == 404
    bad = await admin.get("/v1/assessments/not-a-uuid")
    assert bad.status_code == 422 and fields(bad) == ["path.assessment_id"]


# --- person-bound principals -----------------------------------------------------------------

@pytest.fixture
async def team(admin, ladder):
    """E123's assessment rated by themselves, their manager and peer E200; E200's own."""
    mine = await create_assessment(admin, "E123")
    await sync_person(admin, "E200")
    theirs = await create_assessment(admin, "E200", sync=False)
    for role, rater in (("self", None), ("manager", "E001"), ("peer", "E200")):
        assert (await rate(admin, mine["id"], role, rater, ratings(strategy=4))).status_code \
            == 200
    assert (await rate(admin, theirs["id"], "manager", "E001", ratings(strategy=2))
            ).status_code == 200
    return mine["id"], theirs["id"]


@pytest.fixture
def person_key(make_key):
    def make(person: str) -> str:
        return make_key("assessments:read", "assessments:write", person=person, name=person)
    return make


async def test_a_person_reads_their_own_without_peer_ids(admin, team, person_key, client_with):
    mine, _ = team
    async with client_with(person_key("E123")) as me:
        response = await me.get(f"/v1/assessments/{mine}")
        history = await me.get(f"/v1/assessments/{mine}/history")
    assert response.status_code == 200
    shown = [(r["rater_role"], r["rater_id"]) for r in response.json()["ratings"]]
    assert shown == [("self", "E123"), ("manager", "E001"), ("peer", None)]
    assert response.headers["etag"] == await etag_of(admin, mine)
    peer_events = [e for e in history.json()["data"]
                   if e["details"].get("rater_role") == "peer"]
    assert len(peer_events) == 1 and peer_events[0]["details"]["rater_id"] is None
    full = (await admin.get(f"/v1/assessments/{mine}")).json()["ratings"]
    assert [r["rater_id"] for r in full] == ["E123", "E001", "E200"]


async def test_a_person_cannot_see_someone_elses_assessment(admin, team, person_key,
                                                            client_with):
    mine, theirs = team
    async with client_with(person_key("E123")) as me:
        for method, path, body in (
            ("GET", f"/v1/assessments/{theirs}", None),
            ("GET", f"/v1/assessments/{theirs}/history", None),
            ("PUT", f"/v1/assessments/{theirs}/ratings",
             {"rater_role": "self", "ratings": []}),
            ("POST", f"/v1/assessments/{theirs}/submit", None),
        ):
            response = await me.request(method, path, json=body,
                                        headers={"If-Match": await etag_of(admin, theirs)})
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["code"] == "not_found"
        listed = await me.get("/v1/assessments")
        filtered = await me.get("/v1/assessments", params={"person": "E200"})
    assert [x["id"] for x in listed.json()["data"]] == [mine]
    assert filtered.json()["data"] == []


async def test_a_rater_reads_only_their_own_ratings_of_others(admin, team, person_key,
                                                              client_with):
    mine, _ = team
    before = await snapshot(admin, mine)
    async with client_with(person_key("E200")) as peer:
        response = await peer.get(f"/v1/assessments/{mine}")
        history = await peer.get(f"/v1/assessments/{mine}/history")
        write = await rate(peer, mine, "peer", "E200", ratings(strategy=1))
        listed = await peer.get("/v1/assessments")
    assert response.status_code == 200
    assert [(r["rater_role"], r["rater_id"]) for r in response.json()["ratings"]] == [
        ("peer", "E200")]
    assert history.status_code == 404
    assert write.status_code == 403
    assert [x["person"] for x in listed.json()["data"]] == ["E200"]
    assert await snapshot(admin, mine) == before


async def test_a_person_writes_only_self_ratings_on_their_own_draft(admin, team, person_key,
                                                                    client_with):
    mine, _ = team
    async with client_with(person_key("E123")) as me:
        ok = await rate(me, mine, "self", None, ratings(strategy=6, execution=4))
        explicit = await rate(me, mine, "self", "E123", ratings(strategy=5))
        as_manager = await rate(me, mine, "manager", "E001", ratings(strategy=6))
        create = await me.post("/v1/assessments", json={"person": "E123", "cycle": "x"})
        submit = await me.post(f"/v1/assessments/{mine}/submit")
        assert ok.status_code == explicit.status_code == 200
        assert as_manager.status_code == create.status_code == submit.status_code == 403
        await admin.post(f"/v1/assessments/{mine}/submit")
        late = await rate(me, mine, "self", None, ratings(strategy=6))
    assert late.status_code == 409
    stored = (await admin.get(f"/v1/assessments/{mine}")).json()["ratings"]
    assert [(r["rater_role"], r["competency"], r["proficiency"]) for r in stored] == [
        ("self", "strategy", 5), ("manager", "strategy", 4), ("peer", "strategy", 4)]


async def test_scopes_are_enforced(admin, team, make_key, client_with):
    mine, _ = team
    async with client_with(make_key("assessments:read")) as reader:
        assert (await reader.get(f"/v1/assessments/{mine}")).status_code == 200
        assert (await rate(reader, mine, "manager", "E001", [])).status_code == 403
        assert (await reader.post(f"/v1/assessments/{mine}/submit")).status_code == 403
    async with client_with(make_key("people:read")) as other:
        assert (await other.get(f"/v1/assessments/{mine}")).status_code == 403


async def test_service_seams_for_readiness(admin, team, session):
    from service.assessments import service as assessments
    from service.problems import NotFound

    mine, _ = team
    found = assessments.get_assessment(session, mine, None)
    key, version, current, target, rated = assessments.scoring_inputs(session, found)
    assert (key, version, current, target) == ("product-leadership", 2, "pm", "senior-pm")
    assert [(r.rater_role, r.rater_id, r.proficiency) for r in rated] == [
        ("self", "E123", 4), ("manager", "E001", 4), ("peer", "E200", 4)]
    assert assessments.to_read(found).id == found.id
    with pytest.raises(NotFound):
        assessments.get_assessment(session, "not-a-uuid", None)
