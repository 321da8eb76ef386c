"""Checks on the default product-leadership rubric shipped with the service.

These tests read the YAML file directly (no database, no service imports) and prove
that it follows the import contract and encodes the facts of the domain brief.
"""

from __future__ import annotations

import re
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml

RUBRIC_PATH = (
    Path(__file__).resolve().parents[2] / "service/rubrics/content/product-leadership.2.yaml"
)

LEVELS: list[tuple[str, str]] = [
    ("apm", "Associate Product Manager"),
    ("pm", "Product Manager"),
    ("senior-pm", "Senior Product Manager"),
    ("lead-pm", "Lead Product Manager / Product Lead"),
    ("director", "Director of Product"),
    ("vp", "VP of Product"),
    ("cpo", "Chief Product Officer / Head of Product"),
]
LEVEL_KEYS = [key for key, _ in LEVELS]

COMPETENCIES: list[tuple[str, str]] = [
    ("scope-judgement", "Scope and judgement"),
    ("execution", "Execution"),
    ("business-understanding", "Business understanding"),
    ("strategy", "Strategy"),
    ("trust-collaboration", "Trust and collaboration"),
    ("developing-people", "Developing people"),
    ("team-design", "Team and organisation design"),
    ("operating-model", "Product operating model"),
    ("communication-influence", "Communication and influence"),
    ("value-outcomes", "Value and outcomes"),
    ("org-improvement", "Organisational improvement"),
    ("self-leadership", "Self-leadership and time"),
]
COMPETENCY_KEYS = [key for key, _ in COMPETENCIES]

# Leadership competencies: expected to start near the bottom of the scale and only climb
# once the person manages other PMs.
LEADERSHIP_COMPETENCIES = ["developing-people", "team-design", "operating-model"]

RECOMMENDATION_KINDS = {
    "tour_of_duty",
    "mentoring",
    "thought_leadership",
    "context_sharing",
    "cross_functional_trust",
    "influence_strategy",
    "career_reflection",
    # added in version 2, where none of the above described the advice honestly
    "improvement_kata",
    "seek_mentor",
    "coaching",
    "delegation",
    "time_design",
    "community_of_practice",
    "operating_model",
}
QUADRANTS = {"improve_products", "improve_relationships", "organisational_debt",
             "organisational_innovation"}
DIMENSIONS = {"self", "people", "organisational_improvement", "time", "value"}


@cache
def _load() -> dict[str, Any]:
    with RUBRIC_PATH.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), "rubric file must hold a mapping at top level"
    return data


@pytest.fixture
def rubric() -> dict[str, Any]:
    return _load()


def _competency(rubric: dict[str, Any], key: str) -> dict[str, Any]:
    matches = [c for c in rubric["competencies"] if c.get("key") == key]
    assert len(matches) == 1, f"expected exactly one competency {key!r}, found {len(matches)}"
    return matches[0]


