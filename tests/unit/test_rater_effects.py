"""Rater effects (service/calibration/effects.py) on small seeded simulated cohorts."""

from __future__ import annotations

import numpy as np
import pytest

from service.calibration import effects as fx
from service.readiness import scoring

COMPS = 6


def cohort(seed: int, people: int = 80, raters: int = 12, per_person: int = 3,
           severity_sd: float = 0.7, noise_sd: float = 0.8, rater_offset: int = 0,
           person_offset: int = 0):
    """Each person rated by `per_person` distinct raters on every competency."""
    rng = np.random.default_rng(seed)
    severity = rng.normal(0.0, severity_sd, raters)
    level = 3.5 + rng.normal(0.0, 0.8, (people, 1)) + rng.normal(0.0, 0.5, (people, COMPS))
    chosen = np.concatenate([rng.choice(raters, per_person, replace=False)
                             for _ in range(people)])
    person = np.repeat(np.arange(people), per_person * COMPS)
    rater = np.repeat(chosen, COMPS)
    comp = np.tile(np.arange(COMPS), people * per_person)
    rating = level[person, comp] + severity[rater] + rng.normal(0.0, noise_sd, len(rater))
    return {
        "severity": severity,
        "cell": (person + person_offset) * COMPS + comp,
        "rater": rater + rater_offset,
        "ratee": person + person_offset,
        "rating": rating,
    }


def fit(data, **options) -> fx.RaterEffects:
    return fx.fit(data["cell"], data["rater"], data["rating"], ratee=data["ratee"], **options)


def estimates(result: fx.RaterEffects) -> dict:
    return {e.rater: e for e in result.raters}


def test_planted_severities_are_recovered():
    data = cohort(seed=3)
    result = fit(data)
    est = estimates(result)
    recovered = np.array([est[r].severity for r in range(12)])
    assert np.corrcoef(recovered, data["severity"])[0, 1] >= 0.9
    # One linkage group, centred on its own average rater.
    assert [g.raters for g in result.groups] == [12]
    assert abs(recovered.sum()) < 1e-9
    assert result.fit.converged and result.fit.method == "shrunk/cholesky"
    assert not result.fit.approximate_se
    assert all(e.ratees > 0 and e.ratings == 6 * e.ratees for e in result.raters)


def test_intervals_and_flags_follow_the_rule():
    data = cohort(seed=5, severity_sd=1.0)
    result = fit(data)
    planted = data["severity"] - data["severity"].mean()
    flagged = [e for e in result.raters if e.flag]
    assert flagged, "a severity sd of 1 step must flag someone"
    for e in result.raters:
        lo, hi = e.ci95
        assert lo < e.severity < hi and hi - lo == pytest.approx(2 * fx.Z95 * e.se)
        excludes_zero = lo > 0 or hi < 0
        expected = ("lenient" if e.severity > 0 else "severe") \
            if excludes_zero and abs(e.severity) >= 0.5 else None
        assert e.flag == expected
    for e in flagged:  # flagged in the planted direction
        assert np.sign(planted[e.rater]) == (1 if e.flag == "lenient" else -1)
    assert not any(e.flag for e in fit(data, flag_steps=10.0).raters)


def test_two_disconnected_groups_are_reported_apart_and_each_centred():
    first = cohort(seed=1, people=40, raters=6)
    # A second cohort with its own raters and people, all rating one step higher: with no
    # shared ratee that step cannot be told apart from abler people, so it must not show.
    second = cohort(seed=2, people=30, raters=5, rater_offset=100, person_offset=1000)
    second["rating"] = second["rating"] + 1.0
    data = {k: np.concatenate([first[k], second[k]]) for k in ("cell", "rater", "ratee",
                                                               "rating")}
    result = fit(data)
    assert [(g.id, g.raters) for g in result.groups] == [(0, 6), (1, 5)]
    est = estimates(result)
    assert {est[r].group for r in range(6)} == {0}
    assert {est[r].group for r in range(100, 105)} == {1}
    for members in (range(6), range(100, 105)):
        assert abs(sum(est[r].severity for r in members)) < 1e-9
    assert result.groups[0].ratings == 40 * 3 * COMPS
    assert result.groups[1].ratings == 30 * 3 * COMPS


