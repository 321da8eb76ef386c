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
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
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


def _raw_score(weights: Sequence[float], progress: Sequence[float], total: float) -> float:
    acc = 0.0
    for w, p in zip(weights, progress, strict=True):
        acc += w * p  # same order as the cohort path's column loop
    return 100.0 * acc / total


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
    confidence_weights: dict[str, float]
    canonical: str


@functools.lru_cache(maxsize=16)
def _policy_index(policy: Policy) -> _PolicyIndex:
    roles = {r: i for i, (r, _) in enumerate(policy.role_weights)}
    return _PolicyIndex(
        roles=roles,
        weights=tuple(w for _, w in policy.role_weights),
        self_idx=roles.get("self", -1),
        manager_idx=roles.get("manager", -1),
        confidence_weights=dict(policy.confidence_weights),
        canonical=_dumps(policy.to_dict()),
    )


# ------------------------------------------------------------------------ single report


@functools.lru_cache(maxsize=64)
def _cells(rubric: RubricSpec, policy: Policy) -> dict[tuple[str, str], int]:
    """(competency, role) -> cell number: competency index * number of roles + role index."""
    rx, px = _rubric_index(rubric), _policy_index(policy)
    n_roles = len(px.weights)
    return {(ck, rk): c * n_roles + k for ck, c in rx.comps.items() for rk, k in px.roles.items()}


@dataclass(slots=True)
class _Columns:
    """One assessment's ratings as columns: each later step is then a C-speed pass."""

    cell: list[int | None]  # None: unknown competency or role (caught by validation)
    proficiency: list[float]
    rater: list[str]  # "" when anonymous
    evidence: list[str]  # "" when none

    @classmethod
    def of(cls, ratings: Sequence[Rating], cells: Mapping[tuple[str, str], int]) -> _Columns:
        return cls(
            cell=[cells.get((r.competency, r.rater_role)) for r in ratings],
            proficiency=[r.proficiency for r in ratings],
            rater=[r.rater_id or "" for r in ratings],
            evidence=[r.evidence or "" for r in ratings],
        )

    def looks_valid(self, lo: float, hi: float) -> bool:
        """Quick check of the usual case; _rating_errors explains any failure in detail."""
        if None in self.cell:
            return False
        keyed = [k for k in zip(self.cell, self.rater, strict=True) if k[1]]
        if len(set(keyed)) != len(keyed):  # a named rater twice on one competency and role
            return False
        if not self.proficiency:
            return True
        try:
            total = sum(self.proficiency)
            return total == total and lo <= min(self.proficiency) and max(self.proficiency) <= hi
        except TypeError:  # a proficiency that is not a number (NaN fails total == total)
            return False


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
class _Observed:
    value: list[float | None]  # role-weighted mean per competency; None when unrated
    self_lead: list[float | None]  # self mean minus the other roles' weighted mean
    spread: list[float]  # highest - lowest rating, for competencies rated twice or more
    managed: int  # competencies with a manager rating


def _observe(cols: _Columns, px: _PolicyIndex, n_comp: int) -> _Observed:
    groups: dict[int, list[float]] = {}
    for cell, p in zip(cols.cell, cols.proficiency, strict=True):
        groups.setdefault(cell, []).append(p)
    n_roles, weights = len(px.weights), px.weights
    num, den = [0.0] * n_comp, [0.0] * n_comp
    other_num, other_den = [0.0] * n_comp, [0.0] * n_comp
    self_mean: list[float | None] = [None] * n_comp
    values: list[list[float]] = [[] for _ in range(n_comp)]
    managed = 0
    for cell in sorted(groups):  # roles in policy order, whatever the order of the ratings
        vals = groups[cell]
        c, k = divmod(cell, n_roles)
        w, mean = weights[k], sum(vals) / len(vals)
        num[c] += w * mean
        den[c] += w
        if k == px.self_idx:
            self_mean[c] = mean
        else:
            other_num[c] += w * mean
            other_den[c] += w
        managed += k == px.manager_idx
        values[c] += vals
    lead = [None if s is None or not d else _snap(s - n / d)
            for s, n, d in zip(self_mean, other_num, other_den, strict=True)]
    return _Observed(
        value=[_snap(n / d) if d else None for n, d in zip(num, den, strict=True)],
        self_lead=lead,
        spread=[max(v) - min(v) for v in values if len(v) > 1],
        managed=managed,
    )


def _flags(
    rated: bool, met: bool, gate: bool, evidenced: bool, self_lead: float | None, policy: Policy,
) -> list[str]:
    flags = []
    if gate and not met:
        flags.append("gate_unmet")
    if self_lead is not None and self_lead >= policy.blind_spot_steps:
        flags.append("blind_spot")
    if self_lead is not None and -self_lead >= policy.hidden_strength_steps:
        flags.append("hidden_strength")
    if rated and not evidenced:
        flags.append("no_evidence")
    if not rated:
        flags.append("unrated")
    return flags


