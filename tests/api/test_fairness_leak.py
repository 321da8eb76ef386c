"""Attributes are held apart: after people's attributes are stored, a full walk-through
(assessments finalized, an import, a calibration locked, an analysis read, events sent) is
searched for the categories: every REST read and export (every GET of the OpenAPI document,
each documented ``format``), every GraphQL document of the authorisation matrix, every
webhook payload, every log line and every row of every other domain's tables. None holds
one. The two routes whose answer is the attributes or the groups (audited) are the controls:
they must hold them, so the search can find what it looks for."""

import json
import logging

import pytest
from sqlalchemy import select

from service.graphql.schema import sdl
from service.logs import JsonFormatter
from service.settings import Settings
from service.tables import metadata
from service.webhooks.models import WebhookEvent
from service.webhooks.schemas import EVENT_TYPES
from tests.api.test_authorization_matrix import RULES, Call, _cases, _variables, calls, send
from tests.factories.binding import A, B, M, arrange
from tests.factories.fairness import ATTRIBUTES, GENDERS, REGIONS, planted_cohort
from tests.factories.graphql import gql
from tests.routes import mounted_operations, templated_operations

pytestmark = pytest.mark.anyio

TYPO = "qx-typo-secret-7"  # sent as a category and refused: it must not come back either
VALUES = [*GENDERS, *REGIONS, TYPO]
EXEMPT = {"GET /v1/people/{external_id}/attributes", "GET /v1/cohorts/adverse-impact"}


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url, fairness_attributes=ATTRIBUTES)


def found(text: str) -> set[str]:
    return {v for v in VALUES if v in text}


def variants(op: dict) -> list[dict[str, str]]:
    """No parameters, then each documented value of ``format`` and ``chart``."""
    out: list[dict[str, str]] = [{}]
    for param in op.get("parameters", []):
        if param["in"] == "query" and param["name"] in ("format", "chart"):
            schema = param.get("schema", {})
            for option in [schema, *schema.get("anyOf", [])]:
                out += [{param["name"]: v} for v in option.get("enum", [])]
    return out


async def walk_through(app, admin, engine) -> dict:
    response = await admin.post("/v1/webhooks", json={"url": "https://hooks.example.com/all",
                                                      "event_types": list(EVENT_TYPES)})
    assert response.status_code == 201, response.text
    world = await arrange(app, admin, engine)
    people = await planted_cohort(app, admin, [({"gender": GENDERS[0]}, 6, 4),
                                               ({"gender": GENDERS[1]}, 6, 1),
                                               ({"gender": GENDERS[2], "region": REGIONS[0]},
                                                4, 2)])
    for person, attributes in ((A, {"gender": GENDERS[2], "region": REGIONS[1]}),
                               (B, {"gender": GENDERS[1]}), (M, {"region": REGIONS[0]})):
        response = await admin.put(f"/v1/people/{person}/attributes", json=attributes)
        assert response.status_code == 200, response.text
    refused = await admin.put(f"/v1/people/{B}/attributes", json={"gender": TYPO})
    assert refused.status_code == 422 and not found(refused.text)
    # A calibration locked over the planted cycle: the fairness check runs and alerts.
    opened = await admin.post("/v1/calibrations", json={"cycle": "2026-H2"})
    assert opened.status_code == 201, opened.text
    decided = await admin.post(f"/v1/calibrations/{opened.json()['id']}/decisions",
                               headers={"If-Match": opened.headers["etag"]},
                               json={"person": next(iter(people)), "band": "developing",
                                     "reason": "walk-through"})
    assert decided.status_code == 200, decided.text
    locked = await admin.post(f"/v1/calibrations/{opened.json()['id']}/lock",
                              headers={"If-Match": decided.headers["etag"]})
    assert locked.status_code == 200, locked.text
    # B's draft goes all the way: more events, readiness reports, a stored snapshot.
    for step in ("submit", "finalize"):
        response = await admin.post(f"/v1/assessments/{world['b_draft']}/{step}")
        assert response.status_code == 200, response.text
    assert (await admin.get("/v1/cohorts/rater-effects",
                            params={"cycle": "2026-H2"})).status_code == 200
    return world


async def test_attributes_are_found_only_where_they_belong(app, admin, engine, session,
                                                           caplog):
    caplog.set_level(logging.DEBUG)
    world = await walk_through(app, admin, engine)

    # Controls: the attributes' own read and the analysis do carry them.
    own = await admin.get(f"/v1/people/{A}/attributes")
    assert found(own.text) == {GENDERS[2], REGIONS[1]}
    analysis = await admin.get("/v1/cohorts/adverse-impact",
                               params={"attribute": "gender", "cycle": "2026-H2"})
    assert analysis.status_code == 200 and GENDERS[0] in analysis.text

    operations = {f"{m} {p}": op
                  for m, p, op in templated_operations(app) + mounted_operations(app)}
    walked = 0
    for call in calls(app, world):
        name = f"{call.method} {call.template}"
        if call.method != "GET" or name in EXEMPT:
            continue
        for params in [*RULES[name].params, *variants(operations[name])]:
            response = await send(admin, Call(call.method, call.template, call.path),
                                  RULES[name], None, params, world)
            assert response.status_code < 500, (call.path, params, response.text[:300])
            assert not found(response.text), (call.path, params)
            walked += response.status_code == 200
    assert walked >= 40  # the walk really read things

    # GraphQL has no field for them at all (a decision: README "Fairness")...
    assert not any(w in sdl().lower() for w in ("attribute", "fairness", "adverse"))
    # ...and no answer about the people who declared them carries one.
    graphql = 0
    for case in _cases():
        if case.mutation:
            continue
        answer = await gql(admin, case.document, _variables(world))
        assert not found(json.dumps(answer)), case.document[:80]
        graphql += bool(answer.get("data"))
    assert graphql >= 5

    session.rollback()
    bodies = [e.body for e in session.scalars(select(WebhookEvent))]
    assert any('"fairness.alert"' in b for b in bodies)  # the alert went out...
    assert not any(found(b) for b in bodies)  # ...naming no group

    for table in metadata.sorted_tables:
        if table.name.startswith("fairness_"):
            continue
        rows = session.execute(select(table)).all()
        assert not found(repr(rows)), table.name

    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    assert len(lines) > 100 and not any(found(line) for line in lines)
    print(f"walked {walked} GETs, {graphql} GraphQL documents, {len(bodies)} webhook "
          f"events, {len(lines)} log lines")
