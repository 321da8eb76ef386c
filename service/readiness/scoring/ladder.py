"""What a rules-2 report needs that depends only on rubric, policy, current and target level
(the Ladder), built once per (rubric version, policy, current, target) and kept in the Plan.

Rules 2 measure progress from the bar of the level just below the target, so the numbers
follow from the evidence and the target, not the title; the title only decides which gates
still lie ahead (every gate of every level above the current one, up to the target).
"""

from __future__ import annotations

from dataclasses import dataclass

from .formulas import Derived, derive
from .plan import MEMO, LevelPlan, Plan, role_cells


@dataclass(frozen=True, slots=True)
class GateBar:
    """One gate that applies: the competency must reach `bar` (its expectation at `level`)
    on non-self ratings alone."""

    competency: int
    level: str
    bar: int


@dataclass(frozen=True, slots=True)
class Rung:
    """One competency of a Ladder."""

    index: int
    key: str
    weight: float
    expected_current: int  # the bar of the person's level (shown, not used)
    expected_from: int  # the bar of the level just below the target: progress 0
    expected_target: int  # the target's bar: progress 1
    slot: int  # its part of MEMO.weighed
    cells: slice  # its cells in Tally.sums and Tally.counts, one per role the policy weighs
    unrated: Derived  # derive() when nobody rated it
    # its cells with their role weights in policy order (see plan.role_cells)
    before: tuple[tuple[int, float], ...]
    self_cell: int
    self_weight: float
    after: tuple[tuple[int, float], ...]
    gates: tuple[GateBar, ...]  # its gates that apply, lowest level first
    gate_bar: int | None  # the highest of their bars; None: no gate applies


@dataclass(frozen=True, slots=True)
class Ladder:
    rungs: tuple[Rung, ...]
    gates: tuple[GateBar, ...]  # as reported: by level, then rubric order
    total_weight: float
    scale_min: int
    scale_max: int
    n_roles: int  # roles the policy weighs (cells per competency)
    roles: tuple[str, ...]  # those roles, in policy order
    lead_role: str  # the non-self role the policy weighs most: missing where nobody rated
    non_self_comp: tuple[int, ...]  # per scored cell: its competency, len(rungs) for self


def ladder_of(plan: Plan, lv: LevelPlan, scale_max: int) -> Ladder:
    """The (cached) Ladder of a LevelPlan (checked_inputs has validated the levels)."""
    key = (lv.current, lv.target)
    found = plan.ladders.get(key)
    if found is None:
        found = plan.ladders[key] = _build(plan, lv, scale_max)
    return found


def _build(plan: Plan, lv: LevelPlan, scale_max: int) -> Ladder:
    rx, px = plan.rx, plan.px
    cur, tgt = rx.levels[lv.current], rx.levels[lv.target]
    level_names = {i: name for name, i in rx.levels.items()}
    gates = tuple(GateBar(c, level_names[lvl], rx.expected[lvl][c])
                  for lvl in range(cur + 1, tgt + 1) for c in rx.gates[lvl])
    lo, total, n_roles = lv.scale_min, lv.total_weight, len(px.weights)
    rungs = []
    for c, (key, w) in enumerate(zip(rx.keys, rx.weights, strict=True)):
        ef, et = rx.expected[tgt - 1][c], rx.expected[tgt][c]
        mine = tuple(g for g in gates if g.competency == c)
        before, self_cell, self_weight, after = role_cells(c * n_roles, px)
        rungs.append(Rung(
            index=c, key=key, weight=w, expected_current=rx.expected[cur][c],
            expected_from=ef, expected_target=et, slot=MEMO.slot(),
            cells=slice(c * n_roles, (c + 1) * n_roles),
            unrated=derive(c, key, w, ef, et, False, lo, total, None),
            before=before, self_cell=self_cell, self_weight=self_weight, after=after,
            gates=mine, gate_bar=max((g.bar for g in mine), default=None),
        ))
    roles = tuple(r for r, _ in sorted(px.roles.items(), key=lambda item: item[1]))
    non_self = [(w, -i, r) for i, (r, w) in enumerate(zip(roles, px.weights, strict=True))
                if r != "self"]
    return Ladder(rungs=tuple(rungs), gates=gates, total_weight=total, scale_min=lo,
                  scale_max=scale_max, n_roles=n_roles, roles=roles,
                  lead_role=max(non_self)[2] if non_self else roles[0],
                  non_self_comp=tuple(len(rungs) if k == px.self_idx else c
                                      for c in range(len(rungs)) for k in range(n_roles)))
