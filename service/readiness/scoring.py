"""Promotion-readiness scoring: pure functions (stdlib + NumPy), no I/O.

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
- score_cohort() computes observed, progress, score and band for many assessments with
  NumPy by the same formulas; observed values and the score are snapped (see "numerics")
  so that summing in another order cannot tip a result, and both paths agree exactly.
- score() is the per-request path: what depends only on rubric, policy and levels is
  prepared once, what follows from one competency's observed value is memoized, and the
  inputs digest hashes the sorted ratings in binary (see _digest).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import json
import math
import operator
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

ROLES = ("self", "manager", "peer", "upward", "other")
BANDS = ("ready_now", "ready_soon", "developing", "not_yet")
READY_NOW, READY_SOON, DEVELOPING, NOT_YET = range(4)


class ScoringInputError(ValueError):
    """Invalid scoring input; `errors` lists every problem as (field path, message)."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {msg}" for path, msg in errors))


# ---------------------------------------------------------------------------- input types


@dataclass(frozen=True)
class Recommendation:
    kind: str
    title: str
    detail: str = ""


@dataclass(frozen=True)
class CompetencySpec:
    key: str
    weight: float
    expected: tuple[int, ...]  # expected proficiency per level, in RubricSpec.levels order
    gates: frozenset[str] = frozenset()  # levels that cannot be reached without meeting this
    recommendations: tuple[Recommendation, ...] = ()


@dataclass(frozen=True)
class RubricSpec:
    key: str
    version: int
    scale_min: int
    scale_max: int
    levels: tuple[str, ...]  # lowest first
    competencies: tuple[CompetencySpec, ...]

    # Rubrics are lru_cache keys on every call; hashing the nested tuples each time costs more
    # than scoring a small assessment, so the hash is computed once per object.
    @functools.cached_property
    def _hash(self) -> int:
        return hash(tuple(getattr(self, f.name) for f in fields(self)))

    def __hash__(self) -> int:
        return self._hash


@dataclass(frozen=True)
class Rating:
    competency: str
    rater_role: str  # self | manager | peer | upward | other
    rater_id: str | None
    proficiency: float
    evidence: str | None = None


def _pairs(value: Any) -> tuple[tuple[str, float], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), float(v)) for k, v in items)


@dataclass(frozen=True)
class Policy:
    """A named, versioned set of scoring parameters, stored with every report.

    Confidence parameters (see `_confidence`): `confidence_weights` weigh the four factors,
    `confidence_full_raters` distinct raters give full rater credit, a mean spread of
    `confidence_max_spread` steps between raters gives no agreement credit, and
    `confidence_high` / `confidence_medium` are the value cut-offs of the levels.
    """

    name: str = "progress"
    version: int = 1
    role_weights: tuple[tuple[str, float], ...] = (
        ("manager", 0.5), ("peer", 0.3), ("upward", 0.3), ("self", 0.2), ("other", 0.1),
    )
    ready_now: float = 90
    ready_soon: float = 70
    developing: float = 40
    blind_spot_steps: float = 2
    hidden_strength_steps: float = 2
    confidence_weights: tuple[tuple[str, float], ...] = (
        ("manager", 0.3), ("raters", 0.25), ("agreement", 0.25), ("evidence", 0.2),
    )
    confidence_full_raters: int = 4
    confidence_max_spread: float = 2
    confidence_high: float = 0.75
    confidence_medium: float = 0.45

    def __post_init__(self) -> None:
        errors = _policy_errors(self)
        if errors:
            raise ScoringInputError(errors)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("name", "version", "confidence_full_raters"):
                out[f.name] = value
            elif isinstance(value, tuple):
                out[f.name] = {k: float(v) for k, v in value}
            else:
                out[f.name] = float(value)  # 90 and 90.0 must digest alike
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ScoringInputError([(f"policy.{k}", "unknown policy field") for k in unknown])
        kwargs = dict(data)
        for key in ("role_weights", "confidence_weights"):
            if key in kwargs:
                try:
                    kwargs[key] = _pairs(kwargs[key])
                except (TypeError, ValueError):
                    raise ScoringInputError(
                        [(f"policy.{key}", "expected an object of name: weight")]
                    ) from None
        return cls(**kwargs)


_CONFIDENCE_FACTORS = ("manager", "raters", "agreement", "evidence")


