"""What-if: rating changes applied to an assessment's ratings (the simulate endpoint), and the
changes that carry out a report's path_to_ready."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .model import DEFAULT_POLICY, Policy, Rating


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


def path_changes(report: Mapping[str, Any], ratings: Sequence[Rating],
                 policy: Policy = DEFAULT_POLICY) -> list[Rating]:
    """The rating changes that carry out report["path_to_ready"] for these ratings (scored
    with `policy`).

    Every existing rater of a path competency in a role the policy weighs is set to its `to`
    (evidence kept), so observed becomes exactly `to`; a competency with no such rating gets
    one by rater "simulated", as manager (or, should the policy leave managers out, in the
    role it weighs most). apply_changes(ratings, path_changes(report, ratings, policy)) then
    scores ready_now.
    """
    weighed = dict(policy.role_weights)
    role = "manager" if "manager" in weighed else max(weighed, key=weighed.__getitem__)
    changes: list[Rating] = []
    for step in report["path_to_ready"]:
        comp, to = step["competency"], float(step["to"])
        mine = {_rating_key(r): r for r in ratings
                if r.competency == comp and r.rater_role in weighed}
        if not mine:
            changes.append(Rating(comp, role, "simulated", to))
        changes.extend(replace(r, proficiency=to) for r in mine.values())
    return changes
