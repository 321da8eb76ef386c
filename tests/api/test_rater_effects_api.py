"""Rater effects over HTTP: a planted lenient rater is found on a small cohort; self ratings
stay out of the fit; the fit is stored; person-bound credentials get nothing."""

import pytest
from sqlmodel import select

from service.calibration.models import RaterEffectsFit
from tests.factories.assessments import create_assessment, rate
from tests.factories.people import sync_person
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio

KEYS = ["scope-judgement", "execution", "business-understanding", "strategy",
        "trust-collaboration", "developing-people", "team-design", "operating-model",
        "communication-influence", "value-outcomes", "org-improvement", "self-leadership"]
PEERS = ["R1", "R2", "R3", "R4"]
LENIENT = "R1"  # rates two steps above what the person shows


def truth(p: int, c: int) -> int:
    return 1 + (p + c) % 3  # 1..3 on the 1-5 scale: room for a lenient rater above


def given(rater: str, p: int, c: int) -> int:
    if rater == LENIENT:
        return truth(p, c) + 2
    wobble = (p * 7 + c * 3 + int(rater[1:])) % 3 - 1  # -1, 0, +1: fair raters disagree a bit
    return min(5, max(1, truth(p, c) + wobble))


async def build_cohort(admin, people: int = 6, *, finalize: bool = True) -> list[str]:
    """Each person rated by three of four peers (overlapping, so all four are linked), the
    lenient one included for every other person, plus their own self rating."""
    ids = []
    for p in range(people):
        person = f"P{p}"
        await sync_person(admin, person, org_unit="payments", manager_external_id="M1")
        assessment = (await create_assessment(admin, person, sync=False))["id"]
        raters = [PEERS[(p + k) % 4] for k in range(3)]
        for rater in raters:
            items = [{"competency": k, "proficiency": given(rater, p, c), "evidence": "seen"}
                     for c, k in enumerate(KEYS)]
            assert (await rate(admin, assessment, "peer", rater, items)).status_code == 200
        self_items = [{"competency": k, "proficiency": 5, "evidence": "me"} for k in KEYS]
        assert (await rate(admin, assessment, "self", None, self_items)).status_code == 200
        steps = ("submit", "finalize") if finalize else ("submit",)
        for step in steps:
            response = await admin.post(f"/v1/assessments/{assessment}/{step}")
            assert response.status_code == 200, response.text
        ids.append(assessment)
    return ids


async def test_planted_lenient_rater_is_flagged(admin, engine, session):
    await load_default_rubric(engine)
    await build_cohort(admin)
    response = await admin.get("/v1/cohorts/rater-effects", params={"cycle": "2026-H2"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"cohort", "ratings", "raters", "variance", "groups", "fit"}
    assert body["cohort"]["cycle"] == "2026-H2"
    assert body["ratings"] == 6 * 3 * 12  # self ratings are not in the fit
    assert body["self_ratings"]["ratings"] == 6 * 12 and body["self_ratings"]["people"] == 6
    assert body["self_ratings"]["mean_gap"] > 0
    raters = {r["rater_id"]: r for r in body["raters"]}
    assert set(raters) == set(PEERS)
    lenient = raters[LENIENT]
    assert lenient["flag"] == "lenient" and lenient["role"] == "peer"
    assert lenient["severity"] > 1.0
    assert lenient["ci95"][0] > 0 and lenient["ci95"][0] < lenient["severity"] < lenient["ci95"][1]
    assert all(raters[r]["flag"] != "lenient" and raters[r]["severity"] < 0 for r in PEERS[1:])
    assert body["groups"] == 1 and {r["group"] for r in raters.values()} == {lenient["group"]}
    shares = body["variance"]
    assert abs(shares["person"] + shares["rater"] + shares["residual"] - 1) < 0.01
    assert shares["rater"] > 0
    # The fit is stored under its id, with the severities it reported.
    stored = session.exec(select(RaterEffectsFit)).all()
    assert [str(f.id) for f in stored] == [body["fit"]["id"]]
    assert stored[0].severities[LENIENT]["severity"] == lenient["severity"]
    assert stored[0].filters["cycle"] == "2026-H2"


async def test_filters_and_submitted_count(admin, engine):
    await load_default_rubric(engine)
    await build_cohort(admin, finalize=False)  # submitted only: still calibrated
    body = (await admin.get("/v1/cohorts/rater-effects",
                            params={"cycle": "2026-H2", "manager": "M1"})).json()
    assert body["ratings"] == 6 * 3 * 12
    other = (await admin.get("/v1/cohorts/rater-effects",
                             params={"cycle": "2026-H2", "org_unit": "search"})).json()
    assert other["ratings"] == 0 and other["raters"] == [] and other["groups"] == 0
    missing = await admin.get("/v1/cohorts/rater-effects")
    assert missing.status_code == 422


async def test_few_ratings_get_no_severity(admin, engine):
    await load_default_rubric(engine)
    await build_cohort(admin)
    await sync_person(admin, "Q1", org_unit="payments", manager_external_id="M1")
    assessment = (await create_assessment(admin, "Q1", sync=False))["id"]
    for rater, keys in (("R2", KEYS), ("R9", KEYS[:3])):
        items = [{"competency": k, "proficiency": 3, "evidence": "seen"} for k in keys]
        assert (await rate(admin, assessment, "peer", rater, items)).status_code == 200
    assert (await admin.post(f"/v1/assessments/{assessment}/submit")).status_code == 200
    body = (await admin.get("/v1/cohorts/rater-effects", params={"cycle": "2026-H2"})).json()
    thin = next(r for r in body["raters"] if r["rater_id"] == "R9")
    assert thin["ratings"] == 3 and thin["severity"] is None and thin["reason"]


async def test_person_bound_credentials_get_nothing(admin, engine, client_with, make_key):
    await load_default_rubric(engine)
    await build_cohort(admin)
    async with client_with(make_key("calibration:read", person="P1")) as bound:
        response = await bound.get("/v1/cohorts/rater-effects", params={"cycle": "2026-H2"})
        assert response.status_code == 403
        assert "raters" not in response.text
    async with client_with(make_key("readiness:read")) as unscoped:
        response = await unscoped.get("/v1/cohorts/rater-effects", params={"cycle": "2026-H2"})
        assert response.status_code == 403
    async with client_with(make_key("calibration:read")) as reader:
        response = await reader.get("/v1/cohorts/rater-effects", params={"cycle": "2026-H2"})
        assert response.status_code == 200 and response.json()["raters"]
