"""What one ``PUT /v1/assessments/{id}/ratings`` costs in the database layer, layer by layer,
on SQLite: where the time goes that ``bench/api.py`` finds between Ascent's write and the bare
app's single-row insert.

Every variant does the work of a manager replacing their 12 ratings on a draft (BEGIN
IMMEDIATE, read the assessment and its ratings, version-checked UPDATE, DELETE the rater's old
ratings, INSERT the new ones, append the audit event, COMMIT), in one process, timed in turn
round after round (interleaved; medians of per-round means):

  driver    the statements as SQL text on the sqlite3 cursor: what SQLite itself costs
  core      the service's own SQLAlchemy statements on a Connection
  session   the same on the request's kind of Session (open_session(write=True))
  service   get_assessment + set_ratings + to_read + commit: what the route runs
  bare      the bare app's write: one SQLModel insert and commit (bench/api.py)

Usage: python bench/write_layers.py [--rounds 30] [--per-round 50]
"""

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import anyio
import httpx
from sqlmodel import Field, Session, SQLModel

from service.app import create_app
from service.assessments import service
from service.assessments.schemas import RatingsUpdate
from service.auth import service as auth_service
from service.auth.principal import Principal
from service.auth.schemas import ApiKeyCreate
from service.db import _write_view, make_engine, open_session, upgrade
from service.rubrics.service import load_defaults
from service.settings import Settings

RUBRIC = "product-leadership"
ADMIN = Principal("key:bench", "bench", frozenset({"admin"}))


class BareWrite(SQLModel, table=True):  # the bare app's table (bench/api.py)
    id: int | None = Field(default=None, primary_key=True)
    rater: str
    ratings: int


def seed(url: str) -> tuple[uuid.UUID, RatingsUpdate]:
    """A draft with a manager's ratings on every competency, and the body that replaces them."""
    return anyio.run(_seed, url)


async def _seed(url: str) -> tuple[uuid.UUID, RatingsUpdate]:
    app = create_app(Settings(database_url=url, webhooks_worker=False, purge_worker=False))
    with open_session(app.state.engine, write=True) as session:
        load_defaults(session)
        _, secret = auth_service.create_key(session, ApiKeyCreate(name="bench",
                                                                  scopes=["admin"]))
        session.commit()
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench",
            headers={"Authorization": f"Bearer {secret}"}) as client:
        ladder = (await client.get(f"/v1/rubrics/{RUBRIC}")).json()
        (await client.put("/v1/people/B1", json={
            "display_name": "Bench Person", "email": "bench@example.com", "org_unit": "bench",
            "rubric": RUBRIC, "level": "senior-pm"})).raise_for_status()
        created = await client.post("/v1/assessments", json={"person": "B1", "cycle": "2026-H2"})
        created.raise_for_status()
        body = {"rater_role": "manager", "rater_id": "M1", "ratings": [
            {"competency": c["key"], "proficiency": 3 + i % 3, "evidence": "led the launch"}
            for i, c in enumerate(ladder["competencies"])]}
        (await client.put(f"/v1/assessments/{created.json()['id']}/ratings", json=body,
                          headers={"If-Match": "*"})).raise_for_status()
    return uuid.UUID(created.json()["id"]), RatingsUpdate.model_validate(body)


