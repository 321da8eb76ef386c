"""Rater effects on simulated cohorts: prints figures, never passes or fails.

    python bench/rater_effects.py [--seeds 8] [--big-people 10000] [--big-raters 2000]
                                  [--repeats 5]

Simulation (issue 14): 300 people x 12 competencies, 60 raters whose planted severities are
drawn from N(0, 0.7), noise sd 0.8, each person rated by 3-5 distinct non-self raters who
rate all 12 competencies. A person-competency's true level is 3.5 + person N(0, 0.8) +
competency N(0, 0.5). Ratings are either continuous or rounded and clamped to 1..6.
"N(0, 0.7)" is read both ways: sd 0.7 and variance 0.7 (sd 0.837); both are printed.

Severities are identified only relative to the group's average rater, so recovered values
are compared with the planted ones centred within their linkage group. Figures per seed
and their mean:
  corr      correlation of recovered and planted severity
  cover     share of 95% intervals holding the planted (centred) value
  rmse raw  RMSE of observed person-competency values against the planted truth; adj: the
            same with the ratings adjusted as the service adjusts them (scoring.shift_of
            and scoring.adjust_array: rating - severity, clamped to the scale). When the
            ratings lie on the scale (rounded to 1..6) observed comes from the scoring
            package's cohort path (score_cohort, every rater in the peer role, so observed
            is the mean of a cell's ratings); continuous ratings can leave the scale, which
            scoring refuses, so there it is the same mean computed here
  cut       how much lower the adjusted RMSE is
  ceil      the cut when adjusting by the planted severities centred in their group: the
            most any estimate from ratings can achieve (how lenient the group's average
            rater is cannot be seen); oracle: adjusting by the planted values themselves
  flags     raters flagged; right: share whose planted severity lies in the flagged
            direction; >=.5: share whose planted severity is 0.5 step or more that way
Then the fit time on a large cycle (10,000 people x 12 x 4 raters).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import numpy as np

from service.calibration import effects as fx
from service.readiness import scoring

SCALE = (1.0, 6.0)
COMPS = 12
NOISE_SD = 0.8


@dataclass
class Cohort:
    severity: np.ndarray  # planted, per rater
    level: np.ndarray  # planted, per cell (person * COMPS + competency)
    cell: np.ndarray
    rater: np.ndarray
    ratee: np.ndarray
    rating: np.ndarray


def simulate(rng: np.random.Generator, people: int, raters: int, severity_sd: float,
             per_person: tuple[int, int], rounded: bool, clamped: bool | None = None) -> Cohort:
    """rounded: round to whole steps; clamped: clip to the scale (default: as rounded)."""
    severity = rng.normal(0.0, severity_sd, raters)
    level = 3.5 + rng.normal(0.0, 0.8, (people, 1)) + rng.normal(0.0, 0.5, (people, COMPS))
    counts = rng.integers(per_person[0], per_person[1] + 1, people)
    chosen = np.concatenate([rng.choice(raters, k, replace=False) for k in counts])
    ratee = np.repeat(np.repeat(np.arange(people), counts), COMPS)
    rater = np.repeat(chosen, COMPS)
    comp = np.tile(np.arange(COMPS), len(chosen))
    cell = ratee * COMPS + comp
    rating = level.ravel()[cell] + severity[rater] + rng.normal(0.0, NOISE_SD, len(cell))
    if rounded:
        rating = np.rint(rating)
    if rounded if clamped is None else clamped:
        rating = np.clip(rating, *SCALE)
    return Cohort(severity, level.ravel(), cell, rater, ratee, rating)


RUBRIC = scoring.RubricSpec(
    key="bench", version=1, scale_min=int(SCALE[0]), scale_max=int(SCALE[1]),
    levels=("l1", "l2"), competencies=tuple(
        scoring.CompetencySpec(f"c{c}", 1.0, (3, 4)) for c in range(COMPS)))
PEER = scoring.role_order(scoring.DEFAULT_POLICY).index("peer")


def observed(cohort: Cohort, values: np.ndarray) -> np.ndarray:
    """Observed value per cell (NaN where unrated): the scoring package's cohort path when
    every value lies on the scale, else the plain mean of the cell's values."""
    if values.min() >= SCALE[0] and values.max() <= SCALE[1]:
        people = len(cohort.level) // COMPS
        result = scoring.score_cohort(
            RUBRIC, np.zeros(people, int), np.ones(people, int), cohort.ratee,
            cohort.cell % COMPS, np.full(len(values), PEER), values)
        return result.observed.ravel()
    n = np.bincount(cohort.cell, minlength=len(cohort.level))
    with np.errstate(invalid="ignore"):
        return np.bincount(cohort.cell, weights=values, minlength=len(cohort.level)) / n


