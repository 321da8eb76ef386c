"""Bulk imports for tests: file bodies in both formats, an upload helper, and waiting for the
job (the app's runner thread runs it; ``finish`` blocks until it has)."""

import asyncio
import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

from service.bulk import runner

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = "cycle-2026-h2"
NDJSON, CSV = "application/x-ndjson", "text/csv"
CSV_HEADER = ["external_id", "display_name", "org_unit", "rubric", "current_level",
              "target_level", "cycle", "competency", "rater_role", "rater_id", "proficiency",
              "evidence"]


def line(external_id: str = "E1", *, level: str = "pm", cycle: str = "2026-H2",
         ratings: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """One JSON line: a PM on the default ladder rated by self and manager."""
    doc = {"person": {"external_id": external_id, "display_name": f"Person {external_id}",
                      "org_unit": "payments", "manager_external_id": "M1",
                      "rubric": "product-leadership", "level": level},
           "cycle": cycle,
           "ratings": ratings if ratings is not None else [
               {"competency": "strategy", "rater_role": "self", "proficiency": 3},
               {"competency": "strategy", "rater_role": "manager", "rater_id": "M1",
                "proficiency": 4, "evidence": "wrote the strategy"},
               {"competency": "execution", "rater_role": "manager", "rater_id": "M1",
                "proficiency": 3}]}
    doc.update(extra)
    return doc


def ndjson(*docs: dict[str, Any]) -> bytes:
    return "".join(json.dumps(d) + "\n" for d in docs).encode()


def csv_body(rows: list[dict[str, Any]], header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or CSV_HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def csv_row(external_id: str = "E1", competency: str = "strategy", rater_role: str = "self",
            rater_id: str = "", proficiency: Any = 3, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "display_name": f"Person {external_id}",
            "org_unit": "payments", "rubric": "product-leadership", "current_level": "pm",
            "target_level": "", "cycle": "2026-H2", "competency": competency,
            "rater_role": rater_role, "rater_id": rater_id, "proficiency": proficiency,
            "evidence": "", **extra}


def sample(fmt: str) -> bytes:
    return (DATA / f"{SAMPLE}.{'jsonl' if fmt == 'ndjson' else 'csv'}").read_bytes()


def expected() -> dict[str, Any]:
    return json.loads((DATA / f"{SAMPLE}.expected.json").read_text())


async def upload(client, body, media: str = NDJSON, *, key: str | None = None, **params: Any):
    params = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}
    return await client.post("/v1/bulk/assessments", content=body, params=params,
                             headers={"Content-Type": media,
                                      "Idempotency-Key": key or f"test-{uuid.uuid4()}"})


async def finish(app, client, job_id: str, **params: Any) -> dict[str, Any]:
    """Wait until the runner has ended the job; returns GET /v1/jobs/{id}."""
    done = await asyncio.to_thread(runner.runner_for(app).wait, uuid.UUID(job_id), 120)
    assert done, f"job {job_id} did not end"
    response = await client.get(f"/v1/jobs/{job_id}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def run_import(app, client, body, media: str = NDJSON, **params: Any) -> dict[str, Any]:
    """Upload, expect 202, wait for the job; returns the finished job."""
    response = await upload(client, body, media, **params)
    assert response.status_code == 202, response.text
    return await finish(app, client, response.json()["job"]["id"])


def errors_of(job: dict[str, Any]) -> list[tuple[int, str]]:
    return [(e["line"], e["field"]) for e in job["errors"]]


async def assessments(client, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/assessments", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]
