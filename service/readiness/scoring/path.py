"""path_to_ready (DESIGN.md step 9): the fewest competencies to bring to the target bar for
ready_now, then the fewest rating steps."""

from __future__ import annotations

import bisect
import itertools
import operator
from collections.abc import Sequence

from .formulas import round_score


class _Bar:
    """Whether raising some competencies to the target bar reaches ready_now.

    The score's summands (weight x progress, in competency order) with the unmet gates at the
    bar; a competency brought to the bar adds its weight instead. sum() adds them in order from
    0, as the score does, so reaches() is exactly what re-scoring would give."""

    __slots__ = ("base", "ready_now", "terms", "total", "weights")

    def __init__(self, terms: list[float], weights: Sequence[float], total: float,
                 ready_now: float) -> None:
        self.terms, self.weights, self.total, self.ready_now = terms, weights, total, ready_now
        self.base = sum(terms)

    def near(self, extra_gain: float) -> bool:
        """reaches(), but for float rounding in the last bit: base + gains in another order."""
        return round_score(100.0 * (self.base + extra_gain) / self.total) >= self.ready_now

    def reaches(self, chosen: Sequence[int]) -> bool:
        raised = self.terms.copy()
        for c in chosen:
            raised[c] = self.weights[c]
        return round_score(100.0 * sum(raised) / self.total) >= self.ready_now


def path_to_ready(
    weights: Sequence[float], total: float, terms: Sequence[float], unmet_gates: list[int],
    candidates: Sequence[tuple[float, float, int]], ready_now: float,
) -> list[int] | None:
    """Competency indices to bring to the target bar, or None when nothing reaches ready_now.

    `terms` are the score's summands (weight x progress) in competency order and `candidates`
    (-score gain, steps, index) the competencies not yet at full progress, gates aside.
    Unmet gates are always in. The other candidates are sorted by score gain; the shortest
    prefix that reaches ready_now gives the minimal count k (no k-1 set gains more). A
    branch-and-bound search then looks for a cheaper set of that size, unless the prefix
    already costs no more than the k cheapest candidates together.
    """
    raised = list(terms)
    for c in unmet_gates:
        raised[c] = weights[c]
    bar = _Bar(raised, weights, total, ready_now)
    # by gain (largest first), then steps, then index; by position in cands from here on
    ordered = sorted(candidates)
    neg_gain, cost, cands = zip(*ordered, strict=True) if ordered else ((), (), ())
    n = len(cands)
    prefix = list(itertools.accumulate(map(operator.neg, neg_gain), initial=0.0))
    k = min(bisect.bisect_left(prefix, True, key=bar.near), n)  # near() is monotone in gain
    best, best_cost, checked = list(cands[:k]), sum(cost[:k]), False
    # No set of k costs less than the k cheapest candidates together; the search could then
    # only end where it starts (its 1e-9 margin dwarfs the rounding in either sum).
    if 0 < k < n and best_cost > sum(sorted(cost)[:k]) + 5e-10:
        search = _Search(bar, k, cands, [-g for g in neg_gain], cost, prefix, best, best_cost)
        search.run(0, [], 0.0, 0.0)
        best, best_cost, checked = search.best, search.best_cost, search.checked
    # near() and reaches() can only disagree within a last-bit rounding; then grow greedily.
    while not (checked or bar.reaches(best)):
        if len(best) == n:
            return None
        best.append(next(c for c in cands if c not in best))
    return unmet_gates + best


class _Search:
    """Branch and bound over the sets of k candidates for one cheaper than `best`."""

    def __init__(self, bar: _Bar, k: int, cands: Sequence[int], gain: list[float],
                 cost: Sequence[float], prefix: list[float], best: list[int],
                 best_cost: float) -> None:
        self.bar, self.k, self.cands, self.gain, self.cost = bar, k, cands, gain, cost
        self.prefix, self.best, self.best_cost, self.checked = prefix, best, best_cost, False
        self.cheapest_after = list(itertools.accumulate(reversed(cost), min))[::-1]
        # A gain below this can never reach the bar (0.1 below it, to be safe from rounding).
        self.need = (bar.ready_now - 0.1) * bar.total / 100.0 - bar.base

    def run(self, i: int, chosen: list[int], got: float, spent: float) -> None:
        """Each candidate from i on as the next pick, in the order of an include-first
        recursion (take j, else skip it and go on to j + 1), with its bounds at each j."""
        cands, gain, cost, prefix = self.cands, self.gain, self.cost, self.prefix
        n, left = len(cands), self.k - len(chosen)  # left >= 1
        for j in range(i, n):
            if n - j < left or spent + left * self.cheapest_after[j] >= self.best_cost - 1e-9:
                return
            if got + prefix[j + left] - prefix[j] < self.need:
                return  # even the largest remaining gains fall short
            if left > 1:
                chosen.append(cands[j])
                self.run(j + 1, chosen, got + gain[j], spent + cost[j])
                chosen.pop()
            elif (spent + cost[j] < self.best_cost - 1e-9 and self.bar.near(got + gain[j])
                    and self.bar.reaches([*chosen, cands[j]])):
                self.best, self.best_cost = [*chosen, cands[j]], spent + cost[j]
                self.checked = True
