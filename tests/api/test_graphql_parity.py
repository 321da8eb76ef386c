"""GraphQL answers equal REST answers field for field: the same objects, one code path."""

import pytest

from tests.factories.assessments import create_assessment, rate
from tests.factories.graphql import gql, snake
from tests.factories.outlines import load_defaults, opportunity

pytestmark = pytest.mark.anyio

SENIOR_BAR = {"scope-judgement": 3, "execution": 4, "business-understanding": 3, "strategy": 2,
              "trust-collaboration": 3, "developing-people": 2, "team-design": 1,
              "operating-model": 2, "communication-influence": 3, "value-outcomes": 3,
              "org-improvement": 2, "self-leadership": 3}


def items(values: dict[str, int], evidence: str | None = "shipped it") -> list[dict]:
    return [{"competency": k, "proficiency": v, "evidence": evidence} for k, v in values.items()]


@pytest.fixture
async def world(admin, engine):
    """E123 with a finalized assessment (self, manager and a peer) and a draft one, and an
    outline drafted from the draft's gaps."""
    load_defaults(engine)
    done = await create_assessment(admin, "E123", cycle="2026-H1")
    for role, rater, values in (("self", "E123", SENIOR_BAR | {"strategy": 5}),
                                ("manager", "E001", SENIOR_BAR),
                                ("peer", "E777", SENIOR_BAR | {"execution": 2})):
        assert (await rate(admin, done["id"], role, rater, items(values))).status_code == 200
    for step in ("submit", "finalize"):
        assert (await admin.post(f"/v1/assessments/{done['id']}/{step}")).status_code == 200
    draft = await create_assessment(admin, "E123", sync=False)
    partial = {"execution": 3, "strategy": 2, "team-design": 1}
    assert (await rate(admin, draft["id"], "manager", "E001", items(partial, None))
            ).status_code == 200
    drafted = await admin.post(f"/v1/assessments/{draft['id']}/opportunities")
    assert drafted.status_code == 201, drafted.text
    return {"done": done["id"], "draft": draft["id"],
            "outline": drafted.json()["data"][0]["id"]}


async def test_person_and_assessments_equal_rest(admin, world):
    answer = await gql(admin, """query {
      person(externalId: "E123") { ...PersonFields etag
        assessments { ...AssessmentFields etag } } }""")
    person = answer["data"]["person"]
    rest = await admin.get("/v1/people/E123")
    assert person.pop("etag") == rest.headers["etag"]
    assessments = person.pop("assessments")
    assert snake(person) == rest.json()

    listed = (await admin.get("/v1/assessments", params={"person": "E123"})).json()["data"]
    assert [a["id"] for a in assessments] == [a["id"] for a in listed] == [
        world["done"], world["draft"]]
    for mine in assessments:
        one = await admin.get(f"/v1/assessments/{mine['id']}")
        assert mine.pop("etag") == one.headers["etag"]
        assert snake(mine) == one.json()
        assert len(mine["ratings"]) in (3 * 12, 3)


async def test_readiness_reports_equal_rest(admin, world):
    answer = await gql(admin, """query($done: UUID!, $draft: UUID!) {
      done: assessment(id: $done) { readiness { ...ReportFields } }
      draft: assessment(id: $draft) {
        readiness { ...ReportFields }
        further: readiness(targetLevel: "director") { ...ReportFields } }
      person(externalId: "E123") { readiness { ...ReportFields } } }""",
                       {"done": world["done"], "draft": world["draft"]})
    assert "errors" not in answer, answer
    data = answer["data"]
    base = "/v1/assessments/{}/readiness"
    finalized = (await admin.get(base.format(world["done"]))).json()
    live = (await admin.get(base.format(world["draft"]))).json()
    further = (await admin.get(base.format(world["draft"]),
                               params={"target_level": "director"})).json()
    latest = (await admin.get("/v1/people/E123/readiness")).json()

    assert snake(data["done"]["readiness"]) == finalized
    assert snake(data["draft"]["readiness"]) == live
    assert snake(data["draft"]["further"]) == further
    assert snake(data["person"]["readiness"]) == latest == finalized
    # The comparison is not vacuous: these reports are full and differ from each other.
    # (the draft rates 3 of 12: no path, and the report says why and lists the unrated)
    assert live["top_gaps"] and live["unrated"] and live["path_to_ready_reason"]
    assert live != finalized and finalized["band"] == "ready_now"
    assert further["target_level"] == "director" and further["score"] != live["score"]
    assert any(c["flags"] for c in finalized["competencies"])


