"""GraphQL needs a credential like REST, and each field the scope its REST twin needs; keys
bound to a person reach only what REST lets them reach, refused with the same codes."""

import httpx
import pytest

from service.app import create_app
from service.auth.scopes import SCOPES
from service.graphql.schema import build_schema
from service.settings import Settings
from tests.factories.assessments import create_assessment, rate
from tests.factories.graphql import codes, gql
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio

ZERO = "00000000-0000-0000-0000-000000000000"
# One document per root field, with the scope its REST twin needs.
ROOT_FIELDS = {
    "rubrics": ("{ rubrics { edges { cursor } } }", "rubrics:read"),
    "rubric": ('{ rubric(key: "x") { key } }', "rubrics:read"),
    "people": ("{ people { edges { cursor } } }", "people:read"),
    "person": ('{ person(externalId: "E1") { externalId } }', "people:read"),
    "assessment": (f'{{ assessment(id: "{ZERO}") {{ id }} }}', "assessments:read"),
    "templates": ("{ templates { edges { cursor } } }", "templates:read"),
    "template": ('{ template(key: "x") { key } }', "templates:read"),
    "outline": (f'{{ outline(id: "{ZERO}") {{ id }} }}', "outlines:read"),
    "cohortReadiness": ("{ cohortReadiness { people } }", "readiness:read"),
    "calibrations": ("{ calibrations { id } }", "calibration:read"),
    "calibration": (f'{{ calibration(id: "{ZERO}") {{ id }} }}', "calibration:read"),
    "upsertPerson": ('mutation { upsertPerson(externalId: "E1", input: {displayName: "A"}) '
                     "{ created } }", "people:write"),
    "createAssessment": ('mutation { createAssessment(input: {person: "E1", cycle: "c"}) '
                         "{ id } }", "assessments:write"),
    "setRatings": (f'mutation {{ setRatings(id: "{ZERO}", input: {{raterRole: self, '
                   f'ratings: []}}) {{ id }} }}', "assessments:write"),
    "submitAssessment": (f'mutation {{ submitAssessment(id: "{ZERO}") {{ id }} }}',
                         "assessments:write"),
    "finalizeAssessment": (f'mutation {{ finalizeAssessment(id: "{ZERO}") {{ id }} }}',
                           "assessments:write"),
    "createOutline": ('mutation { createOutline(input: {template: {key: "x"}, title: "t"}) '
                      "{ id } }", "outlines:write"),
    "simulateReadiness": (f'mutation {{ simulateReadiness(assessmentId: "{ZERO}", changes: '
                          '[{competency: "x", raterRole: self, proficiency: 1}]) '
                          "{ delta { score } } }", "readiness:read"),
}


def test_the_table_covers_every_root_field():
    schema = build_schema()._schema
    fields = set(schema.query_type.fields) | set(schema.mutation_type.fields)
    assert fields == set(ROOT_FIELDS)


async def test_every_operation_needs_a_credential(client, client_with):
    async with client_with("asc_not-a-real-key") as unknown:
        for name, (document, _) in ROOT_FIELDS.items():
            for anonymous in (client, unknown):
                response = await anonymous.post("/graphql", json={"query": document})
                assert response.status_code == 401, (name, response.text)
                assert response.headers["www-authenticate"].startswith("Bearer")
                assert codes(response.json()) == ["UNAUTHENTICATED"], name
                assert response.json()["data"] is None
    by_get = await client.get("/graphql", params={"query": "{ __typename }"})
    assert by_get.status_code == 401 and codes(by_get.json()) == ["UNAUTHENTICATED"]


async def test_an_anonymous_mutation_changes_nothing(client, admin):
    document, _ = ROOT_FIELDS["upsertPerson"]
    assert (await client.post("/graphql", json={"query": document})).status_code == 401
    assert (await admin.get("/v1/people/E1")).status_code == 404


async def test_every_field_refuses_a_credential_without_its_scope(make_key, client_with):
    for name, (document, scope) in ROOT_FIELDS.items():
        other = next(s for s in SCOPES if s != scope and s != "admin")
        async with client_with(make_key(other)) as client:
            answer = await gql(client, document)
        assert codes(answer) == ["FORBIDDEN"], (name, answer)
        error = answer["errors"][0]
        assert error["extensions"]["scope"] == scope and error["extensions"]["status"] == 403
        assert error["path"] == [name]


