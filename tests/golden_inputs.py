"""Fixed scoring inputs for the v1 golden test: a frozen copy of product-leadership v1 (the
shipped YAML may change; stored reports do not) and cases from a 64-bit LCG, so the inputs
are the same on every Python and NumPy version."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from service.readiness.scoring import CompetencySpec, Rating, Recommendation, RubricSpec

DATA = Path(__file__).resolve().parent / "data"
ROLES = ("manager", "peer", "upward", "self", "other")


def frozen_rubric() -> RubricSpec:
    raw = json.loads((DATA / "product-leadership-v1.spec.json").read_text())
    return RubricSpec(raw["key"], raw["version"], raw["scale_min"], raw["scale_max"],
                      tuple(raw["levels"]), tuple(
                          CompetencySpec(c["key"], c["weight"], tuple(c["expected"]),
                                         frozenset(c["gates"]),
                                         tuple(Recommendation(*r) for r in c["recommendations"]))
                          for c in raw["competencies"]))


class Lcg:
    """Knuth's MMIX LCG; high bits only."""

    def __init__(self, seed: int) -> None:
        self.state = seed

    def below(self, n: int) -> int:
        self.state = (6364136223846793005 * self.state + 1442695040888963407) % (1 << 64)
        return (self.state >> 33) % n


@dataclass(frozen=True)
class Case:
    current: str
    target: str | None
    ratings: tuple[Rating, ...]


def cases(rubric: RubricSpec, n: int, seed: int = 13) -> Iterator[Case]:
    rng = Lcg(seed)
    levels, lo, hi = rubric.levels, rubric.scale_min, rubric.scale_max
    for _ in range(n):
        cur = rng.below(len(levels) - 1)
        tgt = cur + 1 + rng.below(len(levels) - 1 - cur)
        ratings = []
        for r in range(1 + rng.below(5)):
            role = ROLES[rng.below(len(ROLES))] if r else "manager"
            for comp in rubric.competencies:
                if rng.below(10) < 2:
                    continue  # some competencies unrated by some raters
                base = comp.expected[cur] + rng.below(4) - 1
                half = rng.below(4) == 0
                p = min(hi, max(lo, base + (0.5 if half else 0.0)))
                ratings.append(Rating(comp.key, role, f"R{r}", float(p),
                                      "did it" if rng.below(3) else None))
        yield Case(levels[cur], levels[tgt] if rng.below(2) else None, tuple(ratings))
