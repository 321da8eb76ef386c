"""GraphQL mutations and queries: the REST writes with the same validation and rules, domain
errors as GraphQL errors with `extensions.code`, pages as Relay-style connections."""

import pytest

from service.people import service as people_service
from tests.factories.graphql import codes, gql
from tests.factories.people import person_doc
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio

UPSERT = """mutation($id: String!, $input: PersonInput!, $ifMatch: String) {
  upsertPerson(externalId: $id, input: $input, ifMatch: $ifMatch) {
    created person { externalId displayName level etag } } }"""
CREATE = """mutation($input: AssessmentInput!) {
  createAssessment(input: $input) { id status currentLevel targetLevel etag } }"""
RATE = """mutation($id: UUID!, $input: RatingsInput!, $ifMatch: String) {
  setRatings(id: $id, input: $input, ifMatch: $ifMatch) {
    etag ratings { competency raterRole raterId proficiency evidence } } }"""


def person_input(**overrides) -> dict:
    """The REST body of tests.factories.people as a GraphQL PersonInput."""
    doc = person_doc("E123", **overrides)
    return {"displayName": doc["display_name"], "email": doc["email"], "orgUnit": doc["org_unit"],
            "managerExternalId": doc["manager_external_id"], "rubric": doc["rubric"],
            "level": doc["level"]}


@pytest.fixture
async def ladder(engine):
    await load_default_rubric(engine)


async def test_upsert_person_creates_then_replaces_and_honours_if_match(admin, ladder):
    created = await gql(admin, UPSERT, {"id": "E123", "input": person_input()})
    result = created["data"]["upsertPerson"]
    assert result["created"] is True and result["person"]["level"] == "pm"
    etag = result["person"]["etag"]
    assert (await admin.get("/v1/people/E123")).headers["etag"] == etag

    same = await gql(admin, UPSERT, {"id": "E123", "input": person_input(), "ifMatch": etag})
    assert same["data"]["upsertPerson"]["created"] is False
    assert same["data"]["upsertPerson"]["person"]["etag"] == etag  # nothing changed

    moved = await gql(admin, UPSERT, {"id": "E123", "input": person_input(level="senior-pm"),
                                      "ifMatch": etag})
    assert moved["data"]["upsertPerson"]["person"]["level"] == "senior-pm"
    stale = await gql(admin, UPSERT, {"id": "E123", "input": person_input(level="apm"),
                                      "ifMatch": etag})
    assert codes(stale) == ["PRECONDITION_FAILED"]
    assert stale["errors"][0]["extensions"]["status"] == 412
    assert (await admin.get("/v1/people/E123")).json()["level"] == "senior-pm"


async def test_invalid_input_names_the_fields_as_the_client_wrote_them(admin, ladder):
    bad = await gql(admin, UPSERT, {"id": "E123", "input": person_input(email="not-an-email",
                                                                         level="nope")})
    assert codes(bad) == ["INVALID_INPUT"]
    assert [e["field"] for e in bad["errors"][0]["extensions"]["errors"]] == ["input.email"]
    placement = await gql(admin, UPSERT, {"id": "E123", "input": person_input(level="nope")})
    assert placement["errors"][0]["extensions"]["errors"][0]["field"] == "input.level"
    key = await gql(admin, UPSERT, {"id": "bad/id", "input": person_input()})
    assert key["errors"][0]["extensions"]["errors"][0]["field"] == "externalId"
    assert (await admin.get("/v1/people/E123")).status_code == 404  # nothing half-applied

    await gql(admin, UPSERT, {"id": "E123", "input": person_input()})
    target = await gql(admin, CREATE, {"input": {"person": "E123", "cycle": "2026-H2",
                                                 "targetLevel": "apm"}})
    assert codes(target) == ["INVALID_INPUT"]
    assert target["errors"][0]["extensions"]["errors"][0]["field"] == "input.targetLevel"
    assert target["errors"][0]["extensions"]["status"] == 422


