"""Fairness test data: distinctive categories (a leak test can search any text for them) and a
planted cohort on the small test ladder where each group's selection is chosen."""

from typing import Any

from tests.factories.bulk import line, ndjson, run_import
from tests.factories.rubrics import create_rubric

# Distinctive categories: a string no other data holds, so finding one anywhere is a leak.
GENDERS = ["qx-alpha-7", "qx-beta-7", "qx-gamma-7"]
REGIONS = ["qx-north-7", "qx-south-7"]
ATTRIBUTES = {"gender": GENDERS, "region": REGIONS}
READY = {"delivery": 3, "craft": 3}  # junior -> mid on the test ladder: score 100, ready_now
NOT_READY = {"delivery": 1, "craft": 2}  # score 0, not_yet


def _line(person: str, proficiencies: dict[str, int], status: str) -> dict[str, Any]:
    ratings = [{"competency": c, "rater_role": role, "rater_id": rater, "proficiency": p}
               for role, rater in (("manager", "M1"), ("peer", "R1"), ("peer", "R2"))
               for c, p in proficiencies.items()]
    doc = line(person, ratings=ratings, status=status)
    doc["person"] |= {"rubric": "eng-ladder", "level": "junior"}
    return doc


async def planted_cohort(app, admin, groups: list[tuple[dict[str, str], int, int]], *,
                         status: str = "finalized", rubric: bool = True
                         ) -> dict[str, dict[str, str]]:
    """``groups``: (attributes, people, of whom ready). People are P000, P001... in order;
    their attributes are stored after the import. Returns person -> attributes."""
    if rubric:
        await create_rubric(admin)
    lines, people = [], {}
    for attributes, n, ready in groups:
        for i in range(n):
            person = f"P{len(people):03d}"
            people[person] = attributes
            lines.append(_line(person, READY if i < ready else NOT_READY, status))
    job = await run_import(app, admin, ndjson(*lines), mode="partial")
    assert job["failed"] == 0, job
    for person, attributes in people.items():
        if attributes:
            response = await admin.put(f"/v1/people/{person}/attributes", json=attributes)
            assert response.status_code == 200, response.text
    return people
