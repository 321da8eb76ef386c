"""The stateless scorer and policies over HTTP (the scoring rules have unit tests of their own)."""

from types import SimpleNamespace

import pytest

from tests.factories.rubrics import create_rubric, load_default_rubric

pytestmark = pytest.mark.anyio


def at_bar(level_values: dict[str, int], roles=("manager", "self")) -> list[dict]:
    return [{"competency": c, "rater_role": r, "rater_id": f"{r}-1", "proficiency": v,
             "evidence": "seen in the Q3 launch"}
            for c, v in level_values.items() for r in roles]


async def test_score_default_ladder_at_the_bar_is_ready_now(admin, engine):
    await load_default_rubric(engine)
    ladder = (await admin.get("/v1/rubrics/product-leadership")).json()
    lead = {c["key"]: next(e["proficiency"] for e in c["expectations"] if e["level"] == "lead-pm")
            for c in ladder["competencies"]}
    body = {"rubric": {"key": "product-leadership"}, "current_level": "senior-pm",
            "ratings": at_bar(lead)}
    response = await admin.post("/v1/readiness:score", json=body)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["score"], report["band"], report["target_level"]) == (100.0, "ready_now",
                                                                         "lead-pm")
    assert report["rubric"] == {"key": "product-leadership", "version": 2}
    assert report["policy"] == {"name": "progress", "version": 2}  # the default since v2
    assert report["inputs_digest"].startswith("sha256:")
    again = await admin.post("/v1/readiness:score", json=body | {"ratings": body["ratings"][::-1]})
    assert again.content == response.content  # byte-equal, whatever the order


async def test_score_explains_gaps_with_recommendations(admin, engine):
    await load_default_rubric(engine)
    body = {"rubric": {"key": "product-leadership", "version": 1},
            "current_level": "senior-pm", "target_level": "lead-pm",
            "ratings": [{"competency": "developing-people", "rater_role": "manager",
                         "rater_id": "m1", "proficiency": 2}]}
    report = (await admin.post("/v1/readiness:score", json=body)).json()
    assert report["band"] in ("developing", "not_yet")
    people = next(c for c in report["competencies"] if c["key"] == "developing-people")
    assert "gate_unmet" in people["flags"] and "no_evidence" in people["flags"]
    assert {"competency": "developing-people", "level": "lead-pm", "bar": 3,
            "observed_without_self": 2.0, "met": False} in report["gates"]
    assert report["top_gaps"] and all(g["recommendations"] for g in report["top_gaps"])
    assert report["confidence"]["level"] != "high"
    # 11 of 12 competencies unrated: rating them comes before any improvement
    assert report["path_to_ready"] == [] and "rate " in report["path_to_ready_reason"]
    assert len(report["unrated"]) == 11


async def test_recommendations_ignore_the_level_is_fixed(admin, engine):
    """Issue 13: a VP was given advice written for a senior PM. Under content v2 a top gap
    lists only the recommendations written for the target level."""
    await load_default_rubric(engine)
    ladder = (await admin.get("/v1/rubrics/product-leadership")).json()
    written_for = {(c["key"], r["title"]): r["levels"] for c in ladder["competencies"]
                   for r in c["recommendations"]}
    ratings = [{"competency": c["key"], "rater_role": "manager", "rater_id": "m1",
                "proficiency": 2} for c in ladder["competencies"]]
    for current, target in (("director", "vp"), ("senior-pm", "lead-pm")):
        body = {"rubric": {"key": "product-leadership"}, "current_level": current,
                "target_level": target, "ratings": ratings}
        report = (await admin.post("/v1/readiness:score", json=body)).json()
        assert report["top_gaps"]
        for gap in report["top_gaps"]:
            listed = {r["title"] for r in gap["recommendations"]}
            expected = {title for (key, title), levels in written_for.items()
                        if key == gap["competency"] and (not levels or target in levels)}
            assert listed == expected, (target, gap["competency"])
    # the filter matters: some advice is written for other levels only
    assert any(levels and "vp" not in levels for levels in written_for.values())


