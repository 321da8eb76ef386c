"""Rater effects: a pure estimate of each rater's severity (NumPy + SciPy, no I/O, no ORM).

Model (a linear many-facet / crossed-effects model), one rating ``i`` at a time::

    rating_i = level[cell_i] + severity[rater_i] + noise_i,   noise ~ N(0, sigma2)

``cell`` is one ratee-competency pair: its level is what the person really shows on that
competency, a fixed effect per cell. ``severity`` is the rater's offset in scale steps,
positive = lenient (rates higher than the others rating the same people). Both are fitted
jointly: the cell levels are absorbed (each rating is compared with the other ratings of
the same cell), which leaves a rater x rater system ``L s = b`` where ``L`` is the weighted
Laplacian of the co-rating graph. Its size is the number of raters, not of ratings, so a
cycle of 10,000 people costs a 2,000 x 2,000 solve when 2,000 people rate.

Shrinkage. Severities are treated as random, ``severity ~ N(0, tau2)``, and reported as
BLUPs: ``(L + sigma2 / tau2 I) s = b``. A rater seen on few ratings is pulled toward the
group's centre in proportion to how little the data say, and the interval is built from
the prediction-error variance, so it stays honest for such raters. ``sigma2`` and
``tau2`` are moment estimates (Henderson's method III): ``sigma2`` from the residual of
the fixed fit, ``tau2`` from ``E[b' L^+ b] = (rank L) sigma2 + tr(L) tau2``. When the
data show no rater variance (``tau2 <= 0``) or shrinkage is turned off, the plain
fixed-effects least-squares estimates and their standard errors are reported instead.

Linkage. Severities are only comparable between raters joined by shared ratees: the
connected components of the bipartite graph rater <-> ratee-competency cell
(``scipy.sparse.csgraph.connected_components``; equal to rater <-> person whenever a rater
rates every competency of a ratee). Each group is estimated against its own reference:
its severities sum to zero. A rater alone in a component has no estimate.

Solvers (SciPy, no hand-written linear algebra): the fixed fit runs conjugate gradients
(``scipy.sparse.linalg.cg``) on the sparse system. A group of up to ``dense_max_raters``
raters then gets its shrunk severities from a dense Cholesky factorisation
(``scipy.linalg.lapack`` potrf/potrs); the diagonal of the inverse, through a triangular
solve, gives exact standard errors. A larger group uses conjugate gradients again and a
two-term Neumann approximation of the standard errors (close when raters share ratees
with several others, up to ~15% low on very thin designs), and the fit says so
(``approximate_se``).

Bounded scales. A rating at the top or bottom of the scale says only that the rater's view
lay there or beyond, so the linear fit sees a lenient rater's shift smaller on ratees near
the top (and a severe one's near the bottom): large severities come out pulled toward 0 and
their intervals miss. Given the scale, ``fit`` treats end ratings as censored and runs EM
around the linear fit (``_censored``); ``bench/rater_effects.py`` shows both.

Inputs are the ratings to calibrate: the caller leaves self ratings out (they are not
comparable across raters). Raters with fewer than ``min_ratings`` ratings are listed with
``severity=None`` and a reason, and their ratings are left out of the fit.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack, solve_triangular
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import cg
from scipy.stats import norm

Z95 = 1.959963984540054  # standard normal 97.5% quantile
MIN_RATINGS = 5
FLAG_STEPS = 0.5
DENSE_MAX_RATERS = 2500
EM_MAX_ITERATIONS = 50
EM_TOLERANCE = 5e-4  # scale steps (severities are reported to 3 decimals): settled

REASON_FEW = "fewer than {n} ratings"
REASON_UNLINKED = "shares no rated person-competency with another rater"
REASON_NO_NOISE = "too little overlap between raters to estimate the rating noise"

Flag = Literal["lenient", "severe"]


class EffectsInputError(ValueError):
    """Inputs that cannot be fitted (lengths differ, non-finite ratings, bad options)."""


@dataclass(frozen=True)
class RaterEffect:
    rater: Hashable
    ratings: int  # ratings this rater gave (all of them, used or not)
    ratees: int  # distinct people this rater rated
    severity: float | None  # scale steps, positive = lenient; None when not estimated
    se: float | None
    ci95: tuple[float, float] | None
    group: int | None  # linkage group; severities compare only within one group
    flag: Flag | None
    reason: str | None  # why severity is None


@dataclass(frozen=True)
class RaterGroup:
    id: int
    raters: int
    ratings: int


@dataclass(frozen=True)
class Variance:
    """Variance components in squared scale steps (``shares`` divides by their sum)."""

    person: float  # between person-competency levels
    rater: float  # between rater severities (tau2)
    residual: float  # noise (sigma2)

    @property
    def shares(self) -> Variance:
        total = self.person + self.rater + self.residual
        if total <= 0:
            return Variance(0.0, 0.0, 0.0)
        return Variance(self.person / total, self.rater / total, self.residual / total)


@dataclass(frozen=True)
class FitInfo:
    method: str  # e.g. "shrunk/cholesky", "fixed/cholesky", "shrunk/cg"
    converged: bool
    seconds: float
    approximate_se: bool  # True when a group was too large for exact standard errors


@dataclass(frozen=True)
class RaterEffects:
    raters: tuple[RaterEffect, ...]  # in sorted rater order
    groups: tuple[RaterGroup, ...]  # linkage groups with two or more raters, largest first
    ratings: int  # ratings used in the fit
    variance: Variance | None  # None when nothing could be estimated
    fit: FitInfo

    def severities(self) -> dict[Hashable, float]:
        """Estimated severities by rater (raters without an estimate are absent)."""
        return {r.rater: r.severity for r in self.raters if r.severity is not None}


# ------------------------------------------------------------------------------------- fit


def fit(
    cell: Sequence[Hashable] | np.ndarray,
    rater: Sequence[Hashable] | np.ndarray,
    rating: Sequence[float] | np.ndarray,
    *,
    ratee: Sequence[Hashable] | np.ndarray | None = None,
    min_ratings: int = MIN_RATINGS,
    flag_steps: float = FLAG_STEPS,
    shrinkage: bool = True,
    dense_max_raters: int = DENSE_MAX_RATERS,
    scale: tuple[float, float] | None = None,
    step: float = 0.0,
    max_iterations: int = EM_MAX_ITERATIONS,
) -> RaterEffects:
    """Fit rater severities on non-self ratings.

    cell: the ratee-competency each rating is about; rater: who rated (labels of one type
    each, ints or strings); rating: the value on the rubric scale; ratee: the person rated,
    only to count ratees per rater (defaults to cell). Equal inputs give equal results
    (apart from `seconds`).

    scale: the ends of the rating scale. A rating at an end is then censored: the rater's
    view lay at or beyond it (beyond end - step/2 for ratings given in whole `step`s), so
    it hides part of a rater's shift. The fit then runs EM (``_censored``); without `scale`,
    or with no rating at an end, it is the linear fit alone.
    """
    options = {"ratee": ratee, "min_ratings": min_ratings, "flag_steps": flag_steps,
               "shrinkage": shrinkage, "dense_max_raters": dense_max_raters}
    if scale is not None and not (scale[0] < scale[1] and step >= 0 and max_iterations >= 1):
        raise EffectsInputError("scale must be (low, high) with low < high, step >= 0 and "
                                "max_iterations >= 1")
    started = time.perf_counter()
    y = np.asarray(rating, dtype=float)
    if scale is None or not ((y <= scale[0]) | (y >= scale[1])).any():
        return _linear_fit(cell, rater, rating, **options)
    return _censored(cell, rater, y, scale, step, max_iterations, started, options)


def _censored(cell, rater, y: np.ndarray, scale: tuple[float, float], step: float,
              max_iterations: int, started: float, options: dict) -> RaterEffects:
    """EM for ratings censored at the ends of the scale (a Tobit version of the model).

    E step: each end rating is replaced by its expected value under the current fit given
    that it lies beyond the end: mu + s * phi(a) / (1 - Phi(a)) at the top, a = (end - mu)/s,
    with mu = the cell's level + the rater's severity and s the noise sd (the mirror image at
    the bottom). M step: the linear fit on those values (without standard errors until the
    last). Repeats until the severities move less than EM_TOLERANCE. The noise variance
    comes from the imputed values and so leaves out their conditional variance (slightly
    low); bench/rater_effects.py measures the intervals this gives."""
    lo, hi = scale
    top, bottom = y >= hi, y <= lo
    t_hi, t_lo = hi - step / 2, lo + step / 2
    _, r = np.unique(np.asarray(rater), return_inverse=True)
    _, c = np.unique(np.asarray(cell), return_inverse=True)
    n_c = np.bincount(c).astype(float)
    work = y.copy()
    result = _linear_fit(cell, rater, work, **options, with_se=False)
    settled = False
    iterations = 0
    while iterations < max_iterations and not settled and result.variance is not None:
        iterations += 1
        before = np.array([e.severity or 0.0 for e in result.raters])
        shift = before[r]
        level = (np.bincount(c, weights=work) - np.bincount(c, weights=shift)) / n_c
        mu = level[c] + shift
        s = float(np.sqrt(result.variance.residual))
        if not s > 0:
            break
        work[top] = mu[top] + s * _mills((t_hi - mu[top]) / s)
        work[bottom] = mu[bottom] - s * _mills((mu[bottom] - t_lo) / s)
        fitted = _linear_fit(cell, rater, work, **options, with_se=False)
        if fitted.variance is None:
            break
        result = fitted
        after = np.array([e.severity or 0.0 for e in result.raters])
        settled = float(np.max(np.abs(after - before), initial=0.0)) < EM_TOLERANCE
    if not iterations:  # nothing to estimate: the linear fit as it is
        return _linear_fit(cell, rater, y, **options)
    result = _linear_fit(cell, rater, work, **options)  # the last M step, with its errors
    return replace(result, fit=replace(
        result.fit, method=f"{result.fit.method}/censored", converged=result.fit.converged
        and settled, seconds=time.perf_counter() - started))


def _mills(a: np.ndarray) -> np.ndarray:
    """phi(a) / (1 - Phi(a)), computed in logs so that it stays finite far in the tail."""
    return np.exp(norm.logpdf(a) - norm.logsf(a))


def _linear_fit(
    cell: Sequence[Hashable] | np.ndarray,
    rater: Sequence[Hashable] | np.ndarray,
    rating: Sequence[float] | np.ndarray,
    *,
    ratee: Sequence[Hashable] | np.ndarray | None,
    min_ratings: int,
    flag_steps: float,
    shrinkage: bool,
    dense_max_raters: int,
    with_se: bool = True,
) -> RaterEffects:
    """The linear fit of the module docstring (one pass, no censoring). `with_se=False`
    leaves the standard errors out (NaN): EM's intermediate fits need only the estimates."""
    started = time.perf_counter()
    y = np.asarray(rating, dtype=float)
    cell_a, rater_a = np.asarray(cell), np.asarray(rater)
    ratee_a = cell_a if ratee is None else np.asarray(ratee)
    _check(cell_a, rater_a, y, ratee_a, min_ratings, flag_steps, dense_max_raters)

    labels, r_all = np.unique(rater_a, return_inverse=True)
    n_raters = len(labels)
    given = np.bincount(r_all, minlength=n_raters)
    ratees = _distinct_per(r_all, ratee_a, n_raters)
    eligible = given >= min_ratings

    keep = eligible[r_all]
    r, y = r_all[keep], y[keep]
    _, c = np.unique(cell_a[keep], return_inverse=True)
    n_cells = int(c.max()) + 1 if len(c) else 0

    # W: cells x raters counts; cells rated once carry no information about severity.
    w = sp.csr_matrix((np.ones(len(r)), (c, r)), shape=(n_cells, n_raters))
    n_c = np.bincount(c, minlength=n_cells).astype(float)
    ybar = np.bincount(c, weights=y, minlength=n_cells) / np.maximum(n_c, 1)
    n_r = np.bincount(r, minlength=n_raters).astype(float)
    lap = (sp.diags(n_r) - w.T @ sp.diags(1.0 / np.maximum(n_c, 1)) @ w).tocsr()
    b = np.bincount(r, weights=y, minlength=n_raters) - w.T @ ybar
    within_ss = float(np.sum((y - ybar[c]) ** 2))
    within_df = float(np.sum(n_c - 1))

    group_of, groups = _groups(w, eligible, n_raters)
    blocks = [(m, lap[m][:, m].tocsr(), b[m]) for m in groups]
    rank = sum(len(m) - 1 for m in groups)
    converged, approximate = True, False

    # Fixed fit per group (conjugate gradients on the singular but consistent system, then
    # centred): b' L^+ b is the sum of squares the raters explain beyond the cells.
    fixed, explained = [], 0.0
    for _, lap_g, b_g in blocks:
        x, ok = _cg_solve(lap_g, b_g)
        converged &= ok
        fixed.append(x - x.mean())
        explained += float(b_g @ fixed[-1])

    resid_df = within_df - rank
    sigma2 = max(within_ss - explained, 0.0) / resid_df if resid_df > 0 else float("nan")
    trace = sum(float(lap_g.diagonal().sum()) for _, lap_g, _ in blocks)
    tau2 = (explained - rank * sigma2) / trace if rank and resid_df > 0 and trace > 0 else 0.0
    tau2 = max(tau2, 0.0)
    shrink = shrinkage and tau2 > 0 and sigma2 > 0

    severity = np.full(n_raters, np.nan)
    var = np.full(n_raters, np.nan)
    for (members, lap_g, b_g), x in zip(blocks, fixed, strict=True):
        if resid_df <= 0:
            break
        size = len(members)
        # Shrunk: A = L + (sigma2/tau2) I. Fixed: A = L + J/size, whose inverse is
        # L^+ + J/size. Either way the group-mean direction is dropped from the variance
        # (the estimate is centred): tau2/size resp. sigma2/size.
        ridge = sigma2 / tau2 if shrink else 0.0
        centre_var = tau2 / size if shrink else sigma2 / size
        solved = None
        if size <= dense_max_raters:
            dense = lap_g.toarray()
            if shrink:
                dense[np.diag_indices(size)] += ridge
            else:
                dense += 1.0 / size
            solved = _dense_solve(dense, b_g, with_se)
        if solved is not None:
            s, dinv = solved
            v = sigma2 * dinv - centre_var
        else:
            a_g = (lap_g + ridge * sp.eye(size)).tocsr()
            if shrink:
                s, ok = _cg_solve(a_g, b_g)
                converged &= ok
            else:
                s = x
            v = sigma2 * _neumann_diag(a_g) if with_se else np.full(size, np.nan)
            approximate = True
        severity[members], var[members] = s - s.mean(), v
    converged &= bool(np.all(np.isfinite(severity[group_of >= 0]))) if resid_df > 0 else True

    raters = []
    for i, label in enumerate(labels):
        est, reason = None, None
        if not eligible[i]:
            reason = REASON_FEW.format(n=min_ratings)
        elif group_of[i] < 0:
            reason = REASON_UNLINKED
        elif resid_df <= 0:
            reason = REASON_NO_NOISE
        else:
            est = float(severity[i])
        se = None if est is None else float(np.sqrt(max(var[i], 0.0)))
        ci = None if est is None else (est - Z95 * se, est + Z95 * se)
        flag = None
        if ci is not None and abs(est) >= flag_steps and (ci[0] > 0 or ci[1] < 0):
            flag = "lenient" if est > 0 else "severe"
        raters.append(RaterEffect(
            rater=_plain(label), ratings=int(given[i]), ratees=int(ratees[i]), severity=est,
            se=se, ci95=ci, group=int(group_of[i]) if group_of[i] >= 0 else None,
            flag=flag, reason=reason,
        ))

    variance = None
    if resid_df > 0:
        linked = np.zeros(n_raters, dtype=bool)
        linked[group_of >= 0] = True
        variance = _components(w, c, y, n_c, np.where(linked, severity, 0.0), sigma2, tau2)

    group_info = tuple(
        RaterGroup(id=gid, raters=len(m), ratings=int(n_r[m].sum()))
        for gid, m in enumerate(groups)
    )
    return RaterEffects(
        raters=tuple(raters), groups=group_info, ratings=len(y), variance=variance,
        fit=FitInfo(
            method=f"{'shrunk' if shrink else 'fixed'}/{'cg' if approximate else 'cholesky'}",
            converged=bool(converged), seconds=time.perf_counter() - started,
            approximate_se=approximate,
        ),
    )


