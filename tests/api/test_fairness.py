"""Fairness over HTTP: attributes (validation that never repeats a value, erasure, person
binding), the adverse-impact analysis on a planted cohort against figures computed here,
the audit log (a row for every read; CSV) and the fairness.alert webhook event."""

import csv as csvlib
import io
import json

import pytest
from sqlmodel import select

from service.fairness.models import FairnessAudit
from service.settings import Settings
from service.webhooks.models import WebhookDelivery, WebhookEvent
from tests.factories.fairness import ATTRIBUTES, GENDERS, LENIENT, REGIONS, planted_cohort
from tests.unit.test_fairness_analysis import hand_fisher

pytestmark = pytest.mark.anyio

ALPHA, BETA, GAMMA = ({"gender": g} for g in GENDERS)
# alpha: 5 of 10 ready; beta: 3 of 10 (60% of alpha's rate); gamma: 4 people (suppressed);
# three people who declared nothing, all ready.
PLANTED = [(ALPHA, 10, 5), (BETA, 10, 3), (GAMMA, 4, 2), ({}, 3, 3)]


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url, fairness_attributes=ATTRIBUTES)


async def analyse(client, **params):
    return await client.get("/v1/cohorts/adverse-impact",
                            params={"attribute": "gender", "cycle": "2026-H2", **params})


