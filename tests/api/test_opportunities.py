"""From readiness gaps to draft outlines, end to end from a finalized assessment."""

import pytest

from tests.factories.assessments import create_assessment, rate
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio

# E123 is a PM; as a senior PM they would need these. Three clear gaps, the rest at the bar.
SENIOR_BAR = {"scope-judgement": 3, "execution": 4, "business-understanding": 3, "strategy": 2,
              "trust-collaboration": 3, "developing-people": 2, "team-design": 1,
              "operating-model": 2, "communication-influence": 3, "value-outcomes": 3,
              "org-improvement": 2, "self-leadership": 3}
OBSERVED = SENIOR_BAR | {"value-outcomes": 1, "scope-judgement": 1, "developing-people": 1}


@pytest.fixture
async def finalized(admin, engine):
    await load_default_rubric(engine)
    from service.db import open_session
    from service.outlines.service import load_defaults

    with open_session(engine, write=True) as session:
        load_defaults(session)
        session.commit()
    assessment = await create_assessment(admin, "E123")
    items = [{"competency": k, "proficiency": v, "evidence": "observed in Q3"}
             for k, v in OBSERVED.items()]
    for role, rater in (("self", "E123"), ("manager", "E001")):
        assert (await rate(admin, assessment["id"], role, rater, items)).status_code == 200
    for step in ("submit", "finalize"):
        assert (await admin.post(f"/v1/assessments/{assessment['id']}/{step}")).status_code == 200
    return assessment


async def test_drafts_one_outline_per_top_gap_once(admin, finalized):
    url = f"/v1/assessments/{finalized['id']}/opportunities"
    first = await admin.post(url)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["created"] == 3
    by_competency = {o["competencies"][0]: o for o in body["data"]}
    # Largest gaps first; ties broken by weight (value-outcomes and scope-judgement weigh 1.5).
    assert list(by_competency) == ["scope-judgement", "value-outcomes", "developing-people"]
    for outline in body["data"]:
        assert outline["status"] == "draft" and outline["person"] == "E123"
        assert outline["assessment_id"] == finalized["id"]
    templates = {k: o["template"]["key"] for k, o in by_competency.items()}
    assert set(templates.values()) <= {"tour-of-duty", "opportunity-outline"}
    for key, outline in by_competency.items():
        if templates[key] == "opportunity-outline":
            assert outline["values"]["quadrant"] in {
                "improve_products", "improve_relationships", "organisational_debt",
                "organisational_innovation"}
            assert "gap" in outline["values"]["problem"]
        else:
            assert outline["values"]["skills_to_gain"] == [key]
            assert 12 <= outline["values"]["duration_months"] <= 18

    again = await admin.post(url)
    assert again.status_code == 200 and again.json()["created"] == 0
    assert [o["id"] for o in again.json()["data"]] == [o["id"] for o in body["data"]]
    listed = await admin.get("/v1/outlines", params={"person": "E123"})
    assert len(listed.json()["data"]) == 3

    more = await admin.post(url, params={"limit": 5})
    assert more.json()["created"] == 0  # no other competency has a gap


async def test_only_the_person_or_wider_scopes_may_draft(admin, finalized, make_key,
                                                         client_with):
    url = f"/v1/assessments/{finalized['id']}/opportunities"
    async with client_with(make_key("outlines:write", "readiness:read",
                                    person="E999")) as stranger:
        assert (await stranger.post(url)).status_code == 404
    async with client_with(make_key("outlines:write")) as no_readiness:
        assert (await no_readiness.post(url)).status_code == 403
    unknown = await admin.post("/v1/assessments/00000000-0000-0000-0000-000000000000/"
                               "opportunities")
    assert unknown.status_code == 404
