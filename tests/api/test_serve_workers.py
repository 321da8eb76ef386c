"""`ascent serve` with ASCENT_WORKERS=2: two worker processes answer on one port, and a burst
of new connections is spread over both (each worker listens on a socket of its own)."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

KEY = "asc_serve_workers_test_key_0123456789abcdefghijkl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _holders(server_port: int, client_ports: set[int], pids: list[int]) -> dict[int, int]:
    """Which process holds the server end of each client port's connection (Linux /proc)."""
    sockets = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, inode = (field := line.split())[1], field[2], field[9]
        remote_port = int(remote.split(":")[1], 16)
        if int(local.split(":")[1], 16) == server_port and remote_port in client_ports:
            sockets[f"socket:[{inode}]"] = remote_port
    held = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if (target := os.readlink(fd)) in sockets:
                    held[sockets[target]] = pid
    return held


def _listening(port: int) -> int:
    """How many sockets listen on ``port`` (one per worker once each has started)."""
    return sum(1 for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
               if int(line.split()[1].split(":")[1], 16) == port and line.split()[3] == "0A")


def _burst(port: int, count: int) -> list[socket.socket]:
    """``count`` connections opened at once (as a client's keep-alive pool is), each then
    used for one request."""
    conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    for conn in conns:
        conn.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
    for conn in conns:
        assert b" 200 " in conn.recv(4096)
    return conns


def test_ascent_workers_starts_that_many_serving_processes(tmp_path):
    port = _free_port()
    env = os.environ | {"ASCENT_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
                        "ASCENT_BOOTSTRAP_ADMIN_KEY": KEY, "ASCENT_WORKERS": "2",
                        "ASCENT_BULK_SPOOL_DIR": str(tmp_path / "bulk")}
    cli = [sys.executable, "-m", "service.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline, answer = time.monotonic() + 120, None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/v1/rubrics",
                                   headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
            except httpx.HTTPError:
                time.sleep(0.5)
        assert answer is not None, (tmp_path / "serve.log").read_text()[-2000:]
        assert answer.status_code == 200 and answer.headers["x-request-id"]
        workers = [pid for pid in _children(server.pid)
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2
        deadline = time.monotonic() + 60  # the other worker may still be starting
        while _listening(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        conns = _burst(port, 16)
        held = _holders(port, {c.getsockname()[1] for c in conns}, workers)
        assert len(held) == 16 and set(held.values()) == set(workers), held
        for conn in conns:
            conn.close()
        # one access line per request, the edge's: not uvicorn's as well
        assert b"uvicorn.access" not in (tmp_path / "serve.log").read_bytes()
    finally:
        server.terminate()
        server.wait(30)
        log.close()
