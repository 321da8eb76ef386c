"""The single report: score() turns one assessment's ratings into the JSON-ready readiness
report of DESIGN.md (score, band, coverage, confidence, per-competency explanation, gates,
top gaps, path_to_ready, inputs digest).

Every value comes from the same float operations, in the same order, as the formulas in
formulas.py and as score_cohort() (the tests check that the two paths agree).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import report2
from .adjust import RaterAdjustment, adjust_ratings, adjusted_digest
from .confidence import report_confidence
from .formulas import band_of, derive, round_score, snap, weigh_roles
from .index import RubricIndex, recommendations_for
from .model import BANDS, DEFAULT_POLICY, READY_NOW, Policy, Rating, RubricSpec
from .path import path_to_ready
from .plan import MEMO, CompetencyPlan, LevelPlan, Tally, checked_inputs, report_frame


def score(
    rubric: RubricSpec,
    current_level: str,
    ratings: Sequence[Rating],
    target_level: str | None = None,
    policy: Policy = DEFAULT_POLICY,
    adjustment: RaterAdjustment | None = None,
) -> dict[str, Any]:
    """Score one assessment; returns the JSON-ready readiness report (DESIGN.md wire shape).
    With `adjustment`, non-self ratings are corrected for their raters' severities first
    (see _adjusted).

    Raises ScoringInputError listing every invalid input at once.
    """
    if adjustment is not None:
        return _adjusted(rubric, current_level, ratings, target_level, policy, adjustment)
    plan = MEMO.plan(rubric, policy)
    lv, rows, scored, tally = checked_inputs(plan, rubric, current_level, target_level,
                                             ratings)
    if policy.rules == 2:
        return report2.report(plan, lv, rubric, rows, scored, tally, policy)
    rx, px = plan.rx, plan.px
    comps = _competencies(lv, tally, policy)
    final = round_score(100.0 * comps.weighted_progress / lv.total_weight)
    band = band_of(final, bool(comps.unmet_gates), policy)
    path = [] if band == READY_NOW else path_to_ready(
        rx.weights, rx.total_weight, comps.terms, comps.unmet_gates, comps.candidates,
        policy.ready_now)
    coverage = round_score(100.0 * comps.coverage / lv.total_weight)
    return report_frame(lv, rubric, policy, rows, final, BANDS[band], coverage, {
        "confidence": report_confidence(tally, comps.n_rated, comps.count, scored, px, policy),
        "competencies": comps.entries,
        "gates": [{"competency": rx.keys[c], "met": comps.met[c]} for c in lv.gated],
        "top_gaps": _top_gaps(rx, comps, lv.target),
        "path_to_ready": _path_steps(rx, lv, comps, path),
        "path_to_ready_reason": _path_reason(lv, band, path, policy),
    })


def _adjusted(rubric: RubricSpec, current_level: str, ratings: Sequence[Rating],
              target_level: str | None, policy: Policy, adjustment: RaterAdjustment
              ) -> dict[str, Any]:
    """The report on adjusted ratings, each competency also showing `observed_raw` (as
    rated), naming the fit in `rater_adjustment`; its digest covers the raw ratings, the fit
    id and the severities used. Without a fit (fit_id None) nothing is adjusted."""
    raw = score(rubric, current_level, ratings, target_level, policy)  # validates the ratings
    if adjustment.fit_id is None:
        return raw | {"rater_adjustment": {"fit_id": None, "raters": 0}}
    moved, used = adjust_ratings(ratings, adjustment, rubric.scale_min, rubric.scale_max)
    report = score(rubric, current_level, moved, target_level, policy)
    for entry, as_rated in zip(report["competencies"], raw["competencies"], strict=True):
        entry["observed_raw"] = as_rated["observed"]
    report["inputs_digest"] = adjusted_digest(raw["inputs_digest"], adjustment.fit_id, used)
    report["rater_adjustment"] = {"fit_id": adjustment.fit_id, "raters": len(used)}
    return report


def _top_gaps(rx: RubricIndex, comps: _Competencies, target: str) -> list[dict[str, Any]]:
    """The (up to) three largest gaps, heavier competencies first on a tie, with the rubric's
    development recommendations (copied: reports share no mutable parts)."""
    return [{"competency": key, "gap": comps.entries[c]["gap"],
             "recommendations": recommendations_for(rx, c, target)}
            for _, _, key, c in sorted(comps.gaps)[:3]]


def _path_steps(rx: RubricIndex, lv: LevelPlan, comps: _Competencies, path: list[int] | None
                ) -> list[dict[str, Any]]:
    """The path as (competency, from, to), fewest rating steps first."""
    return [{"competency": rx.keys[c], "from": comps.entries[c]["observed"],
             "to": lv.expected_target[c]}
            for _, c in sorted((comps.steps[c], c) for c in path or ())]


def _path_reason(lv: LevelPlan, band: int, path: list[int] | None, policy: Policy
                 ) -> str | None:
    if band == READY_NOW:
        return f"Already ready_now for {lv.target}; no rating improvement is needed."
    if path is None:
        return (f"No set of rating improvements reaches ready_now: even every competency at "
                f"the {lv.target} bar falls short of the policy threshold {policy.ready_now}.")
    return None


# ---------------------------------------------------------------------------- competencies

@dataclass(slots=True)
class _Competencies:
    entries: list[dict[str, Any]]  # the report's per-competency explanation
    steps: list[float]  # rating steps up to the target bar (the gap, unrounded)
    met: list[bool]
    count: list[int]  # ratings
    n_rated: int  # competencies someone rated
    unmet_gates: list[int]
    candidates: list[tuple[float, float, int]]  # (-score gain, steps, c) for path_to_ready
    gaps: list[tuple[float, float, str, int]]  # (-steps, -weight, key, c) where steps > 0
    terms: list[float]  # weight x progress: the score's summands
    weighted_progress: float  # their sum, in competency order
    coverage: float  # sum of weight x share of the target met, in competency order


def _competencies(lv: LevelPlan, tally: Tally, policy: Policy) -> _Competencies:
    """Per competency: observed (DESIGN.md step 1, see _weigh), then progress, gap,
    contribution and flags (steps 2, 3, 6 and 8), and the running sums of the score and the
    coverage in competency order.

    What follows from one competency's cells is memoized (MEMO.derived) per competency, level
    pair and the cells' sums and counts (see _known), so derive() runs once for each; a
    report copies the memoized entry and adds the flags that depend on its evidence."""
    sums, counts, evidenced = tally.sums, tally.counts, tally.evidenced
    memo, total, lo = MEMO.derived, lv.total_weight, lv.scale_min
    n = len(lv.comps)
    entries: list[dict[str, Any]] = []
    steps, met, count, terms = [0.0] * n, [False] * n, [0] * n, [0.0] * n
    unmet: list[int] = []
    candidates: list[tuple[float, float, int]] = []
    gaps: list[tuple[float, float, str, int]] = []
    acc = coverage = 0.0
    n_rated = 0
    for cp in lv.comps:
        key = (cp.slot, *sums[cp.cells], *counts[cp.cells])
        found = memo.get(key)
        if found is None:
            found = _known(cp, sums, counts, lo, total, policy)
            MEMO.remember(key, found)
        gap, ok, weighted, covered, candidate, gap_key, c, ratings, entry, flags = found
        steps[c], met[c], terms[c], count[c] = gap, ok, weighted, ratings
        acc += weighted
        coverage += covered
        if candidate is not None:
            candidates.append(candidate)
        if gap_key is not None:
            gaps.append(gap_key)
        if cp.gate and not ok:
            unmet.append(c)
        entry = entry.copy()
        entry["flags"] = flags = [*flags]
        if ratings:
            n_rated += 1
            if not evidenced[c]:
                flags.append("no_evidence")
        entries.append(entry)
    return _Competencies(entries, steps, met, count, n_rated, unmet, candidates, gaps, terms,
                         acc, coverage)


def _known(cp: CompetencyPlan, sums: list[float], counts: list[int], lo: int, total: float,
           policy: Policy) -> tuple[Any, ...]:
    """What one competency's cells give, as one plain tuple (it unpacks fastest): derive()'s
    steps, met, score_term, coverage_term, candidate and gap_key, its index and number of
    ratings, its report entry but for the flags, and the flags its ratings decide."""
    c, key, weight, ec, et, gate = cp.index, cp.key, cp.weight, cp.expected_current, \
        cp.expected_target, cp.gate
    num, den, ratings, lead = _weigh(cp.before, cp.self_cell, cp.self_weight, cp.after, sums,
                                     counts)
    derived = derive(c, key, weight, ec, et, gate, lo, total, snap(num / den)) if den \
        else cp.unrated
    entry = {"key": key, "weight": weight, "expected_current": ec, "expected_target": et,
             "observed": derived.observed, "gap": derived.gap, "progress": derived.progress,
             "contribution": derived.contribution}
    flags = _flags(gate and not derived.met, not den, lead, policy)
    return (derived.steps, derived.met, derived.score_term, derived.coverage_term,
            derived.candidate, derived.gap_key, c, ratings, entry, tuple(flags))


def _weigh(
    before: tuple[tuple[int, float], ...], self_cell: int, self_weight: float,
    after: tuple[tuple[int, float], ...], sums: list[float], counts: list[int],
) -> tuple[float, float, int, float | None]:
    """One competency's observed value as (num, den): observed = sum(role weight x role mean)
    / sum(role weight) over the roles present, in policy order (as score_cohort() adds them);
    also its number of ratings, and the self lead: the self mean minus the other roles'
    weighted mean (their sums add up the same terms in the same order), None without both."""
    w = weigh_roles(before, self_cell, self_weight, after, sums, counts)
    lead = (snap(w.self_mean - w.other_num / w.other_den) if w.self_count and w.other_den
            else None)
    return w.num, w.den, w.n_ratings, lead


def _flags(gate_unmet: bool, unrated: bool, lead: float | None, policy: Policy) -> list[str]:
    """DESIGN.md step 6, in this order: gate_unmet, then unrated or blind_spot /
    hidden_strength (self ahead of / behind the others); each report adds no_evidence to a
    rated competency after them (it depends on the evidence texts, not the numbers)."""
    flags = ["gate_unmet"] if gate_unmet else []
    if unrated:
        flags.append("unrated")
        return flags
    if lead is not None:
        if lead >= policy.blind_spot_steps:
            flags.append("blind_spot")
        if -lead >= policy.hidden_strength_steps:
            flags.append("hidden_strength")
    return flags