def test_a_rater_with_three_ratings_gets_no_severity():
    data = cohort(seed=4)
    extra = {"cell": [0, 1, 2], "rater": [99, 99, 99], "ratee": [0, 0, 0],
             "rating": [4.0, 5.0, 4.0]}
    data = {k: np.concatenate([data[k], extra[k]]) for k in extra}
    few = estimates(fit(data))[99]
    assert few.ratings == 3 and few.ratees == 1
    assert few.severity is None and few.se is None and few.ci95 is None
    assert few.flag is None and few.group is None
    assert few.reason == "fewer than 5 ratings"
    # The minimum is configurable: at 3 the rater is estimated.
    assert estimates(fit(data, min_ratings=3))[99].severity is not None
    # Leaving its ratings out of the fit, the others come out as without it.
    others = estimates(fit(cohort(seed=4)))
    assert all(estimates(fit(data))[r] == others[r] for r in range(12))


def test_a_rater_sharing_no_ratee_gets_no_severity():
    data = cohort(seed=4)
    alone = {"cell": np.arange(5000, 5006), "rater": [77] * 6, "ratee": [500] * 6,
             "rating": [3.0] * 6}
    data = {k: np.concatenate([data[k], alone[k]]) for k in alone}
    est = estimates(fit(data))[77]
    assert est.severity is None and est.group is None
    assert est.reason == fx.REASON_UNLINKED


def test_shrinkage_pulls_thinly_seen_raters_toward_the_centre():
    data = cohort(seed=8)
    # Rater 50 gives 6 ratings (one person), all 2 steps above the others.
    cells = data["cell"][:COMPS]
    thin = {"cell": cells, "rater": [50] * COMPS, "ratee": data["ratee"][:COMPS],
            "rating": data["rating"][:COMPS] + 2.0}
    data = {k: np.concatenate([data[k], thin[k]]) for k in thin}
    shrunk, plain = estimates(fit(data))[50], estimates(fit(data, shrinkage=False))[50]
    assert fit(data, shrinkage=False).fit.method == "fixed/cholesky"
    assert 0 < shrunk.severity < plain.severity
    assert shrunk.se < plain.se


def test_sparse_path_agrees_with_the_exact_one():
    data = cohort(seed=6, people=120, raters=30)
    exact, approx = fit(data), fit(data, dense_max_raters=10)
    assert approx.fit.approximate_se and approx.fit.method == "shrunk/cg"
    assert approx.fit.converged
    for a, b in zip(exact.raters, approx.raters, strict=True):
        assert a.severity == pytest.approx(b.severity, abs=1e-6)
        assert b.se == pytest.approx(a.se, rel=0.1)


def test_variance_components():
    data = cohort(seed=9, severity_sd=1.0, noise_sd=0.5)
    shares = fit(data).variance.shares
    assert shares.person + shares.rater + shares.residual == pytest.approx(1.0)
    assert shares.rater > 0.2
    # No planted rater effect: the rater share is (close to) nothing.
    calm = fit(cohort(seed=9, severity_sd=0.0, noise_sd=0.5)).variance.shares
    assert calm.rater < 0.02


def test_adjustment_subtracts_severity_and_clamps_to_the_scale():
    data = cohort(seed=5, severity_sd=1.0)
    result = fit(data)
    sev = result.severities()
    lenient = max(sev, key=sev.get)
    severe = min(sev, key=sev.get)
    assert sev[lenient] > 0.5 and sev[severe] < -0.5
    # the service adjusts with scoring's rule (one definition): self ratings stay as rated
    raters = [lenient, lenient, severe, severe, "unknown", lenient]
    roles = ["peer"] * 5 + ["self"]
    shift = np.array([scoring.shift_of(role, rater, sev) or 0.0
                      for role, rater in zip(roles, raters, strict=True)])
    adjusted = scoring.adjust_array(np.array([4.0, 1.0, 3.0, 6.0, 5.0, 4.0]), shift, 1, 6)
    assert adjusted.tolist() == pytest.approx(
        [4.0 - sev[lenient], 1.0, 3.0 - sev[severe], 6.0, 5.0, 4.0])


