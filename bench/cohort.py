"""Seconds for GET /v1/cohorts/readiness over N stored assessments, on SQLite and PostgreSQL.

Seeds N people, each with one finalized assessment of the default ladder rated by 3-5 raters
on every competency (bulk inserts: this measures the endpoint, not the seeding), then times
the endpoint in-process (httpx over ASGI) a few times and prints the best and the median,
beside the time of the raw queries alone (the floor for any implementation).

Usage: python bench/cohort.py [--n 10000] [--repeat 5]
"""

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.app import create_app
from service.assessments import cohort as assessments
from service.assessments.models import Assessment, Rating
from service.auth.schemas import ApiKeyCreate
from service.auth.service import create_key
from service.db import make_engine, open_session, upgrade
from service.models import utcnow
from service.people.models import Person
from service.rubrics.service import load_defaults
from service.settings import Settings
from tests.backends import fresh_database, postgres_unavailable_reason

LEVELS = ["apm", "pm", "senior-pm", "lead-pm", "director", "vp", "cpo"]
ROLES = ["manager", "self", "peer", "peer", "upward"]


def seed(url: str, n: int) -> str:
    upgrade(url)
    engine = make_engine(url)
    rnd = random.Random(7)
    with open_session(engine, write=True) as session:
        load_defaults(session)
        _, secret = create_key(session, ApiKeyCreate(name="bench", scopes=["admin"]))
        from service.rubrics.service import get_latest_published, to_content
        comps = [c.key for c in to_content(get_latest_published(session, "product-leadership"),
                                           "product-leadership").competencies]
        now = utcnow()
        people, rows, ratings = [], [], []
        for i in range(n):
            pid, aid, level = uuid.uuid4(), uuid.uuid4(), rnd.randrange(len(LEVELS) - 1)
            ext = f"E{i:06d}"
            people.append({"id": pid, "external_id": ext, "display_name": ext,
                           "org_unit": f"unit-{i % 20}", "manager_external_id": f"M{i % 300}",
                           "rubric": "product-leadership", "level": LEVELS[level],
                           "active": True, "row_version": 1, "created_at": now,
                           "updated_at": now})
            rows.append({"id": aid, "person_id": pid, "person_external_id": ext,
                         "org_unit": f"unit-{i % 20}", "rubric_key": "product-leadership",
                         "rubric_version": 1, "current_level": LEVELS[level],
                         "target_level": LEVELS[level + 1], "cycle": "2026-H2",
                         "status": "finalized", "row_version": 1, "created_at": now,
                         "updated_at": now, "finalized_at": now})
            mine = []
            for r, role in enumerate(ROLES[:rnd.randint(3, 5)]):
                for pos, comp in enumerate(comps):
                    mine.append({"assessment_id": aid, "position": pos, "competency": comp,
                                 "rater_role": role, "rater_id": f"R{r}",
                                 "proficiency": min(6, max(1, level + rnd.randint(0, 3))),
                                 "evidence": None})
            rows[-1]["ratings_packed"] = assessments.pack_ratings(
                comps, [(m["competency"], m["rater_role"], m["proficiency"]) for m in mine])
            ratings += mine
        session.execute(insert(Person), people)
        session.execute(insert(Assessment), rows)
        for start in range(0, len(ratings), 50_000):
            session.execute(insert(Rating), ratings[start:start + 50_000])
        session.commit()
    engine.dispose()
    return secret


async def time_endpoint(url: str, secret: str, repeat: int) -> list[float]:
    app = create_app(Settings(database_url=url))
    timings = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b",
                                 headers={"Authorization": f"Bearer {secret}"}) as client:
        for _ in range(repeat + 1):  # the first call warms caches and connections
            started = time.perf_counter()
            response = await client.get("/v1/cohorts/readiness")
            timings.append(time.perf_counter() - started)
            response.raise_for_status()
    people = response.json()["people"]
    app.state.engine.dispose()
    return timings[1:], people


def time_queries(url: str, repeat: int) -> float:
    engine = make_engine(url)
    best = float("inf")
    with open_session(engine) as session:
        for _ in range(repeat):
            started = time.perf_counter()
            assessments.cohort_inputs(session)
            best = min(best, time.perf_counter() - started)
    engine.dispose()
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    backends = ["sqlite"]
    reason = postgres_unavailable_reason()
    if reason is None:
        backends.append("postgresql")
    else:
        print(f"postgresql skipped: {reason}")
    print(f"{'backend':11} {'people':>7} {'best s':>7} {'median s':>9} {'queries s':>10}")
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp, fresh_database(backend, tmp) as url:
            secret = seed(url, args.n)
            timings, people = asyncio.run(time_endpoint(url, secret, args.repeat))
            queries = time_queries(url, args.repeat)
            print(f"{backend:11} {people:7,} {min(timings):7.3f} {statistics.median(timings):9.3f}"
                  f" {queries:10.3f}")


if __name__ == "__main__":
    main()