def cell_rmse(cohort: Cohort, values: np.ndarray) -> float:
    seen = observed(cohort, values)
    rated = ~np.isnan(seen)
    return float(np.sqrt(np.mean((seen[rated] - cohort.level[rated]) ** 2)))


def service_adjusted(cohort: Cohort, result: fx.RaterEffects) -> np.ndarray:
    """The ratings as the service adjusts them (every simulated rater rates as a peer)."""
    known = {str(k): v for k, v in result.severities().items()}
    shift = np.array([scoring.shift_of("peer", str(r), known) or 0.0 for r in cohort.rater])
    return scoring.adjust_array(cohort.rating, shift, *SCALE)


def evaluate(cohort: Cohort, result: fx.RaterEffects) -> dict[str, float]:
    est = [e for e in result.raters if e.severity is not None]
    ids = np.array([e.rater for e in est])
    sev = np.array([e.severity for e in est])
    se = np.array([e.se for e in est])
    group = np.array([e.group for e in est])
    truth = cohort.severity[ids].copy()
    for g in np.unique(group):
        truth[group == g] -= truth[group == g].mean()
    adjusted = service_adjusted(cohort, result)
    planted = cohort.severity.copy()
    centred = np.zeros_like(planted)  # planted, centred in its group (unlinked: 0)
    centred[ids] = truth
    raw, adj, ceil, best = (cell_rmse(cohort, v) for v in (
        cohort.rating, adjusted,
        np.clip(cohort.rating - centred[cohort.rater], *SCALE),
        np.clip(cohort.rating - planted[cohort.rater], *SCALE)))
    flags = np.array([e.flag for e in est])
    flagged = flags != None  # noqa: E711 (element-wise)
    direction = np.where(flags == "lenient", 1.0, -1.0)
    return {
        "corr": float(np.corrcoef(sev, truth)[0, 1]),
        "cover": float(np.mean(np.abs(sev - truth) <= fx.Z95 * se)),
        "raw": raw, "adj": adj, "cut": 1 - adj / raw, "ceil": 1 - ceil / raw,
        "oracle": 1 - best / raw,
        "flags": float(flagged.sum()),
        "right": float(np.mean(direction[flagged] * truth[flagged] > 0)) if flagged.any()
        else float("nan"),
        "big": float(np.mean(direction[flagged] * truth[flagged] >= 0.5)) if flagged.any()
        else float("nan"),
        "seconds": result.fit.seconds,
    }


COLUMNS = ("corr", "cover", "raw", "adj", "cut", "ceil", "oracle", "flags", "right", "big")
HEADER = "  seed   corr  cover  rmse raw   adj    cut   ceil  oracle  flags  right   >=.5"


def row(label: str, m: dict[str, float]) -> str:
    return (f"  {label:>4}  {m['corr']:.3f}  {m['cover']:5.1%}  {m['raw']:.3f}  {m['adj']:.3f}"
            f"  {m['cut']:5.1%}  {m['ceil']:5.1%}  {m['oracle']:5.1%}  {m['flags']:5.1f}"
            f"  {m['right']:6.1%}  {m['big']:6.1%}")


def fit_cohort(cohort: Cohort, clamped: bool, rounded: bool, censored: bool = True,
               **options) -> fx.RaterEffects:
    """Fit as the service does: ratings that can sit at the ends of the scale (clamped) are
    fitted as censored there (in whole steps when rounded); `censored=False`: linear only."""
    scale = {"scale": SCALE, "step": 1.0 if rounded else 0.0} if clamped and censored else {}
    return fx.fit(cohort.cell, cohort.rater, cohort.rating, ratee=cohort.ratee, **scale,
                  **options)


def small_cohorts(seeds: int) -> None:
    for label, sd in (("sd 0.7", 0.7), ("variance 0.7 (sd 0.837)", 0.7**0.5)):
        for rounded in (False, True):
            kind = "rounded to 1..6" if rounded else "continuous"
            print(f"\n300 people x 12, 60 raters, severity {label}, ratings {kind}")
            print(HEADER)
            runs = []
            for seed in range(seeds):
                cohort = simulate(np.random.default_rng(seed), 300, 60, sd, (3, 5), rounded)
                result = fit_cohort(cohort, rounded, rounded)
                runs.append(evaluate(cohort, result))
                print(row(str(seed), runs[-1]))
            mean = {k: statistics.fmean(r[k] for r in runs if r[k] == r[k]) for k in COLUMNS}
            print(row("mean", mean))
            print(f"        method {result.fit.method}, groups {len(result.groups)}, "
                  f"variance shares (last seed) " + ", ".join(
                      f"{k} {v:.2f}" for k, v in vars(result.variance.shares).items()))


