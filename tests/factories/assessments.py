"""Assessments for tests: create one for a synced person, and rate it with the right ETag."""

from typing import Any

from tests.factories.people import sync_person


async def create_assessment(admin, person: str = "E123", *, sync: bool = True,
                            **body: Any) -> dict[str, Any]:
    """Sync the person (unless ``sync=False``) and start a draft; returns the read body."""
    if sync:
        await sync_person(admin, person)
    response = await admin.post("/v1/assessments",
                                json={"person": person, "cycle": "2026-H2", **body})
    assert response.status_code == 201, response.text
    return response.json()


def ratings(**proficiencies: int) -> list[dict[str, Any]]:
    """``ratings(strategy=4, execution=3)``; underscores stand for dashes in keys."""
    return [{"competency": key.replace("_", "-"), "proficiency": value,
             "evidence": f"evidence for {key}"} for key, value in proficiencies.items()]


async def etag_of(client, assessment_id: str) -> str:
    response = await client.get(f"/v1/assessments/{assessment_id}")
    assert response.status_code == 200, response.text
    return response.headers["etag"]


async def rate(client, assessment_id: str, rater_role: str, rater_id: str | None,
               items: list[dict[str, Any]], *, etag: str | None = None):
    """PUT one rater's ratings (fetching the current ETag unless one is given)."""
    body: dict[str, Any] = {"rater_role": rater_role, "ratings": items}
    if rater_id is not None:
        body["rater_id"] = rater_id
    etag = etag or await etag_of(client, assessment_id)
    return await client.put(f"/v1/assessments/{assessment_id}/ratings", json=body,
                            headers={"If-Match": etag})