def test_equal_input_gives_equal_output():
    data = cohort(seed=11)
    a, b = fit(data), fit(data)
    assert a.raters == b.raters and a.groups == b.groups and a.variance == b.variance
    assert a.fit.method == b.fit.method
    # Row order does not matter beyond rounding.
    order = np.random.default_rng(0).permutation(len(data["rating"]))
    shuffled = fit({k: v[order] for k, v in data.items() if k != "severity"})
    for x, y in zip(a.raters, shuffled.raters, strict=True):
        assert (x.rater, x.group, x.flag) == (y.rater, y.group, y.flag)
        assert x.severity == pytest.approx(y.severity, abs=1e-9)


def test_string_labels_and_bad_input():
    result = fx.fit(["p1-a", "p1-a", "p2-a", "p2-a", "p3-a", "p3-a"] * 2,
                    ["ann", "bob"] * 6, [3, 4, 2, 3, 4, 5, 3, 4, 2, 3, 4, 4])
    assert [e.rater for e in result.raters] == ["ann", "bob"]
    assert result.raters[1].severity > 0 > result.raters[0].severity
    with pytest.raises(fx.EffectsInputError, match="equal lengths"):
        fx.fit([1, 2], [1], [3.0, 4.0])
    with pytest.raises(fx.EffectsInputError, match="finite"):
        fx.fit([1, 2], [1, 2], [3.0, float("nan")])
    with pytest.raises(fx.EffectsInputError, match="min_ratings"):
        fx.fit([1, 2], [1, 2], [3.0, 4.0], min_ratings=1)
    empty = fx.fit([], [], [])
    assert empty.raters == () and empty.groups == () and empty.variance is None


def _large_errors(data, result) -> float:
    """Mean error (estimate - planted, centred) of the clearly lenient or severe raters, in
    the direction of their severity: negative when they come out pulled toward 0."""
    est = estimates(result)
    truth = data["severity"] - data["severity"].mean()
    big = np.flatnonzero(np.abs(truth) >= 0.7)
    return float(np.mean([(est[r].severity - truth[r]) * np.sign(truth[r]) for r in big]))


def test_end_ratings_fitted_as_censored_undo_the_pull_toward_zero():
    data = cohort(seed=21, people=200, raters=20, severity_sd=1.0)
    data["rating"] = np.clip(np.rint(data["rating"]), 1, 6)  # whole steps on a 1..6 scale
    linear = fit(data)
    censored = fit(data, scale=(1, 6), step=1.0)
    assert censored.fit.method == "shrunk/cholesky/censored" and censored.fit.converged
    assert _large_errors(data, linear) < -0.05  # clamping hides part of the big shifts
    assert abs(_large_errors(data, censored)) < abs(_large_errors(data, linear)) / 2


def test_censoring_changes_nothing_without_end_ratings():
    data = cohort(seed=4)
    data["rating"] = np.clip(data["rating"], 0.5, 6.5)
    assert fit(data, scale=(-5, 12)).raters == fit(data).raters
    with pytest.raises(fx.EffectsInputError):
        fit(data, scale=(6, 1))


def test_censored_fit_agrees_with_plain_em_over_full_linear_fits():
    """The censored fit reuses its design and warm-starts the intermediate solves; plain EM,
    written here with a complete linear fit (Cholesky, errors) at every M step, must land
    on the same severities and intervals (stopping by the same rule, so after the same
    steps)."""
    data = cohort(seed=21, people=200, raters=20, severity_sd=1.0)
    y = np.clip(np.rint(data["rating"]), 1, 6)
    data["rating"] = y
    fast = fit(data, scale=(1, 6), step=1.0)

    top, bottom = y >= 6, y <= 1
    cell, rater = data["cell"], data["rater"]
    n_c = np.bincount(cell)
    work, sev = y.copy(), np.zeros(20)
    for _ in range(200):
        step = fit({**data, "rating": work})
        new = np.array([estimates(step)[r].severity for r in range(20)])
        if np.max(np.abs(new - sev)) < fx.EM_TOLERANCE:
            break
        sev, s = new, np.sqrt(step.variance.residual)
        level = np.bincount(cell, weights=work - sev[rater]) / n_c
        mu = level[cell] + sev[rater]
        work = y.copy()
        work[top] = mu[top] + s * fx._mills((5.5 - mu[top]) / s)
        work[bottom] = mu[bottom] - s * fx._mills((mu[bottom] - 1.5) / s)
    slow = estimates(step)
    for r, e in estimates(fast).items():
        assert e.severity == pytest.approx(slow[r].severity, abs=1e-6)
        assert e.se == pytest.approx(slow[r].se, abs=1e-6)
