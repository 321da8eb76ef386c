"""The rules-2 report (policy `progress` v2): the same wire shape as rules 1 plus `unrated`,
each gate's level, bar and non-self value, each competency's `expected_from`.

1. progress runs from the bar of the level just below the target to the target's bar;
2. every gate of every level above the current one up to the target applies;
3. a gate is met only by non-self ratings; without any non-self rating the band is at most
   developing and confidence low (self ratings still count toward observed);
4. `raters_disagree` where non-self ratings span `disagreement_steps` or more, and
   confidence is then at most medium (low on a gate competency);
5. unrated competencies are listed in `unrated`, never in top_gaps, and more than
   `max_unrated_weight` of the weight unrated caps the band at ready_soon;
6. path_to_ready is the cheapest set of whole-step raises to ready_now (cheapest.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from .cheapest import CHEAPEST_FIRST, Candidate, cheapest_path, raise_options
from .confidence import report_confidence
from .formulas import band_of, derive, round4, round_score, snap, weigh_roles
from .index import recommendations_for
from .ladder import Ladder, Rung, ladder_of
from .model import BANDS, READY_NOW, READY_SOON, Policy, RubricSpec
from .plan import MEMO, LevelPlan, Plan, Row, Tally, report_frame


@dataclass(slots=True)
class Rated:
    """One competency's ratings, weighed (see _weigh)."""

    observed: float | None  # all roles the policy weighs; None: nobody rated it
    # the same without self ratings, computed where a gate applies (the only use); None: no
    # such rating or no gate
    non_self: float | None
    has_non_self: bool  # some non-self rating
    count: int
    lead: float | None  # self mean minus the others' weighted mean


class Known(NamedTuple):
    """What one competency's cells give, memoized in MEMO.weighed; a report unpacks it."""

    rated: Rated
    raises: Candidate | None  # its path_to_ready options; None: unrated or none useful
    score_term: float  # weight x progress
    coverage_term: float
    gap_key: tuple[float, float, str, int] | None  # rated with a gap: its top_gaps sort key
    entry: dict[str, Any]  # its report entry but for the flags (copied into each report)
    flags: tuple[str, ...]  # the flags its ratings decide (see _flags)


@dataclass(slots=True)
class Pass:
    """Everything the per-competency pass gathers for the rest of the report."""

    entries: list[dict[str, Any]]
    rated: list[Rated]
    terms: list[float]  # weight x progress, in rubric order
    weighted_progress: float
    coverage: float
    unrated_weight: float
    n_rated: int
    any_non_self: bool
    disagree: list[int]  # competencies flagged raters_disagree
    gaps: list[tuple[float, float, str, int]]  # rated, gap > 0
    candidates: list[Candidate]  # for path_to_ready
    counts: list[int]  # ratings per competency


def report(plan: Plan, lv: LevelPlan, rubric: RubricSpec, rows: list[Row], scored: list[Row],
           tally: Tally, policy: Policy) -> dict[str, Any]:
    ladder = ladder_of(plan, lv, rubric.scale_max)
    done = _competencies(ladder, tally, _disagreeing(ladder, scored, tally, policy), policy)
    gates = [{"competency": ladder.rungs[g.competency].key, "level": g.level, "bar": g.bar,
              "observed_without_self": _round(done.rated[g.competency].non_self),
              "met": _gate_met(done.rated[g.competency], g.bar)} for g in ladder.gates]
    final = round_score(100.0 * done.weighted_progress / ladder.total_weight)
    caps = _caps(ladder, done, gates, policy)
    band = _capped_band(final, caps, policy)
    path, reason = _path(ladder, done, band, caps, lv.target, policy)
    trust = report_confidence(tally, done.n_rated, done.counts, scored, plan.px, policy)
    coverage = round_score(100.0 * done.coverage / ladder.total_weight)
    return report_frame(lv, rubric, policy, rows, final, BANDS[band], coverage, {
        "confidence": _capped_confidence(trust, ladder, done, policy),
        "competencies": done.entries,
        "gates": gates,
        "top_gaps": _top_gaps(plan, done, lv.target),
        "unrated": _unrated(ladder, tally, done),
        "path_to_ready": path,
        "path_to_ready_reason": reason,
    })


def _round(x: float | None) -> float | None:
    return None if x is None else round4(x)


def _gate_met(rated: Rated, bar: int) -> bool:
    return rated.non_self is not None and rated.non_self >= bar


# ---------------------------------------------------------------------------- competencies