# ------------------------------------------------------------------------------- helpers


def _check(cell, rater, y, ratee, min_ratings, flag_steps, dense_max_raters) -> None:
    errors = []
    if not (cell.ndim == rater.ndim == y.ndim == ratee.ndim == 1):
        errors.append("cell, rater, rating and ratee must be one-dimensional")
    elif not (len(cell) == len(rater) == len(y) == len(ratee)):
        errors.append("cell, rater, rating and ratee must have equal lengths")
    if y.size and not np.all(np.isfinite(y)):
        errors.append("ratings must be finite numbers")
    if min_ratings < 2:
        errors.append("min_ratings must be at least 2")
    if not flag_steps >= 0:
        errors.append("flag_steps must be zero or more")
    if dense_max_raters < 2:
        errors.append("dense_max_raters must be at least 2")
    if errors:
        raise EffectsInputError("; ".join(errors))


def _plain(label):
    """NumPy scalar -> the Python value, so results hold ints and strs."""
    return label.item() if isinstance(label, np.generic) else label


def _distinct_per(r: np.ndarray, other: np.ndarray, n: int) -> np.ndarray:
    if not len(r):
        return np.zeros(n, dtype=int)
    _, o = np.unique(other, return_inverse=True)
    pairs = np.unique(r.astype(np.int64) * (int(o.max()) + 1) + o)
    return np.bincount(pairs // (int(o.max()) + 1), minlength=n)


def _groups(w: sp.csr_matrix, eligible: np.ndarray, n_raters: int):
    """Linkage groups: components of the bipartite graph raters <-> cells rated by two or
    more raters. Returns (group id per rater, -1 when alone or ineligible; member lists),
    numbered largest first, ties by the lowest rater."""
    shared = np.diff(w.indptr) >= 2  # a cell rated once links nobody
    edges = sp.diags(shared.astype(float)) @ w
    graph = sp.bmat([[None, edges.T], [edges, None]], format="csr", dtype=float)
    if graph.shape[0] == 0:
        return np.full(n_raters, -1), []
    _, comp = connected_components(graph, directed=False)
    comp = comp[:n_raters]
    members: dict[int, list[int]] = {}
    for i in np.flatnonzero(eligible):
        members.setdefault(int(comp[i]), []).append(int(i))
    ordered = sorted((m for m in members.values() if len(m) >= 2), key=lambda m: (-len(m), m[0]))
    group_of = np.full(n_raters, -1)
    out = []
    for gid, m in enumerate(ordered):
        idx = np.asarray(m)
        group_of[idx] = gid
        out.append(idx)
    return group_of, out


def _dense_solve(a: np.ndarray, rhs: np.ndarray, with_se: bool = True
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """Solve the SPD system by Cholesky and return the diagonal of its inverse (exact);
    None when the factorisation fails (the caller falls back to the sparse path)."""
    upper, info = lapack.dpotrf(a, lower=False, clean=True, overwrite_a=True)
    if info != 0:
        return None
    x, info = lapack.dpotrs(upper, rhs, lower=False)
    if info != 0:
        return None
    if not with_se:
        return x, np.full(len(a), np.nan)
    # A = U'U, so A^-1 = U^-1 U^-T and its diagonal is the row norms of U^-1 (a triangular
    # solve against I runs on BLAS-3 trsm, faster here than LAPACK's trtri).
    inv_upper = solve_triangular(upper, np.eye(len(a)), lower=False, overwrite_b=True,
                                 check_finite=False)
    return x, np.einsum("ij,ij->i", inv_upper, inv_upper)


def _cg_solve(a: sp.csr_matrix, rhs: np.ndarray) -> tuple[np.ndarray, bool]:
    diag = a.diagonal()
    precond = sp.diags(1.0 / np.where(diag > 0, diag, 1.0))
    x, info = cg(a, rhs, rtol=1e-10, atol=0.0, maxiter=2 * a.shape[0] + 100, M=precond)
    return x, info == 0


def _neumann_diag(a: sp.csr_matrix) -> np.ndarray:
    """diag(A^-1) ~ 1/d_r + sum_j a_rj^2 / (d_r^2 d_j) with d = diag(A): the first two
    terms of A^-1 = D^-1 + D^-1 O D^-1 + D^-1 O D^-1 O D^-1 + ... (O = D - A, zero
    diagonal, so the second term has no diagonal). Accurate when every rater shares
    ratees with many others; it omits slow, group-wide modes, which centring removes."""
    d = a.diagonal()
    inv_d = 1.0 / d
    squares = a.multiply(a).tocsr() @ inv_d - d  # sum over j != r of a_rj^2 / d_j
    return inv_d + squares * inv_d**2


def _components(w, c, y, n_c, severity, sigma2, tau2) -> Variance:
    """Person-competency variance: spread of the severity-corrected cell means less the
    part their own noise explains (sigma2 / ratings in the cell); cells rated by two or
    more raters only."""
    n_cells = len(n_c)
    sev_sum = w @ severity  # per cell: sum of its raters' severities
    level = (np.bincount(c, weights=y, minlength=n_cells) - sev_sum) / np.maximum(n_c, 1)
    multi = n_c >= 2
    if not multi.any():
        return Variance(0.0, tau2, sigma2)
    person = float(np.var(level[multi]) - np.mean(sigma2 / n_c[multi]))
    return Variance(max(person, 0.0), tau2, sigma2)
