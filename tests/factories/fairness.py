"""Fairness test data: distinctive categories (a leak test can search any text for them) and a
planted cohort on the small test ladder where each group's selection is chosen."""

from functools import partial
from typing import Any

from tests.factories.bulk import line, ndjson, run_import
from tests.factories.rubrics import create_rubric

# Distinctive categories: a string no other data holds, so finding one anywhere is a leak.
GENDERS = ["qx-alpha-7", "qx-beta-7", "qx-gamma-7"]
REGIONS = ["qx-north-7", "qx-south-7"]
ATTRIBUTES = {"gender": GENDERS, "region": REGIONS}
READY = {"delivery": 3, "craft": 3}  # junior -> mid on the test ladder: score 100, ready_now
NOT_READY = {"delivery": 1, "craft": 2}  # score 0, not_yet
FAIR_RATERS = (("manager", "M1"), ("peer", "R1"), ("peer", "R2"))
LENIENT = "R9"  # in a favoured cohort: rates the favoured group's members three steps high


def _as_rated(rater: str, competency: int) -> int:
    return 0


def _line(person: str, proficiencies: dict[str, int], status: str,
          raters=FAIR_RATERS, off=_as_rated) -> dict[str, Any]:
    """``off(rater, competency index)``: steps the rater gives above the proficiency."""
    ratings = [{"competency": c, "rater_role": role, "rater_id": rater,
                "proficiency": min(5, max(1, p + off(rater, i)))}
               for role, rater in raters for i, (c, p) in enumerate(proficiencies.items())]
    doc = line(person, ratings=ratings, status=status)
    doc["person"] |= {"rubric": "eng-ladder", "level": "junior"}
    return doc


def _lean(rater: str, competency: int, person: int) -> int:
    """Steps above the truth in a ``favoured`` cohort: the lenient peer three, the manager
    none, the fair peers -1, 0 or +1 (so the fit has disagreement to work with)."""
    if rater == LENIENT:
        return 3
    if rater == "M1":
        return 0
    return (person + competency + int(rater[1:])) % 3 - 1


async def planted_cohort(app, admin, groups: list[tuple[dict[str, str], int, int]], *,
                         status: str = "finalized", rubric: bool = True,
                         favoured: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """``groups``: (attributes, people, of whom ready). People are P000, P001... in order;
    their attributes are stored after the import. Returns person -> attributes.

    With ``favoured`` (one group's attributes), each person is rated by the manager M1 and one
    peer instead: ``LENIENT`` for the favoured group's members, one of three fair peers for
    everyone else. The lenient peer lifts a not-ready favoured person to ready_soon; taking
    its severity off brings them back."""
    if rubric:
        await create_rubric(admin)
    lines, people = [], {}
    for attributes, n, ready in groups:
        for i in range(n):
            k = len(people)
            person = f"P{k:03d}"
            people[person] = attributes
            raters, off = FAIR_RATERS, _as_rated
            if favoured is not None:
                peer = LENIENT if attributes == favoured else ("R1", "R2", "R3")[k % 3]
                raters = (("manager", "M1"), ("peer", peer))
                off = partial(_lean, person=k)
            lines.append(_line(person, READY if i < ready else NOT_READY, status, raters, off))
    job = await run_import(app, admin, ndjson(*lines), mode="partial")
    assert job["failed"] == 0, job
    for person, attributes in people.items():
        if attributes:
            response = await admin.put(f"/v1/people/{person}/attributes", json=attributes)
            assert response.status_code == 200, response.text
    return people