def _policy_errors(p: Policy) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []

    def check(name: str, ok: bool, message: str) -> None:
        if not ok:
            errors.append((f"policy.{name}", message))

    def positive(x: Any) -> bool:
        return isinstance(x, int | float) and math.isfinite(x) and x > 0

    check("name", isinstance(p.name, str) and p.name != "", "must be a non-empty string")
    check("version", isinstance(p.version, int) and p.version >= 1, "must be an integer >= 1")
    roles = [r for r, _ in p.role_weights]
    check("role_weights", bool(roles) and set(roles) <= set(ROLES) and len(set(roles)) == len(roles)
          and all(positive(w) for _, w in p.role_weights),
          f"must give each role at most once a positive weight; roles: {', '.join(ROLES)}")
    thresholds = (p.ready_now, p.ready_soon, p.developing)
    check("ready_now", all(positive(t) for t in thresholds)
          and p.ready_now >= p.ready_soon >= p.developing,
          "thresholds must be positive with ready_now >= ready_soon >= developing")
    check("blind_spot_steps", positive(p.blind_spot_steps), "must be positive")
    check("hidden_strength_steps", positive(p.hidden_strength_steps), "must be positive")
    check("confidence_weights", sorted(k for k, _ in p.confidence_weights)
          == sorted(_CONFIDENCE_FACTORS) and all(positive(w) for _, w in p.confidence_weights),
          f"must give a positive weight to each of {', '.join(_CONFIDENCE_FACTORS)}")
    check("confidence_full_raters", isinstance(p.confidence_full_raters, int)
          and p.confidence_full_raters >= 1, "must be an integer >= 1")
    check("confidence_max_spread", positive(p.confidence_max_spread), "must be positive")
    check("confidence_high", positive(p.confidence_medium) and positive(p.confidence_high)
          and p.confidence_medium <= p.confidence_high <= 1,
          "must satisfy 0 < confidence_medium <= confidence_high <= 1")
    return errors


DEFAULT_POLICY = Policy()


# ------------------------------------------------------------------------------ numerics
# Both paths snap intermediate values so that sums done in another order (or a weighted mean
# of equal ratings such as (0.5*4 + 0.3*4) / 0.8) cannot land a hair below a bar: observed
# values to 1e-9, the score to 1e-6 before rounding half-up. Python's round() and np.rint()
# both round half to even on the exact double, so the scalar and vector forms match.


def _snap(x: float) -> float:
    return round(x * 1e9) / 1e9


def _round_score(raw: float) -> float:
    return math.floor(round(raw * 1e6) / 1e5 + 0.5) / 10


def _round4(x: float) -> float:
    # Report decimals, half-up like the score; round(x, 4) is ~6x slower and half-to-even.
    return math.floor(x * 1e4 + 0.5) / 1e4


def _snap_array(x: np.ndarray) -> np.ndarray:
    return np.rint(x * 1e9) / 1e9


def _round_score_array(raw: np.ndarray) -> np.ndarray:
    return np.floor(np.rint(raw * 1e6) / 1e5 + 0.5) / 10


def _progress(observed: float | None, exp_cur: int, exp_tgt: int) -> float:
    if observed is None:
        return 0.0
    if exp_tgt > exp_cur:
        return min(1.0, max(0.0, (observed - exp_cur) / (exp_tgt - exp_cur)))
    return 1.0 if observed >= exp_tgt else 0.0


def _band(score: float, gate_unmet: bool, policy: Policy) -> int:
    if score >= policy.ready_now:
        band = READY_NOW
    elif score >= policy.ready_soon:
        band = READY_SOON
    elif score >= policy.developing:
        band = DEVELOPING
    else:
        band = NOT_YET
    return max(band, DEVELOPING) if gate_unmet else band


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           allow_nan=False)
_dumps = _ENCODER.encode  # one encoder: json.dumps with options builds a new one per call


def canonical_json(report: Mapping[str, Any]) -> bytes:
    """Deterministic bytes for a report: sorted keys, no whitespace, UTF-8, no NaN."""
    return _dumps(report).encode("utf-8")


# -------------------------------------------------------------------- per-rubric/policy data


@dataclass(frozen=True)
class _RubricIndex:
    levels: dict[str, int]
    comps: dict[str, int]
    keys: tuple[str, ...]
    weights: tuple[float, ...]
    total_weight: float
    expected: tuple[tuple[int, ...], ...]  # [level][competency]
    gates: tuple[tuple[int, ...], ...]  # [level] -> competencies gated there
    recommendations: tuple[tuple[dict[str, str], ...], ...]
    canonical: str  # everything about the rubric that can change a report


@functools.lru_cache(maxsize=64)
def _rubric_index(rubric: RubricSpec) -> _RubricIndex:
    errors = _rubric_errors(rubric)
    if errors:
        raise ScoringInputError(errors)
    comps = rubric.competencies
    recs = tuple(
        tuple({"kind": r.kind, "title": r.title, "detail": r.detail} for r in c.recommendations)
        for c in comps
    )
    content = {
        "key": rubric.key, "version": rubric.version,
        "scale": [rubric.scale_min, rubric.scale_max], "levels": list(rubric.levels),
        "competencies": [
            {"key": c.key, "weight": float(c.weight), "expected": list(c.expected),
             "gates": sorted(c.gates), "recommendations": list(r)}
            for c, r in zip(comps, recs, strict=True)
        ],
    }
    return _RubricIndex(
        levels={lvl: i for i, lvl in enumerate(rubric.levels)},
        comps={c.key: i for i, c in enumerate(comps)},
        keys=tuple(c.key for c in comps),
        weights=tuple(float(c.weight) for c in comps),
        total_weight=math.fsum(c.weight for c in comps),
        expected=tuple(tuple(c.expected[i] for c in comps) for i in range(len(rubric.levels))),
        gates=tuple(tuple(j for j, c in enumerate(comps) if lvl in c.gates)
                    for lvl in rubric.levels),
        recommendations=recs,
        canonical=_dumps(content),
    )


