"""Regression tests for the person-binding defects of issue 12, each as the review found it
(the matrix in ``test_authorization_matrix.py`` covers every route and field; these name the
holes one by one). A is the credential's person, B someone else whose manager is A and in
two of whose assessments A rated."""

import json

import pytest

from service.settings import Settings
from tests.factories.binding import SECRET, A, B, M, arrange
from tests.factories.graphql import codes, gql
from tests.factories.jwts import AUDIENCE, ISSUER, SigningKey, jwks
from tests.factories.outlines import opportunity

pytestmark = pytest.mark.anyio

SIGNER = SigningKey.rsa("binding")
SELF_SERVICE = ("people:read", "assessments:read", "assessments:write", "readiness:read",
                "outlines:read", "outlines:write", "jobs:read")


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(SIGNER)))
    return Settings(database_url=db_url, jwt_jwks_file=path, jwt_issuer=ISSUER,
                    jwt_audience=AUDIENCE)


@pytest.fixture
async def world(app, admin, engine):
    return await arrange(app, admin, engine)


@pytest.fixture(params=["api-key", "jwt"])
def bound_to_a(request, make_key) -> str:
    """A self-service key made with ``--person A``, or a portal user's JWT with ``sub`` A."""
    if request.param == "api-key":
        return make_key(*SELF_SERVICE, person=A)
    return SIGNER.token(sub=A, scope=" ".join(SELF_SERVICE))


async def test_graphql_people_lists_only_the_bound_person(world, client_with, bound_to_a):
    async with client_with(bound_to_a) as me:
        rest = (await me.get("/v1/people", params={"limit": 500})).json()["data"]
        answer = await gql(me, "{ people(first: 500) { edges { node { externalId email } } } }")
    assert [p["external_id"] for p in rest] == [A]
    assert [e["node"] for e in answer["data"]["people"]["edges"]] == [
        {"externalId": A, "email": "ada.self@example.com"}]


async def test_graphql_person_manager_and_reports_stay_unseen(world, client_with, bound_to_a):
    async with client_with(bound_to_a) as me:
        about_b = await gql(me, """query($b: String!) {
            person(externalId: $b) { email manager { email } reports { email } } }""",
                            {"b": B})
        own = await gql(me, """query($a: String!) {
            person(externalId: $a) { externalId manager { email } reports { email } } }""",
                        {"a": A})
    assert about_b["data"] == {"person": None} and codes(about_b) == ["NOT_FOUND"]
    # A's manager (M) and A's report (B) are synced, and still null and empty for A.
    assert own["data"] == {"person": {"externalId": A, "manager": None, "reports": []}}
    assert "errors" not in own


async def test_graphql_subject_of_an_assessment_rated_in_stays_unseen(world, client_with,
                                                                      bound_to_a):
    async with client_with(bound_to_a) as me:
        answer = await gql(me, """query($id: UUID!) {
            assessment(id: $id) { person ratings { raterId } subject { email displayName } }
            }""", {"id": world["b_final"]})
    assert answer["data"] == {"assessment": {"person": B, "ratings": [{"raterId": A}] * 2,
                                             "subject": None}}


async def test_a_bound_credential_reads_no_one_elses_job(world, client_with, bound_to_a, admin):
    job = f"/v1/jobs/{world['job']}"
    assert (await admin.get(job)).json()["errors"][0]["external_id"] == B
    async with client_with(bound_to_a) as me:
        refused = await me.get(job)
        unknown = await me.get("/v1/jobs/00000000-0000-4000-8000-000000000000")
    assert refused.status_code == unknown.status_code == 404
    assert SECRET not in refused.text and B not in refused.text
    assert refused.json()["title"] == unknown.json()["title"]


async def test_a_bound_credential_cannot_write_an_outline_about_someone_else(
        world, client_with, bound_to_a, admin):
    async with client_with(bound_to_a) as me:
        about_b = await me.post("/v1/outlines", json=opportunity() | {
            "person": B, "assessment_id": world["b_final"]})
        hung_on_b = await me.post("/v1/outlines", json=opportunity() | {
            "assessment_id": world["b_draft"]})
        graphql = await gql(me, """mutation($b: String!, $id: UUID!) {
            createOutline(input: {template: {key: "opportunity-outline"}, title: "t",
              values: {problem: "p", desired_outcome: "o", quadrant: "organisational_debt"},
              person: $b, assessmentId: $id}) { id } }""", {"b": B, "id": world["b_final"]})
        # What stays allowed: an outline about A, linked to A's own assessment.
        own = await me.post("/v1/outlines", json=opportunity() | {
            "person": A, "assessment_id": world["a_final"]})
    assert about_b.status_code == 403 and hung_on_b.status_code == 403, (about_b.text,
                                                                         hung_on_b.text)
    assert graphql["data"] == {"createOutline": None} and codes(graphql) == ["FORBIDDEN"]
    assert own.status_code == 201, own.text
    b_outlines = (await admin.get("/v1/outlines", params={"person": B})).json()["data"]
    assert [o["id"] for o in b_outlines] == [world["b_outline"]]
    for assessment in ("b_final", "b_draft"):
        linked = await admin.get("/v1/outlines", params={"assessment_id": world[assessment]})
        assert [o["person"] for o in linked.json()["data"]] in ([], [B]), linked.text


async def test_an_outline_given_to_a_keeps_its_links_when_a_edits_it(world, client_with,
                                                                     make_key, admin):
    """An admin may make an outline about B and give it to A (say, B's mentor); A edits its
    content without changing whom it is about."""
    given = await admin.post("/v1/outlines", json=opportunity() | {"person": B, "owner": A})
    assert given.status_code == 201, given.text
    outline = given.json()
    async with client_with(make_key("outlines:read", "outlines:write", person=A)) as me:
        content = {"title": "Edited by A", "values": outline["values"]}
        kept = await me.put(f"/v1/outlines/{outline['id']}", headers={"If-Match": "*"},
                            json=content | {"person": B})
        moved = await me.put(f"/v1/outlines/{outline['id']}", headers={"If-Match": "*"},
                             json=content | {"person": M})
    assert kept.status_code == 200 and kept.json()["person"] == B, kept.text
    assert moved.status_code == 403, moved.text


async def test_graphql_upsert_person_refuses_a_bound_credential(world, make_key, client_with,
                                                                 admin):
    before = (await admin.get(f"/v1/people/{B}")).json()
    async with client_with(make_key("people:read", "people:write", person=A)) as me:
        rest = await me.put(f"/v1/people/{B}", json={"display_name": "Renamed"})
        answer = await gql(me, """mutation($b: String!) {
            upsertPerson(externalId: $b, input: {displayName: "Renamed"}) { created } }""",
                           {"b": B})
    assert rest.status_code == 403
    assert answer["data"] == {"upsertPerson": None} and codes(answer) == ["FORBIDDEN"]
    assert (await admin.get(f"/v1/people/{B}")).json() == before

