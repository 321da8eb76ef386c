"""Confidence (DESIGN.md step 7): how far a report's ratings can be trusted, shared by the
rules-1 and rules-2 reports; it never changes score or band."""

from __future__ import annotations

import math
from typing import Any

from .index import PolicyIndex
from .model import Policy
from .plan import ROLE_RATER, Row, Tally, rated_in


def report_confidence(tally: Tally, n_rated: int, counts: list[int], scored: list[Row],
                      px: PolicyIndex, policy: Policy) -> dict[str, Any]:
    """``confidence`` of a report's scored ratings. A rater is (role, rater_id), ratings
    without an id being one rater per role; raters in roles the policy leaves out do not
    count."""
    n_raters = len(set(map(ROLE_RATER, scored)))
    managed = rated_in(tally.counts, px.manager_idx, len(px.weights))
    return confidence(tally, n_rated, counts, len(scored), n_raters, managed, px, policy)


def confidence(
    tally: Tally, n_rated: int, counts: list[int], n_ratings: int, n_raters: int,
    managed: int, px: PolicyIndex, policy: Policy,
) -> dict[str, Any]:
    """How far the ratings can be trusted; never changes score or band.

    value = sum(w_f * f) / sum(w_f) over four factors in [0, 1], weights from
    policy.confidence_weights (default manager 0.3, raters 0.25, agreement 0.25, evidence 0.2):
      manager   = rated competencies with a manager rating / rated competencies
      raters    = min(1, distinct raters / policy.confidence_full_raters); a rater is
                  (role, rater_id), and ratings without an id count as one rater per role
      agreement = 1 - min(1, spread / policy.confidence_max_spread), spread = mean over the
                  competencies with two or more ratings of (highest - lowest rating);
                  0.5 (unknown) when no competency has two ratings
      evidence  = ratings with non-empty evidence / ratings
    The value is then scaled by the share of the rubric's competencies that were rated at all:
    a report resting on two competencies of twelve cannot be trusted like a complete one.
    level: high when value >= confidence_high, medium when >= confidence_medium, else low;
    at most medium without any manager rating. Nothing rated: value 0, low.
    More raters, a manager, closer agreement and more evidence each raise the value.
    """
    if not n_rated:
        return {"level": "low", "value": 0.0, "reasons": ["No ratings yet."]}
    spreads = [h - lo for h, lo, k in zip(tally.high, tally.low, counts, strict=True) if k > 1]
    spread = sum(spreads) / len(spreads) if spreads else None
    # the four factors, as locals (this runs once per report)
    manager = managed / n_rated
    raters = min(1.0, n_raters / policy.confidence_full_raters)
    agreement = 0.5 if spread is None else 1.0 - min(1.0, spread / policy.confidence_max_spread)
    evidence = tally.n_evidence / n_ratings
    w_manager, w_raters, w_agreement, w_evidence, w_total = px.confidence_terms
    n_competencies = len(counts)
    value = (w_manager * manager + w_raters * raters + w_agreement * agreement
             + w_evidence * evidence) / w_total * (n_rated / n_competencies)
    if value >= policy.confidence_high and managed:
        level = "high"
    elif value >= policy.confidence_medium:
        level = "medium"
    else:
        level = "low"
    reasons = [
        f"Manager rated {managed} of {n_rated} rated competencies." if managed
        else "No manager rating, so confidence is at most medium.",
        f"{n_raters} distinct rater{'s' if n_raters != 1 else ''}"
        f" ({policy.confidence_full_raters} or more for full credit).",
        "Only one rating per competency, so agreement is unknown." if spread is None
        else f"Raters differ by {spread:.1f} steps on average per competency.",
        f"Evidence on {round(100 * evidence)}% of ratings.",
        f"{n_rated} of {n_competencies} competencies rated.",
    ]
    return {"level": level, "value": math.floor(value * 100 + 0.5) / 100, "reasons": reasons}
