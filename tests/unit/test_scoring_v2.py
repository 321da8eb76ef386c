"""Policy `progress` v2 (rules 2): each finding of issue 13 re-run on v2 (the defensible
answer) and on v1 (the old answer still reproduces), then properties (hypothesis)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.readiness.scoring import (
    BANDS,
    PROGRESS_V1,
    PROGRESS_V2,
    CompetencySpec,
    Policy,
    Rating,
    RubricSpec,
    ScoringInputError,
    apply_changes,
    canonical_json,
    path_changes,
    score,
    score_cohort,
)
from tests.golden_inputs import frozen_rubric
from tests.unit.test_scoring_properties import PROFILE, cases, proficiencies, rubrics

PL = frozen_rubric()  # product-leadership v1, as the analyst used it
LEVEL = {level: i for i, level in enumerate(PL.levels)}
RANK = {band: i for i, band in enumerate(BANDS)}  # 0: ready_now, the best


def at_bar(level: str, role: str = "manager", rater: str = "M", skip=(), **over: float):
    values = {c.key: float(c.expected[LEVEL[level]]) for c in PL.competencies} | {
        k.replace("_", "-"): v for k, v in over.items()}
    return [Rating(k, role, rater, v, "seen in the launch review") for k, v in values.items()
            if k not in skip]


def everywhere(value: float, role: str, rater: str) -> list[Rating]:
    return [Rating(c.key, role, rater, value, "my view") for c in PL.competencies]


def gate_of(report: dict, competency: str) -> dict:
    return next(g for g in report["gates"] if g["competency"] == competency)


def entry(report: dict, key: str) -> dict:
    return next(c for c in report["competencies"] if c["key"] == key)


# ----------------------------------------------------------------------- the six findings

def test_self_rating_opens_doors():
    manager = at_bar("senior-pm")
    with_self = manager + everywhere(6, "self", "E1")
    old = score(PL, "senior-pm", with_self, None, PROGRESS_V1)
    assert (old["score"], gate_of(old, "developing-people")["met"]) == (89.4, True)
    alone = everywhere(6, "self", "E1")
    assert score(PL, "senior-pm", alone, None, PROGRESS_V1)["band"] == "ready_now"

    new = score(PL, "senior-pm", with_self, None, PROGRESS_V2)
    assert new["score"] == 89.4  # self ratings still count toward observed
    assert gate_of(new, "developing-people") == {
        "competency": "developing-people", "level": "lead-pm", "bar": 3,
        "observed_without_self": 2.0, "met": False}
    assert new["band"] == "developing"
    only_self = score(PL, "senior-pm", alone, None, PROGRESS_V2)
    assert (only_self["score"], only_self["band"]) == (100.0, "developing")
    assert only_self["confidence"]["level"] == "low"
    assert only_self["path_to_ready"] == []
    assert "Self ratings never open a door" in only_self["path_to_ready_reason"]


def test_the_title_not_the_evidence_decides_skip_level_readiness():
    lead_bar = at_bar("lead-pm")
    as_senior = score(PL, "senior-pm", lead_bar, "director", PROGRESS_V1)
    as_lead = score(PL, "lead-pm", lead_bar, "director", PROGRESS_V1)
    assert (as_senior["score"], as_lead["score"]) == (66.7, 33.3)
    exec_short = at_bar("director", execution=4)
    assert score(PL, "senior-pm", exec_short, "director", PROGRESS_V1)["band"] == "ready_now"

    as_senior = score(PL, "senior-pm", lead_bar, "director", PROGRESS_V2)
    as_lead = score(PL, "lead-pm", lead_bar, "director", PROGRESS_V2)
    assert as_senior["score"] == as_lead["score"] == 33.3
    assert as_senior["band"] == as_lead["band"] == "not_yet"
    skip = score(PL, "senior-pm", exec_short, "director", PROGRESS_V2)
    assert (skip["score"], skip["band"]) == (92.6, "developing")  # lead-pm's gate applies
    assert [(g["level"], g["competency"], g["met"]) for g in skip["gates"]] == [
        ("lead-pm", "execution", False), ("lead-pm", "developing-people", True),
        ("director", "scope-judgement", True)]


def test_disagreement_is_invisible():
    ratings = at_bar("lead-pm") + everywhere(1, "peer", "P1") + everywhere(6, "peer", "P2")
    old = score(PL, "senior-pm", ratings, None, PROGRESS_V1)
    assert "raters_disagree" not in {f for c in old["competencies"] for f in c["flags"]}

    new = score(PL, "senior-pm", ratings, None, PROGRESS_V2)
    assert all("raters_disagree" in c["flags"] for c in new["competencies"])
    assert new["confidence"]["level"] == "low"  # they disagree on gate competencies
    # on a non-gate competency only: at most medium
    calm = [*at_bar("lead-pm"), Rating("team-design", "peer", "P1", 1.0, "x"),
            Rating("team-design", "peer", "P2", 4.0, "x")]
    only = score(PL, "senior-pm", calm, None, PROGRESS_V2)
    assert [c["key"] for c in only["competencies"] if "raters_disagree" in c["flags"]] == [
        "team-design"]
    assert only["confidence"]["level"] == "medium"


def test_unrated_competencies_crowd_out_real_gaps():
    first_six = [c.key for c in PL.competencies[:6]]
    ratings = at_bar("senior-pm", skip=first_six)
    old = score(PL, "senior-pm", ratings, None, PROGRESS_V1)
    assert {g["competency"] for g in old["top_gaps"]} <= set(first_six)
    new = score(PL, "senior-pm", ratings, None, PROGRESS_V2)
    assert not {g["competency"] for g in new["top_gaps"]} & set(first_six)
    assert new["unrated"] == [{"competency": k, "missing": ["manager"]} for k in first_six]
    assert entry(new, "execution")["gap"] == 0.0 and entry(new, "execution")["observed"] is None

    eleven = at_bar("lead-pm", skip=["team-design"])
    old = score(PL, "senior-pm", eleven, None, PROGRESS_V1)
    assert (old["band"], old["top_gaps"][0]["competency"]) == ("ready_now", "team-design")
    new = score(PL, "senior-pm", eleven, None, PROGRESS_V2)
    assert (new["band"], new["top_gaps"]) == ("ready_now", [])  # 1/13 of the weight unrated
    four = at_bar("lead-pm", skip=["team-design", "operating-model", "org-improvement",
                                   "self-leadership"])  # 4 of 13: over the 25% allowed
    # unrated competencies make no progress, so under the default thresholds the cap only
    # binds for a policy that asks less for ready_now
    lenient = replace(PROGRESS_V2, version=3, ready_now=60, ready_soon=50)
    capped = score(PL, "senior-pm", four, None, lenient)
    assert capped["score"] == 70.4 and capped["band"] == "ready_soon"
    assert "rate team-design, operating-model" in capped["path_to_ready_reason"]


def test_path_to_ready_is_not_the_cheapest_path():
    ratings = at_bar("director", strategy=4.5, business_understanding=5.5,
                     scope_judgement=5.5)
    old = score(PL, "director", ratings, "vp", PROGRESS_V1)
    new = score(PL, "director", ratings, "vp", PROGRESS_V2)
    cost = {name: sum(s["to"] - s["from"] for s in r["path_to_ready"])
            for name, r in (("old", old), ("new", new))}
    assert cost["new"] < cost["old"]
    assert cost["new"] == brute_force_cost(PL, "director", ratings, "vp")
    after = apply_changes(ratings, path_changes(new, ratings, PROGRESS_V2))
    assert score(PL, "director", after, "vp", PROGRESS_V2)["band"] == "ready_now"


def test_gates_are_reported_with_their_level_and_cumulative():
    report = score(PL, "pm", at_bar("pm"), "director", PROGRESS_V2)
    assert [(g["level"], g["competency"]) for g in report["gates"]] == [
        ("lead-pm", "execution"), ("lead-pm", "developing-people"),
        ("director", "scope-judgement")]
    v1 = score(PL, "pm", at_bar("pm"), "director", PROGRESS_V1)
    assert [g["competency"] for g in v1["gates"]] == ["scope-judgement"]


def test_a_gate_without_any_non_self_rating_has_no_path_and_says_why():
    ratings = [*at_bar("lead-pm", skip=["execution"]), Rating("execution", "self", "E1", 6.0, "x")]
    report = score(PL, "senior-pm", ratings, None, PROGRESS_V2)
    assert report["band"] == "developing" and report["path_to_ready"] == []
    assert "gate execution" in report["path_to_ready_reason"]


# ------------------------------------------------------------------------- brute force

def _start(report: dict, key: str) -> float:
    """Where a raise of `key` counts its steps from (cheapest.raise_options)."""
    e = entry(report, key)
    gates = [g for g in report["gates"] if g["competency"] == key]
    if gates and not all(g["met"] for g in gates) and gates[0]["observed_without_self"] \
            is not None:
        return min(e["observed"], gates[0]["observed_without_self"])
    return e["observed"]


def brute_force(rubric: RubricSpec, current: str, ratings, target: str | None):
    """Every combination of whole-value raises of the rated competencies, each re-scored;
    the best by (steps, count, rubric order, to values), or None when none is ready_now."""
    report = score(rubric, current, ratings, target, PROGRESS_V2)
    keys = [c.key for c in rubric.competencies]
    choices = []
    for k in keys:
        if entry(report, k)["observed"] is None:
            choices.append([None])
            continue
        start = _start(report, k)
        choices.append([None, *(v for v in range(rubric.scale_min, rubric.scale_max + 1)
                                if v > start + 1e-9)])
    best = None
    for combo in itertools.product(*choices):
        steps = [{"competency": k, "to": v} for k, v in zip(keys, combo, strict=True)
                 if v is not None]
        changed = apply_changes(ratings, path_changes({"path_to_ready": steps}, ratings,
                                                      PROGRESS_V2))
        if score(rubric, current, changed, target, PROGRESS_V2)["band"] != "ready_now":
            continue
        cost = sum(s["to"] - _start(report, s["competency"]) for s in steps)
        key = (round(cost, 6), len(steps), tuple(keys.index(s["competency"]) for s in steps),
               tuple(s["to"] for s in steps))
        if best is None or key < best[0]:
            best = (key, steps)
    return best


def brute_force_cost(rubric, current, ratings, target) -> float:
    return brute_force(rubric, current, ratings, target)[0][0]


@st.composite
def small_cases(draw: st.DrawFn):
    """Up to 4 competencies on a scale of at most 5 values: brute force stays small."""
    rubric = draw(rubrics().filter(lambda r: len(r.competencies) <= 4
                                   and r.scale_max - r.scale_min <= 4))
    cur = draw(st.integers(0, len(rubric.levels) - 2))
    tgt = draw(st.integers(cur + 1, len(rubric.levels) - 1))
    ratings = []
    for c in rubric.competencies:
        for role, rater in (("manager", "m"), ("peer", "p"), ("self", "s")):
            if draw(st.booleans()):
                ratings.append(Rating(c.key, role, rater, draw(proficiencies(rubric))))
    return rubric, rubric.levels[cur], rubric.levels[tgt], ratings


@PROFILE
@given(small_cases())
def test_path_to_ready_is_the_cheapest_by_brute_force(case):
    rubric, current, target, ratings = case
    report = score(rubric, current, ratings, target, PROGRESS_V2)
    if report["band"] == "ready_now":
        assert report["path_to_ready"] == [] and report["path_to_ready_reason"]
        return
    best = brute_force(rubric, current, ratings, target)
    if best is None:
        assert report["path_to_ready"] == [] and report["path_to_ready_reason"]
        return
    assert report["path_to_ready_reason"] is None
    assert sorted((s["competency"], s["to"]) for s in report["path_to_ready"]) == sorted(
        (s["competency"], s["to"]) for s in best[1])


# --------------------------------------------------------------------------- properties

@PROFILE
@given(cases(), st.data())
def test_title_independence(case, data):
    """Score, competencies' numbers, gaps and unrated do not depend on the current level;
    the gates of a higher current level are those of the lower one above it."""
    rubric, current, target, ratings = case
    tgt = rubric.levels.index(target)
    other = rubric.levels[data.draw(st.integers(0, tgt - 1))]
    a = score(rubric, current, ratings, target, PROGRESS_V2)
    b = score(rubric, other, ratings, target, PROGRESS_V2)

    def numbers(r):
        return [{k: v for k, v in c.items() if k not in ("expected_current", "flags")}
                | {"flags": [f for f in c["flags"] if f != "gate_unmet"]}
                for c in r["competencies"]]

    assert a["score"] == b["score"] and numbers(a) == numbers(b)
    assert a["top_gaps"] == b["top_gaps"] and a["unrated"] == b["unrated"]
    low, high = sorted((a, b), key=lambda r: rubric.levels.index(r["current_level"]))
    above = rubric.levels.index(high["current_level"])
    assert high["gates"] == [g for g in low["gates"]
                             if rubric.levels.index(g["level"]) > above]
    if all(g["met"] for g in low["gates"]):
        assert low["band"] == high["band"]
    assert RANK[high["band"]] <= RANK[low["band"]]


@PROFILE
@given(cases())
def test_cumulative_gates(case):
    rubric, current, target, ratings = case
    report = score(rubric, current, ratings, target, PROGRESS_V2)
    cur, tgt = rubric.levels.index(current), rubric.levels.index(target)
    expected = [(rubric.levels[lvl], c.key) for lvl in range(cur + 1, tgt + 1)
                for c in rubric.competencies if rubric.levels[lvl] in c.gates]
    assert [(g["level"], g["competency"]) for g in report["gates"]] == expected
    if not all(g["met"] for g in report["gates"]):
        assert RANK[report["band"]] >= RANK["developing"]


@PROFILE
@given(cases())
def test_self_only_is_never_better_than_developing(case):
    rubric, current, target, ratings = case
    mine = [replace(r, rater_role="self", rater_id="me") for r in ratings]
    unique = list({r.competency: r for r in mine}.values())
    report = score(rubric, current, unique, target, PROGRESS_V2)
    assert RANK[report["band"]] >= RANK["developing"]
    if unique:
        assert report["confidence"]["level"] == "low"


@pytest.mark.parametrize("policy", [PROGRESS_V1, PROGRESS_V2], ids=["v1", "v2"])
@PROFILE
@given(case=cases(), data=st.data())
def test_monotonicity(policy, case, data):
    rubric, current, target, ratings = case
    if not ratings:
        return
    i = data.draw(st.integers(0, len(ratings) - 1))
    new = data.draw(st.floats(ratings[i].proficiency, rubric.scale_max))
    before = score(rubric, current, ratings, target, policy)
    raised = [*ratings[:i], replace(ratings[i], proficiency=new), *ratings[i + 1:]]
    after = score(rubric, current, raised, target, policy)
    assert after["score"] >= before["score"]
    assert RANK[after["band"]] <= RANK[before["band"]]


@PROFILE
@given(cases(), st.randoms(use_true_random=False))
def test_permutation_invariance(case, rnd):
    rubric, current, target, ratings = case
    shuffled = list(ratings)
    rnd.shuffle(shuffled)
    assert canonical_json(score(rubric, current, shuffled, target, PROGRESS_V2)) == \
        canonical_json(score(rubric, current, ratings, target, PROGRESS_V2))


@PROFILE
@given(cases())
def test_scores_in_range(case):
    rubric, current, target, ratings = case
    report = score(rubric, current, ratings, target, PROGRESS_V2)
    assert 0.0 <= report["score"] <= 100.0 and 0.0 <= report["coverage"] <= 100.0
    for c in report["competencies"]:
        assert 0.0 <= c["progress"] <= 1.0
        assert c["gap"] >= 0 and (c["observed"] is not None or c["gap"] == 0.0)
    assert len(report["top_gaps"]) <= 3
    assert not {g["competency"] for g in report["top_gaps"]} & {
        u["competency"] for u in report["unrated"]}


@PROFILE
@given(cases())
def test_path_validity_and_minimality(case):
    rubric, current, target, ratings = case
    report = score(rubric, current, ratings, target, PROGRESS_V2)
    if not report["path_to_ready"]:
        assert report["path_to_ready_reason"]
        return
    changed = apply_changes(ratings, path_changes(report, ratings, PROGRESS_V2))
    assert score(rubric, current, changed, target, PROGRESS_V2)["band"] == "ready_now"
    for skip in report["path_to_ready"]:  # no step can be left out
        partial = {"path_to_ready": [s for s in report["path_to_ready"] if s != skip]}
        short = apply_changes(ratings, path_changes(partial, ratings, PROGRESS_V2))
        assert score(rubric, current, short, target, PROGRESS_V2)["band"] != "ready_now"


def test_v2_reports_differ_from_v1_only_by_policy_and_keep_v1_bytes():
    """Asking for v1 on the same inputs gives the v1 bytes; v2 has its own digest."""
    ratings = at_bar("senior-pm") + everywhere(6, "self", "E1")
    v1 = canonical_json(score(PL, "senior-pm", ratings, None, PROGRESS_V1))
    v2 = score(PL, "senior-pm", ratings, None, PROGRESS_V2)
    assert canonical_json(score(PL, "senior-pm", ratings, None, PROGRESS_V1)) == v1
    assert v2["policy"] == {"name": "progress", "version": 2}
    assert b'"unrated"' not in v1 and b'"expected_from"' not in v1


def test_cohort_path_equals_the_single_path_on_product_leadership():
    cases_ = [("senior-pm", at_bar("senior-pm") + everywhere(6, "self", "E1"), None),
              ("senior-pm", everywhere(6, "self", "E1"), None),
              ("senior-pm", at_bar("director", execution=4), "director"),
              ("lead-pm", at_bar("lead-pm"), "director"),
              ("senior-pm", at_bar("lead-pm", skip=["team-design", "operating-model",
                                                    "org-improvement", "self-leadership"]),
               None)]
    roles = ("manager", "peer", "upward", "self", "other")
    keys = [c.key for c in PL.competencies]
    flat = [(a, keys.index(r.competency), roles.index(r.rater_role), r.proficiency)
            for a, (_, ratings, _) in enumerate(cases_) for r in ratings]
    cur = np.array([LEVEL[c] for c, _, _ in cases_])
    tgt = np.array([LEVEL[t] if t else LEVEL[c] + 1 for c, _, t in cases_])
    result = score_cohort(PL, cur, tgt, *(np.array([f[i] for f in flat]) for i in range(4)),
                          PROGRESS_V2)
    for a, (current, ratings, target) in enumerate(cases_):
        report = score(PL, current, ratings, target, PROGRESS_V2)
        assert (float(result.score[a]), BANDS[result.band[a]]) == (report["score"],
                                                                   report["band"])


def test_v1_parameters_never_enter_the_v1_policy_dict():
    assert "rules" not in PROGRESS_V1.to_dict()
    assert PROGRESS_V2.to_dict()["rules"] == 2
    assert PROGRESS_V2.to_dict()["disagreement_steps"] == 3.0
    assert PROGRESS_V2.to_dict()["max_unrated_weight"] == 0.25


def test_bad_rules_parameters_are_reported():
    with pytest.raises(ScoringInputError) as info:
        Policy(rules=3, disagreement_steps=0, max_unrated_weight=2)
    assert {p for p, _ in info.value.errors} == {
        "policy.rules", "policy.disagreement_steps", "policy.max_unrated_weight"}


def test_a_gate_of_a_level_on_the_way_applies_with_its_own_bar():
    rubric = RubricSpec("g", 1, 1, 5, ("a", "b", "c"), (
        CompetencySpec("x", 1.0, (1, 3, 4), frozenset({"b"})),))
    report = score(rubric, "a", [Rating("x", "manager", "m", 2.0)], "c", PROGRESS_V2)
    assert report["gates"] == [{"competency": "x", "level": "b", "bar": 3,
                                "observed_without_self": 2.0, "met": False}]
    assert report["path_to_ready"] == [{"competency": "x", "from": 2.0, "to": 4}]
