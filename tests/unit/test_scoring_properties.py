"""Properties of readiness scoring over random rubrics and ratings (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.assessments.roles import ROLE_VALUES
from service.readiness import scoring
from service.readiness.scoring import (
    BANDS,
    CompetencySpec,
    Policy,
    Rating,
    Recommendation,
    RubricSpec,
    apply_changes,
    canonical_json,
    path_changes,
    score_cohort,
)

# These tests pin the rules of policy `progress` v1 (test_scoring_v2.py covers v2, the default).
V1 = scoring.PROGRESS_V1


def score(rubric, current_level, ratings, target_level=None, policy=V1):
    return scoring.score(rubric, current_level, ratings, target_level, policy)

# Bounded so the suite stays fast; no example database, so nothing is written to the repo.
settings.register_profile(
    "scoring", max_examples=200, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = settings.get_profile("scoring")
BAND_RANK = {band: rank for rank, band in enumerate(BANDS)}  # 0 = ready_now, the best
POLICY_ROLES = [role for role, _ in Policy().role_weights]


@st.composite
def rubrics(draw: st.DrawFn) -> RubricSpec:
    n_levels = draw(st.integers(2, 4))
    lo = draw(st.integers(0, 2))
    hi = lo + draw(st.integers(1, 5))
    levels = tuple(f"L{i}" for i in range(n_levels))
    competencies = []
    for i in range(draw(st.integers(1, 5))):
        expected = draw(st.lists(st.integers(lo, hi), min_size=n_levels, max_size=n_levels))
        if draw(st.booleans()):
            expected.sort()  # usually a ladder expects more higher up; not always
        competencies.append(CompetencySpec(
            key=f"c{i}",
            weight=draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]) | st.floats(0.1, 5.0)),
            expected=tuple(expected),
            gates=frozenset(draw(st.lists(st.sampled_from(levels), max_size=2))),
            recommendations=(Recommendation("mentoring", f"Mentor on c{i}"),),
        ))
    return RubricSpec("prop", 1, lo, hi, levels, tuple(competencies))


def proficiencies(rubric: RubricSpec) -> st.SearchStrategy[float]:
    lo, hi = rubric.scale_min, rubric.scale_max
    return st.integers(lo, hi).map(float) | st.floats(lo, hi) | st.sampled_from(
        [lo + (hi - lo) * f for f in (0.25, 0.5, 0.75)])


@st.composite
def cases(draw: st.DrawFn, rubric: RubricSpec | None = None) -> tuple:
    rubric = rubric or draw(rubrics())
    cur = draw(st.integers(0, len(rubric.levels) - 2))
    tgt = draw(st.integers(cur + 1, len(rubric.levels) - 1))
    rating = st.builds(
        Rating,
        competency=st.sampled_from([c.key for c in rubric.competencies]),
        rater_role=st.sampled_from(ROLE_VALUES),
        rater_id=st.sampled_from(["a", "b", "c", None]),
        proficiency=proficiencies(rubric),
        evidence=st.sampled_from([None, "", "shipped the migration"]),
    )
    ratings = draw(st.lists(rating, max_size=14,
                            unique_by=lambda r: (r.competency, r.rater_role, r.rater_id)))
    return rubric, rubric.levels[cur], rubric.levels[tgt], ratings


@PROFILE
@given(cases(), st.data())
def test_raising_one_rating_never_lowers_score_or_band(case, data):
    rubric, current, target, ratings = case
    if not ratings:
        return
    i = data.draw(st.integers(0, len(ratings) - 1))
    old = ratings[i].proficiency
    new = data.draw(st.floats(old, rubric.scale_max) | st.just(float(rubric.scale_max)))
    before = score(rubric, current, ratings, target)
    raised = [*ratings[:i], replace(ratings[i], proficiency=new), *ratings[i + 1:]]
    after = score(rubric, current, raised, target)
    assert after["score"] >= before["score"]
    assert BAND_RANK[after["band"]] <= BAND_RANK[before["band"]]
    assert after["coverage"] >= before["coverage"]


@PROFILE
@given(cases())
def test_numbers_stay_in_range_and_contributions_add_up(case):
    rubric, current, target, ratings = case
    report = score(rubric, current, ratings, target)
    assert 0.0 <= report["score"] <= 100.0
    assert 0.0 <= report["coverage"] <= 100.0
    assert 0.0 <= report["confidence"]["value"] <= 1.0
    contributions = [c["contribution"] for c in report["competencies"]]
    # the score rounds to 0.1 once, each contribution to 0.0001
    assert abs(sum(contributions) - report["score"]) <= 0.05 + 5e-5 * len(contributions) + 1e-9
    assert all(0.0 <= c["progress"] <= 1.0 and c["gap"] >= 0 for c in report["competencies"])
    assert len(report["top_gaps"]) <= 3


@PROFILE
@given(cases(), st.randoms(use_true_random=False))
def test_permuting_ratings_changes_nothing(case, rnd):
    rubric, current, target, ratings = case
    shuffled = list(ratings)
    rnd.shuffle(shuffled)
    assert canonical_json(score(rubric, current, shuffled, target)) == canonical_json(
        score(rubric, current, ratings, target))


@PROFILE
@given(cases())
def test_memoized_numbers_give_the_report_computed_afresh(case):
    rubric, current, target, ratings = case
    scoring.MEMO.clear()
    fresh = canonical_json(score(rubric, current, ratings, target))
    assert canonical_json(score(rubric, current, ratings, target)) == fresh


@PROFILE
@given(cases())
def test_applying_the_path_to_ready_makes_the_person_ready_now(case):
    rubric, current, target, ratings = case
    report = score(rubric, current, ratings, target)
    if report["band"] == "ready_now":
        assert report["path_to_ready"] == []
        assert report["path_to_ready_reason"]
        return
    assert report["path_to_ready_reason"] is None  # reachable: everything at the bar is 100
    after = score(rubric, current, apply_changes(ratings, path_changes(report, ratings)), target)
    assert after["band"] == "ready_now"
    # minimal: leaving out any one step of the path no longer reaches ready_now
    for skip in report["path_to_ready"]:
        partial = {**report, "path_to_ready": [s for s in report["path_to_ready"] if s != skip]}
        short = score(rubric, current, apply_changes(ratings, path_changes(partial, ratings)),
                      target)
        assert short["band"] != "ready_now"


@PROFILE
@given(cases())
def test_everyone_at_the_target_bar_with_a_manager_is_ready_now(case):
    rubric, current, target, _ = case
    level = rubric.levels.index(target)
    ratings = [Rating(c.key, role, "r", float(c.expected[level]))
               for c in rubric.competencies for role in ("manager", "peer", "self")]
    report = score(rubric, current, ratings, target)
    assert (report["score"], report["band"]) == (100.0, "ready_now")


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[RubricSpec, list[tuple]]:
    rubric = draw(rubrics())
    return rubric, draw(st.lists(cases(rubric), min_size=1, max_size=8))


@PROFILE
@given(cohorts())
def test_cohort_path_equals_the_single_path(cohort):
    rubric, assessments = cohort
    levels = list(rubric.levels)
    keys = [c.key for c in rubric.competencies]
    flat = [(a, keys.index(r.competency), POLICY_ROLES.index(r.rater_role), r.proficiency)
            for a, (_, _, _, ratings) in enumerate(assessments) for r in ratings]
    columns = [np.array([row[i] for row in flat], dtype=int if i < 3 else float)
               for i in range(4)]
    result = score_cohort(
        rubric, np.array([levels.index(cur) for _, cur, _, _ in assessments]),
        np.array([levels.index(tgt) for _, _, tgt, _ in assessments]), *columns, V1,
    )
    for a, (_, current, target, ratings) in enumerate(assessments):
        report = score(rubric, current, ratings, target)
        assert abs(round(float(result.score[a]), 1) - round(report["score"], 1)) < 1e-9
        assert BANDS[result.band[a]] == report["band"]


# --------------------------------------------- policies that leave rater roles out (issue 11)

@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """The default parameters with the role weights of a random non-empty subset of roles,
    under either rules."""
    roles = draw(st.lists(st.sampled_from(ROLE_VALUES), min_size=1, max_size=5, unique=True))
    weights = draw(st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.5, 1.0]), min_size=len(roles),
                            max_size=len(roles)))
    return Policy(version=2, role_weights=tuple(zip(roles, weights, strict=True)),
                  rules=draw(st.sampled_from([1, 2])))


@PROFILE
@given(cases(), policies())
def test_ratings_in_left_out_roles_change_nothing_but_the_digest(case, policy):
    rubric, current, target, ratings = case
    weighed = {role for role, _ in policy.role_weights}
    full = score(rubric, current, ratings, target, policy)
    kept = score(rubric, current, [r for r in ratings if r.rater_role in weighed], target,
                 policy)
    assert {**full, "inputs_digest": ""} == {**kept, "inputs_digest": ""}
    if any(r.rater_role not in weighed for r in ratings):
        assert full["inputs_digest"] != kept["inputs_digest"]


@PROFILE
@given(cohorts(), policies())
def test_cohort_path_equals_the_single_path_under_any_policy(cohort, policy):
    rubric, assessments = cohort
    levels, keys = list(rubric.levels), [c.key for c in rubric.competencies]
    order = scoring.role_order(policy)
    assert sorted(order) == sorted(ROLE_VALUES)
    flat = [(a, keys.index(r.competency), order.index(r.rater_role), r.proficiency)
            for a, (_, _, _, ratings) in enumerate(assessments) for r in ratings]
    columns = [np.array([row[i] for row in flat], dtype=int if i < 3 else float)
               for i in range(4)]
    result = score_cohort(
        rubric, np.array([levels.index(cur) for _, cur, _, _ in assessments]),
        np.array([levels.index(tgt) for _, _, tgt, _ in assessments]), *columns, policy,
    )
    for a, (_, current, target, ratings) in enumerate(assessments):
        report = score(rubric, current, ratings, target, policy)
        assert abs(round(float(result.score[a]), 1) - round(report["score"], 1)) < 1e-9
        assert BANDS[result.band[a]] == report["band"]
        for c, entry in enumerate(report["competencies"]):
            assert (entry["observed"] is None) == bool(np.isnan(result.observed[a, c]))


@PROFILE
@given(cases(), policies())
def test_the_path_to_ready_under_any_policy_makes_the_person_ready_now(case, policy):
    rubric, current, target, ratings = case
    report = score(rubric, current, ratings, target, policy)
    if report["path_to_ready_reason"] is not None:
        return  # already ready_now, or (a policy's thresholds) out of reach
    changed = apply_changes(ratings, path_changes(report, ratings, policy))
    assert score(rubric, current, changed, target, policy)["band"] == "ready_now"
