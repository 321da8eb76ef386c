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
    Path(__file__).resolve().parents[2] / "service/rubrics/content/product-leadership.yaml"
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
}


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
def test_descriptors_non_empty_and_distinct(rubric: dict[str, Any], key: str) -> None:
    descriptors = [e.get("descriptor") for e in _competency(rubric, key)["expectations"]]
    assert all(isinstance(d, str) and d.strip() for d in descriptors), descriptors
    normalised = [" ".join(d.lower().split()) for d in descriptors]
    assert len(set(normalised)) == len(normalised), "descriptors repeat within competency"


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
    assert 2 <= len(recs) <= 4
    for rec in recs:
        assert rec["kind"] in RECOMMENDATION_KINDS, rec["kind"]
        assert isinstance(rec.get("title"), str) and rec["title"].strip()
        assert isinstance(rec.get("detail"), str) and rec["detail"].strip()


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