async def test_the_assessment_lifecycle_over_graphql(admin, ladder):
    await gql(admin, UPSERT, {"id": "E123", "input": person_input()})
    created = (await gql(admin, CREATE, {"input": {"person": "E123", "cycle": "2026-H2"}})
               )["data"]["createAssessment"]
    assert (created["status"], created["currentLevel"], created["targetLevel"]) == (
        "draft", "pm", "senior-pm")
    ratings = {"raterRole": "manager", "raterId": "E001", "ratings": [
        {"competency": "strategy", "proficiency": 4, "evidence": "wrote it"},
        {"competency": "execution", "proficiency": 9}]}

    missing = await gql(admin, RATE, {"id": created["id"], "input": ratings})
    assert codes(missing) == ["PRECONDITION_REQUIRED"]
    out_of_scale = await gql(admin, RATE, {"id": created["id"], "input": ratings,
                                           "ifMatch": created["etag"]})
    assert codes(out_of_scale) == ["INVALID_INPUT"]
    assert out_of_scale["errors"][0]["extensions"]["errors"] == [
        {"field": "input.ratings[1].proficiency", "message": "must be within the scale 1..6"}]
    assert (await admin.get(f"/v1/assessments/{created['id']}")).json()["ratings"] == []

    ratings["ratings"][1]["proficiency"] = 3
    rated = await gql(admin, RATE, {"id": created["id"], "input": ratings,
                                    "ifMatch": created["etag"]})
    assert rated["data"]["setRatings"]["ratings"] == [
        {"competency": "strategy", "raterRole": "manager", "raterId": "E001", "proficiency": 4,
         "evidence": "wrote it"},
        {"competency": "execution", "raterRole": "manager", "raterId": "E001", "proficiency": 3,
         "evidence": None}]
    stale = await gql(admin, RATE, {"id": created["id"], "input": ratings,
                                    "ifMatch": created["etag"]})
    assert codes(stale) == ["PRECONDITION_FAILED"]

    moved = await gql(admin, """mutation($id: UUID!) {
        submit: submitAssessment(id: $id) { status }
        again: submitAssessment(id: $id) { status }
        finalize: finalizeAssessment(id: $id) { status readiness { band inputsDigest } } }""",
                      {"id": created["id"]})
    # Mutations run in order; the failing one leaves the others' effects in place.
    assert moved["data"]["submit"] == {"status": "submitted"} and moved["data"]["again"] is None
    assert codes(moved) == ["CONFLICT"]
    assert moved["errors"][0]["extensions"]["current_status"] == "submitted"
    assert moved["data"]["finalize"]["status"] == "finalized"
    stored = (await admin.get("/v1/people/E123/readiness")).json()
    assert moved["data"]["finalize"]["readiness"]["inputsDigest"] == stored["inputs_digest"]
    history = (await admin.get(f"/v1/assessments/{created['id']}/history")).json()["data"]
    assert [e["action"] for e in history] == ["created", "ratings_set", "submitted", "finalized"]


async def test_several_rating_writes_in_one_request_answer_what_is_stored(admin, ladder):
    """set_ratings writes rows with bulk statements and sets the loaded collection itself;
    later mutations of the same request (same session) must see and keep exactly those rows."""
    await gql(admin, UPSERT, {"id": "E123", "input": person_input()})
    created = (await gql(admin, CREATE, {"input": {"person": "E123", "cycle": "2026-H2"}})
               )["data"]["createAssessment"]

    def rater(role, rater_id, *proficiencies):
        return {"raterRole": role, "raterId": rater_id, "ratings": [
            {"competency": c, "proficiency": p}
            for c, p in zip(("strategy", "execution"), proficiencies, strict=False)]}

    answer = await gql(admin, """mutation($id: UUID!, $a: RatingsInput!, $b: RatingsInput!,
                                          $c: RatingsInput!) {
        a: setRatings(id: $id, input: $a, ifMatch: "*") { ratings { raterId proficiency } }
        b: setRatings(id: $id, input: $b, ifMatch: "*") { ratings { raterId proficiency } }
        c: setRatings(id: $id, input: $c, ifMatch: "*") {
             etag ratings { competency raterRole raterId proficiency evidence } }
        submit: submitAssessment(id: $id) { status } }""", {
        "id": created["id"], "a": rater("manager", "M1", 2, 3),
        "b": rater("peer", "P1", 4), "c": rater("manager", "M1", 5)})
    assert "errors" not in answer
    assert [r["proficiency"] for r in answer["data"]["b"]["ratings"]] == [2, 3, 4]
    assert answer["data"]["submit"] == {"status": "submitted"}
    stored = await admin.get(f"/v1/assessments/{created['id']}")
    assert [(r["rater_id"], r["competency"], r["proficiency"]) for r in stored.json()["ratings"]
            ] == [("M1", "strategy", 5), ("P1", "strategy", 4)]
    assert [(r["raterId"], r["competency"], r["proficiency"])
            for r in answer["data"]["c"]["ratings"]] == [("M1", "strategy", 5),
                                                         ("P1", "strategy", 4)]
    history = (await admin.get(f"/v1/assessments/{created['id']}/history")).json()["data"]
    assert [(e["seq"], e["action"]) for e in history] == [
        (1, "created"), (2, "ratings_set"), (3, "ratings_set"), (4, "ratings_set"),
        (5, "submitted")]
    assert history[3]["details"]["previous"] == {"strategy": 2, "execution": 3}


