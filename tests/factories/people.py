"""People for tests: a PUT body in the HRIS sync shape, and a helper that syncs one."""

from typing import Any


def person_doc(external_id: str = "E123", **overrides: Any) -> dict[str, Any]:
    """A product manager on the default ladder; ``overrides`` replace fields."""
    doc = {
        "external_id": external_id,
        "display_name": f"Person {external_id}",
        "email": f"{external_id.lower()}@example.com",
        "org_unit": "payments",
        "manager_external_id": "E001",
        "rubric": "product-leadership",
        "level": "pm",
        "active": True,
    }
    doc.update(overrides)
    return doc


async def sync_person(admin, external_id: str = "E123", **overrides: Any) -> dict[str, Any]:
    response = await admin.put(f"/v1/people/{external_id}",
                               json=person_doc(external_id, **overrides))
    assert response.status_code in (200, 201), response.text
    return response.json()
