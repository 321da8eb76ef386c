"""Small valid rubric documents for tests, and helpers to put them in the database."""

import copy
from typing import Any

LEVELS = ("junior", "mid", "senior")


def rubric_doc(key: str = "eng-ladder", **overrides: Any) -> dict[str, Any]:
    """A publishable 3-level x 2-competency rubric; ``overrides`` replace top-level fields."""
    doc = {
        "key": key,
        "name": "Engineering ladder",
        "description": "A small ladder for tests.",
        "scale": {"min": 1, "max": 5, "labels": {"1": "novice", "5": "expert"}},
        "levels": [
            {"key": lvl, "name": lvl.title(), "order": i + 1, "summary": f"{lvl} level"}
            for i, lvl in enumerate(LEVELS)
        ],
        "competencies": [
            {
                "key": "delivery", "name": "Delivery", "description": "Ships things.",
                "weight": 2.0,
                "expectations": [
                    {"level": "junior", "proficiency": 1, "descriptor": "ships with help"},
                    {"level": "mid", "proficiency": 3, "descriptor": "ships alone"},
                    {"level": "senior", "proficiency": 4, "descriptor": "ships through others",
                     "gate": True, "gate_reason": "seniors must deliver through others"},
                ],
                "recommendations": [
                    {"kind": "mentoring", "title": "Mentor a junior", "detail": "Pair weekly."},
                ],
            },
            {
                "key": "craft", "name": "Craft", "description": "Builds things well.",
                "weight": 1.0,
                "expectations": [
                    {"level": "junior", "proficiency": 2, "descriptor": "learns the tools"},
                    {"level": "mid", "proficiency": 3, "descriptor": "knows the tools"},
                    {"level": "senior", "proficiency": 3, "descriptor": "teaches the tools"},
                ],
                "recommendations": [],
            },
        ],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def content_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields of a rubric read that export/import must preserve."""
    keep = ("key", "name", "description", "policy", "scale", "levels", "competencies")
    return {k: doc[k] for k in keep if k in doc}


async def create_rubric(admin, doc: dict[str, Any] | None = None, *, publish: bool = True
                        ) -> dict[str, Any]:
    doc = doc or rubric_doc()
    response = await admin.post("/v1/rubrics", json=doc)
    assert response.status_code == 201, response.text
    if not publish:
        return response.json()
    response = await admin.post(f"/v1/rubrics/{doc['key']}/versions/1/publish")
    assert response.status_code == 200, response.text
    return response.json()


async def load_default_rubric(engine) -> None:
    from service.db import open_session
    from service.rubrics.service import load_defaults

    with open_session(engine, write=True) as session:
        load_defaults(session)
        session.commit()
