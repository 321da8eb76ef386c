"""Small valid template documents for tests, and helpers to put templates and outlines in the
database."""

import copy
from typing import Any


def template_doc(key: str = "growth-plan", **overrides: Any) -> dict[str, Any]:
    """A publishable template with one field of every type; its competency and level fields
    refer to the ``eng-ladder`` rubric of ``tests.factories.rubrics`` (publish that first)."""
    doc = {
        "key": key,
        "name": "Growth plan",
        "description": "A template for tests.",
        "fields": [
            {"key": "summary", "label": "Summary", "type": "text", "required": True,
             "max_length": 40},
            {"key": "notes", "label": "Notes", "type": "markdown"},
            {"key": "quadrant", "label": "Quadrant", "type": "enum", "required": True,
             "options": ["improve_products", "improve_relationships"]},
            {"key": "due", "label": "Due", "type": "date", "group": "Target"},
            {"key": "months", "label": "Months", "type": "integer", "min": 12, "max": 18,
             "group": "Target"},
            {"key": "steps", "label": "Steps", "type": "list", "max_items": 3, "max_length": 20},
            {"key": "skills", "label": "Skills", "type": "competency", "rubric": "eng-ladder",
             "multiple": True},
            {"key": "goal", "label": "Goal", "type": "level", "rubric": "eng-ladder"},
            {"key": "mentor", "label": "Mentor", "type": "person"},
        ],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def content_of(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in ("key", "name", "description", "fields") if k in doc}


async def create_template(admin, doc: dict[str, Any] | None = None, *, publish: bool = True
                          ) -> dict[str, Any]:
    doc = doc or template_doc()
    response = await admin.post("/v1/templates", json=doc)
    assert response.status_code == 201, response.text
    if not publish:
        return response.json()
    response = await admin.post(f"/v1/templates/{doc['key']}/versions/1/publish")
    assert response.status_code == 200, response.text
    return response.json()


def load_defaults(engine) -> list[str]:
    """The default rubric and the default templates, as `ascent load-defaults` loads them."""
    from service.db import open_session
    from service.outlines.service import load_defaults as load_templates
    from service.rubrics.service import load_defaults as load_rubrics

    with open_session(engine, write=True) as session:
        messages = load_rubrics(session) + load_templates(session)
        session.commit()
    return messages


def opportunity(**values: Any) -> dict[str, Any]:
    """A valid POST /v1/outlines body for the default opportunity outline."""
    return {
        "template": {"key": "opportunity-outline"},
        "title": "Shorten decision time",
        "values": {
            "problem": "Roadmap decisions wait weeks for the right people.",
            "desired_outcome": "Teams decide within a week without escalating.",
            "quadrant": "organisational_debt",
            **values,
        },
    }


async def create_outline(client, body: dict[str, Any] | None = None, **headers: str
                         ) -> dict[str, Any]:
    response = await client.post("/v1/outlines", json=body or opportunity(), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()
