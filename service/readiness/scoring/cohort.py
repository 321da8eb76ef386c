"""The cohort path: score and band for many assessments of one rubric at once, with NumPy,
by the formulas of the single report (the tests check that both paths agree exactly)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .formulas import round_score_array, snap_array
from .index import PolicyIndex, RubricIndex, policy_index, rubric_index
from .model import (
    DEFAULT_POLICY,
    DEVELOPING,
    NOT_YET,
    READY_NOW,
    READY_SOON,
    Policy,
    RubricSpec,
    ScoringInputError,
)


@dataclass(frozen=True)
class CohortScores:
    """Scores of n assessments against one rubric; columns follow rubric.competencies."""

    observed: np.ndarray  # (n, c) float, NaN where unrated
    gap: np.ndarray  # (n, c); rules 2: NaN where unrated (no evidence is not a gap)
    progress: np.ndarray  # (n, c)
    score: np.ndarray  # (n,) rounded to one decimal
    band: np.ndarray  # (n,) int8 index into BANDS
    gate_unmet: np.ndarray  # (n,) bool; rules 2: some gate from current to target unmet


def _cohort_errors(
    rubric: RubricSpec, n_levels: int, n_comp: int, n_roles: int, cur: np.ndarray,
    tgt: np.ndarray, a: np.ndarray, comp: np.ndarray, role: np.ndarray, prof: np.ndarray,
) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []

    def fine(values: np.ndarray, low: float, high: float) -> bool:
        if not values.size:
            return True
        if values.dtype == np.intp and low == 0:  # one pass: negatives view as huge unsigned
            return bool(values.view(np.uintp).max() <= high)
        return bool(low <= values.min() and values.max() <= high)  # NaN fails both

    def check(name: str, values: np.ndarray, low: float, high: float, message: str) -> None:
        if not fine(values, low, high):
            bad = ~((values >= low) & (values <= high))
            first = int(np.flatnonzero(bad)[0])
            errors.append((name, f"{message} ({int(bad.sum())} values; first at index {first})"))

    if cur.shape != tgt.shape or cur.ndim != 1:
        return [("target_idx", "current_idx and target_idx must be 1-d and the same length")]
    if not a.shape == comp.shape == role.shape == prof.shape or a.ndim != 1:
        return [("r_assessment", "the rating arrays must be 1-d and the same length")]
    check("current_idx", cur, 0, n_levels - 1, "level index out of range")
    check("target_idx", tgt, 0, n_levels - 1, "level index out of range")
    check("target_idx", tgt - cur, 1, n_levels, "must be a level above current_idx")
    check("r_assessment", a, 0, len(cur) - 1, "assessment index out of range")
    check("r_competency", comp, 0, n_comp - 1, "competency index out of range")
    check("r_role", role, 0, n_roles - 1, "role index out of range of role_order(policy)")
    check("r_proficiency", prof, rubric.scale_min, rubric.scale_max,
          f"must lie in {rubric.scale_min}..{rubric.scale_max}")
    return errors


_BLOCK = 8192  # assessments per block: the (block, c) temporaries then stay in the CPU cache


def score_cohort(
    rubric: RubricSpec,
    current_idx: np.ndarray,
    target_idx: np.ndarray,
    r_assessment: np.ndarray,
    r_competency: np.ndarray,
    r_role: np.ndarray,
    r_proficiency: np.ndarray,
    policy: Policy = DEFAULT_POLICY,
) -> CohortScores:
    """Vectorised score/band for n assessments; ratings are flat arrays (assessment index,
    competency index, role index in role_order(policy), proficiency). Equal to score() for
    the same inputs, without the reports. The roles the policy weighs come first in
    role_order(policy), in policy.role_weights order; ratings in the roles after them (left
    out by the policy) weigh 0, as in score()."""
    rx, px = rubric_index(rubric), policy_index(policy)
    cur, tgt = np.asarray(current_idx, np.intp), np.asarray(target_idx, np.intp)
    a, comp = np.asarray(r_assessment, np.intp), np.asarray(r_competency, np.intp)
    role, prof = np.asarray(r_role, np.intp), np.asarray(r_proficiency, np.float64)
    n, n_comp, n_roles = len(cur), len(rx.keys), len(px.weights)
    errors = _cohort_errors(rubric, len(rx.levels), n_comp, len(px.order), cur, tgt, a, comp,
                            role, prof)
    if errors:
        raise ScoringInputError(errors)
    if n_roles < len(px.order):  # ratings in roles the policy leaves out weigh nothing
        weighed = role < n_roles
        a, comp, role, prof = a[weighed], comp[weighed], role[weighed], prof[weighed]

    # One cell per (role, assessment, competency), role-major so that each role's block of
    # assessments is contiguous. In place: every temporary here is as long as the ratings.
    cell = role * n
    cell += a
    cell *= n_comp
    cell += comp
    shape = (n_roles, n, n_comp)
    sums = np.bincount(cell, weights=prof, minlength=math.prod(shape)).reshape(shape)
    counts = np.bincount(cell, minlength=math.prod(shape)).reshape(shape)
    del cell

    out = CohortScores(
        observed=np.empty((n, n_comp)), gap=np.empty((n, n_comp)),
        progress=np.empty((n, n_comp)), score=np.empty(n), band=np.empty(n, np.int8),
        gate_unmet=np.empty(n, bool),
    )
    block = _score_block_rules_2 if policy.rules == 2 else _score_block
    for start in range(0, n, _BLOCK):
        rows = slice(start, start + _BLOCK)
        block(rx, px, policy, rubric.scale_min, sums[:, rows], counts[:, rows], cur[rows],
              tgt[rows], out, rows)
    return out


def _score_block(
    rx: RubricIndex, px: PolicyIndex, policy: Policy, scale_min: int, sums: np.ndarray,
    counts: np.ndarray, cur: np.ndarray, tgt: np.ndarray, out: CohortScores, rows: slice,
) -> None:
    """score() for a block of assessments, written into out[rows]; (role, block, c) inputs."""
    num = np.zeros(sums.shape[1:])
    den = np.zeros(sums.shape[1:])
    for k, w in enumerate(px.weights):  # role means first; an absent role adds exactly 0.0
        num += w * (sums[k] / np.maximum(counts[k], 1))
        den += w * (counts[k] > 0)
    rated = den > 0
    expected = np.asarray(rx.expected, np.float64)
    exp_cur, exp_tgt = expected[cur], expected[tgt]
    span = exp_tgt - exp_cur
    with np.errstate(invalid="ignore", divide="ignore"):  # unrated: 0/0; flat: x/0
        observed = snap_array(num / den)  # NaN where unrated
        met = observed >= exp_tgt  # False where unrated
        ramp = np.clip((observed - exp_cur) / span, 0.0, 1.0)
    progress = np.where(rated, np.where(span > 0, ramp, met), 0.0)

    acc = np.zeros(len(cur))
    for j, w in enumerate(rx.weights):  # column by column: the single path's summation order
        acc += w * progress[:, j]
    final = round_score_array(100.0 * acc / rx.total_weight)

    gate_matrix = np.zeros(expected.shape, dtype=bool)
    for level, gated in enumerate(rx.gates):
        gate_matrix[level, list(gated)] = True
    gate_unmet = (gate_matrix[tgt] & ~met).any(axis=1)
    band = np.full(len(cur), NOT_YET, np.int8)
    band[final >= policy.developing] = DEVELOPING
    band[final >= policy.ready_soon] = READY_SOON
    band[final >= policy.ready_now] = READY_NOW
    band[gate_unmet] = np.maximum(band[gate_unmet], DEVELOPING)

    out.observed[rows] = observed
    out.gap[rows] = np.where(rated, np.maximum(0.0, exp_tgt - observed), exp_tgt - scale_min)
    out.progress[rows] = progress
    out.score[rows] = final
    out.band[rows] = band
    out.gate_unmet[rows] = gate_unmet


def _weighed_mean(px: PolicyIndex, sums: np.ndarray, counts: np.ndarray, with_self: bool
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(observed snapped, NaN where no rating; weight of the roles present), in policy order
    as the single report adds them; without self ratings unless `with_self`."""
    num = np.zeros(sums.shape[1:])
    den = np.zeros(sums.shape[1:])
    for k, w in enumerate(px.weights):
        if with_self or k != px.self_idx:  # an absent role adds exactly 0.0
            num += w * (sums[k] / np.maximum(counts[k], 1))
            den += w * (counts[k] > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return snap_array(num / den), den


def _score_block_rules_2(
    rx: RubricIndex, px: PolicyIndex, policy: Policy, scale_min: int, sums: np.ndarray,
    counts: np.ndarray, cur: np.ndarray, tgt: np.ndarray, out: CohortScores, rows: slice,
) -> None:
    """Rules 2 (report2.py) for a block: progress from the bar below the target, cumulative
    gates met on non-self ratings, the self-only and unrated-weight caps."""
    observed, den = _weighed_mean(px, sums, counts, with_self=True)
    non_self, other_den = _weighed_mean(px, sums, counts, with_self=False)
    rated = den > 0
    expected = np.asarray(rx.expected, np.float64)
    exp_from, exp_tgt = expected[tgt - 1], expected[tgt]
    span = exp_tgt - exp_from
    with np.errstate(invalid="ignore", divide="ignore"):
        met = observed >= exp_tgt
        ramp = np.clip((observed - exp_from) / span, 0.0, 1.0)
    progress = np.where(rated, np.where(span > 0, ramp, met), 0.0)

    acc = np.zeros(len(cur))
    unrated = np.zeros(len(cur))
    for j, w in enumerate(rx.weights):  # column by column: the single path's summation order
        acc += w * progress[:, j]
        unrated += w * ~rated[:, j]
    final = round_score_array(100.0 * acc / rx.total_weight)

    gate_unmet = np.zeros(len(cur), bool)
    for level, gated in enumerate(rx.gates):
        if gated and level:
            cols = list(gated)
            applies = (cur < level) & (level <= tgt)
            short = ~(non_self[:, cols] >= expected[level, cols])  # NaN: no non-self rating
            gate_unmet |= applies & short.any(axis=1)
    self_only = ~(other_den > 0).any(axis=1)
    band = np.full(len(cur), NOT_YET, np.int8)
    band[final >= policy.developing] = DEVELOPING
    band[final >= policy.ready_soon] = READY_SOON
    band[final >= policy.ready_now] = READY_NOW
    capped = gate_unmet | self_only
    band[capped] = np.maximum(band[capped], DEVELOPING)
    too_unrated = snap_array(unrated / rx.total_weight) > policy.max_unrated_weight
    band[too_unrated] = np.maximum(band[too_unrated], READY_SOON)

    out.observed[rows] = observed
    with np.errstate(invalid="ignore"):
        out.gap[rows] = np.where(rated, np.maximum(0.0, exp_tgt - observed), np.nan)
    out.progress[rows] = progress
    out.score[rows] = final
    out.band[rows] = band
    out.gate_unmet[rows] = gate_unmet
