"""The outline service functions other domains call (no HTTP), and loading the default
templates, on both backends."""

import uuid

import pytest

from service.outlines import service
from service.problems import InvalidInput
from tests.factories.outlines import load_defaults

TOUR = {"career_goal": "lead-pm", "duration_months": 12, "kind_of_work": "scaling",
        "skills_to_gain": ["strategy"], "mentoring_commitments": ["pair with a new PM"]}


def test_load_defaults_publishes_once(engine, db_url):
    first = load_defaults(engine)
    assert [m for m in first if m.startswith("template")] == [
        "template improvement-kata: published version 1",
        "template opportunity-outline: published version 1",
        "template tour-of-duty: published version 1"]
    again = load_defaults(engine)
    assert [m for m in again if m.startswith("template")] == [
        "template improvement-kata: up to date", "template opportunity-outline: up to date",
        "template tour-of-duty: up to date"]


def test_draft_outline_validates_and_find_outlines_finds_it(engine, session):
    load_defaults(engine)
    assessment_id = uuid.uuid4()  # an assessment no outline links
    with pytest.raises(InvalidInput) as bad:
        service.draft_outline(
            session, template_key="tour-of-duty", title="Tour", values=TOUR | {
                "duration_months": 24, "skills_to_gain": ["juggling"]},
            person=None, assessment_id=None, competencies=[], owner=None)
    assert {e.field for e in bad.value.errors} == {"values.duration_months",
                                                   "values.skills_to_gain[0]"}

    outline = service.draft_outline(
        session, template_key="tour-of-duty", title="Tour toward lead PM", values=TOUR,
        person=None, assessment_id=None, competencies=["developing-people"], owner=None)
    session.commit()
    assert outline.status == "draft" and outline.created_by == "system"
    assert outline.competencies == ["developing-people", "strategy"]
    read = service.to_read(outline)
    assert read.template.key == "tour-of-duty" and read.template.version == 1

    assert [o.id for o in service.find_outlines(session, None, "strategy", "tour-of-duty")] == [
        outline.id]
    assert service.find_outlines(session, None, "strategy", "opportunity-outline") == []
    assert service.find_outlines(session, assessment_id, None, None) == []


def test_draft_outline_checks_the_people_it_names(engine, session):
    load_defaults(engine)
    with pytest.raises(InvalidInput) as bad:
        service.draft_outline(
            session, template_key="opportunity-outline", title="t",
            values={"problem": "p", "desired_outcome": "o", "quadrant": "improve_products",
                    "owner": "NOBODY"},
            person="GHOST", assessment_id=None, competencies=[], owner=None)
    assert {e.field for e in bad.value.errors} == {"values.owner", "person", "owner"}


def test_of_two_writers_holding_one_version_the_second_fails(engine, session):
    from sqlalchemy.orm.exc import StaleDataError

    from service.db import open_session

    load_defaults(engine)
    outline = service.draft_outline(session, template_key="tour-of-duty", title="Tour",
                                    values=TOUR, person=None, assessment_id=None,
                                    competencies=[], owner=None)
    session.commit()
    with open_session(engine) as first, open_session(engine) as second:
        mine = service.get_outline(first, outline.id, None)
        theirs = service.get_outline(second, outline.id, None)
        second.commit()  # end its read; it keeps the row version it read (1)
        service.change_status(first, mine, "active")
        first.commit()
        with pytest.raises(StaleDataError):  # answered 412 by the app
            service.change_status(second, theirs, "dropped")
    session.expire_all()
    assert service.get_outline(session, outline.id, None).status == "active"
