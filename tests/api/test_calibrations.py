"""Calibration sessions end to end over HTTP: create, read (scores, bands, flagged raters,
distribution against a guideline), decide with If-Match, lock, 409 afterwards, the calibrated
band on served readiness reports, the webhook event, and nothing for person-bound keys."""

import pytest
from sqlmodel import select

from service.webhooks.models import WebhookEvent
from tests.api.test_rater_effects_api import LENIENT, build_cohort
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio

GUIDELINE = {"ready_now": [0, 15], "not_yet": [10, 60]}


async def open_session(admin) -> tuple[str, str, dict]:
    response = await admin.post("/v1/calibrations", json={
        "cycle": "2026-H2", "org_unit": "payments", "guideline": GUIDELINE})
    assert response.status_code == 201, response.text
    return response.json()["id"], response.headers["etag"], response.json()


async def test_lifecycle(admin, engine, session):
    await load_default_rubric(engine)
    assessments = await build_cohort(admin)
    assert (await admin.get("/v1/cohorts/rater-effects",
                            params={"cycle": "2026-H2"})).status_code == 200
    calibration_id, tag, body = await open_session(admin)
    assert body["status"] == "open" and len(body["people"]) == 6
    assert body["fit_id"] is not None
    p0 = next(p for p in body["people"] if p["person"] == "P0")
    assert p0["assessment_id"] == assessments[0] and p0["calibrated_band"] is None
    assert LENIENT in [r["rater_id"] for r in p0["flagged_raters"]]  # R1 rated P0
    p1 = next(p for p in body["people"] if p["person"] == "P1")
    flagged = {r["rater_id"] for r in p1["flagged_raters"]}
    assert flagged <= {"R2", "R3", "R4"}  # R1 did not rate P1
    shares = body["distribution"]
    assert sum(s["people"] for s in shares.values()) == 6
    assert shares["ready_now"]["guideline"] == [0, 15]
    assert shares["ready_soon"]["guideline"] is None and shares["ready_soon"]["within"] is None
    assert shares["ready_now"]["within"] == (shares["ready_now"]["percent"] <= 15)

    decision = {"person": "P0", "band": "not_yet", "reason": "lenient rater; evidence thin"}
    url = f"/v1/calibrations/{calibration_id}"
    missing = await admin.post(f"{url}/decisions", json=decision)
    assert missing.status_code == 428
    decided = await admin.post(f"{url}/decisions", json=decision, headers={"If-Match": tag})
    assert decided.status_code == 200, decided.text
    assert decided.headers["etag"] != tag
    stale = await admin.post(f"{url}/decisions", json=decision | {"band": "developing"},
                             headers={"If-Match": tag})
    assert stale.status_code == 412
    outsider = await admin.post(f"{url}/decisions", json=decision | {"person": "Z9"},
                                headers={"If-Match": decided.headers["etag"]})
    assert outsider.status_code == 422
    no_reason = await admin.post(f"{url}/decisions", json={"person": "P0", "band": "not_yet"},
                                 headers={"If-Match": decided.headers["etag"]})
    assert no_reason.status_code == 422
    now = (await admin.get(url)).json()
    assert next(p for p in now["people"] if p["person"] == "P0")["calibrated_band"] == "not_yet"
    assert [h["action"] for h in now["history"]] == ["created", "decided"]
    assert now["history"][1]["reason"] == decision["reason"] and now["history"][1]["by"]

    # Not locked yet: reports do not carry it.
    report = (await admin.get(f"/v1/assessments/{assessments[0]}/readiness")).json()
    assert "calibrated_band" not in report

    hook = await admin.post("/v1/webhooks", json={"url": "https://hooks.example.com/a",
                                                  "event_types": ["calibration.locked"]})
    assert hook.status_code == 201, hook.text
    locked = await admin.post(f"{url}/lock", headers={"If-Match": decided.headers["etag"]})
    assert locked.status_code == 200, locked.text
    assert locked.json()["status"] == "locked" and locked.json()["locked_at"]
    after = await admin.post(f"{url}/decisions", json=decision,
                             headers={"If-Match": locked.headers["etag"]})
    assert after.status_code == 409
    again = await admin.post(f"{url}/lock", headers={"If-Match": locked.headers["etag"]})
    assert again.status_code == 409

    for path in (f"/v1/assessments/{assessments[0]}/readiness", "/v1/people/P0/readiness"):
        report = (await admin.get(path)).json()
        assert report["calibrated_band"] == "not_yet"
        assert report["calibration_id"] == calibration_id
        assert report["band"] in ("ready_now", "ready_soon", "developing", "not_yet")
    other = (await admin.get("/v1/people/P1/readiness")).json()
    assert "calibrated_band" not in other

    listed = (await admin.get("/v1/calibrations")).json()
    assert [c["id"] for c in listed] == [calibration_id] and listed[0]["status"] == "locked"

    sent = [e for e in session.exec(select(WebhookEvent))
            if e.type == "calibration.locked"]
    assert len(sent) == 1 and calibration_id in sent[0].body and "not_yet" in sent[0].body


async def test_person_bound_keys_see_nothing(admin, engine, client_with, make_key):
    await load_default_rubric(engine)
    await build_cohort(admin, people=4)
    calibration_id, tag, _ = await open_session(admin)
    scopes = ("calibration:read", "calibration:write", "readiness:read")
    async with client_with(make_key(*scopes, person="P0")) as bound:
        assert (await bound.get(f"/v1/calibrations/{calibration_id}")).status_code == 404
        assert (await bound.get("/v1/calibrations")).status_code == 403
        made = await bound.post("/v1/calibrations", json={"cycle": "2026-H2"})
        assert made.status_code == 403
        decided = await bound.post(f"/v1/calibrations/{calibration_id}/decisions",
                                   json={"person": "P0", "band": "ready_now", "reason": "me"},
                                   headers={"If-Match": tag})
        assert decided.status_code in (403, 404)
        assert (await bound.post(f"/v1/calibrations/{calibration_id}/lock",
                                 headers={"If-Match": tag})).status_code in (403, 404)
    body = (await admin.get(f"/v1/calibrations/{calibration_id}")).json()
    assert body["status"] == "open" and [h["action"] for h in body["history"]] == ["created"]


async def test_bad_guideline_is_refused(admin, engine):
    response = await admin.post("/v1/calibrations", json={
        "cycle": "2026-H2", "guideline": {"ready_now": [30, 10]}})
    assert response.status_code == 422
    assert (await admin.get("/v1/calibrations")).json() == []