def _rubric_errors(rubric: RubricSpec) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    lo, hi = rubric.scale_min, rubric.scale_max
    if not lo < hi:
        errors.append(("rubric.scale_max", "must be greater than scale_min"))
    if not rubric.levels or len(set(rubric.levels)) != len(rubric.levels):
        errors.append(("rubric.levels", "must be a non-empty list of distinct level keys"))
    if not rubric.competencies:
        errors.append(("rubric.competencies", "must not be empty"))
    if len({c.key for c in rubric.competencies}) != len(rubric.competencies):
        errors.append(("rubric.competencies", "competency keys must be distinct"))
    for i, c in enumerate(rubric.competencies):
        path = f"rubric.competencies[{i}]"
        if not (isinstance(c.weight, int | float) and math.isfinite(c.weight) and c.weight > 0):
            errors.append((f"{path}.weight", "must be a positive number"))
        if len(c.expected) != len(rubric.levels) or not all(lo <= e <= hi for e in c.expected):
            errors.append((f"{path}.expected",
                           f"needs one proficiency in {lo}..{hi} per level"))
        if not c.gates <= set(rubric.levels):
            errors.append((f"{path}.gates", "names a level the rubric does not have"))
    return errors


@dataclass(frozen=True)
class _PolicyIndex:
    roles: dict[str, int]  # role -> position in policy.role_weights (the cohort role index)
    weights: tuple[float, ...]
    self_idx: int  # -1 when the policy does not weigh self ratings
    manager_idx: int
    # the weights of the manager, raters, agreement and evidence factors, and their sum
    confidence_terms: tuple[float, float, float, float, float]
    canonical: str


@functools.lru_cache(maxsize=16)
def _policy_index(policy: Policy) -> _PolicyIndex:
    roles = {r: i for i, (r, _) in enumerate(policy.role_weights)}
    confidence = dict(policy.confidence_weights)
    return _PolicyIndex(
        roles=roles,
        weights=tuple(w for _, w in policy.role_weights),
        self_idx=roles.get("self", -1),
        manager_idx=roles.get("manager", -1),
        confidence_terms=(*(confidence[k] for k in _CONFIDENCE_FACTORS),
                          sum(confidence.values())),
        canonical=_dumps(policy.to_dict()),
    )


# ------------------------------------------------------------------------ single report
# score() serves one request per call, so its cost is CPython's per-operation cost: calls
# are what is dear, subscripts and float operators are cheap. Everything that depends only
# on the rubric, the policy and the two levels is computed once and cached (_Plan,
# _LevelPlan); a call then makes one comprehension and one loop over the ratings, one loop
# over the competencies (their roles inline), a sort and a few C-speed passes. Every value
# comes from the same float operations, in the same order, as the formulas above and as
# score_cohort() (the tests check that the two paths agree).


# Per competency, what follows from its observed value alone (see _derive): the report's
# observed, gap, progress and contribution (rounded), steps (the unrounded gap), met,
# weight x progress (its term of the score), weight x share of the target met (its term of
# the coverage), its path_to_ready candidate (-score gain, steps, index) unless full or an
# unmet gate, and its top-gaps key (-steps, -weight, key, index) when steps > 0.
_Derived = tuple[float | None, float, float, float, float, bool, float, float,
                 tuple[float, float, int] | None, tuple[float, float, str, int] | None]
# _derive() results by (slot, num / den), where each competency of each _LevelPlan has its
# own slot number. One table with one bound keeps the memory bounded (about 25 MB at most)
# however many rubrics, policies and level pairs come by; when full it starts over.
_DERIVED: dict[tuple[int, float], _Derived] = {}
_DERIVED_LIMIT = 1 << 16
_slots = itertools.count()


@dataclass(frozen=True, slots=True)
class _LevelPlan:
    """What a report needs that depends only on rubric, policy, current and target level."""

    current: str
    target: str
    # Per competency: (key, weight, expected current, expected target, gated at the target,
    # scale_min), for _derive.
    specs: tuple[tuple[str, float, int, int, bool, int], ...]
    # Per competency: (index, key, weight, expected current, expected target, gated at the
    # target, its _DERIVED slot, its _Derived when nobody rated it, _role_cells()).
    comps: tuple[tuple[Any, ...], ...]
    expected_target: tuple[int, ...]
    gated: tuple[int, ...]
    total_weight: float
    digest: Any  # sha256 object fed with the canonical inputs up to the ratings (_digest)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Per (rubric, policy): the lookups every score() call needs."""

    rx: _RubricIndex
    px: _PolicyIndex
    # competency -> role -> cell, where cell = competency index * number of roles + role index
    cells: dict[str, dict[str, int]]
    cell_comp: tuple[int, ...]  # cell -> competency index
    levels: dict[tuple[str, str | None], _LevelPlan]  # by (current, target as given); lazily


