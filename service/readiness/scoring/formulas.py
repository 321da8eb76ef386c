"""The formulas of DESIGN.md "Readiness scoring" on plain numbers, shared by the single report
(report.py), path_to_ready (path.py) and the NumPy cohort path (cohort.py).

Numerics: both paths snap intermediate values so that sums done in another order (or a
weighted mean of equal ratings such as (0.5*4 + 0.3*4) / 0.8) cannot land a hair below a bar:
observed values to 1e-9, the score to 1e-6 before rounding half-up. Python's round() and
np.rint() both round half to even on the exact double, so the scalar and vector forms match.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .model import DEVELOPING, NOT_YET, READY_NOW, READY_SOON, Policy


def snap(x: float) -> float:
    return round(x * 1e9) / 1e9


def round_score(raw: float) -> float:
    return math.floor(round(raw * 1e6) / 1e5 + 0.5) / 10


def round4(x: float) -> float:
    # Report decimals, half-up like the score; round(x, 4) is ~6x slower and half-to-even.
    return math.floor(x * 1e4 + 0.5) / 1e4


def snap_array(x: np.ndarray) -> np.ndarray:
    return np.rint(x * 1e9) / 1e9


def round_score_array(raw: np.ndarray) -> np.ndarray:
    return np.floor(np.rint(raw * 1e6) / 1e5 + 0.5) / 10


def progress_of(observed: float | None, exp_cur: int, exp_tgt: int) -> float:
    if observed is None:
        return 0.0
    if exp_tgt > exp_cur:
        return min(1.0, max(0.0, (observed - exp_cur) / (exp_tgt - exp_cur)))
    return 1.0 if observed >= exp_tgt else 0.0


def band_of(score: float, gate_unmet: bool, policy: Policy) -> int:
    if score >= policy.ready_now:
        band = READY_NOW
    elif score >= policy.ready_soon:
        band = READY_SOON
    elif score >= policy.developing:
        band = DEVELOPING
    else:
        band = NOT_YET
    return max(band, DEVELOPING) if gate_unmet else band


class Derived(NamedTuple):
    """What one competency's observed value implies (see derive)."""

    observed: float | None  # for the report, to 4 decimals; None: nobody rated it
    gap: float  # for the report, to 4 decimals
    progress: float  # for the report, to 4 decimals
    contribution: float  # its points of the score, for the report, to 4 decimals
    steps: float  # the gap unrounded: rating steps up to the target bar
    met: bool  # observed reaches the target bar
    score_term: float  # weight x progress: its summand of the score
    coverage_term: float  # weight x share of the target met: its summand of the coverage
    # (-score gain, steps, index) as a path_to_ready candidate; None when its progress is
    # full or it is an unmet gate (gates are always on the path)
    candidate: tuple[float, float, int] | None
    gap_key: tuple[float, float, str, int] | None  # (-steps, -weight, key, index); None: no gap


def derive(
    c: int, key: str, w: float, ec: int, et: int, gate: bool, lo: int, total: float,
    observed: float | None,
) -> Derived:
    """What competency c's observed value (None: nobody rated it) implies, by the formulas of
    DESIGN.md steps 2, 3 and 8; flags aside, the report entry depends on nothing else."""
    progress = progress_of(observed, ec, et)
    if observed is None:
        steps, met, cover = float(et - lo), False, 0.0
    else:
        steps, met = max(0.0, et - observed), observed >= et
        cover = 1.0 if met else (observed - lo) / (et - lo)
    unmet_gate = gate and not met
    candidate = None if progress >= 1.0 or unmet_gate else (-(w * (1.0 - progress)), steps, c)
    gap_key = (-steps, -w, key, c) if steps > 0 else None
    return Derived(None if observed is None else round4(observed), round4(steps),
                   round4(progress), round4(100.0 * w / total * progress), steps, met,
                   w * progress, w * cover, candidate, gap_key)


class Weighed(NamedTuple):
    """Role-weighted sums of one competency's ratings (see ``weigh_roles``)."""

    num: float  # sum(role weight x role mean) over the roles present
    den: float  # sum(role weight) over the same roles
    n_ratings: int
    other_num: float  # the same sums without the self role
    other_den: float
    self_count: int
    self_mean: float  # 0.0 without self ratings


def weigh_roles(before: tuple[tuple[int, float], ...], self_cell: int, self_weight: float,
                after: tuple[tuple[int, float], ...], sums: list[float], counts: list[int]
                ) -> Weighed:
    """Add each present role's weighted mean in policy order (``before`` self, self, ``after``),
    as score_cohort() adds them, so single reports and the cohort path agree to the bit."""
    num = den = 0.0
    n_ratings = 0
    for g, w in before:
        k = counts[g]
        if k:
            num += w * (sums[g] / k)
            den += w
            n_ratings += k
    other_num, other_den = num, den
    self_count = counts[self_cell] if self_cell >= 0 else 0
    self_mean = 0.0
    if self_count:
        self_mean = sums[self_cell] / self_count
        num += self_weight * self_mean
        den += self_weight
        n_ratings += self_count
    for g, w in after:
        k = counts[g]
        if k:
            term = w * (sums[g] / k)
            num += term
            den += w
            other_num += term
            other_den += w
            n_ratings += k
    return Weighed(num, den, n_ratings, other_num, other_den, self_count, self_mean)