def _confidence(
    obs: _Observed, ratings: Sequence[Rating], n_evidence: int, px: _PolicyIndex, policy: Policy
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
    level: high when value >= confidence_high, medium when >= confidence_medium, else low;
    at most medium without any manager rating. Nothing rated: value 0, low.
    More raters, a manager, closer agreement and more evidence each raise the value.
    """
    n_rated = sum(v is not None for v in obs.value)
    if not n_rated:
        return {"level": "low", "value": 0.0, "reasons": ["No ratings yet."]}
    n_raters = len({(r.rater_role, r.rater_id or None) for r in ratings})
    spread = sum(obs.spread) / len(obs.spread) if obs.spread else None
    factors = {
        "manager": obs.managed / n_rated,
        "raters": min(1.0, n_raters / policy.confidence_full_raters),
        "agreement": 0.5 if spread is None
        else 1.0 - min(1.0, spread / policy.confidence_max_spread),
        "evidence": n_evidence / len(ratings),
    }
    weights = px.confidence_weights
    value = sum(weights[k] * f for k, f in factors.items()) / sum(weights.values())
    if value >= policy.confidence_high and obs.managed:
        level = "high"
    elif value >= policy.confidence_medium:
        level = "medium"
    else:
        level = "low"
    reasons = [
        f"Manager rated {obs.managed} of {n_rated} rated competencies." if obs.managed
        else "No manager rating, so confidence is at most medium.",
        f"{n_raters} distinct rater{'s' if n_raters != 1 else ''}"
        f" ({policy.confidence_full_raters} or more for full credit).",
        "Only one rating per competency, so agreement is unknown." if spread is None
        else f"Raters differ by {spread:.1f} steps on average per competency.",
        f"Evidence on {round(100 * factors['evidence'])}% of ratings.",
    ]
    return {"level": level, "value": math.floor(value * 100 + 0.5) / 100, "reasons": reasons}


def _path_to_ready(
    rx: _RubricIndex, progress: list[float], steps: list[float], forced: list[int],
    policy: Policy,
) -> list[int] | None:
    """Fewest competencies to bring to the target bar for ready_now, then least total steps.

    Unmet gates are always in. The other candidates are sorted by score gain; the shortest
    prefix that reaches ready_now gives the minimal count k (no k-1 set gains more). A
    branch-and-bound search then looks for a cheaper set of that size. None: unreachable.
    """
    weights, total = rx.weights, rx.total_weight
    gain = [w * (1.0 - p) for w, p in zip(weights, progress, strict=True)]
    base = sum(weights[c] * (1.0 if c in forced else progress[c]) for c in range(len(weights)))

    def near(extra_gain: float) -> bool:  # reaches(), but for float rounding in the last bit
        return _round_score(100.0 * (base + extra_gain) / total) >= policy.ready_now

    def reaches(chosen: Sequence[int]) -> bool:  # exactly as re-scoring computes it
        p = list(progress)
        for c in (*forced, *chosen):
            p[c] = 1.0
        return _round_score(_raw_score(weights, p, total)) >= policy.ready_now

    cands = sorted((c for c in range(len(weights)) if progress[c] < 1.0 and c not in forced),
                   key=lambda c: (-gain[c], steps[c], c))
    prefix = [0.0]
    for c in cands:
        prefix.append(prefix[-1] + gain[c])
    k = next((k for k in range(len(cands) + 1) if near(prefix[k])), len(cands))
    best, best_cost = cands[:k], sum(steps[c] for c in cands[:k])
    cheapest_after = [steps[c] for c in cands]  # cheapest step count from position i on
    for i in range(len(cands) - 2, -1, -1):
        cheapest_after[i] = min(cheapest_after[i], cheapest_after[i + 1])
    # A gain below this can never reach the bar (0.1 below it, to be safe from rounding).
    need = (policy.ready_now - 0.1) * total / 100.0 - base

    def search(i: int, chosen: list[int], got: float, cost: float) -> None:
        nonlocal best, best_cost
        left = k - len(chosen)
        if left == 0:
            if cost < best_cost - 1e-9 and near(got) and reaches(chosen):
                best, best_cost = list(chosen), cost
            return
        if len(cands) - i < left or cost + left * cheapest_after[i] >= best_cost - 1e-9:
            return
        if got + prefix[i + left] - prefix[i] < need:
            return  # even the largest remaining gains fall short
        c = cands[i]
        chosen.append(c)
        search(i + 1, chosen, got + gain[c], cost + steps[c])
        chosen.pop()
        search(i + 1, chosen, got, cost)

    if 0 < k < len(cands):
        search(0, [], 0.0, 0.0)
    # near() and reaches() can only disagree within a last-bit rounding; then grow greedily.
    while not reaches(best):
        if len(best) == len(cands):
            return None
        best = best + [c for c in cands if c not in best][:1]
    return forced + best


def _digest(
    rx: _RubricIndex, px: _PolicyIndex, current: str, target: str, cols: _Columns
) -> str:
    """sha256 of the canonical inputs. A rating is [cell, rater_id, proficiency, evidence]
    (cell = competency index * len(policy roles) + role index, both fixed by the rubric and
    policy content also hashed); None and "" are the same input, as are 4 and 4.0."""
    rows = sorted(zip(cols.cell, cols.rater, map(float, cols.proficiency), cols.evidence,
                      strict=True))
    text = (f'{{"current_level":{_dumps(current)},"policy":{px.canonical},'
            f'"ratings":{_dumps(rows)},"rubric":{rx.canonical},"target_level":{_dumps(target)}}}')
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    rx, px = _rubric_index(rubric), _policy_index(policy)
    errors: list[tuple[str, str]] = []
    cur, tgt = _resolve_levels(rx, rubric.levels, current_level, target_level, errors)
    cols = _Columns.of(ratings, _cells(rubric, policy))
    if not cols.looks_valid(rubric.scale_min, rubric.scale_max):
        errors += _rating_errors(rx, px, rubric, ratings)
    if errors:
        raise ScoringInputError(errors)

    n_comp, n_roles = len(rx.keys), len(px.weights)
    obs = _observe(cols, px, n_comp)
    evidenced = [cell // n_roles for cell, e in zip(cols.cell, cols.evidence, strict=True)
                 if e and not e.isspace()]
    has_evidence = set(evidenced)
    target = rubric.levels[tgt]
    exp_cur, exp_tgt = rx.expected[cur], rx.expected[tgt]
    gated = rx.gates[tgt]
    weights, total, lo = rx.weights, rx.total_weight, rubric.scale_min
    progress: list[float] = []
    steps: list[float] = []  # rating steps up to the target bar (the gap, unrounded)
    met: list[bool] = []
    competencies: list[dict[str, Any]] = []
    coverage = 0.0
    for c, key in enumerate(rx.keys):
        o, ec, et = obs.value[c], exp_cur[c], exp_tgt[c]
        ok = o is not None and o >= et
        prog = _progress(o, ec, et)
        gap = float(et - lo) if o is None else max(0.0, et - o)
        if o is not None:
            coverage += weights[c] * (1.0 if ok else (o - lo) / (et - lo))
        progress.append(prog)
        steps.append(gap)
        met.append(ok)
        competencies.append({
            "key": key, "weight": weights[c], "expected_current": ec, "expected_target": et,
            "observed": None if o is None else _round4(o), "gap": _round4(gap),
            "progress": _round4(prog), "contribution": _round4(100.0 * weights[c] / total * prog),
            "flags": _flags(o is not None, ok, c in gated, c in has_evidence, obs.self_lead[c],
                            policy),
        })

    final = _round_score(_raw_score(weights, progress, total))
    unmet = [c for c in gated if not met[c]]
    band = _band(final, bool(unmet), policy)
    path = [] if band == READY_NOW else _path_to_ready(rx, progress, steps, unmet, policy)
    if band == READY_NOW:
        reason = f"Already ready_now for {target}; no rating improvement is needed."
    elif path is None:
        reason = (f"No set of rating improvements reaches ready_now: even every competency at "
                  f"the {target} bar falls short of the policy threshold {policy.ready_now}.")
    else:
        reason = None
    gaps = sorted((c for c in range(n_comp) if steps[c] > 0),
                  key=lambda c: (-steps[c], -weights[c], rx.keys[c]))[:3]
    return {
        "score": final,
        "band": BANDS[band],
        "coverage": _round_score(100.0 * coverage / total),
        "current_level": rubric.levels[cur],
        "target_level": target,
        "confidence": _confidence(obs, ratings, len(evidenced), px, policy),
        "competencies": competencies,
        "gates": [{"competency": rx.keys[c], "met": met[c]} for c in gated],
        "top_gaps": [
            {"competency": rx.keys[c], "gap": _round4(steps[c]),
             "recommendations": [dict(r) for r in rx.recommendations[c]]}
            for c in gaps
        ],
        "path_to_ready": [
            {"competency": rx.keys[c], "from": competencies[c]["observed"], "to": exp_tgt[c]}
            for c in sorted(path or (), key=lambda c: (steps[c], c))
        ],
        "path_to_ready_reason": reason,
        "policy": {"name": policy.name, "version": policy.version},
        "rubric": {"key": rubric.key, "version": rubric.version},
        "inputs_digest": _digest(rx, px, rubric.levels[cur], target, cols),
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
