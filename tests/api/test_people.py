"""People over HTTP: the HRIS upsert (201/200, idempotent, If-Match), level validation,
filters and pagination, deactivation; and the service functions other domains call."""

import pytest

from service.people import service as people
from service.problems import InvalidInput, NotFound
from tests.factories.people import person_doc, sync_person
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio


@pytest.fixture
async def ladder(engine, db_url):
    await load_default_rubric(engine)


def fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


async def test_upsert_creates_then_repeating_it_changes_nothing(admin, ladder):
    created = await admin.put("/v1/people/E123", json=person_doc())
    assert created.status_code == 201
    assert created.headers["location"] == "/v1/people/E123"
    body = created.json()
    assert body["external_id"] == "E123" and body["level"] == "pm" and body["active"] is True
    assert len(body["id"]) == 36

    again = await admin.put("/v1/people/E123", json=person_doc())
    assert again.status_code == 200
    assert again.json() == body  # same id, same updated_at: nothing was rewritten
    assert again.headers["etag"] == created.headers["etag"]

    got = await admin.get("/v1/people/E123")
    assert got.status_code == 200 and got.json() == body
    assert got.headers["etag"] == created.headers["etag"]
    listed = (await admin.get("/v1/people")).json()["data"]
    assert [p["external_id"] for p in listed] == ["E123"]


async def test_put_replaces_and_keeps_the_immutable_id(admin, ladder):
    first = await sync_person(admin)
    doc = person_doc(level="senior-pm", org_unit="growth")
    del doc["email"], doc["external_id"]  # PUT replaces: omitted fields take their defaults
    response = await admin.put("/v1/people/E123", json=doc)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == first["id"]
    assert (body["level"], body["org_unit"], body["email"]) == ("senior-pm", "growth", None)
    assert body["updated_at"] > first["updated_at"]