@functools.lru_cache(maxsize=64)
def _plan(rubric: RubricSpec, policy: Policy) -> _Plan:
    rx, px = _rubric_index(rubric), _policy_index(policy)
    n_roles = len(px.weights)
    all_cells = range(len(rx.keys) * n_roles)
    return _Plan(
        rx=rx,
        px=px,
        cells={ck: {rk: c * n_roles + k for rk, k in px.roles.items()}
               for ck, c in rx.comps.items()},
        cell_comp=tuple(cell // n_roles for cell in all_cells),
        levels={},
    )


_recent: tuple[Any, Any, _Plan | None] = (None, None, None)


def _plan_of(rubric: RubricSpec, policy: Policy) -> _Plan:
    """_plan(), without hashing the specs again when called with the same objects as last
    time (the usual case); the assignment of one tuple keeps this safe across threads."""
    global _recent
    last_rubric, last_policy, plan = _recent
    if rubric is last_rubric and policy is last_policy and plan is not None:
        return plan
    plan = _plan(rubric, policy)
    _recent = (rubric, policy, plan)
    return plan


def _role_cells(
    first: int, px: _PolicyIndex
) -> tuple[tuple[tuple[int, float], ...], int, float, tuple[tuple[int, float], ...]]:
    """A competency's cells (from `first`) with their role weights, in policy order: those
    before the self role, the self cell (-1: the policy has none) and weight, those after."""
    cells = [(first + k, w) for k, w in enumerate(px.weights)]
    if px.self_idx < 0:
        return tuple(cells), -1, 0.0, ()
    self_cell, self_weight = cells[px.self_idx]
    return tuple(cells[:px.self_idx]), self_cell, self_weight, tuple(cells[px.self_idx + 1:])


def _level_plan(
    plan: _Plan, rubric: RubricSpec, current: str, target: str | None,
    ratings: Sequence[Rating] | None,
) -> _LevelPlan:
    """The (cached) _LevelPlan; raises ScoringInputError listing every problem with the levels
    and, when `ratings` is given (the quick check failed), with the ratings."""
    rx, px = plan.rx, plan.px
    errors: list[tuple[str, str]] = []
    cur, tgt = _resolve_levels(rx, rubric.levels, current, target, errors)
    if ratings is not None:
        errors += _rating_errors(rx, px, rubric, ratings)
    if errors:
        raise ScoringInputError(errors)
    found = plan.levels.get((current, target))
    if found is not None:
        return found
    exp_cur, exp_tgt, gated = rx.expected[cur], rx.expected[tgt], rx.gates[tgt]
    total, lo, n_roles = rx.total_weight, rubric.scale_min, len(px.weights)
    specs = tuple((key, w, exp_cur[c], exp_tgt[c], c in gated, lo)
                  for c, (key, w) in enumerate(zip(rx.keys, rx.weights, strict=True)))
    header = _dumps({"current_level": rubric.levels[cur], "policy": json.loads(px.canonical),
                     "rubric": json.loads(rx.canonical), "target_level": rubric.levels[tgt]})
    made = _LevelPlan(
        current=rubric.levels[cur],
        target=rubric.levels[tgt],
        specs=specs,
        comps=tuple((c, *spec[:5], next(_slots), _derive(c, *spec, total, None),
                     *_role_cells(c * n_roles, px)) for c, spec in enumerate(specs)),
        expected_target=exp_tgt,
        gated=gated,
        total_weight=total,
        digest=hashlib.sha256(_DIGEST_MAGIC + header.encode() + b"\n"),
    )
    plan.levels[current, target] = made  # a few entries: only valid level pairs get here
    return made


# One rating as score() works with it: (cell, rater_id or "", proficiency, evidence or "",
# rater_role). Sorted, the first four are the canonical ratings the digest hashes (the role
# follows from the cell).
_Row = tuple[int, str, Any, str, str]
_CELL_RATER = operator.itemgetter(0, 1)
_ROLE_RATER = operator.itemgetter(4, 1)
_CELL, _RATER, _PROFICIENCY, _EVIDENCE = (operator.itemgetter(i) for i in range(4))


def _rows(cells: dict[str, dict[str, int]], ratings: Sequence[Rating]) -> list[_Row] | None:
    """One row per rating; None when some competency or role is unknown."""
    try:
        return [(cells[r.competency][r.rater_role], r.rater_id or "", r.proficiency,
                 r.evidence or "", r.rater_role) for r in ratings]
    except (KeyError, TypeError):  # TypeError: unhashable; _rating_errors raises it again
        return None


def _plausible(tally: _Tally, rows: list[_Row], lo: float, hi: float) -> bool:
    """Quick check of the usual case, from the tally; _rating_errors explains any failure in
    detail. A NaN rating makes its cell's sum NaN (and is never a highest or lowest rating);
    a competency nobody rated has highest -inf and lowest +inf."""
    total = sum(tally.sums)
    if total != total or min(tally.low) < lo or max(tally.high) > hi:
        return False
    # Some (cell, rater) twice? That is fine only among anonymous raters.
    if len(set(map(_CELL_RATER, rows))) != len(rows):
        keyed = [k for k in map(_CELL_RATER, rows) if k[1]]
        if len(set(keyed)) != len(keyed):  # a named rater twice on one competency and role
            return False
    return True


def _rating_errors(
    rx: _RubricIndex, px: _PolicyIndex, rubric: RubricSpec, ratings: Sequence[Rating]
) -> list[tuple[str, str]]:
    """Every problem with the ratings, each with its field path (the slow, thorough path)."""
    errors: list[tuple[str, str]] = []
    lo, hi = rubric.scale_min, rubric.scale_max
    seen: set[tuple[str, str, str]] = set()
    for i, r in enumerate(ratings):
        if r.competency not in rx.comps:
            errors.append((f"ratings[{i}].competency", f"unknown competency {r.competency!r}"))
        if r.rater_role not in px.roles:
            errors.append((f"ratings[{i}].rater_role",
                           f"unknown rater_role {r.rater_role!r}; roles: {', '.join(px.roles)}"))
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


def _resolve_levels(
    rx: _RubricIndex, levels: Sequence[str], current: str, target: str | None,
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


@dataclass(slots=True)
class _Tally:
    """The ratings added up in one pass, in input order (so that each role's ratings sum as
    the cohort path sums them)."""

    sums: list[float]  # per cell: sum of the proficiencies
    counts: list[int]  # per cell: number of ratings
    high: list[float]  # per competency: highest rating (-inf: none)
    low: list[float]  # per competency: lowest rating (+inf: none)
    evidenced: list[bool]  # per competency: some rating has non-blank evidence
    n_evidence: int  # ratings with non-blank evidence


def _tally(plan: _Plan, rows: list[_Row]) -> _Tally:
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
    return _Tally(sums, counts, high, low, evidenced, n_evidence)


def _rated(counts: list[int], role: int, n_roles: int) -> int:
    """Competencies with a rating in this role (0 when the policy has no such role)."""
    if role < 0:
        return 0
    column = counts[role::n_roles]
    return len(column) - column.count(0)


def _derive(
    c: int, key: str, w: float, ec: int, et: int, gate: bool, lo: int, total: float,
    observed: float | None,
) -> _Derived:
    """What competency c's observed value (None: nobody rated it) implies, by the formulas of
    DESIGN.md steps 2, 3 and 8; flags aside, the report entry depends on nothing else."""
    progress = _progress(observed, ec, et)
    if observed is None:
        steps, met, cover = float(et - lo), False, 0.0
    else:
        steps, met = max(0.0, et - observed), observed >= et
        cover = 1.0 if met else (observed - lo) / (et - lo)
    unmet_gate = gate and not met
    candidate = None if progress >= 1.0 or unmet_gate else (-(w * (1.0 - progress)), steps, c)
    gap_key = (-steps, -w, key, c) if steps > 0 else None
    return (None if observed is None else _round4(observed), _round4(steps), _round4(progress),
            _round4(100.0 * w / total * progress), steps, met, w * progress, w * cover,
            candidate, gap_key)


@dataclass(slots=True)
class _Competencies:
    entries: list[dict[str, Any]]  # the report's per-competency explanation
    steps: list[float]  # rating steps up to the target bar (the gap, unrounded)
    met: list[bool]
    count: list[int]  # ratings
    n_rated: int  # competencies someone rated
    unmet_gates: list[int]
    candidates: list[tuple[float, float, int]]  # (-score gain, steps, c) for _path_to_ready
    gaps: list[tuple[float, float, str, int]]  # (-steps, -weight, key, c) where steps > 0
    terms: list[float]  # weight x progress: the score's summands (_path_to_ready edits them)
    weighted_progress: float  # their sum, in competency order
    coverage: float  # sum of weight x share of the target met, in competency order


def _competencies(lv: _LevelPlan, tally: _Tally, policy: Policy) -> _Competencies:
    """Per competency: observed (DESIGN.md step 1), then progress, gap, contribution and
    flags (steps 2, 3, 6 and 8), and the running sums of the score and the coverage in
    competency order.

    observed = sum(role weight x role mean) / sum(role weight) over the roles present, in
    policy order (as score_cohort() adds them). Observed values repeat from report to report
    (ratings are mostly whole or half steps, and few roles combine them), so _derive runs
    once per competency, level pair and num / den (see _DERIVED); a report builds its entry
    from the memoized numbers and adds its flags."""
    sums, counts, evidenced = tally.sums, tally.counts, tally.evidenced
    n = len(lv.comps)
    entries: list[dict[str, Any]] = []
    steps, met, count, terms = [0.0] * n, [False] * n, [0] * n, [0.0] * n
    unmet: list[int] = []
    candidates: list[tuple[float, float, int]] = []
    gaps: list[tuple[float, float, str, int]] = []
    acc = coverage = 0.0
    n_rated = 0
    for c, key, weight, ec, et, gate, slot, unrated, before, self_cell, self_weight, after \
            in lv.comps:
        # The roles in policy order: those before self, self, those after it. The other
        # roles' sums (for the self lead) add up the same terms in the same order.
        num = den = 0.0
        k_c = 0
        for g, w in before:
            k = counts[g]
            if k:
                num += w * (sums[g] / k)
                den += w
                k_c += k
        other_num, other_den = num, den
        self_count = counts[self_cell] if self_cell >= 0 else 0
        if self_count:
            self_mean = sums[self_cell] / self_count
            num += self_weight * self_mean
            den += self_weight
            k_c += self_count
        for g, w in after:
            k = counts[g]
            if k:
                term = w * (sums[g] / k)
                num += term
                den += w
                other_num += term
                other_den += w
                k_c += k
        count[c] = k_c
        if den:
            n_rated += 1
            ratio = num / den
            derived = _DERIVED.get((slot, ratio))
            if derived is None:
                derived = _derive(c, *lv.specs[c], lv.total_weight, _snap(ratio))
                if len(_DERIVED) >= _DERIVED_LIMIT:
                    _DERIVED.clear()
                _DERIVED[slot, ratio] = derived
        else:
            derived = unrated
        observed4, gap4, progress4, contribution4, gap, ok, weighted, covered, candidate, \
            gap_key = derived
        steps[c], met[c], terms[c] = gap, ok, weighted
        acc += weighted
        coverage += covered
        if candidate is not None:
            candidates.append(candidate)
        if gap_key is not None:
            gaps.append(gap_key)
        if gate and not ok:
            unmet.append(c)
            flags = ["gate_unmet"]
        else:
            flags = []
        if derived is unrated:
            flags.append("unrated")
        else:
            if self_count and other_den:  # self mean minus the other roles' weighted mean
                lead = _snap(self_mean - other_num / other_den)
                if lead >= policy.blind_spot_steps:
                    flags.append("blind_spot")
                if -lead >= policy.hidden_strength_steps:
                    flags.append("hidden_strength")
            if not evidenced[c]:
                flags.append("no_evidence")
        entries.append({
            "key": key, "weight": weight, "expected_current": ec, "expected_target": et,
            "observed": observed4, "gap": gap4, "progress": progress4,
            "contribution": contribution4, "flags": flags,
        })
    return _Competencies(entries, steps, met, count, n_rated, unmet, candidates, gaps, terms,
                         acc, coverage)


def _confidence(
    tally: _Tally, comps: _Competencies, n_ratings: int, n_raters: int, managed: int,
    px: _PolicyIndex, policy: Policy,
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
    n_rated = comps.n_rated
    if not n_rated:
        return {"level": "low", "value": 0.0, "reasons": ["No ratings yet."]}
    spreads = [h - lo for h, lo, k in zip(tally.high, tally.low, comps.count, strict=True)
               if k > 1]
    spread = sum(spreads) / len(spreads) if spreads else None
    factors = {
        "manager": managed / n_rated,
        "raters": min(1.0, n_raters / policy.confidence_full_raters),
        "agreement": 0.5 if spread is None
        else 1.0 - min(1.0, spread / policy.confidence_max_spread),
        "evidence": tally.n_evidence / n_ratings,
    }
    w_manager, w_raters, w_agreement, w_evidence, w_total = px.confidence_terms
    n_competencies = len(comps.count)
    value = (w_manager * factors["manager"] + w_raters * factors["raters"]
             + w_agreement * factors["agreement"] + w_evidence * factors["evidence"]
             ) / w_total * (n_rated / n_competencies)
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
        f"Evidence on {round(100 * factors['evidence'])}% of ratings.",
        f"{n_rated} of {n_competencies} competencies rated.",
    ]
    return {"level": level, "value": math.floor(value * 100 + 0.5) / 100, "reasons": reasons}


def _path_to_ready(
    rx: _RubricIndex, comps: _Competencies, ready_now: float
) -> list[int] | None:
    """Fewest competencies to bring to the target bar for ready_now, then least total steps.

    Unmet gates are always in. The other candidates are sorted by score gain; the shortest
    prefix that reaches ready_now gives the minimal count k (no k-1 set gains more). A
    branch-and-bound search then looks for a cheaper set of that size, unless the prefix
    already costs no more than the k cheapest candidates together. None: unreachable.
    """
    weights, total = rx.weights, rx.total_weight
    # The score's summands (weight x progress, in competency order) with the unmet gates at
    # the bar; a competency brought to the bar adds its weight instead. sum() adds them in
    # order from 0, as the score does, so reaches() is exactly what re-scoring would give.
    terms = comps.terms
    for c in comps.unmet_gates:
        terms[c] = weights[c]
    base = sum(terms)

    def near(extra_gain: float) -> bool:  # reaches(), but for float rounding in the last bit
        return _round_score(100.0 * (base + extra_gain) / total) >= ready_now

    def reaches(chosen: Sequence[int]) -> bool:
        raised = terms.copy()
        for c in chosen:
            raised[c] = weights[c]
        return _round_score(100.0 * sum(raised) / total) >= ready_now

    # by gain (largest first), then steps, then index; by position in cands from here on
    ordered = comps.candidates
    ordered.sort()
    neg_gain, cost, cands = zip(*ordered, strict=True) if ordered else ((), (), ())
    n = len(cands)
    prefix = list(itertools.accumulate(map(operator.neg, neg_gain), initial=0.0))
    k = min(bisect.bisect_left(prefix, True, key=near), n)  # near() is monotone in the gain
    best, best_cost, checked = list(cands[:k]), sum(cost[:k]), False
    # No set of k costs less than the k cheapest candidates together; the search could then
    # only end where it starts (its 1e-9 margin dwarfs the rounding in either sum).
    if 0 < k < n and best_cost > sum(sorted(cost)[:k]) + 5e-10:
        gain = [-g for g in neg_gain]
        cheapest_after = list(itertools.accumulate(reversed(cost), min))[::-1]
        # A gain below this can never reach the bar (0.1 below it, to be safe from rounding).
        need = (ready_now - 0.1) * total / 100.0 - base

        def search(i: int, chosen: list[int], got: float, spent: float) -> None:
            """Each candidate from i on as the next pick, in the order of an include-first
            recursion (take j, else skip it and go on to j + 1), with its bounds at each j."""
            nonlocal best, best_cost, checked
            left = k - len(chosen)  # >= 1
            for j in range(i, n):
                if n - j < left or spent + left * cheapest_after[j] >= best_cost - 1e-9:
                    return
                if got + prefix[j + left] - prefix[j] < need:
                    return  # even the largest remaining gains fall short
                if left > 1:
                    chosen.append(cands[j])
                    search(j + 1, chosen, got + gain[j], spent + cost[j])
                    chosen.pop()
                elif (spent + cost[j] < best_cost - 1e-9 and near(got + gain[j])
                        and reaches([*chosen, cands[j]])):
                    best, best_cost, checked = [*chosen, cands[j]], spent + cost[j], True

        search(0, [], 0.0, 0.0)
        # search() refers to itself, a reference cycle that would leave all of this to the
        # cyclic garbage collector (measurably slower for every report); break it.
        del search
    # near() and reaches() can only disagree within a last-bit rounding; then grow greedily.
    while not (checked or reaches(best)):
        if len(best) == n:
            return None
        best.append(next(c for c in cands if c not in best))
    return comps.unmet_gates + best


_DIGEST_MAGIC = b"readiness-inputs/2\n"


def _digest(lv: _LevelPlan, rows: list[_Row]) -> str:
    """sha256 of the canonical inputs, as "sha256:<hex>".

    The bytes hashed are b"readiness-inputs/2\\n", the JSON object (sorted keys, no
    whitespace) of current_level, policy and rubric content and target_level, b"\\n", then the
    ratings as rows (cell, rater_id, proficiency, evidence) in sorted order: their count as
    int64, the cells as int64, the proficiencies as float64 (all little-endian), then the
    rater ids followed by the evidence texts, UTF-8, each followed by NUL (or, should one
    contain NUL, b"\\xff" and their JSON array). cell = competency index * len(policy roles) +
    role index, both fixed by the rubric and policy content also hashed; None and "" are the
    same input, as are 4 and 4.0. _LevelPlan holds the hash of everything before the ratings.
    Binary numbers keep the per-call cost to a sort and a few C-speed passes (no float repr).
    """
    rows.sort()
    n = len(rows)
    numbers = struct.pack(f"<q{n}q{n}d", n, *map(_CELL, rows), *map(_PROFICIENCY, rows))
    strings = (*map(_RATER, rows), *map(_EVIDENCE, rows))
    texts = "\0".join((*strings, ""))
    digest = lv.digest.copy()
    digest.update(numbers)
    digest.update(texts.encode() if texts.count("\0") == len(strings) else
                  b"\xff" + _dumps(strings).encode())
    return "sha256:" + digest.hexdigest()


def score(
    rubric: RubricSpec,
    current_level: str,
    ratings: Sequence[Rating],
    target_level: str | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> dict[str, Any]:
    """Score one assessment; returns the JSON-ready readiness report (DESIGN.md wire shape).

    Raises ScoringInputError listing every invalid input at once.
    """
    plan = _plan_of(rubric, policy)
    lv = plan.levels.get((current_level, target_level))
    rows = _rows(plan.cells, ratings)
    try:
        tally = None if rows is None else _tally(plan, rows)
    except TypeError:  # a proficiency that is not a number
        tally = None
    valid = tally is not None and _plausible(tally, rows, rubric.scale_min, rubric.scale_max)
    if lv is None or not valid:  # resolve the levels (once), or raise with every problem
        lv = _level_plan(plan, rubric, current_level, target_level, None if valid else ratings)
        if tally is None:  # _rating_errors found nothing to name: let the error itself show
            tally = _tally(plan, rows)  # type: ignore[arg-type]
    assert rows is not None  # an unknown competency or role is always an error

    rx = plan.rx
    comps = _competencies(lv, tally, policy)
    entries, keys = comps.entries, rx.keys
    final = _round_score(100.0 * comps.weighted_progress / lv.total_weight)
    band = _band(final, bool(comps.unmet_gates), policy)
    path = [] if band == READY_NOW else _path_to_ready(rx, comps, policy.ready_now)
    if band == READY_NOW:
        reason = f"Already ready_now for {lv.target}; no rating improvement is needed."
    elif path is None:
        reason = (f"No set of rating improvements reaches ready_now: even every competency at "
                  f"the {lv.target} bar falls short of the policy threshold {policy.ready_now}.")
    else:
        reason = None
    # a rater is (role, rater_id), ratings without an id being one rater per role
    n_raters = len(set(map(_ROLE_RATER, rows)))
    return {
        "score": final,
        "band": BANDS[band],
        "coverage": _round_score(100.0 * comps.coverage / lv.total_weight),
        "current_level": lv.current,
        "target_level": lv.target,
        "confidence": _confidence(tally, comps, len(rows), n_raters,
                                  _rated(tally.counts, plan.px.manager_idx, len(plan.px.weights)),
                                  plan.px, policy),
        "competencies": entries,
        "gates": [{"competency": keys[c], "met": comps.met[c]} for c in lv.gated],
        "top_gaps": [
            {"competency": key, "gap": entries[c]["gap"],
             "recommendations": [dict(r) for r in rx.recommendations[c]]}
            for _, _, key, c in sorted(comps.gaps)[:3]
        ],
        "path_to_ready": [
            {"competency": keys[c], "from": entries[c]["observed"], "to": lv.expected_target[c]}
            for _, c in sorted((comps.steps[c], c) for c in path or ())
        ],
        "path_to_ready_reason": reason,
        "policy": {"name": policy.name, "version": policy.version},
        "rubric": {"key": rubric.key, "version": rubric.version},
        "inputs_digest": _digest(lv, rows),
    }


# --------------------------------------------------------------------------- what-if


def _rating_key(r: Rating) -> tuple[str, str, str | None]:
    return (r.competency, r.rater_role, r.rater_id or None)


def apply_changes(ratings: Sequence[Rating], changes: Sequence[Rating]) -> tuple[Rating, ...]:
    """What-if: each change replaces the rating(s) with its (competency, rater_role, rater_id),
    in place, or is appended. Several anonymous ratings with one key collapse into the change;
    of several changes with one key the last wins."""
    by_key = {_rating_key(c): c for c in changes}
    out: list[Rating] = []
    used: set[tuple[str, str, str | None]] = set()
    for r in ratings:
        k = _rating_key(r)
        if k not in by_key:
            out.append(r)
        elif k not in used:
            out.append(by_key[k])
            used.add(k)
    out.extend(c for k, c in by_key.items() if k not in used)
    return tuple(out)


def path_changes(report: Mapping[str, Any], ratings: Sequence[Rating]) -> list[Rating]:
    """The rating changes that carry out report["path_to_ready"] for these ratings.

    Every existing rater of a path competency is set to its `to` (evidence kept), so observed
    becomes exactly `to`; an unrated competency gets a manager rating by rater "simulated".
    apply_changes(ratings, path_changes(report, ratings)) then scores ready_now.
    """
    changes: list[Rating] = []
    for step in report["path_to_ready"]:
        comp, to = step["competency"], float(step["to"])
        mine = {_rating_key(r): r for r in ratings if r.competency == comp}
        if not mine:
            changes.append(Rating(comp, "manager", "simulated", to))
        changes.extend(replace(r, proficiency=to) for r in mine.values())
    return changes


# ---------------------------------------------------------------------------- cohort path


@dataclass(frozen=True)
class CohortScores:
    """Scores of n assessments against one rubric; columns follow rubric.competencies."""

    observed: np.ndarray  # (n, c) float, NaN where unrated
    gap: np.ndarray  # (n, c)
    progress: np.ndarray  # (n, c)
    score: np.ndarray  # (n,) rounded to one decimal
    band: np.ndarray  # (n,) int8 index into BANDS
    gate_unmet: np.ndarray  # (n,) bool


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
    check("r_role", role, 0, n_roles - 1, "role index out of range of policy.role_weights")
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
    competency index, role index in policy.role_weights order, proficiency). Equal to
    score() for the same inputs, without the reports."""
    rx, px = _rubric_index(rubric), _policy_index(policy)
    cur, tgt = np.asarray(current_idx, np.intp), np.asarray(target_idx, np.intp)
    a, comp = np.asarray(r_assessment, np.intp), np.asarray(r_competency, np.intp)
    role, prof = np.asarray(r_role, np.intp), np.asarray(r_proficiency, np.float64)
    n, n_comp, n_roles = len(cur), len(rx.keys), len(px.weights)
    errors = _cohort_errors(rubric, len(rx.levels), n_comp, n_roles, cur, tgt, a, comp, role,
                            prof)
    if errors:
        raise ScoringInputError(errors)

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
    for start in range(0, n, _BLOCK):
        rows = slice(start, start + _BLOCK)
        _score_block(rx, px, policy, rubric.scale_min, sums[:, rows], counts[:, rows],
                     cur[rows], tgt[rows], out, rows)
    return out


def _score_block(
    rx: _RubricIndex, px: _PolicyIndex, policy: Policy, scale_min: int, sums: np.ndarray,
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
        observed = _snap_array(num / den)  # NaN where unrated
        met = observed >= exp_tgt  # False where unrated
        ramp = np.clip((observed - exp_cur) / span, 0.0, 1.0)
    progress = np.where(rated, np.where(span > 0, ramp, met), 0.0)

    acc = np.zeros(len(cur))
    for j, w in enumerate(rx.weights):  # column by column: the single path's summation order
        acc += w * progress[:, j]
    final = _round_score_array(100.0 * acc / rx.total_weight)

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