async def test_planted_cohort(app, admin):
    await planted_cohort(app, admin, PLANTED)
    response = await analyse(admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["people"] == 27 and body["outcome"] == ["ready_now", "ready_soon"]
    assert set(body["selection"]) == {"raw"}  # no calibration locked: raw bands only
    raw = body["selection"]["raw"]
    groups = {g["group"]: g for g in raw["groups"]}
    alpha, beta, gamma = (groups[g] for g in GENDERS)
    assert raw["highest"] == GENDERS[0]
    assert (alpha["n"], alpha["selected"], alpha["rate"]) == (10, 5, 0.5)
    assert (beta["n"], beta["selected"], beta["rate"]) == (10, 3, 0.3)
    assert beta["impact_ratio"] == pytest.approx(0.6) and beta["four_fifths"] is True
    assert alpha["four_fifths"] is False
    # beta against every other declared person (alpha's 10 and gamma's 4: 7 of 14 ready)
    assert beta["fisher_p"] == pytest.approx(hand_fisher(3, 7, 7, 7), rel=1e-3)
    assert gamma == {"group": GENDERS[2], "suppressed": True, "n": None, "selected": None,
                     "rate": None, "impact_ratio": None, "four_fifths": None,
                     "fisher_p": None}
    assert raw["undeclared"] == {"n": 3, "selected": 3, "rate": 1.0}
    # Gaps: the not-ready are 2 steps (delivery) and 1 step (craft) short.
    gaps = {c["competency"]: {g["group"]: g for g in c["groups"]}
            for c in body["competencies"]}
    assert set(gaps) == {"delivery", "craft"}
    assert gaps["delivery"][GENDERS[1]]["mean_gap"] == pytest.approx(0.7 * 2)
    assert gaps["delivery"][GENDERS[1]]["difference"] == pytest.approx(1.4 - (5 + 2) * 2 / 14,
                                                                        abs=1e-3)
    assert set(gaps["delivery"]) == set(GENDERS[:2])  # suppressed groups are not shown
    assert all(not r["flag"] for r in body["raters"])  # every rater agrees with the others
    assert any("not a finding" in n for n in body["notes"])


async def test_two_attributes_give_intersectional_groups(app, admin):
    groups = [({"gender": g, "region": r}, 6, k) for g in GENDERS[:2]
              for k, r in enumerate(REGIONS, start=2)] + [({"gender": GENDERS[0]}, 5, 5)]
    await planted_cohort(app, admin, groups)
    body = (await analyse(admin, attribute="gender,region")).json()
    raw = body["selection"]["raw"]
    assert {g["group"] for g in raw["groups"]} == {f"{g}/{r}" for g in GENDERS[:2]
                                                  for r in REGIONS}
    assert all(g["n"] == 6 for g in raw["groups"])
    assert raw["undeclared"]["n"] == 5  # gender alone is not both
    assert body["attributes"] == ["gender", "region"]


async def test_bad_queries_are_422(app, admin):
    await planted_cohort(app, admin, [(ALPHA, 5, 2)])
    for params in ({"attribute": "shoe_size"}, {"attribute": "gender,region,gender2"},
                   {"attribute": "gender,gender"}, {"outcome": "ready_later"},
                   {"attribute": ","}, {"min_group": "1"}):
        response = await analyse(admin, **params)
        assert response.status_code == 422, (params, response.text)


async def test_attributes_are_validated_without_repeating_the_value(app, admin, session):
    await planted_cohort(app, admin, [({}, 1, 1)])
    typo = "qx-typo-secret-7"
    for body in ({"gender": typo}, {"gender": GENDERS[0], "region": typo},
                 {typo: GENDERS[0]}, {"gender": 7}, {"gender": GENDERS[0], typo: typo}):
        response = await admin.put("/v1/people/P000/attributes", json=body)
        assert response.status_code == 422, response.text
        assert typo not in response.text and "7" not in response.json()["detail"]
    assert (await admin.get("/v1/people/P000/attributes")).json()["attributes"] == {}
    missing = await admin.put("/v1/people/NOBODY/attributes", json=ALPHA)
    assert missing.status_code == 404


async def test_store_read_replace_erase(app, admin, session):
    await planted_cohort(app, admin, [({}, 1, 1)])
    url = "/v1/people/P000/attributes"
    stored = await admin.put(url, json={"gender": GENDERS[1], "region": REGIONS[0]})
    assert stored.status_code == 200, stored.text
    assert stored.json()["attributes"] == {"gender": GENDERS[1], "region": REGIONS[0]}
    assert stored.json()["sources"] == {"gender": "provided", "region": "provided"}
    replaced = await admin.put(url, json={"region": REGIONS[1]})
    assert replaced.json()["attributes"] == {"region": REGIONS[1]}  # a PUT replaces all
    assert (await admin.delete(url)).status_code == 204
    after = (await admin.get(url)).json()
    assert after["attributes"] == {} and after["updated_at"] is None
    # Nothing of it in the person's own record.
    assert GENDERS[1] not in (await admin.get("/v1/people/P000")).text


async def test_every_read_is_audited(app, admin, session, make_key, client_with):
    await planted_cohort(app, admin, PLANTED)
    reader_key = make_key("fairness:read", name="hr-analyst")
    async with client_with(reader_key) as reader:
        before = len(session.exec(select(FairnessAudit)).all())
        assert (await reader.get("/v1/people/P001/attributes")).status_code == 200
        assert (await analyse(reader, outcome="ready_now", min_group="6")).status_code == 200
        log = await reader.get("/v1/fairness/audit", params={"limit": 3})
        assert log.status_code == 200
    session.rollback()  # end the read snapshot: see what the requests committed
    rows = session.exec(select(FairnessAudit).order_by(FairnessAudit.id)).all()[before:]
    assert [r.action for r in rows] == ["attributes.read", "adverse_impact.read", "audit.read"]
    assert len({r.principal for r in rows}) == 1 and rows[0].principal.startswith("key:")
    assert rows[0].person == "P001"
    assert rows[1].query == {"cycle": "2026-H2", "attribute": ["gender"],
                             "outcome": ["ready_now"], "min_group": 6}
    entries = log.json()["data"]
    assert [e["action"] for e in entries] == ["adverse_impact.read", "attributes.read",
                                              "attributes.write"]  # newest first
    assert log.json()["next_cursor"]
    csv = await admin.get("/v1/fairness/audit", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == "id,at,principal,action,person,query"
    assert len(lines) == 1 + before + len(rows) + 1  # the export records itself, last
    assert lines[-1].split(",")[3] == "audit.export"
    assert not any(c in csv.text for c in GENDERS + REGIONS)


async def test_person_bound_keys(app, admin, make_key, client_with, session):
    await planted_cohort(app, admin, [(ALPHA, 3, 1), ({}, 3, 1)])
    key = make_key("fairness:read", "fairness:write", person="P004")
    async with client_with(key) as me:
        own = await me.put("/v1/people/P004/attributes", json=BETA)
        assert own.status_code == 200 and own.json()["sources"] == {"gender": "self"}
        assert (await me.get("/v1/people/P004/attributes")).json()["attributes"] == BETA
        other = await me.get("/v1/people/P000/attributes")
        nobody = await me.get("/v1/people/NOBODY/attributes")
        assert other.status_code == nobody.status_code == 404
        assert other.json()["detail"].replace("P000", "X") == \
            nobody.json()["detail"].replace("NOBODY", "X")
        assert GENDERS[0] not in other.text
        assert (await me.put("/v1/people/P000/attributes", json=BETA)).status_code == 404
        assert (await me.delete("/v1/people/P000/attributes")).status_code == 404
        assert (await analyse(me)).status_code == 403
        assert (await me.get("/v1/fairness/audit")).status_code == 403
        assert (await me.delete("/v1/people/P004/attributes")).status_code == 204
    assert (await admin.get("/v1/people/P000/attributes")).json()["attributes"] == ALPHA
    async with client_with(make_key("readiness:read")) as unscoped:
        assert (await analyse(unscoped)).status_code == 403
        assert (await unscoped.get("/v1/people/P000/attributes")).status_code == 403


async def _subscribe(admin, *types: str) -> str:
    response = await admin.post("/v1/webhooks", json={"url": "https://hooks.example.com/f",
                                                      "event_types": list(types)})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _alerts(session) -> list[WebhookEvent]:
    session.rollback()  # end the read snapshot: see what the requests committed
    return [e for e in session.exec(select(WebhookEvent).order_by(WebhookEvent.id))
            if e.type == "fairness.alert"]


async def test_alert_when_a_cycle_is_finalized(app, admin, session):
    listening = await _subscribe(admin, "fairness.alert")
    deaf = await _subscribe(admin, "assessment.finalized")
    await planted_cohort(app, admin, PLANTED, status="submitted")
    assessments = (await admin.get("/v1/assessments", params={"limit": 100})).json()["data"]
    for i, a in enumerate(sorted(assessments, key=lambda a: a["person"])):
        assert (await admin.post(f"/v1/assessments/{a['id']}/finalize")).status_code == 200
        assert len(_alerts(session)) == (1 if i == len(assessments) - 1 else 0), i
    [alert] = _alerts(session)
    deliveries = session.exec(select(WebhookDelivery)
                              .where(WebhookDelivery.event_id == alert.id)).all()
    assert [str(d.subscription_id) for d in deliveries] == [listening]  # opt-in only
    assert str(deaf) not in {str(d.subscription_id) for d in deliveries}
    data = json.loads(alert.body)["data"]
    assert data["trigger"] == "cycle.finalized" and data["attribute"] == "gender"
    assert data["groups_below_four_fifths"] == 1
    assert data["lowest_impact_ratio"] == pytest.approx(0.6) and data["basis"] == "raw"
    assert not any(c in alert.body for c in GENDERS + REGIONS)
    assert any(r.action == "alert.sent" for r in session.exec(select(FairnessAudit)))


async def test_calibration_narrowing_and_widening_side_by_side(app, admin, session):
    await _subscribe(admin, "fairness.alert")
    people = await planted_cohort(app, admin, [(ALPHA, 10, 5), (BETA, 10, 5)])
    assert _alerts(session) == []  # balanced: nothing crosses
    opened = await admin.post("/v1/calibrations", json={"cycle": "2026-H2"})
    assert opened.status_code == 201, opened.text
    url, tag = f"/v1/calibrations/{opened.json()['id']}", opened.headers["etag"]
    betas_ready = [p for p, a in people.items() if a == BETA][:2]
    for person in betas_ready:
        decided = await admin.post(f"{url}/decisions", headers={"If-Match": tag}, json={
            "person": person, "band": "not_yet", "reason": "planted for the test"})
        assert decided.status_code == 200, decided.text
        tag = decided.headers["etag"]
    assert (await admin.post(f"{url}/lock", headers={"If-Match": tag})).status_code == 200
    body = (await analyse(admin)).json()
    raw = {g["group"]: g for g in body["selection"]["raw"]["groups"]}
    calibrated = {g["group"]: g for g in body["selection"]["calibrated"]["groups"]}
    assert raw[GENDERS[1]]["impact_ratio"] == 1.0
    assert calibrated[GENDERS[1]]["impact_ratio"] == pytest.approx(0.6)
    assert calibrated[GENDERS[1]]["four_fifths"] is True
    [alert] = _alerts(session)
    data = json.loads(alert.body)["data"]
    assert data["trigger"] == "calibration.locked" and data["basis"] == "calibrated"
    assert data["calibration_id"] == opened.json()["id"]


async def test_a_bulk_import_that_finishes_a_cycle_alerts_once(app, admin, session):
    """People declared first, then one import finalizes the whole cycle: every one of its
    finalizations is announced, the check runs once and one alert goes out."""
    await _subscribe(admin, "fairness.alert")
    groups = [(ALPHA, 10, 5), (BETA, 10, 3)]
    await planted_cohort(app, admin, groups, status="draft")  # people, attributes, drafts
    await planted_cohort(app, admin, groups, status="finalized", rubric=False)
    [alert] = _alerts(session)
    data = json.loads(alert.body)["data"]
    assert data["trigger"] == "cycle.finalized" and data["groups_below_four_fifths"] == 1


async def test_empty_and_undeclared_cohorts_answer(app, admin):
    empty = await analyse(admin, cycle="1999-H1")
    assert empty.status_code == 200, empty.text
    assert empty.json()["people"] == 0 and empty.json()["selection"]["raw"]["groups"] == []
    await planted_cohort(app, admin, [({}, 6, 3)])
    nobody = (await analyse(admin, attribute="gender,region")).json()
    assert nobody["selection"]["raw"]["groups"] == [] and nobody["raters"] == []
    assert nobody["selection"]["raw"]["undeclared"] == {"n": 6, "selected": 3, "rate": 0.5}



def expected_table(csv_text: str, people: dict[str, dict[str, str]]) -> dict[str, dict]:
    """The selection table computed here from a cohort CSV's bands (two groups, none
    suppressed): n, selected, rate, impact ratio and Fisher p of each group."""
    counts = {g: [0, 0] for g in {a["gender"] for a in people.values()}}
    for row in csvlib.DictReader(io.StringIO(csv_text)):
        tally = counts[people[row["external_id"]]["gender"]]
        tally[0] += 1
        tally[1] += row["band"] in ("ready_now", "ready_soon")
    top = max(s / n for n, s in counts.values())
    out = {}
    for group, (n, s) in counts.items():
        [(other_n, other_s)] = [c for g, c in counts.items() if g != group]
        out[group] = {"n": n, "selected": s, "rate": pytest.approx(s / n, abs=1e-4),
                      "impact_ratio": pytest.approx(s / n / top, abs=1e-4),
                      "four_fifths": s / n / top < 0.8,
                      "fisher_p": pytest.approx(hand_fisher(s, n - s, other_s, other_n - other_s),
                                                rel=1e-3)}
    return out


def table(body: dict, basis: str) -> dict[str, dict]:
    return {g["group"]: {k: g[k] for k in ("n", "selected", "rate", "impact_ratio",
                                            "four_fifths", "fisher_p")}
            for g in body["selection"][basis]["groups"]}


async def cohort_csv(admin, **params) -> str:
    response = await admin.get("/v1/cohorts/readiness",
                               params={"cycle": "2026-H2", "format": "csv", **params})
    assert response.status_code == 200, response.text
    return response.text


async def test_rater_adjusted_bands_side_by_side(app, admin):
    """A lenient peer rates only alpha's members: raw, every not-ready alpha reaches
    ready_soon and beta looks left behind (ratio 0.5); rater-adjusted, both groups are back
    to their planted 5 of 10. Both tables are checked against the cohort endpoint's bands."""
    people = await planted_cohort(app, admin, [(ALPHA, 10, 5), (BETA, 10, 5)],
                                  favoured=ALPHA)
    before = (await analyse(admin)).json()
    assert set(before["selection"]) == {"raw"} and before["rater_adjustment"] is None

    fits = []
    for _ in range(2):  # two fits of the cycle: the latest is the default
        fit = await admin.get("/v1/cohorts/rater-effects", params={"cycle": "2026-H2"})
        assert fit.status_code == 200, fit.text
        fits.append(fit.json()["fit"]["id"])
    lenient = {r["rater_id"]: r for r in fit.json()["raters"]}[LENIENT]
    assert lenient["flag"] == "lenient"

    body = (await analyse(admin)).json()
    assert list(body["selection"]) == ["raw", "adjusted"]
    assert body["rater_adjustment"] == {"2026-H2": fits[1]}
    assert table(body, "raw") == expected_table(await cohort_csv(admin, adjusted="false"),
                                                people)
    adjusted_csv = await cohort_csv(admin, adjusted="true")
    assert {row["fit_id"] for row in csvlib.DictReader(io.StringIO(adjusted_csv))} == {fits[1]}
    assert table(body, "adjusted") == expected_table(adjusted_csv, people)
    raw, adjusted = table(body, "raw"), table(body, "adjusted")
    alpha, beta = GENDERS[:2]
    assert raw[alpha]["selected"] == 10 and raw[beta]["impact_ratio"] == 0.5
    assert raw[beta]["four_fifths"] is True
    # adjustment narrows the gap, back to the planted truth
    assert adjusted[alpha]["selected"] == adjusted[beta]["selected"] == 5
    assert adjusted[beta]["impact_ratio"] > raw[beta]["impact_ratio"]
    assert not any(g["four_fifths"] for g in adjusted.values())

    named = (await analyse(admin, fit_id=fits[0])).json()
    assert named["rater_adjustment"] == {"2026-H2": fits[0]}
    assert table(named, "adjusted") == expected_table(
        await cohort_csv(admin, fit_id=fits[0]), people)
    [entry] = (await admin.get("/v1/fairness/audit", params={"limit": 1})).json()["data"]
    assert entry["action"] == "adverse_impact.read" and entry["query"]["fit_id"] == fits[0]
    unknown = await analyse(admin, fit_id="00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 422 and "fit_id" in unknown.text
    assert (await analyse(admin, fit_id="not-a-uuid")).status_code == 422

    # A policy that adjusts does not change what raw means: still the bands as rated.
    policy = await admin.post("/v1/readiness/policies",
                              json={"name": "progress", "rater_adjustment": True})
    assert policy.status_code == 201, policy.text
    assert table((await analyse(admin)).json(), "raw") == raw


async def test_raw_adjusted_and_calibrated_together(app, admin):
    people = await planted_cohort(app, admin, [(ALPHA, 10, 5), (BETA, 10, 5)],
                                  favoured=ALPHA)
    assert (await admin.get("/v1/cohorts/rater-effects",
                            params={"cycle": "2026-H2"})).status_code == 200
    opened = await admin.post("/v1/calibrations", json={"cycle": "2026-H2"})
    assert opened.status_code == 201, opened.text
    url, tag = f"/v1/calibrations/{opened.json()['id']}", opened.headers["etag"]
    lifted = [p for p, a in people.items() if a == ALPHA][-3:]  # not ready, lifted by R9
    for person in lifted:
        decided = await admin.post(f"{url}/decisions", headers={"If-Match": tag}, json={
            "person": person, "band": "developing", "reason": "lenient peer only"})
        assert decided.status_code == 200, decided.text
        tag = decided.headers["etag"]
    assert (await admin.post(f"{url}/lock", headers={"If-Match": tag})).status_code == 200
    body = (await analyse(admin)).json()
    assert list(body["selection"]) == ["raw", "adjusted", "calibrated"]
    selected = {basis: table(body, basis)[GENDERS[0]]["selected"]
                for basis in body["selection"]}
    assert selected == {"raw": 10, "adjusted": 5, "calibrated": 7}
