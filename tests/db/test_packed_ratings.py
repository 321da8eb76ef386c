"""The packed copy of an assessment's ratings (cohort scoring reads it) always matches the
rating rows, through every way ratings change, and rows without one fall back to the rows."""

import numpy as np
import pytest
from sqlmodel import select

from service.assessments import cohort as assessments
from service.assessments.models import Assessment
from service.assessments.roles import ROLE_VALUES
from tests.factories.assessments import create_assessment, rate
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio


def decoded(engine) -> dict[str, set[tuple[str, str, float]]]:
    """Per person: the (competency, role, proficiency) triples the cohort loader sees."""
    from service.db import open_session
    from service.rubrics.service import get_version

    with open_session(engine) as session:
        inputs = assessments.cohort_inputs(session)
        out = {}
        for i, row in enumerate(inputs.rows):
            keys = [c.key for c in get_version(session, row.rubric_key,
                                               row.rubric_version).competencies]
            mine = inputs.r_row == i
            out[row.person] = {(keys[c], ROLE_VALUES[r], p) for c, r, p in zip(
                inputs.r_competency[mine], inputs.r_role[mine], inputs.r_proficiency[mine],
                strict=True)}
    return out


def stored(assessment_json) -> set[tuple[str, str, float]]:
    return {(r["competency"], r["rater_role"], float(r["proficiency"]))
            for r in assessment_json["ratings"]}


async def test_packed_copy_follows_every_change(admin, engine):
    await load_default_rubric(engine)
    a = await create_assessment(admin, "E123")
    url = f"/v1/assessments/{a['id']}"
    three = [{"competency": k, "proficiency": p} for k, p in
             (("strategy", 3), ("execution", 4), ("team-design", 1))]
    await rate(admin, a["id"], "self", "E123", three)
    await rate(admin, a["id"], "manager", "E001", three[:2])
    await rate(admin, a["id"], "peer", "P1", three[1:])
    await rate(admin, a["id"], "peer", "P1", [{"competency": "strategy", "proficiency": 5}])
    await rate(admin, a["id"], "manager", "E001", [])  # removes the manager's ratings
    await admin.post(f"{url}/submit")
    current = (await admin.get(url)).json()
    assert decoded(engine) == {"E123": stored(current)}
    assert ("strategy", "peer", 5.0) in stored(current) and len(stored(current)) == 4

    successor = (await admin.post(f"{url}/supersede")).json()
    await rate(admin, successor["id"], "upward", "U9",
               [{"competency": "developing-people", "proficiency": 2}])
    await admin.post(f"/v1/assessments/{successor['id']}/submit")
    newest = (await admin.get(f"/v1/assessments/{successor['id']}")).json()
    assert decoded(engine) == {"E123": stored(newest)}
    assert stored(newest) == stored(current) | {("developing-people", "upward", 2.0)}


async def test_rows_without_a_packed_copy_fall_back_to_the_rating_rows(admin, engine, session):
    await load_default_rubric(engine)
    a = await create_assessment(admin, "E123")
    await rate(admin, a["id"], "manager", "E001",
               [{"competency": "strategy", "proficiency": 4}])
    await admin.post(f"/v1/assessments/{a['id']}/submit")
    row = session.exec(select(Assessment)).one()
    row.ratings_packed = None
    session.add(row)
    session.commit()
    assert decoded(engine) == {"E123": {("strategy", "manager", 4.0)}}
    assert np.array_equal(assessments.cohort_inputs(session).r_row, [0])
