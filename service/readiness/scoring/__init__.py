"""Promotion-readiness scoring: pure functions (stdlib, NumPy, orjson), no I/O, no database.

Model (DESIGN.md "Readiness scoring"):
- A rubric has ordered levels and weighted competencies. Each competency expects a
  proficiency per level on the rubric scale and may be a *gate* for some levels.
- observed(c): each role's ratings are averaged first, then the policy's role weights give a
  weighted mean over the roles present (weights renormalised). Nobody rated c: no observed.
- progress(c): how far observed has moved from the current level's expectation toward the
  target's, clamped to [0, 1]; where both expect the same, 1 when met else 0. Unrated: 0.
- score: 100 x competency-weighted mean of progress, rounded to one decimal at the end.
  band: policy thresholds on that score; an unmet gate caps the band at developing.
- coverage: the SuccessFactors-style share of target expectations met, for comparison.
- confidence, flags, top gaps with the rubric's recommendations and per-competency
  contributions explain the number; path_to_ready is the fewest (then cheapest) competencies
  to bring to the target bar for ready_now.
- observed is monotone in every rating and everything downstream is monotone in observed,
  so raising a rating never lowers score or band (flags never feed back into either).
- rater adjustment (adjust.py, policy.rater_adjustment): observed from each non-self rating
  less its rater's severity from a stored fit, clamped to the scale; the service passes the
  fit in and the report names it.
- score_cohort() computes observed, progress, score and band for many assessments with
  NumPy by the same formulas; observed values and the score are snapped (formulas.py) so
  that summing in another order cannot tip a result, and both paths agree exactly.
- score() is the per-request path: what depends only on rubric, policy and levels is
  prepared once, what follows from one competency's ratings (its cells' sums and counts) is
  memoized (MEMO), and the inputs digest hashes the sorted ratings in binary (plan.digest).

Modules, by audience: model (the types, policy, constants, canonical_json), report (score),
path (path_to_ready), whatif (apply_changes, path_changes), cohort (score_cohort); formulas,
index and plan hold what those share.
"""

from .adjust import RaterAdjustment, adjust_array, shift_of
from .cohort import CohortScores, score_cohort
from .index import role_order
from .model import (
    BANDS,
    BUILT_IN_POLICIES,
    DEFAULT_POLICY,
    DEVELOPING,
    NOT_YET,
    PROGRESS_V1,
    PROGRESS_V2,
    READY_NOW,
    READY_SOON,
    CompetencySpec,
    Policy,
    Rating,
    Recommendation,
    RubricSpec,
    ScoringInputError,
    canonical_json,
)
from .plan import MEMO
from .report import score
from .whatif import apply_changes, path_changes

__all__ = [
    "BANDS", "BUILT_IN_POLICIES", "DEFAULT_POLICY", "DEVELOPING", "MEMO", "NOT_YET",
    "PROGRESS_V1", "PROGRESS_V2", "READY_NOW", "READY_SOON",
    "CohortScores", "CompetencySpec", "Policy", "RaterAdjustment", "Rating", "Recommendation",
    "RubricSpec", "ScoringInputError", "adjust_array", "apply_changes", "canonical_json",
    "path_changes", "role_order", "score", "score_cohort", "shift_of",
]