async def test_a_nested_field_needs_its_own_scope(admin, engine, make_key, client_with):
    await load_default_rubric(engine)
    await create_assessment(admin, "E123")
    async with client_with(make_key("people:read")) as client:
        answer = await gql(client, """{ person(externalId: "E123") {
            externalId assessments { id } readiness { score } } }""")
    assert answer["data"]["person"] == {"externalId": "E123", "assessments": None,
                                        "readiness": None}
    assert sorted((e["path"][-1], e["extensions"]["scope"]) for e in answer["errors"]) == [
        ("assessments", "assessments:read"), ("readiness", "readiness:read")]


@pytest.fixture
async def ide_client(db_url):
    """A client of an app serving the IDE (off by default outside the embedded set-up)."""
    app = create_app(Settings(database_url=db_url, graphql_ide=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://ascent.test") as client:
        yield client
    app.state.engine.dispose()


async def test_the_ide_page_is_public_and_loads_nothing_from_elsewhere(ide_client):
    client = ide_client
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "GraphiQL" in page.text
    assert "unpkg" not in page.text and "cdn" not in page.text.lower()
    assert "://" not in page.text.replace("http://www.w3.org", "")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in csp and "default-src 'none'" in csp
    for asset in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js",
                  "react-dom.production.min.js"):
        assert f'"/docs-assets/graphiql/{asset}"' in page.text
        served = await client.get(f"/docs-assets/graphiql/{asset}")
        assert served.status_code == 200 and len(served.content) > 1000, asset


@pytest.fixture
async def two_people(admin, engine):
    """E123 (whose key we use) and E999, each with a draft assessment."""
    await load_default_rubric(engine)
    mine = await create_assessment(admin, "E123")
    theirs = await create_assessment(admin, "E999")
    assert (await rate(admin, theirs["id"], "manager", "E001", [
        {"competency": "strategy", "proficiency": 3}])).status_code == 200
    return mine["id"], theirs["id"]


PERSON_BOUND = ("people:read", "assessments:read", "assessments:write", "readiness:read",
                "outlines:read")


async def test_a_person_bound_key_is_refused_another_person(two_people, make_key, client_with):
    mine, theirs = two_people
    async with client_with(make_key(*PERSON_BOUND, person="E123")) as me:
        answer = await gql(me, """query($theirs: UUID!) {
            assessment(id: $theirs) { id }
            person(externalId: "E999") { externalId assessments { id } readiness { score } } }""",
                           {"theirs": theirs})
        # As REST: their assessment and the person are 404.
        assert answer["data"] == {"assessment": None, "person": None}
        assert sorted(codes(answer)) == ["NOT_FOUND", "NOT_FOUND"]
        assert {tuple(e["path"]) for e in answer["errors"]} == {("assessment",), ("person",)}

        writes = await gql(me, """mutation($theirs: UUID!) {
            rate: setRatings(id: $theirs, ifMatch: "*", input: {raterRole: self, ratings: []}) {
              id }
            simulate: simulateReadiness(assessmentId: $theirs, changes: [
              {competency: "strategy", raterRole: self, proficiency: 5}]) { delta { score } }
            create: createAssessment(input: {person: "E999", cycle: "2027"}) { id }
            submit: submitAssessment(id: $theirs) { id } }""", {"theirs": theirs})
        assert codes(writes) == ["NOT_FOUND", "NOT_FOUND", "FORBIDDEN", "NOT_FOUND"]
        assert writes["data"] == {"rate": None, "simulate": None, "create": None,
                                  "submit": None}

        # Its own: readable, and only self ratings may be written.
        own = await gql(me, """mutation($mine: UUID!) {
            manager: setRatings(id: $mine, ifMatch: "*", input: {raterRole: manager,
              raterId: "E001", ratings: []}) { id }
            self: setRatings(id: $mine, ifMatch: "*", input: {raterRole: self, ratings: [
              {competency: "strategy", proficiency: 4}]}) { ratings { raterRole } } }""",
                        {"mine": mine})
        assert codes(own) == ["FORBIDDEN"]
        assert own["data"]["self"] == {"ratings": [{"raterRole": "self"}]}