async def test_a_failing_mutation_leaves_nothing_behind(admin, ladder, monkeypatch):
    """The savepoint: an error after the person was written undoes that write only."""
    real = people_service.upsert_person

    def upsert_then_fail(session, external_id, data, *rest):
        result = real(session, external_id, data, *rest)
        if external_id == "E2":
            raise RuntimeError("disk on fire at /var/lib/secret")
        return result

    monkeypatch.setattr(people_service, "upsert_person", upsert_then_fail)
    answer = await gql(admin, """mutation {
        one: upsertPerson(externalId: "E1", input: {displayName: "One"}) { created }
        two: upsertPerson(externalId: "E2", input: {displayName: "Two"}) { created } }""")
    assert answer["data"] == {"one": {"created": True}, "two": None}
    assert codes(answer) == ["INTERNAL_SERVER_ERROR"]
    assert "secret" not in str(answer) and "Traceback" not in str(answer)
    assert answer["errors"][0]["message"] == "An unexpected error occurred; it has been logged."
    assert (await admin.get("/v1/people/E1")).status_code == 200
    assert (await admin.get("/v1/people/E2")).status_code == 404


async def test_people_pages_are_connections(admin, ladder):
    for i in range(5):
        await gql(admin, UPSERT, {"id": f"E{i}", "input": person_input(
            org_unit="search" if i % 2 else "payments")})
    page = """query($after: String) { people(first: 2, after: $after, filter: {orgUnit: "payments"})
      { edges { cursor node { externalId } } pageInfo { hasNextPage endCursor } } }"""
    seen, after = [], None
    while True:
        answer = (await gql(admin, page, {"after": after}))["data"]["people"]
        seen += [e["node"]["externalId"] for e in answer["edges"]]
        if not answer["pageInfo"]["hasNextPage"]:
            break
        after = answer["pageInfo"]["endCursor"]
    assert seen == ["E0", "E2", "E4"]
    rest = (await admin.get("/v1/people", params={"org_unit": "payments"})).json()["data"]
    assert [p["external_id"] for p in rest] == seen

    bad = await gql(admin, '{ people(first: 0, after: "%%%") { edges { cursor } } }')
    assert codes(bad) == ["INVALID_INPUT"]
    assert bad["errors"][0]["extensions"]["errors"][0]["field"] == "first"
    cursor = await gql(admin, '{ people(after: "bm9wZQ") { edges { cursor } } }')
    assert cursor["errors"][0]["extensions"]["errors"][0]["field"] == "after"


async def test_unknown_objects_are_not_found(admin, ladder):
    answer = await gql(admin, """{ person(externalId: "nobody") { externalId }
        rubric(key: "nope") { key }
        outline(id: "00000000-0000-0000-0000-000000000000") { id } }""")
    assert answer["data"] == {"person": None, "rubric": None, "outline": None}
    assert codes(answer) == ["NOT_FOUND"] * 3
    assert {e["extensions"]["status"] for e in answer["errors"]} == {404}
    syntax = await gql(admin, "{ person(externalId: ")
    assert codes(syntax) == ["GRAPHQL_PARSE_FAILED"]
    unknown = await gql(admin, '{ assessment(id: "not-a-uuid") { id } }')
    assert codes(unknown) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_manager_and_reports(admin, ladder):
    await gql(admin, UPSERT, {"id": "M1", "input": person_input(manager_external_id=None)})
    for who in ("E2", "E1"):
        await gql(admin, UPSERT, {"id": who, "input": person_input(manager_external_id="M1")})
    answer = await gql(admin, """{ person(externalId: "E1") {
        manager { externalId manager { externalId } reports { externalId } } } }""")
    assert answer["data"]["person"]["manager"] == {
        "externalId": "M1", "manager": None,
        "reports": [{"externalId": "E1"}, {"externalId": "E2"}]}
