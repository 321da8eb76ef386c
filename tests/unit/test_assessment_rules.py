"""The assessment rules both writers share (service/assessments/rules.py), checked without a
database: each test breaks one rule and expects the field and reason it is reported under."""

from types import SimpleNamespace

import pytest

from service.assessments import rules
from service.assessments.roles import RaterRole
from service.problems import InvalidInput
from service.rubrics.published import PublishedRubric
from service.rubrics.schemas import RubricCreate

LADDER = PublishedRubric("ladder", 3, RubricCreate.model_validate({
    "key": "ladder", "name": "Ladder", "scale": {"min": 1, "max": 5},
    "levels": [{"key": k, "name": k.title(), "order": i} for i, k in
               enumerate(("junior", "mid", "senior"), start=1)],
    "competencies": [{"key": k, "name": k.title()} for k in ("craft", "delivery")],
}))
OTHERS = [r for r in RaterRole if r is not RaterRole.SELF]


def refused(call, *args, **kwargs) -> tuple[str, str]:
    """(field, message) of the one error the rule raises."""
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    [error] = caught.value.errors
    return error.field, error.message


def rating(competency: str, proficiency: int) -> SimpleNamespace:
    return SimpleNamespace(competency=competency, proficiency=proficiency)


# --- pins --------------------------------------------------------------------------------------

def test_only_a_published_version_is_pinned():
    rules.require_pinnable("ladder", 3, "published")
    for status in ("draft", "retired"):
        field, message = refused(rules.require_pinnable, "ladder", 3, status)
        assert field == "rubric.version" and status in message and "'ladder'" in message


def test_the_subject_must_be_active_and_on_a_rubric():
    assert refused(rules.subject_rubric, "E1", active=False, requested="ladder",
                   default="ladder")[0] == "person"
    field, message = refused(rules.subject_rubric, "E1", active=True, requested=None,
                             default=None)
    assert field == "rubric" and "E1" in message


def test_a_named_rubric_wins_over_the_persons_own():
    assert rules.subject_rubric("E1", active=True, requested="other", default="ladder") == "other"
    assert rules.subject_rubric("E1", active=True, requested=None, default="ladder") == "ladder"


@pytest.mark.parametrize("current", [None, "intern"])
def test_the_current_level_must_belong_to_the_pinned_version(current):
    field, message = refused(rules.levels, LADDER, current, None)
    assert field == "person" and "'ladder' version 3" in message


def test_the_target_defaults_to_the_next_level_up():
    assert rules.levels(LADDER, "junior", None) == ("junior", "mid")
    assert rules.levels(LADDER, "junior", "senior") == ("junior", "senior")


@pytest.mark.parametrize(("current", "target", "reason"), [
    ("senior", None, "top level"),          # nothing above
    ("mid", "principal", "not a level"),    # unknown
    ("mid", "mid", "not above"),            # the same level
    ("mid", "junior", "not above"),         # below
])
def test_the_target_must_be_a_level_above_the_current_one(current, target, reason):
    field, message = refused(rules.levels, LADDER, current, target)
    assert field == "target_level" and reason in message


# --- raters ------------------------------------------------------------------------------------

def test_self_ratings_are_the_subjects_own():
    assert rules.rater_id(RaterRole.SELF, None, "E1") == "E1"
    assert rules.rater_id("self", "E1", "E1") == "E1"
    field, message = refused(rules.rater_id, "self", "E2", "E1", field="ratings[4].rater_id")
    assert field == "ratings[4].rater_id" and "'E1'" in message


@pytest.mark.parametrize("role", OTHERS, ids=str)
def test_every_other_role_names_its_rater(role):
    assert rules.rater_id(role, "E9", "E1") == "E9"
    assert rules.rater_id(role.value, "E1", "E1") == "E1"  # rating oneself as a peer is allowed
    field, message = refused(rules.rater_id, role.value, None, "E1")
    assert field == "rater_id" and f"required for {role.value} ratings" == message


# --- ratings -----------------------------------------------------------------------------------

def test_ratings_within_the_pinned_version_pass():
    assert rules.validate_ratings(LADDER, [rating("craft", 1), rating("delivery", 5)]) == []


def test_each_broken_rating_rule_is_reported_at_its_position():
    errors = rules.validate_ratings(LADDER, [
        rating("craft", 3), rating("design", 3), rating("craft", 2), rating("delivery", 0),
        rating("delivery", 6)])
    assert [(e.field, e.message) for e in errors] == [
        ("ratings[1].competency", "'design' is not a competency of rubric version 3"),
        ("ratings[2].competency", "'craft' is rated twice"),
        ("ratings[3].proficiency", "must be within the scale 1..5"),
        ("ratings[4].competency", "'delivery' is rated twice"),
        ("ratings[4].proficiency", "must be within the scale 1..5"),
    ]


def test_positions_map_a_raters_ratings_back_to_the_callers_list():
    errors = rules.validate_ratings(LADDER, [rating("craft", 9), rating("craft", 2)],
                                    path="lines", positions=[7, 12])
    assert [e.field for e in errors] == ["lines[7].proficiency", "lines[12].competency"]


@pytest.mark.parametrize(("given", "stored"), [
    (None, None), ("", None), ("  \n\t", None), ("shipped it", "shipped it"),
    (" kept as written ", " kept as written ")])
def test_blank_evidence_is_no_evidence(given, stored):
    assert rules.evidence(given) == stored
