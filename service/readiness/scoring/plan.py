"""What score() prepares once and checks on every call.

score() serves one request per call, so its cost is CPython's per-operation cost: calls are
what is dear, subscripts and float operators are cheap. Everything that depends only on the
rubric, the policy and the two levels is computed once and kept (Plan, LevelPlan, in MEMO);
a call then makes one comprehension and one loop over the ratings (rows, tally), the checks
of the usual case read the tally, and the thorough checks run only when those fail.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import operator
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ...assessments.roles import ROLE_VALUES
from .formulas import Derived, derive
from .index import PolicyIndex, RubricIndex, policy_index, rubric_index
from .model import Policy, Rating, RubricSpec, ScoringInputError, dumps


class CompetencyPlan(NamedTuple):
    """One competency of a LevelPlan: what its report entry needs besides the ratings."""

    index: int
    key: str
    weight: float
    expected_current: int
    expected_target: int
    gate: bool  # a gate of the target level
    slot: int  # its part of the memo of derived values (Memo.derived)
    unrated: Derived  # derive() when nobody rated it
    # Its cells with their role weights in policy order: those before the self role, the
    # self cell (-1: the policy does not weigh self ratings) and weight, those after.
    before: tuple[tuple[int, float], ...]
    self_cell: int
    self_weight: float
    after: tuple[tuple[int, float], ...]
    cells: slice  # its cells in Tally.sums and Tally.counts, one per role the policy weighs


@dataclass(frozen=True, slots=True)
class LevelPlan:
    """What a report needs that depends only on rubric, policy, current and target level."""

    current: str
    target: str
    comps: tuple[CompetencyPlan, ...]
    expected_target: tuple[int, ...]
    gated: tuple[int, ...]
    total_weight: float
    scale_min: int
    digest: Any  # sha256 object fed with the canonical inputs up to the ratings (see digest)


@dataclass(frozen=True, slots=True)
class Plan:
    """Per (rubric, policy): the lookups every score() call needs."""

    rx: RubricIndex
    px: PolicyIndex
    # competency -> role -> cell: competency index * number of roles weighed + role index for
    # the roles the policy weighs; after those (from n_scored on) one cell per competency and
    # role it leaves out, whose ratings are checked and digested but weigh nothing
    cells: dict[str, dict[str, int]]
    n_scored: int
    ignores_roles: bool  # the policy leaves some role out
    cell_comp: tuple[int, ...]  # cell (below n_scored) -> competency index
    levels: dict[tuple[str, str | None], LevelPlan]  # by (current, target as given); lazily
    ladders: dict[tuple[str, str | None], Any]  # rules 2: ladder.Ladder, keyed like levels


def _plan(rubric: RubricSpec, policy: Policy) -> Plan:
    rx, px = rubric_index(rubric), policy_index(policy)
    n_roles = len(px.weights)
    n_scored = len(rx.keys) * n_roles
    left_out = px.order[n_roles:]
    return Plan(
        rx=rx,
        px=px,
        cells={ck: {rk: c * n_roles + k for rk, k in px.roles.items()}
               | {rk: n_scored + c * len(left_out) + e for e, rk in enumerate(left_out)}
               for ck, c in rx.comps.items()},
        n_scored=n_scored,
        ignores_roles=bool(left_out),
        cell_comp=tuple(cell // n_roles for cell in range(n_scored)),
        levels={},
        ladders={},
    )


class Memo:
    """Everything score() keeps between calls, in one place, each part bounded:

    - plans: the Plan of each (rubric, policy), an lru_cache on the immutable specs, each Plan
      holding its LevelPlans (a few: only valid level pairs are kept);
    - recent: the last (rubric, policy, plan), found by identity without hashing the specs
      again (the usual case); assigning one tuple keeps this safe across threads;
    - derived: rules 1's table: what one competency's ratings give (derive()'s numbers, its
      report entry but for the flags, the flags its ratings decide) by (slot, its cells'
      sums and counts), where each competency of each LevelPlan has a slot of its own.
      Ratings are mostly whole or half steps and few roles combine them, so these repeat
      from report to report. One table with one bound keeps the memory bounded (about 60 MB
      at most, measured with every entry distinct) however many rubrics, policies and level
      pairs come by; when full it starts over;
    - weighed: rules 2's table, bounded and reset the same way (about 80 MB at most): what
      one competency's ratings give (weighed values, derived numbers, path_to_ready options)
      by (slot, its cells' sums and counts).
    """

    def __init__(self, derived_limit: int = 1 << 16) -> None:
        self.plans = functools.lru_cache(maxsize=64)(_plan)
        self.recent: tuple[Any, Any, Plan | None] = (None, None, None)
        self.derived: dict[tuple[Any, ...], Any] = {}
        self.weighed: dict[tuple[Any, ...], Any] = {}
        self.derived_limit = derived_limit
        self._slots = itertools.count()

    def plan(self, rubric: RubricSpec, policy: Policy) -> Plan:
        last_rubric, last_policy, plan = self.recent
        if rubric is last_rubric and policy is last_policy and plan is not None:
            return plan
        plan = self.plans(rubric, policy)
        self.recent = (rubric, policy, plan)
        return plan

    def slot(self) -> int:
        return next(self._slots)  # never reused: a slot outlives a clear() in old plans

    def remember(self, key: tuple[Any, ...], derived: Any) -> None:
        if len(self.derived) >= self.derived_limit:
            self.derived.clear()
        self.derived[key] = derived

    def keep(self, table: dict[tuple[Any, ...], Any], key: tuple[Any, ...], value: Any) -> None:
        """Remember in a table other than `derived` (rules 2: weighed)."""
        if len(table) >= self.derived_limit:
            table.clear()
        table[key] = value

    def clear(self) -> None:
        """Forget everything (tests compare memoized reports with ones computed afresh)."""
        self.plans.cache_clear()
        self.recent = (None, None, None)
        self.derived.clear()
        self.weighed.clear()


MEMO = Memo()


# ---------------------------------------------------------------------------- level plans

def role_cells(
    first: int, px: PolicyIndex
) -> tuple[tuple[tuple[int, float], ...], int, float, tuple[tuple[int, float], ...]]:
    """A competency's cells (from `first`) with their role weights, in policy order: those
    before the self role, the self cell (-1: the policy has none) and weight, those after."""
    cells = [(first + k, w) for k, w in enumerate(px.weights)]
    if px.self_idx < 0:
        return tuple(cells), -1, 0.0, ()
    self_cell, self_weight = cells[px.self_idx]
    return tuple(cells[:px.self_idx]), self_cell, self_weight, tuple(cells[px.self_idx + 1:])


_DIGEST_MAGIC = b"readiness-inputs/2\n"


def level_plan(
    plan: Plan, rubric: RubricSpec, current: str, target: str | None,
    ratings: Sequence[Rating] | None,
) -> LevelPlan:
    """The (cached) LevelPlan; raises ScoringInputError listing every problem with the levels
    and, when `ratings` is given (the quick check failed), with the ratings."""
    rx, px = plan.rx, plan.px
    errors: list[tuple[str, str]] = []
    cur, tgt = _resolve_levels(rx, rubric.levels, current, target, errors)
    if ratings is not None:
        errors += _rating_errors(rx, rubric, ratings)
    if errors:
        raise ScoringInputError(errors)
    found = plan.levels.get((current, target))
    if found is not None:
        return found
    exp_cur, exp_tgt, gated = rx.expected[cur], rx.expected[tgt], rx.gates[tgt]
    total, lo, n_roles = rx.total_weight, rubric.scale_min, len(px.weights)
    comps = []
    for c, (key, w) in enumerate(zip(rx.keys, rx.weights, strict=True)):
        spec = (c, key, w, exp_cur[c], exp_tgt[c], c in gated)
        comps.append(CompetencyPlan(*spec, MEMO.slot(), derive(*spec, lo, total, None),
                                    *role_cells(c * n_roles, px),
                                    slice(c * n_roles, (c + 1) * n_roles)))
    header = dumps({"current_level": rubric.levels[cur], "policy": json.loads(px.canonical),
                    "rubric": json.loads(rx.canonical), "target_level": rubric.levels[tgt]})
    made = LevelPlan(
        current=rubric.levels[cur],
        target=rubric.levels[tgt],
        comps=tuple(comps),
        expected_target=exp_tgt,
        gated=gated,
        total_weight=total,
        scale_min=lo,
        digest=hashlib.sha256(_DIGEST_MAGIC + header.encode() + b"\n"),
    )
    plan.levels[current, target] = made  # a few entries: only valid level pairs get here
    return made


def _resolve_levels(
    rx: RubricIndex, levels: Sequence[str], current: str, target: str | None,
    errors: list[tuple[str, str]],
) -> tuple[int, int]:
    cur = rx.levels.get(current, -1)
    if cur < 0:
        errors.append(("current_level", f"unknown level {current!r}; levels: {', '.join(levels)}"))
    if target is None:
        if cur == len(levels) - 1:
            errors.append(("target_level",
                           f"{current!r} is the top level; there is no level above it"))
        return cur, cur + 1
    tgt = rx.levels.get(target, -1)
    if tgt < 0:
        errors.append(("target_level", f"unknown level {target!r}; levels: {', '.join(levels)}"))
    elif cur >= 0 and tgt <= cur:
        errors.append(("target_level", f"must be above the current level {current!r}"))
    return cur, tgt


# ------------------------------------------------------------------------------- ratings

# One rating as score() works with it: (cell, rater_id or "", proficiency, evidence or "",
# rater_role). Sorted, the first four are the canonical ratings the digest hashes (the role
# follows from the cell).
Row = tuple[int, str, Any, str, str]
_CELL_RATER = operator.itemgetter(0, 1)
ROLE_RATER = operator.itemgetter(4, 1)


@dataclass(slots=True)
class Tally:
    """The ratings added up in one pass, in input order (so that each role's ratings sum as
    the cohort path sums them)."""

    sums: list[float]  # per cell: sum of the proficiencies
    counts: list[int]  # per cell: number of ratings
    high: list[float]  # per competency: highest rating (-inf: none)
    low: list[float]  # per competency: lowest rating (+inf: none)
    evidenced: list[bool]  # per competency: some rating has non-blank evidence
    n_evidence: int  # ratings with non-blank evidence


def checked_inputs(
    plan: Plan, rubric: RubricSpec, current: str, target: str | None,
    ratings: Sequence[Rating],
) -> tuple[LevelPlan, list[Row], list[Row], Tally]:
    """The LevelPlan, one row per rating, the rows of the roles the policy weighs (all of them
    unless it leaves a role out) and their tally; raises ScoringInputError listing every
    problem with the levels and the ratings.

    A role the policy leaves out weighs 0: its ratings are checked and enter the inputs
    digest, and play no part in the report (observed, flags, confidence), so a competency
    rated only in such roles is unrated."""
    lv = plan.levels.get((current, target))
    rows = _rows(plan.cells, ratings)
    scored, ignored = rows, None
    if rows is not None and plan.ignores_roles:
        scored = [row for row in rows if row[0] < plan.n_scored]
        ignored = [row for row in rows if row[0] >= plan.n_scored]
    try:
        tally = None if scored is None else _tally(plan, scored)
        valid = tally is not None and _plausible(tally, rows, ignored, rubric.scale_min,
                                                 rubric.scale_max)
    except TypeError:  # a proficiency that is not a number
        tally, valid = None, False
    if lv is None or not valid:  # resolve the levels (once), or raise with every problem
        lv = level_plan(plan, rubric, current, target, None if valid else ratings)
        if tally is None:  # _rating_errors found nothing to name: let the error itself show
            tally = _tally(plan, scored)  # type: ignore[arg-type]
    assert rows is not None and scored is not None  # an unknown competency or role: an error
    return lv, rows, scored, tally


def _rows(cells: dict[str, dict[str, int]], ratings: Sequence[Rating]) -> list[Row] | None:
    """One row per rating; None when some competency or role is unknown."""
    try:
        return [(cells[r.competency][r.rater_role], r.rater_id or "", r.proficiency,
                 r.evidence or "", r.rater_role) for r in ratings]
    except (KeyError, TypeError):  # TypeError: unhashable; _rating_errors raises it again
        return None


def _tally(plan: Plan, rows: list[Row]) -> Tally:
    """Raises TypeError for a proficiency that is not a number (checked before anything else
    is computed: the quick validity check uses the tally)."""
    n_comp, comp_of = len(plan.rx.keys), plan.cell_comp
    sums, counts = [0.0] * len(comp_of), [0] * len(comp_of)
    high, low = [-math.inf] * n_comp, [math.inf] * n_comp
    evidenced, n_evidence = [False] * n_comp, 0
    for g, _, p, e, _ in rows:
        sums[g] += p
        counts[g] += 1
        c = comp_of[g]
        if p > high[c]:
            high[c] = p
        if p < low[c]:
            low[c] = p
        if e and not e.isspace():
            evidenced[c] = True
            n_evidence += 1
    return Tally(sums, counts, high, low, evidenced, n_evidence)


def _plausible(tally: Tally, rows: list[Row], ignored: list[Row] | None, lo: float,
               hi: float) -> bool:
    """Quick check of the usual case, from the tally (and the ratings of roles the policy
    leaves out, which it does not count); _rating_errors explains any failure in detail.
    A NaN rating makes its cell's sum NaN (and is never a highest or lowest rating); a
    competency nobody rated has highest -inf and lowest +inf."""
    total = sum(tally.sums)
    if total != total or min(tally.low) < lo or max(tally.high) > hi:
        return False
    if ignored and not all(lo <= row[2] <= hi for row in ignored):  # NaN fails too
        return False
    # Some (cell, rater) twice? That is fine only among anonymous raters. It takes a cell
    # rated twice (the ratings of roles the policy leaves out are not in the counts).
    if (ignored or max(tally.counts) > 1) and len(set(map(_CELL_RATER, rows))) != len(rows):
        keyed = [k for k in map(_CELL_RATER, rows) if k[1]]
        if len(set(keyed)) != len(keyed):  # a named rater twice on one competency and role
            return False
    return True


def _rating_errors(
    rx: RubricIndex, rubric: RubricSpec, ratings: Sequence[Rating]
) -> list[tuple[str, str]]:
    """Every problem with the ratings, each with its field path (the slow, thorough path)."""
    errors: list[tuple[str, str]] = []
    lo, hi = rubric.scale_min, rubric.scale_max
    seen: set[tuple[str, str, str]] = set()
    for i, r in enumerate(ratings):
        if r.competency not in rx.comps:
            errors.append((f"ratings[{i}].competency", f"unknown competency {r.competency!r}"))
        if r.rater_role not in ROLE_VALUES:  # a role the policy leaves out is no error
            errors.append((f"ratings[{i}].rater_role", f"unknown rater_role "
                           f"{r.rater_role!r}; roles: {', '.join(ROLE_VALUES)}"))
        p = r.proficiency
        if not (isinstance(p, int | float) and not isinstance(p, bool) and lo <= p <= hi):
            errors.append((f"ratings[{i}].proficiency", f"must be a number in {lo}..{hi}"))
        if r.rater_id:
            key = (r.competency, r.rater_role, r.rater_id)
            if key in seen:
                errors.append((f"ratings[{i}].rater_id",
                               "this rater already rated this competency in this role"))
            seen.add(key)
    return errors


def rated_in(counts: list[int], role: int, n_roles: int) -> int:
    """Competencies with a rating in this role (0 when the policy has no such role)."""
    if role < 0:
        return 0
    column = counts[role::n_roles]
    return len(column) - column.count(0)


def report_frame(lv: LevelPlan, rubric: RubricSpec, policy: Policy, rows: list[Row],
                 final: float, band: str, coverage: float, body: dict[str, Any]
                 ) -> dict[str, Any]:
    """A report: the fields every report has, whatever the policy's rules, around ``body``
    (in wire order)."""
    return {
        "score": final,
        "band": band,
        "coverage": coverage,
        "current_level": lv.current,
        "target_level": lv.target,
        **body,
        "policy": {"name": policy.name, "version": policy.version},
        "rubric": {"key": rubric.key, "version": rubric.version},
        "inputs_digest": digest(lv, rows),
    }


def digest(lv: LevelPlan, rows: list[Row]) -> str:
    """sha256 of the canonical inputs, as "sha256:<hex>".

    The bytes hashed are b"readiness-inputs/2\\n", the JSON object (sorted keys, no
    whitespace) of current_level, policy and rubric content and target_level, b"\\n", then the
    ratings as rows (cell, rater_id, proficiency, evidence) in sorted order: their count as
    int64, the cells as int64, the proficiencies as float64 (all little-endian), then the
    rater ids followed by the evidence texts, UTF-8, each followed by NUL (or, should one
    contain NUL, b"\\xff" and their JSON array). cell = competency index * len(policy roles) +
    role index, both fixed by the rubric and policy content also hashed; a role the policy
    leaves out has cell n_competencies * len(policy roles) + competency index * n_left_out +
    its position among those left out (RaterRole code order), so the ratings of such roles
    are told apart while every other input hashes as before. None and "" are the same input,
    as are 4 and 4.0. LevelPlan holds the hash of everything before the ratings.
    Binary numbers keep the per-call cost to a sort and a few C-speed passes (no float repr).
    Sorts `rows` in place.
    """
    rows.sort()
    n = len(rows)
    # the rows' columns, by one transposition
    cells, raters, proficiencies, evidence, _ = zip(*rows, strict=False) if n else _NO_COLUMNS
    strings = raters + evidence
    texts = "\0".join(strings) + "\0" if n else ""
    hashed = lv.digest.copy()
    hashed.update(struct.pack(f"<q{n}q{n}d", n, *cells, *proficiencies))
    hashed.update(texts.encode() if texts.count("\0") == len(strings) else
                  b"\xff" + dumps(strings).encode())
    return "sha256:" + hashed.hexdigest()


_NO_COLUMNS: tuple[tuple[Any, ...], ...] = ((),) * 5