def clamping(seeds: int) -> None:
    """Which part of rounding to 1..6 costs interval coverage, the rounding or the clamp, and
    what fitting end ratings as censored gives back."""
    print("\nCoverage of 95% intervals, mean over seeds (300 x 12, 60 raters, sd 0.7): "
          "linear fit, censored fit (only where ratings are clamped)")
    for label, rounded, clamped in (("continuous", False, False),
                                    ("rounded, not clamped", True, False),
                                    ("clamped to 1..6, not rounded", False, True),
                                    ("rounded and clamped", True, True)):
        linear, censored = [], []
        for seed in range(seeds):
            cohort = simulate(np.random.default_rng(seed), 300, 60, 0.7, (3, 5), rounded,
                              clamped)
            linear.append(evaluate(cohort, fit_cohort(cohort, clamped, rounded, False))["cover"])
            if clamped:
                censored.append(evaluate(cohort, fit_cohort(cohort, clamped, rounded))["cover"])
        both = f"{statistics.fmean(censored):.1%}" if censored else "-"
        print(f"  {label:<30} {statistics.fmean(linear):.1%}  {both}")
    for censor in (False, True):
        print(f"Rounded and clamped, {'censored' if censor else 'linear'} fit, by planted "
              f"(centred) severity: mean error of the estimate and coverage")
        errors, truths, zs = [], [], []
        for seed in range(seeds):
            cohort = simulate(np.random.default_rng(seed), 300, 60, 0.7, (3, 5), True)
            result = fit_cohort(cohort, True, True, censor)
            est = [e for e in result.raters if e.severity is not None]
            truth = cohort.severity[[e.rater for e in est]]
            truth = truth - truth.mean()  # one linkage group here
            error = np.array([e.severity for e in est]) - truth
            errors.append(error)
            truths.append(truth)
            zs.append(error / np.array([e.se for e in est]))
        error, truth, z = (np.concatenate(x) for x in (errors, truths, zs))
        for lo, hi in ((-9, -0.7), (-0.7, 0), (0, 0.7), (0.7, 9)):
            band = (truth >= lo) & (truth < hi)
            print(f"  planted in [{max(lo, -3):+.1f}, {min(hi, 3):+.1f}): {band.sum():4d} "
                  f"raters, mean error {error[band].mean():+.3f}, cover "
                  f"{np.mean(np.abs(z[band]) <= fx.Z95):.1%}")


def timed(repeats: int, run) -> tuple[list[float], fx.RaterEffects]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return times, result


def big_cohort(people: int, raters: int, repeats: int, dense_max: int,
               rounded: bool = False) -> None:
    cohort = simulate(np.random.default_rng(1000), people, raters, 0.7, (4, 4), rounded)
    times, result = timed(repeats, lambda: fit_cohort(cohort, rounded, rounded,
                                                      dense_max_raters=dense_max))
    m = evaluate(cohort, result)
    kind = "rounded to 1..6, fitted as censored at the ends" if rounded else "continuous"
    print(f"\n{people:,} people x 12 x 4 raters from a pool of {raters:,} "
          f"({len(cohort.rating):,} ratings, {kind}, severity sd 0.7)")
    print(f"  fit seconds: min {min(times):.2f}, median {statistics.median(times):.2f} "
          f"over {repeats} runs; method {result.fit.method}, converged {result.fit.converged}, "
          f"approximate se {result.fit.approximate_se}, groups {len(result.groups)}")
    if rounded:  # same-run baseline: the linear fit alone on the same ratings
        linear, _ = timed(repeats, lambda: fit_cohort(cohort, rounded, rounded, False,
                                                      dense_max_raters=dense_max))
        print(f"  linear fit on the same ratings: min {min(linear):.2f}, median "
              f"{statistics.median(linear):.2f}; censored / linear (medians) "
              f"{statistics.median(times) / statistics.median(linear):.1f}x")
    print(f"  corr {m['corr']:.3f}, cover {m['cover']:.1%}, rmse {m['raw']:.3f} -> "
          f"{m['adj']:.3f} (cut {m['cut']:.1%}, ceil {m['ceil']:.1%}, oracle {m['oracle']:.1%}),"
          f" "
          f"flags {m['flags']:.0f}, right {m['right']:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--big-people", type=int, default=10_000)
    parser.add_argument("--big-raters", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    small_cohorts(args.seeds)
    clamping(args.seeds)
    big_cohort(args.big_people, args.big_raters, args.repeats, fx.DENSE_MAX_RATERS)
    # A pool as large as the cohort (everyone rates peers) is above the dense limit: the
    # conjugate-gradient path with approximate standard errors.
    big_cohort(args.big_people, args.big_people, args.repeats, fx.DENSE_MAX_RATERS)
    # What the service fits: whole steps on a bounded scale, censored at the ends (EM).
    big_cohort(args.big_people, args.big_raters, args.repeats, fx.DENSE_MAX_RATERS,
               rounded=True)


if __name__ == "__main__":
    main()