def _competencies(ladder: Ladder, tally: Tally, disagreeing: frozenset[int] | set[int],
                  policy: Policy) -> Pass:
    """Per competency, in rubric order: observed and its non-self part, progress from the
    bar below the target (memoized per competency and cell sums and counts), flags."""
    lo, total, scale_max = ladder.scale_min, ladder.total_weight, ladder.scale_max
    sums, counts, evidenced = tally.sums, tally.counts, tally.evidenced
    known = MEMO.weighed
    entries: list[dict[str, Any]] = []
    all_rated: list[Rated] = []
    terms: list[float] = []
    counts_out: list[int] = []
    disagree: list[int] = []
    gaps: list[tuple[float, float, str, int]] = []
    candidates: list[Candidate] = []
    progress_sum = coverage = unrated_weight = 0.0
    n_rated, any_non_self = 0, False
    for rung in ladder.rungs:
        cells = rung.cells
        key = (rung.slot, *sums[cells], *counts[cells])
        found = known.get(key)
        if found is None:
            # kept as a plain tuple: unpacking a tuple subclass goes through an iterator
            found = tuple(_known(rung, _weigh(rung, sums, counts), lo, total, scale_max,
                                 policy))
            MEMO.keep(known, key, found)
        rated, raises, term, cover, gap_key, entry, flags = found
        if raises is not None:
            candidates.append(raises)
        if rated.has_non_self:
            any_non_self = True
        entry = entry.copy()
        entry["flags"] = flags = [*flags]
        if rated.observed is None:
            unrated_weight += rung.weight
        else:
            n_rated += 1
            if gap_key is not None:
                gaps.append(gap_key)
            c = rung.index
            if c in disagreeing:
                disagree.append(c)
                flags.append("raters_disagree")
            if not evidenced[c]:
                flags.append("no_evidence")
        entries.append(entry)
        all_rated.append(rated)
        counts_out.append(rated.count)
        terms.append(term)
        progress_sum += term
        coverage += cover
    return Pass(entries, all_rated, terms, progress_sum, coverage, unrated_weight, n_rated,
                any_non_self, disagree, gaps, candidates, counts_out)


def _known(rung: Rung, rated: Rated, lo: int, total: float, scale_max: int,
           policy: Policy) -> Known:
    """Progress and the rest from observed (derive), the entry and the flags that follow,
    and the raise options for the path."""
    observed, non_self = rated.observed, rated.non_self
    # every gate that applies is met iff the non-self value reaches the highest bar
    gate_met = rung.gate_bar is None or (non_self is not None and non_self >= rung.gate_bar)
    if observed is None:  # unrated: the first need is a rating, not an improvement
        derived, raises = rung.unrated, None
    else:
        derived = derive(rung.index, rung.key, rung.weight, rung.expected_from,
                         rung.expected_target, False, lo, total, observed)
        start = observed if gate_met or non_self is None else min(observed, non_self)
        raises = raise_options(rung.index, start, rung.weight, derived.score_term,
                               rung.expected_from, rung.expected_target, rung.gate_bar,
                               gate_met, scale_max)
    entry = {
        "key": rung.key, "weight": rung.weight, "expected_current": rung.expected_current,
        "expected_from": rung.expected_from, "expected_target": rung.expected_target,
        "observed": derived.observed,
        "gap": 0.0 if observed is None else derived.gap,  # no evidence: no gap
        "progress": derived.progress, "contribution": derived.contribution,
    }
    return Known(rated, raises, derived.score_term, derived.coverage_term,
                 None if observed is None else derived.gap_key, entry,
                 _flags(not gate_met, rated, policy))


def _weigh(rung: Rung, sums: list[float], counts: list[int]) -> Rated:
    """observed = sum(role weight x role mean) / sum(role weight) over the roles present, in
    policy order (as rules 1 add them); non_self the same over the roles other than self."""
    w = weigh_roles(rung.before, rung.self_cell, rung.self_weight, rung.after, sums, counts)
    other = w.other_num / w.other_den if w.other_den else None
    return Rated(
        observed=snap(w.num / w.den) if w.den else None,
        non_self=snap(other) if other is not None and rung.gate_bar is not None else None,
        has_non_self=w.other_den > 0, count=w.n_ratings,
        lead=snap(w.self_mean - other) if w.self_count and other is not None else None)


def _disagreeing(ladder: Ladder, scored: list[Row], tally: Tally, policy: Policy
                 ) -> frozenset[int] | set[int]:
    """The competencies whose non-self ratings span disagreement_steps or more. Only where all
    ratings together span that much can the non-self ones, so most reports read no rows."""
    steps = policy.disagreement_steps
    wide = [h - lo >= steps for h, lo in zip(tally.high, tally.low, strict=True)]
    if True not in wide:
        return _NONE
    wide.append(False)  # where non_self_comp puts the self cells
    comp_of = ladder.non_self_comp
    high, low = [-math.inf] * len(wide), [math.inf] * len(wide)
    for g, _, p, _, _ in scored:
        c = comp_of[g]
        if wide[c]:
            if p > high[c]:
                high[c] = p
            if p < low[c]:
                low[c] = p
    return {c for c, w in enumerate(wide) if w and high[c] - low[c] >= steps}


_NONE: frozenset[int] = frozenset()


def _flags(gate_unmet: bool, rated: Rated, policy: Policy) -> tuple[str, ...]:
    """The flags a competency's ratings decide, in rules 1's order: gate_unmet, then unrated
    or blind_spot / hidden_strength. Each report adds raters_disagree and no_evidence after
    them (they depend on the other ratings and the evidence texts)."""
    flags = ["gate_unmet"] if gate_unmet else []
    if rated.observed is None:
        flags.append("unrated")
    elif rated.lead is not None:
        if rated.lead >= policy.blind_spot_steps:
            flags.append("blind_spot")
        if -rated.lead >= policy.hidden_strength_steps:
            flags.append("hidden_strength")
    return tuple(flags)