async def test_score_rejects_bad_input_with_field_paths(admin):
    await create_rubric(admin)
    cases = [
        ({"rubric": {"key": "eng-ladder"}, "current_level": "staff"}, "current_level"),
        ({"rubric": {"key": "eng-ladder"}, "current_level": "senior"}, "target_level"),
        ({"rubric": {"key": "eng-ladder"}, "current_level": "junior",
          "ratings": [{"competency": "typing", "rater_role": "self", "proficiency": 2}]},
         "ratings[0].competency"),
        ({"rubric": {"key": "eng-ladder"}, "current_level": "junior",
          "ratings": [{"competency": "craft", "rater_role": "self", "proficiency": 9}]},
         "ratings[0].proficiency"),
        ({"rubric": {"key": "eng-ladder"}, "current_level": "junior",
          "ratings": [{"competency": "craft", "rater_role": "boss", "proficiency": 2}]},
         "ratings[0].rater_role"),
    ]
    for body, field in cases:
        response = await admin.post("/v1/readiness:score", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    unknown = await admin.post("/v1/readiness:score",
                               json={"rubric": {"key": "nope"}, "current_level": "junior"})
    assert unknown.status_code == 404


async def test_score_refuses_draft_versions(admin):
    await create_rubric(admin, publish=False)
    response = await admin.post("/v1/readiness:score", json={
        "rubric": {"key": "eng-ladder", "version": 1}, "current_level": "junior"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "rubric.version"


async def test_policies_are_versioned_data(admin, make_key, client_with):
    await create_rubric(admin)
    listed = (await admin.get("/v1/readiness/policies")).json()
    assert [(p["name"], p["version"]) for p in listed] == [("progress", 1), ("progress", 2)]
    assert listed[0]["parameters"]["ready_now"] == 90
    assert "rules" not in listed[0]["parameters"]  # v1 as it always was
    assert listed[1]["parameters"]["rules"] == 2

    stricter = await admin.post("/v1/readiness/policies",
                                json={"name": "progress", "ready_now": 95})
    assert stricter.status_code == 201
    assert stricter.json()["version"] == 3 and stricter.json()["parameters"]["ready_now"] == 95
    assert stricter.json()["parameters"]["ready_soon"] == 70  # carried over
    assert stricter.json()["parameters"]["rules"] == 2
    v1 = (await admin.get("/v1/readiness/policies/progress/versions/1")).json()
    assert v1["parameters"]["ready_now"] == 90  # earlier versions stay as they were

    report = (await admin.post("/v1/readiness:score", json={
        "rubric": {"key": "eng-ladder"}, "current_level": "junior"})).json()
    assert report["policy"] == {"name": "progress", "version": 3}

    bad = await admin.post("/v1/readiness/policies", json={"name": "progress", "ready_now": -5,
                                                           "role_weights": {"manager": -1}})
    assert bad.status_code == 422 and bad.json()["errors"]
    async with client_with(make_key("readiness:read")) as reader:
        denied = await reader.post("/v1/readiness/policies", json={"name": "x"})
    assert denied.status_code == 403


async def test_scoring_reads_nothing_while_cached_and_a_new_policy_within_the_ttl(
        admin, app, engine, monkeypatch):
    from sqlalchemy import event

    from service import cache
    from service.db import open_session
    from service.readiness import policies
    from service.readiness.schemas import PolicyCreate

    now = [1000.0]
    monkeypatch.setattr(cache, "time", SimpleNamespace(monotonic=lambda: now[0]))
    statements = []
    event.listen(app.state.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    await create_rubric(admin)
    body = {"rubric": {"key": "eng-ladder"}, "current_level": "mid",
            "ratings": at_bar({"delivery": 3, "craft": 3})}
    first = await admin.post("/v1/readiness:score", json=body)
    assert first.status_code == 200, first.text
    statements.clear()
    again = await admin.post("/v1/readiness:score", json=body)
    assert again.content == first.content
    assert statements == [], statements  # all cached: no query

    # Another server process (whose caches are not this one's) stores the next version of
    # the policy the rubric names ...
    name = first.json()["policy"]["name"]
    with monkeypatch.context() as elsewhere, open_session(engine, write=True) as session:
        elsewhere.setattr(policies._latest, "forget", lambda *args: None)
        made = policies.create_policy_version(session, PolicyCreate(name=name, ready_now=99))
        session.commit()
    now[0] += cache.LATEST_TTL * 0.9
    stale = await admin.post("/v1/readiness:score", json=body)
    assert stale.json()["policy"] == first.json()["policy"]
    now[0] += cache.LATEST_TTL * 0.2  # ... which this one uses once its answer is too old
    fresh = await admin.post("/v1/readiness:score", json=body)
    assert fresh.json()["policy"] == {"name": name, "version": made.version}
