"""Rubric content model v2 over HTTP (REST and GraphQL) and the shipped content's versions:
recommendation ``levels`` and ``kind_of_work``, competency ``quadrant`` and
``leadership_dimensions``, their publish checks, and load-defaults bringing a database that has
version 1 of product-leadership up to version 2 without touching version 1."""

import pytest
import yaml

from service.db import open_session
from service.rubrics.service import content_files, import_document, load_defaults, parse_document
from tests.factories.graphql import gql
from tests.factories.people import sync_person
from tests.factories.rubrics import create_rubric, rubric_doc

pytestmark = pytest.mark.anyio


def fields(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def annotated(**competency) -> dict:
    doc = rubric_doc()
    doc["competencies"][0] |= {"quadrant": "organisational_debt",
                               "leadership_dimensions": ["people", "time"]}
    doc["competencies"][0]["recommendations"] = [
        {"kind": "mentoring", "title": "Mentor a junior", "levels": ["mid", "senior"]},
        {"kind": "tour_of_duty", "title": "Scale something", "levels": ["senior"],
         "kind_of_work": "scaling"}]
    doc["competencies"][0] |= competency
    return doc


async def test_new_fields_round_trip_through_rest_export_and_graphql(admin):
    await create_rubric(admin, annotated())
    body = (await admin.get("/v1/rubrics/eng-ladder")).json()
    delivery, craft = body["competencies"]
    assert delivery["quadrant"] == "organisational_debt"
    assert delivery["leadership_dimensions"] == ["people", "time"]
    assert [(r["levels"], r["kind_of_work"]) for r in delivery["recommendations"]] == [
        (["mid", "senior"], None), (["senior"], "scaling")]
    assert craft["quadrant"] is None and craft["leadership_dimensions"] == []

    exported = await admin.get("/v1/rubrics/eng-ladder/export", params={"format": "yaml"})
    again = yaml.safe_load(exported.text)
    assert again["competencies"][0]["recommendations"][1]["kind_of_work"] == "scaling"

    answer = await gql(admin, """{ rubric(key: "eng-ladder") { competencies {
        quadrant leadershipDimensions recommendations { levels kindOfWork } } } }""")
    assert "errors" not in answer, answer
    first = answer["data"]["rubric"]["competencies"][0]
    assert first == {"quadrant": "organisational_debt", "leadershipDimensions": ["people", "time"],
                     "recommendations": [{"levels": ["mid", "senior"], "kindOfWork": None},
                                         {"levels": ["senior"], "kindOfWork": "scaling"}]}


async def test_bad_values_are_422_naming_the_field_and_change_nothing(admin):
    shape = await admin.post("/v1/rubrics", json=annotated(quadrant="improve_everything"))
    assert shape.status_code == 422
    assert "competencies.0.quadrant" in fields(shape) or \
        "competencies[0].quadrant" in fields(shape), fields(shape)
    dimension = await admin.post("/v1/rubrics", json=annotated(leadership_dimensions=["luck"]))
    assert dimension.status_code == 422
    bad_kind = annotated()
    bad_kind["competencies"][0]["recommendations"][1]["kind_of_work"] = "maintenance"
    assert (await admin.post("/v1/rubrics", json=bad_kind)).status_code == 422
    assert (await admin.get("/v1/rubrics/eng-ladder/versions/1")).status_code == 404

    wrong = annotated(leadership_dimensions=["people", "people"])
    recs = wrong["competencies"][0]["recommendations"]
    recs[0]["levels"] = ["mid", "principal", "mid"]
    recs.append({"kind": "mentoring", "title": "Never", "levels": []})
    recs.append({"kind": "coaching", "title": "Coach", "kind_of_work": "growth"})
    await create_rubric(admin, wrong, publish=False)
    refused = await admin.post("/v1/rubrics/eng-ladder/versions/1/publish")
    assert refused.status_code == 422
    problems = fields(refused)
    at = "competencies[0]"
    assert problems[f"{at}.leadership_dimensions"] == "names a dimension twice"
    assert problems[f"{at}.recommendations[0].levels[1]"] == "unknown level 'principal'"
    assert "listed twice" in problems[f"{at}.recommendations[0].levels[2]"]
    assert "never apply" in problems[f"{at}.recommendations[2].levels"]
    assert "only a tour_of_duty" in problems[f"{at}.recommendations[3].kind_of_work"]
    assert (await admin.get("/v1/rubrics/eng-ladder/versions/1")).json()["status"] == "draft"

    imported = await admin.post("/v1/rubrics:import", content=yaml.safe_dump(wrong),
                                headers={"Content-Type": "application/yaml"})
    assert imported.status_code == 422
    assert f"{at}.recommendations[3].kind_of_work" in fields(imported)


def _load(engine) -> list[str]:
    with open_session(engine, write=True) as session:
        messages = load_defaults(session)
        session.commit()
    return messages


async def test_load_defaults_adds_version_2_to_a_database_that_has_version_1(admin, engine):
    first, second = content_files()
    assert (first.name, second.name) == ("product-leadership.1.yaml",
                                         "product-leadership.2.yaml")
    with open_session(engine, write=True) as session:  # a database loaded before version 2
        import_document(session, parse_document(first.read_bytes(), "application/yaml"),
                        publish_now=True)
        session.commit()
    await sync_person(admin, "E1", level="pm")
    old = await admin.post("/v1/assessments", json={"person": "E1", "cycle": "2026-H2"})
    assert old.json()["rubric"] == {"key": "product-leadership", "version": 1}

    assert _load(engine) == ["rubric product-leadership (product-leadership.1.yaml): up to date",
                             "rubric product-leadership: published version 2"]
    assert _load(engine) == [
        "rubric product-leadership (product-leadership.1.yaml): up to date",
        "rubric product-leadership (product-leadership.2.yaml): up to date"]
    latest = (await admin.get("/v1/rubrics/product-leadership")).json()
    assert latest["version"] == 2 and latest["competencies"][0]["quadrant"]
    v1 = (await admin.get("/v1/rubrics/product-leadership/versions/1")).json()
    assert v1["status"] == "published" and v1["competencies"][0]["quadrant"] is None
    readiness = await admin.get(f"/v1/assessments/{old.json()['id']}/readiness")
    assert readiness.status_code == 200
    assert readiness.json()["rubric"] == {"key": "product-leadership", "version": 1}

    # Retiring version 1 does not make load-defaults publish it again on top of version 2.
    assert (await admin.post("/v1/rubrics/product-leadership/versions/1/retire")
            ).status_code == 200
    _load(engine)
    versions = (await admin.get("/v1/rubrics/product-leadership/versions")).json()
    assert [(v["version"], v["status"]) for v in versions] == [
        (1, "retired"), (2, "published")]


async def test_fresh_database_numbers_versions_as_the_files(admin, engine):
    assert _load(engine)[:2] == ["rubric product-leadership: published version 1",
                                 "rubric product-leadership: published version 2"]
    latest = (await admin.get("/v1/rubrics/product-leadership")).json()
    shipped = parse_document(content_files()[1].read_bytes(), "application/yaml")
    assert latest["version"] == 2
    assert latest["competencies"] == [c.model_dump(mode="json") for c in shipped.competencies]


async def test_served_version_2_content_checks(admin, engine):
    """The issue's content findings, re-run on what the API serves after load-defaults."""
    _load(engine)
    served = (await admin.get("/v1/rubrics/product-leadership")).json()
    top = served["scale"]["max"]
    for comp in served["competencies"]:
        by_value: dict[int, set[str]] = {}
        for e in comp["expectations"]:
            by_value.setdefault(e["proficiency"], set()).add(e["descriptor"])
        assert all(len(d) == 1 and next(iter(d)).strip() for d in by_value.values()), comp["key"]
    at_max = [c["key"] for c in served["competencies"]
              if c["expectations"][-1]["level"] == "cpo"
              and c["expectations"][-1]["proficiency"] == top]
    assert len(at_max) <= 3, at_max
    gates = {c["key"]: e for c in served["competencies"] for e in c["expectations"]
             if e["gate"] and e["level"] == "lead-pm"}
    assert "top-priority project" in gates["execution"]["descriptor"]
    assert "without taking the work back" in gates["execution"]["descriptor"]
    assert "did not take the work back" in gates["developing-people"]["descriptor"]
    kinds = {r["title"]: r["kind"] for c in served["competencies"] for r in c["recommendations"]}
    assert kinds["Run one improvement kata to the end"] == "improvement_kata"
    assert kinds["Find a mentor outside product"] == "seek_mentor"
    assert all(r["levels"] for c in served["competencies"] for r in c["recommendations"])
    # Version 1 is unchanged: ten competencies expect the maximum at cpo there.
    first = (await admin.get("/v1/rubrics/product-leadership/versions/1")).json()
    assert sum(c["expectations"][-1]["proficiency"] == top for c in first["competencies"]) == 10
