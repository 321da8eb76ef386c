"""Adverse-impact figures on simulated cohorts: prints figures, never passes or fails.

    python bench/fairness.py [--runs 2000]

1. How often the flags fire when nothing is planted (two groups of n, both selected with
   probability 0.5) and when a group's true rate is 60% of the other's (0.5 vs 0.3):
     four/5   share of runs where the lower group's impact ratio is below 0.8
     p<.05    share where its two-sided Fisher p is below 0.05
     both     share where both hold
   With no planted difference "four/5" is the false-flag rate of the rule of thumb alone,
   which small groups make large; Fisher's test keeps its own at or under 5%.
2. Time of the whole arithmetic (selection, per-competency Welch intervals, rater view) on
   10,000 people x 12 competencies x 4 raters, against a same-run baseline: one pass that
   only groups the ratings by (ratee, competency), the least any rater view must do.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from service.fairness import analysis


def flags(rng: np.random.Generator, n: int, rates: tuple[float, float], runs: int
          ) -> tuple[float, float, float]:
    four = sig = both = 0
    labels = ["a"] * n + ["b"] * n
    for _ in range(runs):
        chosen = np.concatenate([rng.random(n) < rates[0], rng.random(n) < rates[1]])
        table = analysis.selection(labels, chosen, min_group=5)
        low = min((g for g in table.groups if g.impact_ratio is not None),
                  key=lambda g: g.impact_ratio, default=None)
        if low is None:
            continue
        f, s = bool(low.four_fifths), (low.fisher_p or 1.0) < 0.05
        four, sig, both = four + f, sig + s, both + (f and s)
    return four / runs, sig / runs, both / runs


def timing(rng: np.random.Generator) -> None:
    people, comps, raters = 10_000, 12, 4
    labels = [("a", "b", "c", None)[i % 4] for i in range(people)]
    chosen = rng.random(people) < 0.4
    gaps = rng.normal(1.0, 0.5, (people, comps))
    ratings = [(f"R{(i + k) % 400}", f"P{i}", f"c{c}", float(rng.integers(1, 6)))
               for i in range(people) for c in range(comps) for k in range(raters)]
    by_person = {f"P{i}": label for i, label in enumerate(labels)}

    start = time.perf_counter()
    cells: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    for rater, ratee, competency, value in ratings:
        cells[(ratee, competency)].append((rater, value))
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    table = analysis.selection(labels, chosen, min_group=5)
    shown = [g.group for g in table.groups if not g.suppressed]
    analysis.gap_differences(labels, gaps, shown)
    mid = time.perf_counter()
    analysis.rater_differences(ratings, by_person, shown, min_group=5)
    end = time.perf_counter()
    print(f"\n{people} people x {comps} competencies, {len(ratings)} ratings")
    print(f"  selection + competency intervals  {mid - start:7.3f} s")
    print(f"  rater view                        {end - mid:7.3f} s")
    print(f"  baseline (group ratings once)     {baseline:7.3f} s")
    print(f"  whole analysis / baseline         {(end - start) / baseline:7.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(15)
    print(f"{'n per group':>11}  {'planted':>9}  {'four/5':>7}  {'p<.05':>6}  {'both':>6}")
    for n in (10, 20, 50, 200):
        for name, rates in (("none", (0.5, 0.5)), ("0.6x", (0.5, 0.3))):
            four, sig, both = flags(rng, n, rates, args.runs)
            print(f"{n:>11}  {name:>9}  {four:7.3f}  {sig:6.3f}  {both:6.3f}")
    timing(rng)


if __name__ == "__main__":
    main()