async def test_if_match_is_honoured_when_given(admin, ladder):
    created = await admin.put("/v1/people/E123", json=person_doc())
    etag = created.headers["etag"]
    changed = await admin.put("/v1/people/E123", json=person_doc(level="senior-pm"),
                              headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    stale = await admin.put("/v1/people/E123", json=person_doc(level="lead-pm"),
                            headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == changed.headers["etag"]
    assert (await admin.get("/v1/people/E123")).json()["level"] == "senior-pm"

    missing = await admin.put("/v1/people/E999", json=person_doc("E999"),
                              headers={"If-Match": etag})
    assert missing.status_code == 412
    assert (await admin.get("/v1/people/E999")).status_code == 404


@pytest.mark.parametrize(("changes", "field", "named"), [
    ({"level": "principal-pm"}, "level", "principal-pm"),
    ({"rubric": "no-such-ladder"}, "rubric", "no-such-ladder"),
    ({"rubric": None}, "rubric", "level"),
])
async def test_a_level_must_exist_in_the_persons_rubric(admin, ladder, changes, field, named):
    response = await admin.put("/v1/people/E123", json=person_doc(**changes))
    assert response.status_code == 422
    assert fields(response) == [field]
    assert named in response.json()["errors"][0]["message"]
    assert (await admin.get("/v1/people/E123")).status_code == 404  # nothing stored


async def test_bad_bodies_and_ids_are_422(admin, ladder):
    other_id = await admin.put("/v1/people/E123", json=person_doc("E124"))
    assert other_id.status_code == 422 and fields(other_id) == ["external_id"]
    extra = await admin.put("/v1/people/E123", json=person_doc(salary=1))
    assert extra.status_code == 422 and fields(extra) == ["salary"]
    long_name = await admin.put("/v1/people/E123", json=person_doc(display_name="x" * 201))
    assert long_name.status_code == 422 and fields(long_name) == ["display_name"]
    bad_email = await admin.put("/v1/people/E123", json=person_doc(email="not-an-email"))
    assert bad_email.status_code == 422 and fields(bad_email) == ["email"]
    bad_path = await admin.put("/v1/people/-E1", json=person_doc("-E1"))
    assert bad_path.status_code == 422 and "path.external_id" in fields(bad_path)
    assert (await admin.get("/v1/people")).json()["data"] == []


async def test_person_without_rubric_and_unsynced_manager(admin, ladder):
    doc = person_doc("E7", rubric=None, level=None, manager_external_id="E-NOT-YET")
    response = await admin.put("/v1/people/E7", json=doc)
    assert response.status_code == 201
    assert response.json()["manager_external_id"] == "E-NOT-YET"
    assert response.json()["rubric"] is None


async def test_list_filters_and_pagination(admin, ladder):
    await sync_person(admin, "E1", org_unit="payments", manager_external_id="M1", level="apm")
    await sync_person(admin, "E2", org_unit="payments", manager_external_id="M2", level="pm")
    await sync_person(admin, "E3", org_unit="growth", manager_external_id="M1", level="pm",
                      active=False)
    await sync_person(admin, "E4", rubric=None, level=None, org_unit="growth")

    async def ids(**params):
        response = await admin.get("/v1/people", params=params)
        assert response.status_code == 200, response.text
        return [p["external_id"] for p in response.json()["data"]]

    assert await ids() == ["E1", "E2", "E3", "E4"]
    assert await ids(org_unit="payments") == ["E1", "E2"]
    assert await ids(manager="M1") == ["E1", "E3"]
    assert await ids(level="pm") == ["E2", "E3"]
    assert await ids(rubric="product-leadership") == ["E1", "E2", "E3"]
    assert await ids(active="false") == ["E3"]
    assert await ids(active="true", org_unit="growth") == ["E4"]

    first = await admin.get("/v1/people", params={"limit": 3})
    assert [p["external_id"] for p in first.json()["data"]] == ["E1", "E2", "E3"]
    assert 'rel="next"' in first.headers["link"]
    second = await admin.get("/v1/people", params={"limit": 3,
                                                   "cursor": first.json()["next_cursor"]})
    assert [p["external_id"] for p in second.json()["data"]] == ["E4"]
    assert second.json()["next_cursor"] is None


async def test_deactivation_keeps_the_person_and_their_assessments(admin, ladder):
    await sync_person(admin)
    created = await admin.post("/v1/assessments", json={"person": "E123", "cycle": "2026-H2"})
    assert created.status_code == 201
    gone = await sync_person(admin, active=False)
    assert gone["active"] is False
    assert (await admin.get("/v1/people/E123")).json()["active"] is False
    kept = await admin.get(f"/v1/assessments/{created.json()['id']}")
    assert kept.status_code == 200 and kept.json()["person"] == "E123"
    refused = await admin.post("/v1/assessments", json={"person": "E123", "cycle": "2027-H1"})
    assert refused.status_code == 422 and fields(refused) == ["person"]
    assert (await admin.delete("/v1/people/E123")).status_code == 405


async def test_get_unknown_is_404_and_scopes_apply(admin, ladder, make_key, client_with):
    assert (await admin.get("/v1/people/E404")).status_code == 404
    await sync_person(admin)
    async with client_with(make_key("people:read")) as reader:
        assert (await reader.get("/v1/people/E123")).status_code == 200
        assert (await reader.put("/v1/people/E123", json=person_doc())).status_code == 403


async def test_service_functions_other_domains_call(admin, ladder, session):
    person, created = people.upsert_person(session, "E50", person_doc("E50", level="apm"))
    assert created is True and person.level == "apm"
    same, created_again = people.upsert_person(session, "E50", person_doc("E50", level="apm"))
    assert created_again is False and same.id == person.id
    session.commit()
    assert people.find_existing(session, {"E50", "E51", "E123"}) == {"E50"}
    assert people.find_existing(session, set()) == set()
    assert people.get_person(session, "E50").display_name == "Person E50"
    with pytest.raises(NotFound):
        people.get_person(session, "E51")
    with pytest.raises(InvalidInput) as bad:
        people.upsert_person(session, "E52", {"display_name": "", "level": "pm"})
    assert {e.field for e in bad.value.errors} == {"display_name"}


async def test_self_service_credentials_see_only_their_own_record(admin, engine, make_key,
                                                                  client_with):
    from tests.factories.people import sync_person
    from tests.factories.rubrics import load_default_rubric

    await load_default_rubric(engine)
    await sync_person(admin, "E123")
    await sync_person(admin, "E124")
    async with client_with(make_key("people:read", "people:write", person="E123")) as me:
        assert (await me.get("/v1/people/E123")).status_code == 200
        assert (await me.get("/v1/people/E124")).status_code == 404
        listed = (await me.get("/v1/people")).json()["data"]
        assert [p["external_id"] for p in listed] == ["E123"]
        write = await me.put("/v1/people/E124", json={"display_name": "Not me"})
        assert write.status_code == 403
    assert (await admin.get("/v1/people/E124")).json()["display_name"] == "Person E124"