# ------------------------------------------------------------------------------------ band

@dataclass(slots=True)
class Caps:
    gate_unmet: bool  # some gate that applies is unmet: at most developing
    self_only: bool  # no non-self rating at all: at most developing
    unrated_share: float  # share of the competency weight nobody rated
    too_unrated: bool  # unrated_share > max_unrated_weight: at most ready_soon


def _caps(ladder: Ladder, done: Pass, gates: list[dict[str, Any]], policy: Policy) -> Caps:
    share = snap(done.unrated_weight / ladder.total_weight)
    return Caps(gate_unmet=not all(g["met"] for g in gates), self_only=not done.any_non_self,
                unrated_share=share, too_unrated=share > policy.max_unrated_weight)


def _capped_band(final: float, caps: Caps, policy: Policy) -> int:
    band = band_of(final, caps.gate_unmet or caps.self_only, policy)
    return max(band, READY_SOON) if caps.too_unrated else band


def _capped_confidence(trust: dict[str, Any], ladder: Ladder, done: Pass, policy: Policy
                       ) -> dict[str, Any]:
    """Rules 1's confidence with two caps: low without any non-self rating; at most medium
    where non-self raters disagree (low when they disagree on a gate competency)."""
    level, reasons = trust["level"], trust["reasons"]
    if not done.n_rated:
        return trust
    if not done.any_non_self:
        level = "low"
        reasons = [*reasons, "Only the person rated: self ratings alone cannot be trusted."]
    if done.disagree:
        keys = [ladder.rungs[c].key for c in done.disagree]
        on_gate = any(ladder.rungs[c].gates for c in done.disagree)
        cap = "low" if on_gate else "medium"
        if ("high", "medium", "low").index(level) < ("high", "medium", "low").index(cap):
            level = cap
        reasons = [*reasons, f"Raters disagree by {policy.disagreement_steps:g} or more steps "
                   f"on {', '.join(keys)}" + (" (a gate)" if on_gate else "")
                   + f", so confidence is at most {cap}."]
    return {"level": level, "value": trust["value"], "reasons": reasons}


# ------------------------------------------------------------------- gaps, unrated, path

def _top_gaps(plan: Plan, done: Pass, target: str) -> list[dict[str, Any]]:
    """The (up to) three largest gaps among the rated competencies, heavier first on a tie."""
    keys = sorted(done.gaps)
    return [{"competency": key, "gap": done.entries[c]["gap"],
             "recommendations": recommendations_for(plan.rx, c, target)}
            for _, _, key, c in keys[:3]]


def _unrated(ladder: Ladder, tally: Tally, done: Pass) -> list[dict[str, Any]]:
    """Each unrated competency with the roles missing: those that rated other competencies
    of this assessment (or, when nobody rated anything, the lead non-self role)."""
    if not done.unrated_weight:
        return []
    counts, n_roles = tally.counts, ladder.n_roles
    present = [r for k, r in enumerate(ladder.roles) if any(counts[k::n_roles])]
    missing = present or [ladder.lead_role]
    return [{"competency": rung.key, "missing": list(missing)}
            for rung, rated in zip(ladder.rungs, done.rated, strict=True)
            if rated.observed is None]


def _path(ladder: Ladder, done: Pass, band: int, caps: Caps, target: str, policy: Policy
          ) -> tuple[list[dict[str, Any]], str | None]:
    """path_to_ready and, where it is empty, why."""
    if band == READY_NOW:
        return [], f"Already ready_now for {target}; no rating improvement is needed."
    if caps.self_only:
        return [], ("No path: only the person rated. Self ratings never open a door, so a "
                    "manager, peer or report must rate before any improvement can count.")
    if caps.too_unrated:
        keys = ", ".join(u.key for u, r in zip(ladder.rungs, done.rated, strict=True)
                         if r.observed is None)
        return [], (f"No path: {round(100 * caps.unrated_share)}% of the competency weight "
                    f"is unrated (at most {round(100 * policy.max_unrated_weight)}% allowed "
                    f"for ready_now); rate {keys} first.")
    for gate in ladder.gates:
        if done.rated[gate.competency].non_self is None:
            return [], (f"No path: the {gate.level} gate {ladder.rungs[gate.competency].key} "
                        "has no rating from anyone but the person; it needs one first.")
    raises = cheapest_path(done.terms, ladder.total_weight, policy.ready_now,
                           done.candidates)
    if raises is None:
        return [], (f"No path: even every rated competency at the {target} bar falls short "
                    f"of the policy threshold {policy.ready_now}"
                    + (" (unrated competencies count as no progress)."
                       if done.unrated_weight else "."))
    return [{"competency": ladder.rungs[r.index].key, "from": round4(r.start), "to": r.to}
            for r in sorted(raises, key=CHEAPEST_FIRST)], None
