"""What scoring derives once per rubric and once per policy (lru_cache on the immutable specs),
shared by the single report and the cohort path: lookups by key, the expectations as a
level x competency table, and the canonical JSON of each (hashed into every inputs digest).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from ...assessments.roles import ROLE_VALUES
from .model import CONFIDENCE_FACTORS, Policy, RubricSpec, ScoringInputError, dumps


@dataclass(frozen=True)
class RubricIndex:
    levels: dict[str, int]
    comps: dict[str, int]
    keys: tuple[str, ...]
    weights: tuple[float, ...]
    total_weight: float
    expected: tuple[tuple[int, ...], ...]  # [level][competency]
    gates: tuple[tuple[int, ...], ...]  # [level] -> competencies gated there
    # per target level, per competency: the recommendations written for it
    recommended: dict[str, tuple[tuple[dict[str, str], ...], ...]]
    canonical: str  # everything about the rubric that can change a report


@functools.lru_cache(maxsize=64)
def rubric_index(rubric: RubricSpec) -> RubricIndex:
    errors = rubric_errors(rubric)
    if errors:
        raise ScoringInputError(errors)
    comps = rubric.competencies
    recs = tuple(
        tuple({"kind": r.kind, "title": r.title, "detail": r.detail} for r in c.recommendations)
        for c in comps
    )
    # a recommendation's levels enter the digest only when it has some, so reports on rubrics
    # written before recommendations had levels keep their digests
    content_recs = [[rec | ({"levels": list(r.levels)} if r.levels else {})
                     for rec, r in zip(rs, c.recommendations, strict=True)]
                    for c, rs in zip(comps, recs, strict=True)]
    content = {
        "key": rubric.key, "version": rubric.version,
        "scale": [rubric.scale_min, rubric.scale_max], "levels": list(rubric.levels),
        "competencies": [
            {"key": c.key, "weight": float(c.weight), "expected": list(c.expected),
             "gates": sorted(c.gates), "recommendations": r}
            for c, r in zip(comps, content_recs, strict=True)
        ],
    }
    return RubricIndex(
        levels={lvl: i for i, lvl in enumerate(rubric.levels)},
        comps={c.key: i for i, c in enumerate(comps)},
        keys=tuple(c.key for c in comps),
        weights=tuple(float(c.weight) for c in comps),
        total_weight=math.fsum(c.weight for c in comps),
        expected=tuple(tuple(c.expected[i] for c in comps) for i in range(len(rubric.levels))),
        gates=tuple(tuple(j for j, c in enumerate(comps) if lvl in c.gates)
                    for lvl in rubric.levels),
        recommended={target: tuple(tuple(rec for rec, r in zip(rs, c.recommendations,
                                                                 strict=True)
                                         if not r.levels or target in r.levels)
                                   for c, rs in zip(comps, recs, strict=True))
                     for target in rubric.levels},
        canonical=dumps(content),
    )



def recommendations_for(rx: RubricIndex, competency: int, target: str) -> list[dict[str, str]]:
    """The competency's recommendations written for the target level (copied: reports share
    no mutable parts)."""
    return [rec.copy() for rec in rx.recommended[target][competency]]

def rubric_errors(rubric: RubricSpec) -> list[tuple[str, str]]:
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
class PolicyIndex:
    roles: dict[str, int]  # role -> position in policy.role_weights, for the roles it weighs
    weights: tuple[float, ...]  # their weights, in that order
    # Every rater role: those the policy weighs in its order, then those it leaves out (they
    # weigh 0) in RaterRole code order. The cohort path's role index.
    order: tuple[str, ...]
    self_idx: int  # -1 when the policy does not weigh self ratings
    manager_idx: int
    # the weights of the manager, raters, agreement and evidence factors, and their sum
    confidence_terms: tuple[float, float, float, float, float]
    canonical: str


@functools.lru_cache(maxsize=16)
def policy_index(policy: Policy) -> PolicyIndex:
    roles = {r: i for i, (r, _) in enumerate(policy.role_weights)}
    confidence = dict(policy.confidence_weights)
    return PolicyIndex(
        roles=roles,
        weights=tuple(w for _, w in policy.role_weights),
        order=(*roles, *(r for r in ROLE_VALUES if r not in roles)),
        self_idx=roles.get("self", -1),
        manager_idx=roles.get("manager", -1),
        confidence_terms=(*(confidence[k] for k in CONFIDENCE_FACTORS),
                          sum(confidence.values())),
        canonical=dumps(policy.to_dict()),
    )


def role_order(policy: Policy) -> tuple[str, ...]:
    """Every rater role in the order score_cohort() indexes them for this policy: the roles
    it weighs in its order, then those it leaves out (which weigh 0) in RaterRole code order."""
    return policy_index(policy).order
