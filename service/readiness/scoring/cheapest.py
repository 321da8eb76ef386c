"""The cheapest path_to_ready of rules 2: raise some rated competencies to whole scale
values so that re-scoring gives ready_now, with the smallest total of rating steps
(to - from); ties go to fewer competencies, then to those earlier in the rubric, then to
lower `to` values in rubric order.

An exact branch and bound over the raise options (a multiple-choice knapsack: at most a few
options per competency). Competencies are visited by their best score gain per step, each
with its options cheapest first; a branch is cut when the cheapest completion (a fractional
bound: the remaining gain bought at each competency's best rate, most efficient first)
cannot beat the best set found. Every accepted set is checked by re-scoring exactly as the
report scores, so float rounding cannot let a set through that falls short.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from .formulas import progress_of, round_score

EPS = 5e-10  # costs lie on a 1e-9 grid (observed values are snapped): below it is a tie


@dataclass(frozen=True, slots=True)
class Raise:
    """Raise competency `index` to the whole value `to`: every rating of it at `to`."""

    index: int
    to: int
    start: float  # where the steps are counted from (see raise_options)
    cost: float  # to - start
    gain: float  # new term - current term
    term: float  # weight x progress at `to`


@dataclass(frozen=True, slots=True)
class Candidate:
    index: int
    forced: bool  # an unmet gate: it must be raised
    options: tuple[Raise, ...]  # cheapest first
    rate: float  # best gain per step over its options
    most: float  # largest gain over its options
    forced_cost: float  # forced: the cost of its cheapest option; else 0
    rank: tuple[float, int]  # search order: best rate first, then rubric order
    full: float  # most / rate where most > 0 (else 0): its whole gain at its best rate


def raise_options(index: int, start: float, weight: float, term: float,
                  expected_from: int, expected_target: int, gate_bar: int | None,
                  gate_met: bool, scale_max: int) -> Candidate | None:
    """The useful raises of one rated competency (None: none is useful).

    A raise sets every rating of it to `to`, non-self ones too, so where gates apply `to`
    must reach the highest gate bar; other raises count only while they add progress. Steps
    are counted from `start`: the observed value, or for an unmet gate the lower of observed
    and its non-self value (self ratings above the others do not shorten the way)."""
    top = expected_target if gate_bar is None else max(expected_target, gate_bar)
    low = math.floor(start) + 1
    if gate_bar is not None:
        low = max(low, gate_bar)
    options: list[Raise] = []
    for to in range(low, min(top, scale_max) + 1):
        new = weight * progress_of(float(to), expected_from, expected_target)
        gain = new - term
        if (not gate_met and not options) or gain > (options[-1].gain if options else 0.0):
            options.append(Raise(index, to, start, to - start, gain, new))
    if not options:
        return None if gate_met else Candidate(index, True, (), 0.0, 0.0, math.inf,
                                               (0.0, index), 0.0)
    rate = max(o.gain / o.cost for o in options)
    most = max(o.gain for o in options)
    return Candidate(index, not gate_met, tuple(options), rate, most,
                     0.0 if gate_met else options[0].cost, (-rate, index),
                     most / rate if most > 0 else 0.0)


def cheapest_path(terms: list[float], total: float, ready_now: float,
                  candidates: Sequence[Candidate]) -> list[Raise] | None:
    """The cheapest raises, or None when none reaches ready_now. `terms` are the score's
    summands (weight x progress) in rubric order (not changed); every forced candidate must
    be raised."""
    # score points to gain, with a margin for the half-up rounding of the score and for
    # float sums in another order; _reaches() decides exactly
    need = (ready_now - 0.05) * total / 100.0 - sum(terms) - 1e-9
    slack = sum([c.most for c in candidates]) - need  # gain to spare with every raise made
    if slack < -1e-9:
        return None  # short even with every gain at once: about half the calls, kept cheap
    # A candidate with one option whose gain exceeds the slack is on every path: it is
    # raised at once and the search runs over the others (often none or a few).
    fixed, rest = [], []
    for c in candidates:
        (fixed if not c.forced and len(c.options) == 1 and c.most > slack + 1e-9
         else rest).append(c)
    search = _Search(terms, total, ready_now, sorted(rest, key=_RANK))
    if search.forced_cost[0] == math.inf:  # a gate that no raise can meet
        return None
    chosen = [c.options[0] for c in fixed]
    search.visit(0, need - sum([r.gain for r in chosen]), sum([r.cost for r in chosen]), chosen)
    return search.best


class _Search:
    def __init__(self, terms: list[float], total: float, ready_now: float,
                 order: list[Candidate]) -> None:
        self.terms, self.total, self.ready_now, self.order = terms, total, ready_now, order
        # from candidate i on: forced ones, their cheapest cost, the largest gains, and the
        # first forced one (the last to try next; else the last candidate)
        n = len(order)
        self.most_after = [*itertools.accumulate([c.most for c in reversed(order)])][::-1]
        self.most_after.append(0.0)
        self.forced_after = self.forced_cost = [0.0] * (n + 1)  # no forced one: all 0
        self.next_forced = [n - 1] * (n + 1)
        if any([c.forced for c in order]):
            self.forced_after, self.forced_cost = [0] * (n + 1), [0.0] * (n + 1)
            forced, cost, first = 0, 0.0, n - 1
            for j in range(n - 1, -1, -1):
                c = order[j]
                if c.forced:
                    forced, cost, first = forced + 1, cost + c.forced_cost, j
                self.forced_after[j], self.forced_cost[j] = forced, cost
                self.next_forced[j] = first
        self.best: list[Raise] | None = None
        self.best_cost = math.inf

    def bound(self, i: int, need: float) -> float:
        """A lower bound on the cost still to spend from candidate i on: the gain still
        needed bought at each candidate's best rate, best rates first (need > 0)."""
        cost, left, order = 0.0, need, self.order
        for j in range(i, len(order)):
            c = order[j]
            if c.most >= left:
                return max(cost + left / c.rate, self.forced_cost[i])
            if c.most > 0:
                cost += c.full
                left -= c.most
        return math.inf

    def visit(self, i: int, need: float, spent: float, chosen: list[Raise]) -> None:
        """Decisions up to candidate i are in `chosen`; each later candidate j (up to the
        next forced one, which cannot be skipped) is tried as the next to raise."""
        if not self.forced_after[i] and need <= 0 and self._accept(chosen, spent):
            return  # raising more would only cost more
        order = self.order
        for j in range(i, self.next_forced[i] + 1):
            # skipping more candidates leaves less gain and a higher bound: stop there
            if need > self.most_after[j] + 1e-9:
                return
            if self.best is not None:  # before a first set, no bound can cut
                lower = self.bound(j, need) if need > 0 else self.forced_cost[j]
                if spent + lower > self.best_cost + EPS:
                    return
            for option in order[j].options:
                # costs only grow down a branch and options come cheapest first
                if spent + option.cost > self.best_cost + EPS:
                    break
                chosen.append(option)
                self.visit(j + 1, need - option.gain, spent + option.cost, chosen)
                chosen.pop()

    def _accept(self, chosen: list[Raise], spent: float) -> bool:
        """Keep `chosen` if it reaches ready_now and beats the best so far; True if it
        reaches ready_now."""
        if not self._reaches(chosen):
            return False
        if self.best is None or spent < self.best_cost - EPS or (
                spent <= self.best_cost + EPS and _tie_key(chosen) < _tie_key(self.best)):
            self.best, self.best_cost = sorted(chosen, key=_INDEX), spent
        return True

    def _reaches(self, chosen: list[Raise]) -> bool:
        raised = self.terms.copy()
        for r in chosen:
            raised[r.index] = r.term
        return round_score(100.0 * sum(raised) / self.total) >= self.ready_now


_RANK = operator.attrgetter("rank")
_INDEX = operator.attrgetter("index")
CHEAPEST_FIRST = operator.attrgetter("cost", "index")  # how a path is listed


def _tie_key(chosen: list[Raise]) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    ordered = sorted(chosen, key=_INDEX)
    return len(ordered), tuple(r.index for r in ordered), tuple(r.to for r in ordered)
