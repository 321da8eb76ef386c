"""Requests/second of Ascent's hot read paths beside a bare FastAPI endpoint of the same shape.

Both servers run under uvicorn on 127.0.0.1 (one worker, no access log) in this same run, and
the same bounded load is sent to each: the ratio is what matters on a noisy machine.

- POST /v1/readiness:score  vs  bare POST /score: same request model (ScoreRequest, same body)
  and an answer of the same size, but no auth, no database and no scoring.
- GET /v1/rubrics/product-leadership  vs  bare GET /rubric: same answer bytes, no auth/DB.

Usage: python bench/api.py [--requests 3000] [--concurrency 16]
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEY = "asc_bench_admin_key_0123456789abcdefghijklmnopqrstuv"


def bare_app(score_body: bytes, rubric_body: bytes):
    """The baseline: FastAPI with the same validation and answer sizes, nothing else."""
    from fastapi import FastAPI, Response

    from service.readiness.schemas import ScoreRequest

    app = FastAPI()

    @app.post("/score")
    def score(body: ScoreRequest) -> Response:
        return Response(score_body, media_type="application/json")

    @app.get("/rubric")
    def rubric() -> Response:
        return Response(rubric_body, media_type="application/json")

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code in (200, 404):
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server on {port} did not start: {proc.stderr.read().decode()[-2000:]}")


async def load(url: str, method: str, body: bytes | None, headers: dict[str, str],
               requests: int, concurrency: int) -> float:
    """Send ``requests`` requests with ``concurrency`` in flight; returns requests/second."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=headers) as client:
        remaining = requests

        async def worker():
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.request(method, url, content=body)
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")

        for _ in range(concurrency):  # warm-up (connections, caches)
            await client.request(method, url, content=body)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


def score_body(ladder: dict) -> bytes:
    """A realistic request: a senior PM rated by self, manager and two peers on everything."""
    ratings = []
    for i, comp in enumerate(ladder["competencies"]):
        for role, rater in (("self", "E1"), ("manager", "M1"), ("peer", "P1"), ("peer", "P2")):
            ratings.append({"competency": comp["key"], "rater_role": role, "rater_id": rater,
                            "proficiency": 3 + (i + len(rater)) % 3,
                            "evidence": "led the pricing launch"})
    return json.dumps({"rubric": {"key": "product-leadership"}, "current_level": "senior-pm",
                       "ratings": ratings}).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bodies", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve_bare:  # child process: the baseline server
        import uvicorn
        bodies = json.loads(Path(args.bodies).read_text())
        app = bare_app(bodies["score"].encode(), bodies["rubric"].encode())
        app.get("/livez")(lambda: {"status": "ok"})
        uvicorn.run(app, host="127.0.0.1", port=args.serve_bare, log_level="warning",
                    access_log=False)
        return

    tmp = Path(tempfile.mkdtemp(prefix="ascent-bench-"))
    env = os.environ | {"ASCENT_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                        "ASCENT_BOOTSTRAP_ADMIN_KEY": KEY, "ASCENT_LOG_LEVEL": "WARNING"}
    ascent = [sys.executable, "-m", "service.cli"]
    for step in (["migrate"], ["load-defaults"]):
        subprocess.run(ascent + step, env=env, cwd=ROOT, check=True, capture_output=True)
    # Registers the bootstrap key, then serves exactly like `ascent serve` would.
    port_a, port_b = free_port(), free_port()
    server = start([sys.executable, "-c", (
        "from service.cli import _session; from service.auth.service import ensure_admin_key\n"
        "from service.settings import get_settings; import uvicorn\n"
        "from service.app import create_app\n"
        "s=_session(); ensure_admin_key(s, get_settings().bootstrap_admin_key); s.commit()\n"
        f"uvicorn.run(create_app(), host='127.0.0.1', port={port_a}, log_level='warning',"
        " access_log=False)")], env, port_a)
    base_a = f"http://127.0.0.1:{port_a}"
    auth = {"Authorization": f"Bearer {KEY}", "content-type": "application/json"}
    try:
        ladder = httpx.get(f"{base_a}/v1/rubrics/product-leadership", headers=auth).json()
        body = score_body(ladder)
        report = httpx.post(f"{base_a}/v1/readiness:score", content=body, headers=auth)
        report.raise_for_status()
        rubric_bytes = httpx.get(f"{base_a}/v1/rubrics/product-leadership", headers=auth).content
        (tmp / "bodies.json").write_text(json.dumps(
            {"score": report.text, "rubric": rubric_bytes.decode()}))
        bare = start([sys.executable, str(Path(__file__).resolve()), "--serve-bare",
                      str(port_b), "--bodies", str(tmp / "bodies.json")], env, port_b)
        base_b = f"http://127.0.0.1:{port_b}"
        try:
            rows = []
            for name, a_req, b_req in (
                ("POST /v1/readiness:score", ("POST", f"{base_a}/v1/readiness:score", body),
                 ("POST", f"{base_b}/score", body)),
                ("GET /v1/rubrics/{key}", ("GET", f"{base_a}/v1/rubrics/product-leadership",
                                           None), ("GET", f"{base_b}/rubric", None)),
            ):
                bare_rps = asyncio.run(load(b_req[1], b_req[0], b_req[2], auth, args.requests,
                                            args.concurrency))
                ascent_rps = asyncio.run(load(a_req[1], a_req[0], a_req[2], auth, args.requests,
                                              args.concurrency))
                rows.append((name, ascent_rps, bare_rps))
        finally:
            bare.terminate()
    finally:
        server.terminate()

    print(f"{args.requests} requests per endpoint, {args.concurrency} in flight, loopback, "
          f"request body {len(body):,} B, report {len(report.content):,} B, "
          f"rubric {len(rubric_bytes):,} B")
    print(f"{'endpoint':28} {'ascent req/s':>13} {'bare req/s':>11} {'ratio':>6}")
    for name, ascent_rps, bare_rps in rows:
        print(f"{name:28} {ascent_rps:13,.0f} {bare_rps:11,.0f} {ascent_rps / bare_rps:6.2f}")


if __name__ == "__main__":
    main()
