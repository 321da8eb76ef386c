"""Rater adjustment in the pure scoring package: rating minus severity, clamped to the scale;
self ratings and unknown raters untouched; the digest names the fit and the severities used;
the single report and the cohort path agree on adjusted ratings."""

import numpy as np

from service.readiness import scoring
from service.readiness.scoring import Policy, RaterAdjustment, Rating, score, score_cohort
from tests.unit.test_scoring import KEYS, RUBRIC, comp

FIT = RaterAdjustment(fit_id="fit-a", severities={"m1": 0.5, "p1": -1.5, "me": 2.0})
ON = Policy(rater_adjustment=True, version=2)


def ratings() -> list[Rating]:
    out = []
    for k in KEYS:
        out += [Rating(k, "manager", "m1", 4, "ok"), Rating(k, "peer", "p1", 4.5, "ok"),
                Rating(k, "peer", "p2", 3, "ok"), Rating(k, "self", "me", 5, "ok")]
    return out


def test_rating_less_severity_clamped_and_self_untouched():
    report = score(RUBRIC, "l2", ratings(), policy=ON, adjustment=FIT)
    craft = comp(report, "craft")
    # manager 4 - 0.5 = 3.5; peers mean (min(5, 4.5 + 1.5), 3) = 4; self 5 stays (not 3)
    weights = dict(ON.role_weights)
    expected = (weights["manager"] * 3.5 + weights["peer"] * 4 + weights["self"] * 5) / (
        weights["manager"] + weights["peer"] + weights["self"])
    assert abs(craft["observed"] - round(expected, 4)) < 1e-9
    raw = score(RUBRIC, "l2", ratings(), policy=ON)
    assert craft["observed_raw"] == comp(raw, "craft")["observed"]
    assert report["rater_adjustment"] == {"fit_id": "fit-a", "raters": 2}  # m1 and p1


def test_digest_follows_the_fit_and_the_severities_used():
    first = score(RUBRIC, "l2", ratings(), policy=ON, adjustment=FIT)
    again = score(RUBRIC, "l2", list(reversed(ratings())), policy=ON, adjustment=FIT)
    assert scoring.canonical_json(first) == scoring.canonical_json(again)
    renamed = score(RUBRIC, "l2", ratings(), policy=ON,
                    adjustment=RaterAdjustment("fit-b", FIT.severities))
    moved = score(RUBRIC, "l2", ratings(), policy=ON, adjustment=RaterAdjustment(
        "fit-a", dict(FIT.severities) | {"m1": 0.25}))
    unused = score(RUBRIC, "l2", ratings(), policy=ON, adjustment=RaterAdjustment(
        "fit-a", dict(FIT.severities) | {"nobody": 1.0}))
    digests = {r["inputs_digest"] for r in (first, renamed, moved)}
    assert len(digests) == 3
    assert unused["inputs_digest"] == first["inputs_digest"]  # only severities used count
    raw = score(RUBRIC, "l2", ratings(), policy=ON)
    assert raw["inputs_digest"] not in digests


def test_no_fit_leaves_the_report_as_rated():
    raw = score(RUBRIC, "l2", ratings(), policy=ON)
    none = score(RUBRIC, "l2", ratings(), policy=ON, adjustment=RaterAdjustment(None))
    assert none == raw | {"rater_adjustment": {"fit_id": None, "raters": 0}}


def test_the_flag_off_keeps_policy_digests():
    assert "rater_adjustment" not in Policy().to_dict()
    assert ON.to_dict()["rater_adjustment"] is True
    assert Policy.from_dict(ON.to_dict()) == ON


def test_cohort_path_agrees_on_adjusted_ratings():
    rs = ratings()
    report = score(RUBRIC, "l2", rs, policy=ON, adjustment=FIT)
    order = {r: i for i, r in enumerate(scoring.role_order(ON))}
    shift = np.array([scoring.shift_of(r.rater_role, r.rater_id, FIT.severities) or 0.0
                      for r in rs])
    prof = scoring.adjust_array(np.array([r.proficiency for r in rs], float), shift,
                                RUBRIC.scale_min, RUBRIC.scale_max)
    cohort = score_cohort(RUBRIC, np.array([1]), np.array([2]), np.zeros(len(rs), int),
                          np.array([KEYS.index(r.competency) for r in rs]),
                          np.array([order[r.rater_role] for r in rs]), prof, ON)
    assert cohort.score[0] == report["score"]
    assert list(cohort.observed[0]) == [c["observed"] for c in report["competencies"]]