def _strings(node: Any):
    """Yield every string value in the loaded document (keys excluded)."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def _content_text(rubric: dict[str, Any]) -> str:
    return " ".join(" ".join(_strings(rubric)).lower().split())


def _mentions(text: str, phrase: str) -> bool:
    """True when phrase occurs in text starting at a word boundary (so "hr" != "through")."""
    return re.search(r"(?<![a-z0-9])" + re.escape(phrase.lower()), text) is not None


# --------------------------------------------------------------------------- header


def test_header_and_scale(rubric: dict[str, Any]) -> None:
    assert rubric["key"] == "product-leadership"
    assert rubric["name"].strip()
    assert rubric["policy"] == "progress"
    sentences = [s for s in rubric["description"].split(". ") if s.strip()]
    assert 2 <= len(sentences) <= 4, "description should be 2-4 sentences"
    scale = rubric["scale"]
    assert scale["min"] == 1
    assert scale["max"] == 6
    assert set(scale["labels"]) == {str(i) for i in range(1, 7)}
    assert all(isinstance(label, str) and label.strip() for label in scale["labels"].values())


# --------------------------------------------------------------------------- levels


def test_levels_in_contract_order(rubric: dict[str, Any]) -> None:
    levels = rubric["levels"]
    assert [lvl["key"] for lvl in levels] == LEVEL_KEYS
    assert [lvl["order"] for lvl in levels] == list(range(1, 8))
    assert [lvl["name"] for lvl in levels] == [name for _, name in LEVELS]


def test_level_summaries_present(rubric: dict[str, Any]) -> None:
    for lvl in rubric["levels"]:
        assert isinstance(lvl.get("summary"), str) and lvl["summary"].strip(), lvl["key"]
    summaries = [lvl["summary"].strip() for lvl in rubric["levels"]]
    assert len(set(summaries)) == len(summaries), "level summaries must differ"


# --------------------------------------------------------------------------- competencies


def test_competency_keys_and_names(rubric: dict[str, Any]) -> None:
    comps = rubric["competencies"]
    assert [c["key"] for c in comps] == COMPETENCY_KEYS
    assert [c["name"] for c in comps] == [name for _, name in COMPETENCIES]


@pytest.mark.parametrize("key", COMPETENCY_KEYS)
def test_competency_weight_positive(rubric: dict[str, Any], key: str) -> None:
    weight = _competency(rubric, key)["weight"]
    assert isinstance(weight, int | float) and not isinstance(weight, bool)
    assert weight > 0


@pytest.mark.parametrize("key", COMPETENCY_KEYS)
def test_competency_description_present(rubric: dict[str, Any], key: str) -> None:
    description = _competency(rubric, key).get("description")
    assert isinstance(description, str) and description.strip()


@pytest.mark.parametrize("key", COMPETENCY_KEYS)
def test_one_expectation_per_level_in_order(rubric: dict[str, Any], key: str) -> None:
    expectations = _competency(rubric, key)["expectations"]
    assert [e["level"] for e in expectations] == LEVEL_KEYS


@pytest.mark.parametrize("key", COMPETENCY_KEYS)
def test_proficiency_in_scale_and_non_decreasing(rubric: dict[str, Any], key: str) -> None:
    scale = rubric["scale"]
    values = [e["proficiency"] for e in _competency(rubric, key)["expectations"]]
    for value in values:
        assert isinstance(value, int) and not isinstance(value, bool), values
        assert scale["min"] <= value <= scale["max"], values
    assert all(a <= b for a, b in pairwise(values)), values


@pytest.mark.parametrize("key", COMPETENCY_KEYS)
def test_every_distinct_expectation_value_has_exactly_one_descriptor(
    rubric: dict[str, Any], key: str
) -> None:
    """A rater reading "5" for a competency must find one meaning of 5, whatever the level."""
    by_value: dict[int, set[str]] = {}
    for e in _competency(rubric, key)["expectations"]:
        descriptor = e.get("descriptor")
        assert isinstance(descriptor, str) and descriptor.strip(), (key, e["level"])
        by_value.setdefault(e["proficiency"], set()).add(" ".join(descriptor.lower().split()))
    assert {v: len(d) for v, d in by_value.items()} == {v: 1 for v in by_value}, by_value
    texts = [next(iter(d)) for d in by_value.values()]
    assert len(set(texts)) == len(texts), "two values of one competency share a descriptor"


def test_scale_maximum_at_cpo_only_for_the_competencies_that_define_it(
    rubric: dict[str, Any]
) -> None:
    top = rubric["scale"]["max"]
    at_max = [c["key"] for c in rubric["competencies"]
              if any(e["level"] == "cpo" and e["proficiency"] == top for e in c["expectations"])]
    assert 2 <= len(at_max) <= 3, at_max
    assert set(at_max) == {"strategy", "trust-collaboration", "operating-model"}
    below_cpo = [(c["key"], e["level"]) for c in rubric["competencies"]
                 for e in c["expectations"] if e["level"] != "cpo" and e["proficiency"] == top]
    assert not below_cpo, below_cpo


# Words that describe managing a team, which a senior PM cannot show before promotion.
MANAGING = ("they manage", "the pms they manage", "their reports", "direct reports")


def test_lead_pm_gates_describe_what_a_senior_pm_can_show(rubric: dict[str, Any]) -> None:
    gates = {key: e for key, level, e in _gates(rubric) if level == "lead-pm"}
    assert set(gates) == {"execution", "developing-people"}
    execution = gates["execution"]["descriptor"].lower()
    assert "top-priority project" in execution and "without taking the work back" in execution
    mentoring = gates["developing-people"]["descriptor"].lower()
    assert "mentored someone" in mentoring and "did not take the" in mentoring
    assert "shipped it themselves" in mentoring
    for key, e in gates.items():
        text = (e["descriptor"] + " " + e["gate_reason"]).lower()
        assert not any(phrase in text for phrase in MANAGING), (key, text)
        assert "senior pm" in e["gate_reason"].lower(), key


def test_top_level_descriptors_are_observable(rubric: dict[str, Any]) -> None:
    """vp and cpo descriptors name something a rater could have seen happen, not a stance:
    each says what the person has done or does, with a concrete object."""
    vague = ("surveys", "vantage point", "models a sustainable pace", "speaks the language")
    for c in rubric["competencies"]:
        for e in c["expectations"]:
            if e["level"] in ("vp", "cpo"):
                text = e["descriptor"].lower()
                assert not any(v in text for v in vague), (c["key"], e["level"], text)
                assert len(text.split()) >= 15, (c["key"], e["level"])


def test_whole_scale_is_used(rubric: dict[str, Any]) -> None:
    used = {e["proficiency"] for c in rubric["competencies"] for e in c["expectations"]}
    assert used == set(range(rubric["scale"]["min"], rubric["scale"]["max"] + 1))


@pytest.mark.parametrize("key", LEADERSHIP_COMPETENCIES)
def test_leadership_competencies_start_low_and_rise_from_lead(
    rubric: dict[str, Any], key: str
) -> None:
    values = {e["level"]: e["proficiency"] for e in _competency(rubric, key)["expectations"]}
    assert values["apm"] <= 2
    assert values["cpo"] > values["lead-pm"] >= values["senior-pm"]


# --------------------------------------------------------------------------- gates


def _gates(rubric: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (c["key"], e["level"], e)
        for c in rubric["competencies"]
        for e in c["expectations"]
        if e.get("gate") is True
    ]


def test_gate_flags_are_booleans(rubric: dict[str, Any]) -> None:
    for c in rubric["competencies"]:
        for e in c["expectations"]:
            assert isinstance(e.get("gate"), bool), (c["key"], e["level"])


def test_gates_are_few_and_explained(rubric: dict[str, Any]) -> None:
    gates = _gates(rubric)
    assert 3 <= len(gates) <= 6, [(k, lvl) for k, lvl, _ in gates]
    for key, level, expectation in gates:
        reason = expectation.get("gate_reason")
        assert isinstance(reason, str) and reason.strip(), f"{key}@{level} lacks gate_reason"


# --------------------------------------------------------------------------- recommendations


@pytest.mark.parametrize("key", COMPETENCY_KEYS)
def test_recommendations_shape(rubric: dict[str, Any], key: str) -> None:
    recs = _competency(rubric, key)["recommendations"]
    assert 3 <= len(recs) <= 5
    for rec in recs:
        assert rec["kind"] in RECOMMENDATION_KINDS, rec["kind"]
        assert isinstance(rec.get("title"), str) and rec["title"].strip()
        assert isinstance(rec.get("detail"), str) and rec["detail"].strip()
        assert rec["levels"] and set(rec["levels"]) <= set(LEVEL_KEYS[1:]), rec["title"]
        assert ("kind_of_work" in rec) == (rec["kind"] == "tour_of_duty"), rec["title"]


@pytest.mark.parametrize("key", COMPETENCY_KEYS)
def test_every_target_level_gets_advice_other_than_a_tour(rubric: dict[str, Any],
                                                          key: str) -> None:
    recs = _competency(rubric, key)["recommendations"]
    for level in LEVEL_KEYS[1:]:
        assert any(level in r["levels"] and r["kind"] != "tour_of_duty" for r in recs), level


def test_tours_for_one_target_agree_on_the_kind_of_work(rubric: dict[str, Any]) -> None:
    for level in LEVEL_KEYS[1:]:
        kinds = {r["kind_of_work"] for c in rubric["competencies"]
                 for r in c["recommendations"]
                 if r["kind"] == "tour_of_duty" and level in r["levels"]}
        assert len(kinds) <= 1, (level, kinds)
    tours = [c["key"] for c in rubric["competencies"]
             if any(r["kind"] == "tour_of_duty" for r in c["recommendations"])]
    assert 1 <= len(tours) <= 5, tours  # a tour plan names at most five skills


def test_misfiled_kinds_of_version_1_are_fixed(rubric: dict[str, Any]) -> None:
    kinds = {r["title"]: r["kind"] for c in rubric["competencies"]
             for r in c["recommendations"]}
    assert kinds["Run one improvement kata to the end"] == "improvement_kata"
    assert kinds["Find a mentor outside product"] == "seek_mentor"
    assert kinds["Learn non-directive coaching"] == "coaching"


def test_quadrant_and_dimensions_declared(rubric: dict[str, Any]) -> None:
    for c in rubric["competencies"]:
        assert c["quadrant"] in QUADRANTS, c["key"]
        assert c["leadership_dimensions"] and set(c["leadership_dimensions"]) <= DIMENSIONS
    quadrant = {c["key"]: c["quadrant"] for c in rubric["competencies"]}
    assert quadrant["execution"] != "improve_products"
    assert quadrant["strategy"] != "improve_products"
    used = {d for c in rubric["competencies"] for d in c["leadership_dimensions"]}
    assert used == DIMENSIONS and set(quadrant.values()) == QUADRANTS


def test_all_recommendation_kinds_appear(rubric: dict[str, Any]) -> None:
    kinds = {r["kind"] for c in rubric["competencies"] for r in c["recommendations"]}
    assert kinds == RECOMMENDATION_KINDS, RECOMMENDATION_KINDS ^ kinds


# --------------------------------------------------------------------------- domain concepts

# Each entry: (concept from DOMAIN.md, groups). Every group must match; a group matches
# when any of its alternatives occurs (case-insensitive) in the rubric's text values.
CONCEPTS: list[tuple[str, list[tuple[str, ...]]]] = [
    ("improvement kata", [("improvement kata", "kata")]),
    ("plan-do-check-act experiments", [("plan-do-check-act",)]),
    ("mission command", [("mission command",)]),
    ("over-communicate clarity two levels down", [("two levels down", "two levels below")]),
    ("ask the most junior opinion first", [("junior",)]),
    ("delegate until uncomfortable, then more", [("uncomfortable", "past the point of comfort")]),
    ("have a vision", [("has a vision", "have a vision")]),
    ("CPO links 6-12 month plan to 3-5 year vision", [("6-12 month",), ("3-5 year",)]),
    ("strategic alignment with the CEO", [("alignment with the ceo",)]),
    ("VP cohesion, no patchwork", [("patchwork",)]),
    ("compensation and calibration, promotions", [("calibration",), ("promotion",)]),
    ("communities of practice", [("communities of practice", "community of practice")]),
    ("burnout", [("burnout", "burn out")]),
    ("tour of duty of 12-18 months", [("12-18 month",)]),
    ("feature, growth and scaling work", [("feature work",), ("growth work",), ("scaling work",)]),
    ("go-to-market and go-to-company plans", [("go-to-market",), ("go-to-company",)]),
    ("outcomes over outputs", [("outcomes rather than feature lists",)]),
    ("value proposition", [("value proposition",)]),
    ("org change takes 6 months to 2 years", [("6 months to 2 years",)]),
    ("new team needs 2-6 months", [("2-6 months", "two to six months")]),
    ("senior PM as associate product leader", [("associate product leader",)]),
    ("career reflection horizon", [("1, 3 or 5 years",)]),
    ("context sharing: problem, why, solution outline", [("why it matters",), ("outline",)]),
    ("C-level peers", [("sales",), ("marketing",), ("hr",), ("finance",), ("legal",)]),
    ("drift between PMs", [("drift",)]),
    ("finishing over starting", [("finishing before starting",)]),
    ("five leadership dimensions", [("five leadership dimensions",)]),
    ("interview plans", [("interview plan",)]),
]


@pytest.mark.parametrize(("concept", "groups"), CONCEPTS, ids=[concept for concept, _ in CONCEPTS])
def test_domain_concept_present(
    rubric: dict[str, Any], concept: str, groups: list[tuple[str, ...]]
) -> None:
    text = _content_text(rubric)
    missing = [group for group in groups if not any(_mentions(text, alt) for alt in group)]
    assert not missing, f"{concept}: none of {missing} found in rubric content"
