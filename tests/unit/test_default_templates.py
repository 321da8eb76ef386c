"""The default outline templates are complete against DOMAIN.md section 4, and publishable.

Reads the YAML files directly (no database): every field the domain brief names is present
with the right type, options and bounds, and every publish rule holds when competency and
level fields are checked against the shipped product-leadership rubric."""

from pathlib import Path

import pytest
import yaml

from service.outlines.schemas import TemplateCreate
from service.outlines.validation import definition_errors
from service.rubrics.published import PublishedRubric
from service.rubrics.schemas import RubricCreate

ROOT = Path(__file__).resolve().parents[2] / "service"
TEMPLATES = ROOT / "outlines" / "content"
RUBRIC = yaml.safe_load((ROOT / "rubrics" / "content" / "product-leadership.2.yaml").read_text())

# template key -> {field key: (type, required)}, one entry per item of DOMAIN.md section 4.
EXPECTED = {
    "opportunity-outline": {
        "problem": ("markdown", True),                 # problem or opportunity
        "who_is_affected": ("markdown", False),        # who is affected
        "intent": ("markdown", False),                 # why now / intent
        "desired_outcome": ("markdown", True),         # desired outcome (value, not output)
        "target_measure": ("text", False),             # target condition: measure
        "target_value": ("text", False),               # target condition: target
        "target_date": ("date", False),                # target condition: date
        "pass_fail_criteria": ("markdown", False),     # target condition: pass/fail criteria
        "solution_outline": ("markdown", False),       # solution outline
        "quadrant": ("enum", True),                    # prioritisation quadrant
        "leadership_dimensions": ("enum", False),      # leadership dimension(s)
        "owner": ("person", False),                    # owner
        "first_experiments": ("list", False),          # first experiments
    },
    "tour-of-duty": {
        "career_goal": ("level", True),                # career goal (target level)
        "duration_months": ("integer", True),          # duration in months (12-18)
        "kind_of_work": ("enum", True),                # feature, growth, scaling
        "skills_to_gain": ("competency", True),        # skills to gain (rubric competencies)
        "mentoring_commitments": ("list", False),      # mentoring commitments
        "thought_leadership_outputs": ("list", False),  # thought-leadership outputs
        "checkpoints": ("list", False),                # checkpoints
    },
    "improvement-kata": {
        "direction": ("markdown", True),               # direction
        "current_condition": ("markdown", True),       # current condition
        "target_condition": ("markdown", True),        # target condition: the aspect
        "target_date": ("date", False),                # target condition: date
        "pass_fail_criteria": ("markdown", False),     # target condition: pass/fail
        "obstacles": ("list", False),                  # obstacles
        "next_experiment": ("markdown", False),        # next experiment
        "expected_result": ("markdown", False),        # expected result
        "learned": ("markdown", False),                # what was learned
    },
}


def load(key: str) -> TemplateCreate:
    return TemplateCreate.model_validate(yaml.safe_load((TEMPLATES / f"{key}.yaml").read_text()))


def fields(key: str) -> dict:
    return {f.key: f for f in load(key).fields}


def shipped_rubric(key: str) -> PublishedRubric | None:
    if key != RUBRIC["key"]:
        return None
    return PublishedRubric(key, 1, RubricCreate.model_validate(RUBRIC))


def test_exactly_the_three_default_templates_ship():
    assert sorted(p.stem for p in TEMPLATES.glob("*.yaml")) == sorted(EXPECTED)
    assert all(load(key).key == key for key in EXPECTED)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_every_domain_field_is_present_with_its_type(key):
    found = {k: (f.type, f.required) for k, f in fields(key).items()}
    missing = {k: v for k, v in EXPECTED[key].items() if found.get(k) != v}
    assert missing == {}, f"{key}: expected {missing}, found { {k: found.get(k) for k in missing} }"


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_templates_are_publishable_and_documented(key):
    doc = load(key)
    assert definition_errors(doc, shipped_rubric) == []
    assert doc.name.strip() and len(doc.description) > 80
    for f in doc.fields:
        assert f.label.strip() and len(f.help) > 20, f"{key}.{f.key} needs a label and help"


def test_opportunity_outline_quadrant_dimensions_and_target_condition():
    f = fields("opportunity-outline")
    assert f["quadrant"].options == ["improve_products", "improve_relationships",
                                     "organisational_debt", "organisational_innovation"]
    assert not f["quadrant"].multiple
    assert f["leadership_dimensions"].multiple
    assert f["leadership_dimensions"].options == [
        "self", "people", "organisational_improvement", "time", "value"]
    target_condition = [k for k, v in f.items() if v.group == "Target condition"]
    assert target_condition == ["target_measure", "target_value", "target_date",
                                "pass_fail_criteria"]


def test_tour_of_duty_bounds_kinds_and_rubric_references():
    f = fields("tour-of-duty")
    assert (f["duration_months"].min, f["duration_months"].max) == (12, 18)
    assert f["kind_of_work"].options == ["feature", "growth", "scaling"]
    assert f["skills_to_gain"].multiple
    assert f["skills_to_gain"].rubric == f["career_goal"].rubric == "product-leadership"


def test_improvement_kata_target_condition_is_dated_with_pass_fail():
    f = fields("improvement-kata")
    assert [k for k, v in f.items() if v.group == "Target condition"] == [
        "target_condition", "target_date", "pass_fail_criteria"]
    order = list(f)
    steps = ["direction", "current_condition", "target_condition", "obstacles",
             "next_experiment", "expected_result", "learned"]
    assert [order.index(s) for s in steps] == sorted(order.index(s) for s in steps)
