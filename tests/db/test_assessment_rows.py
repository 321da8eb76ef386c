"""Assessments are read as rows and made into objects the session does not track
(``service.assessments.service._rows_to_assessments``): each must hold what the ORM itself
would load, attribute for attribute, whatever columns the model gains."""

import pytest
from sqlalchemy import inspect

from service.assessments import service
from service.assessments.models import Assessment
from service.db import open_session
from tests.factories.assessments import create_assessment, rate
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio


async def test_a_row_built_assessment_is_what_the_orm_loads(admin, engine):
    await load_default_rubric(engine)
    a = await create_assessment(admin, "E123")
    await rate(admin, a["id"], "self", "E123", [{"competency": "strategy", "proficiency": 3}])
    await admin.post(f"/v1/assessments/{a['id']}/submit")
    successor = (await admin.post(f"/v1/assessments/{a['id']}/supersede")).json()

    columns = [attr.key for attr in inspect(Assessment).column_attrs]
    with open_session(engine) as session:
        listed = {x.id: x for x in service.assessments_of_people(session, ["E123"], None)["E123"]}
        for assessment_id in (a["id"], successor["id"]):
            built = service.get_assessment(session, assessment_id, None)
            orm = session.get(Assessment, built.id)
            assert inspect(built).transient  # not in the session: nothing of it is flushed
            for column in columns:
                assert getattr(built, column) == getattr(orm, column), column
                assert getattr(listed[built.id], column) == getattr(orm, column), column
        old = service.get_assessment(session, a["id"], None)
        assert old.status == "superseded" and str(old.superseded_by_id) == successor["id"]
        assert old.submitted_at is not None and old.row_version > 1
