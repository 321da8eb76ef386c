"""Two people and everything of theirs, for the person-binding tests (issue 12).

A (``PA-1001``) is the person a credential is bound to; B (``PB-2002``) is the one it must
never reach, and M (``PM-3003``) is A's manager. B's manager is A, and A rated in two of B's
assessments (as their manager), the hardest case: A may read those two, seeing only its own
ratings, and nothing else of B's. Each of A and B has a finalized assessment with a stored
readiness report and an outline; an admin's bulk job names B in its row errors.

``World.strong`` holds strings that only B's (or M's) data contains: a 2xx answer to A
holding one has leaked. ``World.weak`` holds B's external id and the ids of the assessments A
rated in: A may see those in those two assessments, and nowhere else.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.factories.assessments import create_assessment, rate
from tests.factories.bulk import line, ndjson, run_import
from tests.factories.outlines import create_outline, load_defaults, opportunity
from tests.factories.people import sync_person

A, B, M = "PA-1001", "PB-2002", "PM-3003"
UNKNOWN_PERSON = "PZ-9999"  # never synced: what a 404 for someone unseen must look like
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
SECRET = "BSECRET"  # in every piece of text written about B by someone else than A


@dataclass
class World:
    ids: dict[str, str]
    strong: set[str] = field(default_factory=set)
    weak: set[str] = field(default_factory=set)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]

    def leaked(self, text: str, *, weak: bool = True) -> set[str]:
        """The markers of B's data in ``text`` (``weak``: also B's id and the rated-in ids)."""
        return {m for m in self.strong | (self.weak if weak else set()) if m in text}


async def _finalized(admin, assessment_id: str) -> None:
    for step in ("submit", "finalize"):
        response = await admin.post(f"/v1/assessments/{assessment_id}/{step}")
        assert response.status_code == 200, response.text


async def _rated(admin, assessment_id: str, *raters: tuple[str, str | None, str]) -> None:
    for role, rater, evidence in raters:
        response = await rate(admin, assessment_id, role, rater, [
            {"competency": "strategy", "proficiency": 4, "evidence": evidence},
            {"competency": "execution", "proficiency": 3, "evidence": evidence}])
        assert response.status_code == 200, response.text


async def arrange(app, admin, engine) -> World:
    load_defaults(engine)  # the default rubric and templates
    await sync_person(admin, M, display_name=f"Mallory {SECRET}-M",
                      email="mallory.bsecret@example.com", manager_external_id=None)
    await sync_person(admin, A, display_name="Ada Self", email="ada.self@example.com",
                      manager_external_id=M)
    await sync_person(admin, B, display_name=f"Beatrix {SECRET}",
                      email="beatrix.bsecret@example.com", manager_external_id=A)

    a_final = await create_assessment(admin, A, sync=False, cycle="2026-H1")
    await _rated(admin, a_final["id"], ("self", None, "my own words"),
                 ("manager", M, "a note M wrote about A"))
    await _finalized(admin, a_final["id"])

    # B's, rated in by A (as B's manager) and by M; then finalized, so a report is stored.
    b_final = await create_assessment(admin, B, sync=False, cycle="2026-H1")
    await _rated(admin, b_final["id"], ("self", None, f"{SECRET} self-final"),
                 ("manager", A, "what A wrote about B"),
                 ("peer", M, f"{SECRET} peer-final"))
    await _finalized(admin, b_final["id"])
    # B's draft, rated in by A too (writes on it are the interesting ones).
    b_draft = await create_assessment(admin, B, sync=False, cycle="2026-H2")
    await _rated(admin, b_draft["id"], ("manager", A, "A on the draft"),
                 ("peer", M, f"{SECRET} peer-draft"))
    # B's draft that A has no part in.
    b_hidden = await create_assessment(admin, B, sync=False, cycle="2025-H2")
    await _rated(admin, b_hidden["id"], ("self", None, f"{SECRET} self-hidden"))

    b_outline = await create_outline(admin, opportunity() | {
        "title": f"{SECRET} outline", "person": B, "assessment_id": b_final["id"]})
    a_outline = await create_outline(admin, opportunity() | {
        "title": "Ada's outline", "person": A, "assessment_id": a_final["id"]})

    # An admin's partial import whose one line (about B) is rejected: the job names B.
    job = await run_import(app, admin, ndjson(line(B, ratings=[
        {"competency": "strategy", "rater_role": "self", "proficiency": 99}])), mode="partial")
    assert job["status"] == "failed" or job["failed"] == 1, job
    assert any(e["external_id"] == B for e in job["errors"]), job

    digests = set()
    for assessment_id in (b_final["id"], b_draft["id"], b_hidden["id"]):
        report = await admin.get(f"/v1/assessments/{assessment_id}/readiness")
        assert report.status_code == 200, report.text
        digests.add(report.json()["inputs_digest"])

    b_person = (await admin.get(f"/v1/people/{B}")).json()["id"]  # B's SCIM User id
    ids = {"A": A, "B": B, "M": M, "a_final": a_final["id"], "a_outline": a_outline["id"],
           "b_final": b_final["id"], "b_draft": b_draft["id"], "b_hidden": b_hidden["id"],
           "b_outline": b_outline["id"], "job": job["id"], "b_person": b_person}
    return World(ids=ids,
                 strong={SECRET.lower(), SECRET, "Beatrix", "Mallory", b_hidden["id"],
                         b_outline["id"], job["id"], *digests},
                 weak={B, b_final["id"], b_draft["id"]})


async def snapshot(admin, world: World) -> dict[str, Any]:
    """Everything of B's as an admin reads it: equal before and after means nothing changed."""
    reads = [f"/v1/people/{B}", f"/v1/people/{M}", f"/v1/people/{B}/readiness",
             f"/v1/outlines/{world['b_outline']}",
             *(f"/v1/assessments/{world[k]}" for k in ("b_final", "b_draft", "b_hidden")),
             *(f"/v1/assessments/{world[k]}/history" for k in ("b_final", "b_draft",
                                                                  "b_hidden"))]
    out: dict[str, Any] = {}
    for path in reads:
        response = await admin.get(path, params={"limit": 500})
        assert response.status_code == 200, (path, response.text)
        out[path] = (response.headers.get("etag"), response.json())
    for path, params in (("/v1/assessments", {"person": B}), ("/v1/outlines", {"person": B}),
                         ("/v1/people", {"manager": A}),
                         ("/v1/outlines", {"assessment_id": world["b_final"]}),
                         ("/v1/outlines", {"assessment_id": world["b_draft"]})):
        response = await admin.get(path, params={"limit": 500, **params})
        assert response.status_code == 200, (path, response.text)
        out[f"{path}?{sorted(params.items())}"] = response.json()
    return out


def fresh_key() -> str:
    return f"binding-{uuid.uuid4()}"