async def test_outline_rubric_and_template_equal_rest(admin, world):
    answer = await gql(admin, """query($id: UUID!, $draft: UUID!) {
      outline(id: $id) { ...OutlineFields etag }
      assessment(id: $draft) { opportunities { id } }
      rubric(key: "product-leadership") { key version status name description policy
        scale { min max labels { value label } } levels { key name order summary }
        competencies { key name description weight quadrant leadershipDimensions
          expectations { level proficiency descriptor gate gateReason }
          recommendations { kind title detail levels kindOfWork } }
        createdAt updatedAt publishedAt retiredAt }
      template(key: "opportunity-outline") { key version status name description
        fields { key label type required help options multiple min max maxLength maxItems
                 rubric group }
        createdAt updatedAt publishedAt retiredAt } }""",
                       {"id": world["outline"], "draft": world["draft"]})
    assert "errors" not in answer, answer
    data = answer["data"]
    outline = data["outline"]
    rest = await admin.get(f"/v1/outlines/{world['outline']}")
    assert outline.pop("etag") == rest.headers["etag"]
    assert snake(outline) == rest.json()
    assert world["outline"] in [o["id"] for o in data["assessment"]["opportunities"]]

    rubric = snake(data["rubric"])
    rubric["scale"]["labels"] = {x["value"]: x["label"] for x in rubric["scale"]["labels"]}
    assert rubric == (await admin.get("/v1/rubrics/product-leadership")).json()
    assert snake(data["template"]) == (await admin.get("/v1/templates/opportunity-outline")
                                       ).json()


async def test_cohort_and_simulation_equal_rest(admin, world):
    answer = await gql(admin, """mutation($id: UUID!) {
      simulateReadiness(assessmentId: $id, changes: [
          {competency: "execution", raterRole: manager, raterId: "E001", proficiency: 4}]) {
        report { ...ReportFields } baseline { ...ReportFields }
        delta { score bandFrom bandTo bandChange } } }""", {"id": world["draft"]})
    assert "errors" not in answer, answer
    rest = await admin.post(f"/v1/assessments/{world['draft']}/readiness:simulate", json={
        "changes": [{"competency": "execution", "rater_role": "manager", "rater_id": "E001",
                     "proficiency": 4}]})
    assert snake(answer["data"]["simulateReadiness"]) == rest.json()
    assert rest.json()["delta"]["score"] > 0

    answer = await gql(admin, """{ cohortReadiness(filter: {orgUnit: "payments"}) {
        filters { orgUnit manager rubric cycle currentLevel targetLevel } people
        bands { band people } score { min p10 p25 median p75 p90 max mean }
        heatMap { competency meanGap byBand { band meanGap } } rubrics { key version }
        raterAdjustment } }""")
    cohort = snake(answer["data"]["cohortReadiness"])
    cohort["bands"] = {b["band"]: b["people"] for b in cohort["bands"]}
    for row in cohort["heat_map"]:
        row["by_band"] = {b["band"]: b["mean_gap"] for b in row["by_band"]}
    rest = (await admin.get("/v1/cohorts/readiness", params={"org_unit": "payments"})).json()
    assert cohort == rest and rest["people"] == 1


async def test_a_person_bound_view_equals_the_rest_view(admin, world, make_key, client_with):
    """Peer ratings without rater ids, as REST shows them to the person assessed."""
    secret = make_key("assessments:read", "readiness:read", person="E123")
    async with client_with(secret) as me:
        answer = await gql(me, """query($id: UUID!) {
          assessment(id: $id) { ...AssessmentFields readiness { score inputsDigest } } }""",
                           {"id": world["done"]})
        rest = (await me.get(f"/v1/assessments/{world['done']}")).json()
        report = (await me.get(f"/v1/assessments/{world['done']}/readiness")).json()
    mine = answer["data"]["assessment"]
    readiness = mine.pop("readiness")
    assert snake(mine) == rest
    assert {r["rater_id"] for r in rest["ratings"] if r["rater_role"] == "peer"} == {None}
    assert readiness == {"score": report["score"], "inputsDigest": report["inputs_digest"]}


async def test_outline_mutation_equals_rest_create(admin, world):
    body = opportunity(quadrant="improve_products")
    answer = await gql(admin, """mutation($input: OutlineInput!) {
      createOutline(input: $input) { ...OutlineFields } }""", {"input": {
        "template": body["template"], "title": body["title"], "values": body["values"],
        "person": "E123", "competencies": ["strategy"]}})
    created = answer["data"]["createOutline"]
    rest = (await admin.get(f"/v1/outlines/{created['id']}")).json()
    assert snake(created) == rest
    assert rest["owner"] == "E123" and rest["values"]["quadrant"] == "improve_products"
