"""Requests/second of Ascent's hot paths beside a bare FastAPI app of the same shapes, driven by
``wrk`` (a C load generator: a Python client saturates before either server does).

Both servers run under uvicorn on 127.0.0.1 with one worker, each on SQLite under a temp dir.
Ascent is started exactly as ``ascent serve`` (content loaded, an admin API key, JSON access
logs at INFO to a file); the bare app has no auth, middleware or logging. Every round sends
each path to both servers (order alternating between rounds); the table shows per-path medians
over rounds and the median of the per-round ratios.

| path (Ascent)                      | bare counterpart                                     |
|------------------------------------|------------------------------------------------------|
| GET /v1/rubrics/product-leadership | GET, the same answer bytes                           |
| POST /v1/readiness:score           | POST validating the same ScoreRequest, same answer   |
| GET /v1/assessments/{id}           | GET, the same answer bytes                           |
| PUT /v1/assessments/{id}/ratings   | PUT validating RatingsUpdate + one SQLModel insert   |
|   (If-Match: *, every one a write) |   and commit per request on its own SQLite file      |
| GET /livez                         | GET answering {"status":"ok"}                        |
| POST /graphql (person, assessments | POST answering the same bytes                        |
|   with ratings and readiness)      |                                                      |

``--scaling`` instead runs Ascent on PostgreSQL with ``ASCENT_WORKERS=1`` and ``=2`` side by
side (interleaved the same way) and prints the 2-worker/1-worker ratio; ``--database-url``
names the server (a database is created there and dropped after).

``--baseline DIR`` also runs Ascent from another checkout (``git worktree add DIR <commit>``;
same Python and packages) in the same rounds, for a before/after table. ``--baseline-env
NAME=VALUE ...`` starts the baseline with those settings (on this checkout unless
``--baseline`` names another), e.g. ``--baseline-env ASCENT_THREADS=4`` to weigh a setting.

Usage: python bench/api.py [--rounds 5] [--duration 6] [--quick] [--scaling] [--baseline DIR]
       [--baseline-env NAME=VALUE ...]
       (ASCENT_BENCH_QUICK=1 is --quick: 2 rounds of 3 s)
Needs wrk: `apt-get install wrk` (Debian/Ubuntu) or `brew install wrk`.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEY = "asc_bench_admin_key_0123456789abcdefghijklmnopqrstuv"
RUBRIC = "product-leadership"
PERSON = "B1"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GRAPHQL_QUERY = """query($id: String!) { person(externalId: $id) {
  displayName level readiness { score band }
  assessments { id cycle status etag ratings { competency raterRole proficiency }
                readiness { score band confidence { level } } } } }"""


# --- the bare baseline -----------------------------------------------------------------------

def bare_app(bodies: dict[str, str], database_url: str):
    """FastAPI with the same validation and answer bytes, nothing else; its write is one
    SQLModel insert and commit per request."""
    from fastapi import FastAPI, Response
    from sqlmodel import Field, Session, SQLModel

    from service.assessments.schemas import RatingsUpdate
    from service.db import make_engine
    from service.readiness.schemas import ScoreRequest

    class BenchWrite(SQLModel, table=True):
        id: int | None = Field(default=None, primary_key=True)
        rater: str
        ratings: int

    engine = make_engine(database_url)
    SQLModel.metadata.create_all(engine, tables=[BenchWrite.__table__])
    answer = {name: body.encode() for name, body in bodies.items()}
    app = FastAPI()

    def json_response(name: str) -> Response:
        return Response(answer[name], media_type="application/json")

    @app.get("/rubric")
    def rubric() -> Response:
        return json_response("rubric")

    @app.post("/score")
    def score(body: ScoreRequest) -> Response:
        return json_response("score")

    @app.get("/assessment")
    def assessment() -> Response:
        return json_response("assessment")

    @app.put("/write")
    def write(body: RatingsUpdate) -> Response:
        with Session(engine) as session:
            session.add(BenchWrite(rater=body.rater_role, ratings=len(body.ratings)))
            session.commit()
        return json_response("assessment")

    @app.get("/livez")
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/graphql")
    def graphql() -> Response:
        return json_response("graphql")

    return app


# --- servers ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], env: dict[str, str], port: int, log: Path, root: Path = ROOT
          ) -> subprocess.Popen:
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=env, cwd=root, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server on {port} did not start: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def prepare_database(env: dict[str, str], root: Path = ROOT) -> None:
    ascent = [sys.executable, "-m", "service.cli"]
    for step in (["migrate"], ["load-defaults"]):
        subprocess.run(ascent + step, env=env, cwd=root, check=True, capture_output=True)


def start_ascent(env: dict[str, str], tmp: Path, workers: int = 1, root: Path = ROOT
                 ) -> tuple[str, subprocess.Popen]:
    """Ascent from the checkout at ``root`` (``python -m`` imports the package from there)."""
    port = free_port()
    proc = start([sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
                 env | {"ASCENT_WORKERS": str(workers)}, port, tmp / f"ascent-{port}.log", root)
    return f"http://127.0.0.1:{port}", proc


# --- the data the paths use ------------------------------------------------------------------

def ratings_for(ladder: dict, role: str, rater: str, offset: int) -> list[dict]:
    return [{"competency": c["key"], "proficiency": 3 + (i + offset) % 3,
             "evidence": f"{role} {rater}: led the pricing launch"}
            for i, c in enumerate(ladder["competencies"])]


def score_body(ladder: dict) -> bytes:
    """A realistic request: a senior PM rated by self, manager and two peers on everything."""
    ratings = [{**r, "rater_role": role, "rater_id": rater}
               for role, rater in (("self", "E1"), ("manager", "M1"), ("peer", "P1"),
                                   ("peer", "P2"))
               for r in ratings_for(ladder, role, rater, len(rater))]
    return json.dumps({"rubric": {"key": RUBRIC}, "current_level": "senior-pm",
                       "ratings": ratings}).encode()


def seed(base: str, auth: dict[str, str]) -> dict:
    """A person with one finalized assessment (read by GET) and one draft (written by PUT)."""
    headers = auth | {"Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        def ok(response: httpx.Response) -> httpx.Response:
            if response.status_code >= 300:
                raise RuntimeError(f"{response.request.url}: {response.status_code} "
                                   f"{response.text[:500]}")
            return response

        ladder = ok(client.get(f"/v1/rubrics/{RUBRIC}")).json()
        ok(client.put(f"/v1/people/{PERSON}", json={
            "display_name": "Bench Person", "email": "bench@example.com", "org_unit": "bench",
            "rubric": RUBRIC, "level": "senior-pm"}))
        ids = []
        for cycle in ("2026-H1", "2026-H2"):
            ids.append(ok(client.post("/v1/assessments",
                                      json={"person": PERSON, "cycle": cycle})).json()["id"])
        done, draft = ids
        for role, rater, offset in (("self", None, 0), ("manager", "M1", 1), ("peer", "P1", 2)):
            etag = ok(client.get(f"/v1/assessments/{done}")).headers["etag"]
            ok(client.put(f"/v1/assessments/{done}/ratings", headers={"If-Match": etag}, json={
                "rater_role": role, "rater_id": rater,
                "ratings": ratings_for(ladder, role, rater or PERSON, offset)}))
        ok(client.post(f"/v1/assessments/{done}/submit"))
        ok(client.post(f"/v1/assessments/{done}/finalize"))
        put_body = json.dumps({"rater_role": "manager", "rater_id": "M1",
                               "ratings": ratings_for(ladder, "manager", "M1", 1)})
        ok(client.put(f"/v1/assessments/{draft}/ratings", headers={"If-Match": "*"},
                      content=put_body))
        graphql_body = json.dumps({"query": GRAPHQL_QUERY, "variables": {"id": PERSON}})
        graphql = ok(client.post("/graphql", content=graphql_body))
        if "errors" in graphql.json():
            raise RuntimeError(f"GraphQL: {graphql.text[:500]}")
        body = score_body(ladder)
        return {
            "done": done, "draft": draft, "score_body": body.decode(), "put_body": put_body,
            "graphql_body": graphql_body,
            "answers": {
                "rubric": ok(client.get(f"/v1/rubrics/{RUBRIC}")).text,
                "score": ok(client.post("/v1/readiness:score", content=body)).text,
                "assessment": ok(client.get(f"/v1/assessments/{done}")).text,
                "graphql": graphql.text,
            },
        }


def paths(data: dict) -> list[tuple[str, tuple, tuple]]:
    """(name, Ascent request, bare request); a request is (method, path, body, headers)."""
    return [
        ("GET /v1/rubrics/{key}", ("GET", f"/v1/rubrics/{RUBRIC}", None, {}),
         ("GET", "/rubric", None, {})),
        ("POST /v1/readiness:score", ("POST", "/v1/readiness:score", data["score_body"], {}),
         ("POST", "/score", data["score_body"], {})),
        ("GET /v1/assessments/{id}", ("GET", f"/v1/assessments/{data['done']}", None, {}),
         ("GET", "/assessment", None, {})),
        ("PUT /v1/assessments/{id}/ratings",
         ("PUT", f"/v1/assessments/{data['draft']}/ratings", data["put_body"], {"If-Match": "*"}),
         ("PUT", "/write", data["put_body"], {})),
        ("GET /livez", ("GET", "/livez", None, {}), ("GET", "/livez", None, {})),
        ("POST /graphql (person page)", ("POST", "/graphql", data["graphql_body"], {}),
         ("POST", "/graphql", data["graphql_body"], {})),
    ]


# --- wrk -------------------------------------------------------------------------------------

def require_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        sys.exit("bench/api.py needs the wrk load generator: `sudo apt-get install wrk` "
                 "(Debian/Ubuntu), `brew install wrk` (macOS), or build it from "
                 "https://github.com/wg/wrk and put it on PATH.")
    return found


def lua_script(tmp: Path, method: str, body: str | None, headers: dict[str, str]) -> Path:
    """The request wrk sends over and over (long-bracket strings need no escaping)."""
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append(f"wrk.body = [==[{body}]==]")
        headers = {"Content-Type": "application/json"} | headers
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    path = tmp / f"wrk-{uuid.uuid4().hex}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(wrk: str, url: str, script: Path, seconds: float, connections: int,
            cpu: str | None) -> float:
    """Requests/second; any non-2xx answer or socket error fails the bench."""
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(script), url]
    if cpu is not None:
        command = ["taskset", "-c", cpu, *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"{url}: {m.group(1)} answers were not 2xx\n{out}")
    if m := re.search(r"Socket errors: (.*)", out):
        raise RuntimeError(f"{url}: socket errors ({m.group(1)})\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def interleave(wrk: str, servers: dict[str, str], work: list[tuple[str, dict]], tmp: Path,
               args: argparse.Namespace) -> dict[tuple[str, str], list[float]]:
    """``work``: (path name, {server name: request}); every round runs every path on every
    server, the server order reversed every other round. Returns req/s per (path, server)."""
    scripts = {(name, server): lua_script(tmp, req[0], req[2], req[3] | args.auth)
               for name, reqs in work for server, req in reqs.items()}
    rps: dict[tuple[str, str], list[float]] = {key: [] for key in scripts}
    for name, reqs in work:  # warm-up: connections, caches, lazy imports
        for server, req in reqs.items():
            run_wrk(wrk, servers[server] + req[1], scripts[name, server], 1, args.connections,
                    args.wrk_cpu)
    order = list(servers)
    for round_no in range(args.rounds):
        for name, reqs in work:
            for server in (order if round_no % 2 == 0 else order[::-1]):
                rps[name, server].append(run_wrk(
                    wrk, servers[server] + reqs[server][1], scripts[name, server],
                    args.duration, args.connections, args.wrk_cpu))
        print(f"  round {round_no + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    return rps


def table(work: list[tuple[str, dict]], rps: dict, a: str, b: str, ratio_label: str) -> None:
    print(f"{'path':34} {a + ' req/s':>16} {b + ' req/s':>16} {ratio_label:>8} "
          f"{'ratio min-max':>14}")
    for name, _ in work:
        ratios = [x / y for x, y in zip(rps[name, a], rps[name, b], strict=True)]
        print(f"{name:34} {statistics.median(rps[name, a]):16,.0f} "
              f"{statistics.median(rps[name, b]):16,.0f} {statistics.median(ratios):8.2f} "
              f"{min(ratios):6.2f}-{max(ratios):.2f}")


# --- the two benches -------------------------------------------------------------------------

def against_bare(wrk: str, tmp: Path, env: dict[str, str], args: argparse.Namespace) -> None:
    roots = {"ascent": ROOT} | ({"baseline": args.baseline} if args.baseline else {})
    settings = {"ascent": {}, "baseline": dict(kv.split("=", 1) for kv in args.baseline_env)}
    servers: dict[str, subprocess.Popen] = {}
    bases, seeded = {}, {}
    try:
        for name, root in roots.items():  # each Ascent on its own database, seeded alike
            own = env | {"ASCENT_DATABASE_URL": f"sqlite:///{tmp}/{name}.db"} | settings[name]
            prepare_database(own, root)
            bases[name], servers[name] = start_ascent(own, tmp, root=root)
            seeded[name] = seed(bases[name], args.auth)
        data = seeded["ascent"]
        requests = {name: {path: a for path, a, _ in paths(seeded[name])} for name in roots}
        (tmp / "bare.json").write_text(json.dumps(
            {"answers": data["answers"], "database_url": f"sqlite:///{tmp}/bare.db"}))
        port = free_port()
        servers["bare"] = start([sys.executable, str(Path(__file__).resolve()), "--serve-bare",
                                 str(port), "--bodies", str(tmp / "bare.json")], env, port,
                                tmp / "bare.log")
        bases["bare"] = f"http://127.0.0.1:{port}"
        work = [(name, {server: requests[server][name] for server in roots} | {"bare": b})
                for name, _, b in paths(data)
                if not args.only or any(word in name for word in args.only)]
        rps = interleave(wrk, bases, work, tmp, args)
    finally:
        for proc in servers.values():
            stop(proc)
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s, {args.rounds} rounds interleaved, "
          f"one uvicorn worker each, SQLite; medians over rounds; ratio = Ascent / bare "
          f"(median of per-round ratios)")
    table(work, rps, "ascent", "bare", "ratio")
    if args.baseline:
        print(f"\nbaseline = the checkout at {args.baseline}"
              f"{' with ' + ' '.join(args.baseline_env) if args.baseline_env else ''}, "
              f"in the same rounds")
        table(work, rps, "baseline", "bare", "ratio")
        print()
        table(work, rps, "ascent", "baseline", "speed-up")


def scaling(wrk: str, tmp: Path, env: dict[str, str], args: argparse.Namespace) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(args.database_url)
    name = f"ascent_bench_{uuid.uuid4().hex[:8]}"
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    servers: dict[str, subprocess.Popen] = {}
    try:
        env = env | {"ASCENT_DATABASE_URL": admin.set(database=name).render_as_string(
            hide_password=False)}
        prepare_database(env)
        bases = {}
        for workers in (1, 2):
            bases[f"{workers} worker"], servers[f"{workers} worker"] = start_ascent(
                env, tmp, workers)
        data = seed(bases["1 worker"], args.auth)
        chosen = [p for p in paths(data) if not p[0].startswith(("PUT", "GET /livez"))]
        work = [(name, {"2 worker": a, "1 worker": a}) for name, a, _ in chosen]
        rps = interleave(wrk, bases, work, tmp, args)
    finally:
        for proc in servers.values():
            stop(proc)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s"
          f"{f' pinned to CPU {args.wrk_cpu}' if args.wrk_cpu else ''}, {args.rounds} rounds "
          f"interleaved, PostgreSQL, {os.cpu_count()} CPUs; ratio = 2 workers / 1 worker")
    table(work, rps, "2 worker", "1 worker", "ratio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true", default=bool(
        os.environ.get("ASCENT_BENCH_QUICK")), help="2 rounds of 3 s")
    parser.add_argument("--scaling", action="store_true",
                        help="PostgreSQL, ASCENT_WORKERS=2 against 1 (no bare app)")
    parser.add_argument("--database-url", default=DEFAULT_PG,
                        help="PostgreSQL server for --scaling (a database is made there)")
    parser.add_argument("--only", nargs="*", help="paths whose name holds one of these words")
    parser.add_argument("--wrk-cpu", help="pin wrk to these CPUs (taskset -c), e.g. 1")
    parser.add_argument("--baseline", type=Path, help="another checkout of Ascent (e.g. a git "
                        "worktree of an older commit) measured in the same rounds: prints it "
                        "against bare and this checkout against it")
    parser.add_argument("--baseline-env", nargs="+", default=[], metavar="NAME=VALUE",
                        help="settings for the baseline server (this checkout's unless "
                        "--baseline names another)")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bodies", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve_bare:  # child process: the baseline server
        import uvicorn
        spec = json.loads(Path(args.bodies).read_text())
        uvicorn.run(bare_app(spec["answers"], spec["database_url"]), host="127.0.0.1",
                    port=args.serve_bare, log_level="warning", access_log=False)
        return

    if args.quick:
        args.rounds, args.duration = 2, 3
    if args.baseline_env:
        if any("=" not in kv for kv in args.baseline_env):
            parser.error("--baseline-env takes NAME=VALUE pairs")
        args.baseline = args.baseline or ROOT
    wrk = require_wrk()
    args.auth = {"Authorization": f"Bearer {KEY}"}
    tmp = Path(tempfile.mkdtemp(prefix="ascent-bench-"))
    env = os.environ | {"ASCENT_BOOTSTRAP_ADMIN_KEY": KEY, "ASCENT_LOG_LEVEL": "INFO",
                        "ASCENT_BULK_SPOOL_DIR": str(tmp / "bulk")}
    try:
        (scaling if args.scaling else against_bare)(wrk, tmp, env, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
