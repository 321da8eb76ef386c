"""A page of people with their assessments, ratings, readiness and outlines costs a constant
number of SQL statements: DataLoaders batch every relation, whatever the page size."""

import pytest
from sqlalchemy import event

from service.assessments import service as assessments
from service.assessments.schemas import AssessmentCreate, RatingIn, RatingsUpdate
from service.auth import service as auth_service
from service.auth.principal import Principal
from service.db import open_session
from service.outlines import service as outlines
from service.people import service as people
from service.readiness import policies as readiness_policies
from service.readiness import specs as readiness_specs
from service.rubrics import published as published_rubrics
from service.rubrics import service as rubrics
from tests.factories.graphql import gql
from tests.factories.outlines import load_defaults
from tests.factories.people import person_doc

pytestmark = pytest.mark.anyio

ADMIN = Principal(id="test:setup", name="setup", scopes=frozenset({"admin"}))
BAR = {"scope-judgement": 3, "execution": 4, "business-understanding": 3, "strategy": 2,
       "trust-collaboration": 3, "developing-people": 2}

PORTAL = """query($first: Int!) {
  people(first: $first, filter: {manager: "M1"}) {
    edges { cursor node {
      externalId displayName level
      manager { externalId displayName reports { externalId } }
      readiness { score band }
      outlines { id title }
      ladder { key levels { key } }
      assessments {
        id cycle status
        ratings { competency raterRole raterId proficiency }
        readiness { score band coverage topGaps { competency gap recommendations { title } }
                    pathToReady { competency from to } pathToReadyReason
                    unrated { competency } }
        opportunities { id status }
      }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def populate(engine, n: int) -> None:
    """``n`` reports of M1, each with a finalized assessment (self + manager ratings; its
    report is stored), a draft (scored live) and an outline linked to the draft."""
    with open_session(engine, write=True) as session:
        people.upsert_person(session, "M1", person_doc("M1", level="lead-pm",
                                                        manager_external_id=None))
        for i in range(n):
            who = f"P{i:03d}"
            people.upsert_person(session, who, person_doc(who, manager_external_id="M1"))
            done = assessments.create_assessment(
                session, AssessmentCreate(person=who, cycle="2026-H1"), ADMIN)
            for role, rater in (("self", who), ("manager", "M1")):
                assessments.set_ratings(session, done, RatingsUpdate(
                    rater_role=role, rater_id=rater, ratings=[
                        RatingIn(competency=k, proficiency=v - (i + len(role)) % 2,
                                 evidence="seen") for k, v in BAR.items()]), ADMIN)
            assessments.submit(session, done, ADMIN)
            assessments.finalize(session, done, ADMIN)
            draft = assessments.create_assessment(
                session, AssessmentCreate(person=who, cycle="2026-H2"), ADMIN)
            assessments.set_ratings(session, draft, RatingsUpdate(
                rater_role="self", ratings=[RatingIn(competency="strategy", proficiency=3)]),
                ADMIN)
            outlines.draft_outline(
                session, template_key="opportunity-outline", title=f"Grow {who}",
                values={"problem": "Decisions wait.", "desired_outcome": "They do not.",
                        "quadrant": "organisational_debt"},
                person=who, assessment_id=draft.id, competencies=["strategy"], owner=who)
        session.commit()


async def statements(app, client, first: int) -> tuple[int, dict]:
    """(SQL statements the request ran, the answer), every process cache emptied first so
    that each request does the same cold work."""
    auth_service._cache.clear()
    readiness_policies.clear_cache()
    readiness_specs.clear_cache()
    rubrics.clear_caches()
    published_rubrics.clear_cache()
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", count)
    try:
        answer = await gql(client, PORTAL, {"first": first})
    finally:
        event.remove(app.state.engine, "before_cursor_execute", count)
    assert "errors" not in answer, answer["errors"]
    return len(seen), answer


async def test_the_statement_count_does_not_grow_with_the_page(app, admin, engine):
    load_defaults(engine)
    populate(engine, 50)

    five, small = await statements(app, admin, 5)
    fifty, large = await statements(app, admin, 50)

    assert five == fifty, (five, fifty)
    # And it is small: a query or two per relation, plus loading the rubric cold (its document
    # for `ladder`, its scoring form for live readiness), 33 statements in all today.
    assert fifty <= 40, fifty
    people_page = [e["node"] for e in large["data"]["people"]["edges"]]
    assert len(people_page) == 50 and len(small["data"]["people"]["edges"]) == 5
    assert small["data"]["people"]["pageInfo"]["hasNextPage"] is True
    assert large["data"]["people"]["pageInfo"]["hasNextPage"] is False
    # Everything was really loaded, for everyone.
    for node in people_page:
        assert node["manager"]["externalId"] == "M1"
        assert len(node["manager"]["reports"]) == 50
        done, draft = node["assessments"]
        assert (done["status"], draft["status"]) == ("finalized", "draft")
        assert len(done["ratings"]) == 2 * len(BAR) and len(draft["ratings"]) == 1
        assert node["readiness"] == {"score": done["readiness"]["score"],
                                     "band": done["readiness"]["band"]}
        # the draft has one self rating: under policy v2 its other competencies are unrated,
        # the band is capped (no non-self rating) and no path exists (the reason says why)
        assert len(draft["readiness"]["unrated"]) == 11
        assert draft["readiness"]["band"] in ("developing", "not_yet")
        assert draft["readiness"]["pathToReady"] == [] and draft["readiness"]["pathToReadyReason"]
        assert [o["id"] for o in draft["opportunities"]] == [o["id"] for o in node["outlines"]]
        assert node["ladder"]["key"] == "product-leadership"
    assert len({n["readiness"]["score"] for n in people_page}) > 1  # not one report copied


async def test_the_same_page_by_rest_costs_a_request_per_person(admin, engine):
    """What a portal saves: REST needs 2 + 3 requests per person for the same data."""
    load_defaults(engine)
    populate(engine, 3)
    page = (await admin.get("/v1/people", params={"manager": "M1"})).json()["data"]
    requests = 1
    for person in page:
        found = (await admin.get("/v1/assessments", params={"person": person["external_id"]})
                 ).json()["data"]
        requests += 1
        for assessment in found:
            assert (await admin.get(f"/v1/assessments/{assessment['id']}/readiness")
                    ).status_code == 200
            requests += 1
    assert requests == 1 + 3 * 3