def variants(url: str, file: str, aid: uuid.UUID, data: RatingsUpdate) -> dict:
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine, tables=[BareWrite.__table__])
    ratings = [{"assessment_id": aid, "position": i, "competency": r.competency,
                "rater_role": "manager", "rater_id": "M1", "proficiency": r.proficiency,
                "evidence": r.evidence} for i, r in enumerate(data.ratings)]
    event = {"assessment_id": aid, "of": aid, "action": "ratings_set",
             "principal": ADMIN.id, "details": {"ratings": len(ratings)}}

    def statements(connection) -> None:
        version = connection.execute(service._BY_ID, {"id": aid}).one().row_version
        list(connection.execute(service._LOAD_RATINGS_OF, {"of": aid}))
        now = datetime.now(UTC)
        connection.execute(service._UPDATE_ASSESSMENT, {
            "of": aid, "version": version, "updated_at": now, "row_version": version + 1,
            "ratings_packed": b""})
        connection.execute(service._DELETE_RATER, {"of": aid, "role": "manager", "rater": "M1"})
        connection.execute(service._INSERT_RATINGS, ratings)
        connection.execute(service._APPEND_EVENT, event | {"at": now})

    def core() -> None:
        with _write_view(engine).connect() as connection:
            connection.begin()
            statements(connection)
            connection.commit()

    def session() -> None:
        with open_session(engine, write=True) as s:
            statements(s.connection())
            s.commit()

    def route() -> None:
        with open_session(engine, write=True) as s:
            found = service.get_assessment(s, aid, ADMIN)
            service.to_read(service.set_ratings(s, found, data, ADMIN), ADMIN)
            s.commit()

    def bare() -> None:
        with Session(engine) as s:
            s.add(BareWrite(rater=data.rater_role, ratings=len(data.ratings)))
            s.commit()

    raw = sqlite3.connect(file, isolation_level=None)
    raw.execute("PRAGMA synchronous=NORMAL")
    hex_id = aid.hex
    rows = [(hex_id, r["position"], r["competency"], "manager", "M1", r["proficiency"],
             r["evidence"]) for r in ratings]

    def driver() -> None:
        cur = raw.cursor()
        cur.execute("BEGIN IMMEDIATE")
        version = cur.execute("SELECT * FROM assessment WHERE id = ?", (hex_id,)).fetchone()[12]
        cur.execute("SELECT position, competency, rater_role, rater_id, proficiency, evidence "
                    "FROM rating WHERE assessment_id = ? ORDER BY id", (hex_id,)).fetchall()
        now = datetime.now(UTC).isoformat(" ")
        cur.execute("UPDATE assessment SET updated_at = ?, row_version = ?, ratings_packed = ? "
                    "WHERE id = ? AND row_version = ?", (now, version + 1, b"", hex_id, version))
        cur.execute("DELETE FROM rating WHERE assessment_id = ? AND rater_role = ? "
                    "AND rater_id = ?", (hex_id, "manager", "M1"))
        cur.executemany("INSERT INTO rating (assessment_id, position, competency, rater_role, "
                        "rater_id, proficiency, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        cur.execute("INSERT INTO assessment_event (assessment_id, seq, action, principal, at, "
                    "details) VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM "
                    "assessment_event WHERE assessment_id = ?), ?, ?, ?, ?)",
                    (hex_id, hex_id, "ratings_set", ADMIN.id, now, json.dumps(event["details"])))
        cur.execute("COMMIT")

    return {"driver": driver, "core": core, "session": session, "service": route, "bare": bare}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ascent-layers-") as tmp:
        file = str(Path(tmp) / "layers.db")
        url = f"sqlite:///{file}"
        upgrade(url)
        aid, data = seed(url)
        fns = variants(url, file, aid, data)
        times: dict[str, list[float]] = {name: [] for name in fns}
        for fn in fns.values():  # warm-up: connections, statement caches
            for _ in range(20):
                fn()
        order = list(fns)
        for round_no in range(args.rounds):
            for name in order if round_no % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                for _ in range(args.per_round):
                    fns[name]()
                times[name].append((time.perf_counter() - start) / args.per_round)
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"one PUT's database work on SQLite, {args.rounds} interleaved rounds of "
          f"{args.per_round}; median of round means")
    print(f"{'layer':10} {'us':>8} {'x driver':>9}")
    for name, value in medians.items():
        print(f"{name:10} {value * 1e6:8.0f} {value / medians['driver']:9.1f}")


if __name__ == "__main__":
    main()
