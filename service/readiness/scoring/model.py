"""The scoring vocabulary: rubric and policy specs, ratings, bands, errors, canonical JSON.

Everything here is an immutable value (specs are lru_cache keys elsewhere in the package) or a
constant; the functions that score live in report.py, path.py, whatif.py and cohort.py.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import orjson

from ...assessments.roles import ROLE_VALUES

BANDS = ("ready_now", "ready_soon", "developing", "not_yet")
READY_NOW, READY_SOON, DEVELOPING, NOT_YET = range(4)  # band indices, best first


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
    levels: tuple[str, ...] = ()  # the target levels it is written for; () = every level


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
    rater_role: str  # a RaterRole value (service/assessments/roles.py)
    rater_id: str | None
    proficiency: float
    evidence: str | None = None


def _pairs(value: Any) -> tuple[tuple[str, float], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(k), float(v)) for k, v in items)


@dataclass(frozen=True)
class Policy:
    """A named, versioned set of scoring parameters, stored with every report.

    `role_weights` weigh the rater roles in observed; a role it leaves out weighs 0: its
    ratings are accepted (and enter the inputs digest) but count for nothing, not in observed,
    flags or confidence, so a competency rated only in such roles is unrated.

    Confidence parameters (see report.confidence): `confidence_weights` weigh the four factors,
    `confidence_full_raters` distinct raters give full rater credit, a mean spread of
    `confidence_max_spread` steps between raters gives no agreement credit, and
    `confidence_high` / `confidence_medium` are the value cut-offs of the levels.

    `rules` picks the scoring rules: 1 (progress from the current level's bar, the target's
    gates, self ratings may meet a gate) or 2 (progress from the bar of the level below the
    target, cumulative gates met by non-self ratings only, `raters_disagree` when non-self
    ratings of a competency span `disagreement_steps` or more, band capped at ready_soon when
    more than `max_unrated_weight` of the competency weight is unrated, the cheapest
    path_to_ready). The last two parameters mean nothing under rules 1, so a rules-1 policy
    leaves all three out of its dict: its reports and digests stay as they were before v2.
    `rater_adjustment`: observed values use each non-self rating less its rater's severity
    from a stored rater-effects fit (adjust.py); the service picks the fit and the report
    names it. Off, it is left out of `to_dict` (the digests of earlier reports stay valid).
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
    rater_adjustment: bool = False
    rules: int = 1
    disagreement_steps: float = 3
    max_unrated_weight: float = 0.25

    def __post_init__(self) -> None:
        errors = _policy_errors(self)
        if errors:
            raise ScoringInputError(errors)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if self.rules == 1 and f.name in RULES_2_FIELDS:
                continue
            if f.name == "rater_adjustment":
                if value:
                    out[f.name] = True
            elif f.name in ("name", "version", "confidence_full_raters", "rules"):
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


CONFIDENCE_FACTORS = ("manager", "raters", "agreement", "evidence")
RULES = (1, 2)
# Parameters that exist only under rules 2 (Policy.to_dict leaves them out under rules 1).
RULES_2_FIELDS = ("rules", "disagreement_steps", "max_unrated_weight")


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
    check("role_weights", bool(roles) and set(roles) <= set(ROLE_VALUES)
          and len(set(roles)) == len(roles) and all(positive(w) for _, w in p.role_weights),
          f"must give each role at most once a positive weight; roles: {', '.join(ROLE_VALUES)}")
    thresholds = (p.ready_now, p.ready_soon, p.developing)
    check("ready_now", all(positive(t) for t in thresholds)
          and p.ready_now >= p.ready_soon >= p.developing,
          "thresholds must be positive with ready_now >= ready_soon >= developing")
    check("blind_spot_steps", positive(p.blind_spot_steps), "must be positive")
    check("hidden_strength_steps", positive(p.hidden_strength_steps), "must be positive")
    check("confidence_weights", sorted(k for k, _ in p.confidence_weights)
          == sorted(CONFIDENCE_FACTORS) and all(positive(w) for _, w in p.confidence_weights),
          f"must give a positive weight to each of {', '.join(CONFIDENCE_FACTORS)}")
    check("confidence_full_raters", isinstance(p.confidence_full_raters, int)
          and p.confidence_full_raters >= 1, "must be an integer >= 1")
    check("confidence_max_spread", positive(p.confidence_max_spread), "must be positive")
    check("confidence_high", positive(p.confidence_medium) and positive(p.confidence_high)
          and p.confidence_medium <= p.confidence_high <= 1,
          "must satisfy 0 < confidence_medium <= confidence_high <= 1")
    check("rater_adjustment", isinstance(p.rater_adjustment, bool), "must be true or false")
    check("rules", p.rules in RULES and not isinstance(p.rules, bool),
          f"must be one of {', '.join(map(str, RULES))}")
    check("disagreement_steps", positive(p.disagreement_steps), "must be positive")
    check("max_unrated_weight", isinstance(p.max_unrated_weight, int | float)
          and 0 <= p.max_unrated_weight <= 1, "must be a share between 0 and 1")
    return errors


# The built-in versions of `progress`; v2 is the default. Both are also stored as rows by
# `ascent load-defaults` (readiness/policies.py).
PROGRESS_V1 = Policy()
PROGRESS_V2 = Policy(version=2, rules=2)
BUILT_IN_POLICIES = (PROGRESS_V1, PROGRESS_V2)
DEFAULT_POLICY = PROGRESS_V2


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           allow_nan=False)
dumps = _ENCODER.encode  # one encoder: json.dumps with options builds a new one per call


# orjson writes what ``dumps`` writes, ten times faster, but for floats below 1e-4 ("0.00001"
# where json writes "1e-05"); a number with an exponent or four leading zeros anywhere (a string
# holding one is fine: it only costs the slow path) sends the report to ``dumps``. So do the
# values orjson refuses (integers beyond 64 bits, keys that are not strings, dataclasses, ...).
_SLOW_NUMBER = re.compile(rb"[:,\[]-?(?:0\.0000|[0-9.]+e)")
_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def canonical_json(report: Mapping[str, Any]) -> bytes:
    """Deterministic bytes for a report: sorted keys, no whitespace, UTF-8. (orjson writes a
    NaN or an infinity as null where json refused them: scoring makes neither.)"""
    try:
        raw = orjson.dumps(report, option=_ORJSON)
    except orjson.JSONEncodeError:
        raw = None
    if raw is None or _SLOW_NUMBER.search(raw):
        return dumps(report).encode("utf-8")
    return raw

