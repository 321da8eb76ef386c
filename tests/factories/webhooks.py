"""Webhooks for tests: a receiver (a small HTTP server on 127.0.0.1 in a thread) and helpers
to subscribe and to run the delivery worker until the outbox is drained."""

import json
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from service.webhooks.delivery import deliver_due

ALL_EVENTS = ["rubric.published", "assessment.submitted", "assessment.finalized",
              "readiness.changed"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


# (request number from 1, webhook-id) -> (status, extra headers, seconds to wait before answering)
Policy = Callable[[int, str], tuple[int, dict[str, str], float]]


def always(status: int = 204, headers: dict[str, str] | None = None) -> Policy:
    return lambda _n, _id: (status, headers or {}, 0.0)


@dataclass
class Receiver:
    """Records every request; answers as ``policy`` says. ``down()`` stops listening (the
    port stays reserved for ``up()``), so the worker sees refused connections."""

    port: int = field(default_factory=free_port)
    policy: Policy = field(default_factory=always)
    requests: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def acknowledged(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def up(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, delay = receiver.policy(len(receiver.requests) + 1,
                                                       headers.get("webhook-id", ""))
                receiver.requests.append(Received(headers, body, status))
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


async def subscribe(admin, url: str, events: list[str] | None = None, **body: Any
                    ) -> dict[str, Any]:
    response = await admin.post("/v1/webhooks", json={"url": url,
                                                      "event_types": events or ALL_EVENTS,
                                                      **body})
    assert response.status_code == 201, response.text
    return response.json()


def drain(app, *, passes: int = 50, until: Callable[[], bool] | None = None) -> int:
    """Run delivery passes until nothing is due (or ``until()``); returns attempts made."""
    total = 0
    for _ in range(passes):
        attempted = deliver_due(app.state.engine, app.state.settings)
        total += attempted
        if (until is not None and until()) or (until is None and not attempted):
            break
    return total


@dataclass
class Trickled:
    webhook_id: str
    started: float  # time.monotonic() when the request had arrived
    ended: float | None = None  # when the client hung up (or the answer was complete)
    finished: bool = False  # the whole answer went out (the client waited for all of it)


@dataclass
class Trickler:
    """A receiver that reads the POST, then answers one header byte every ``interval``
    seconds for ``seconds`` in all (each byte comes well within any per-read timeout), then
    completes a 200. A raw socket server on 127.0.0.1, a thread per connection."""

    seconds: float = 10.0
    interval: float = 1.0
    port: int = 0
    requests: list[Trickled] = field(default_factory=list)
    _sock: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def up(self) -> "Trickler":
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._sock.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def down(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.decode().partition(":") for line in head.split(b"\r\n")[1:])}
            while len(body) < int(headers.get("content-length", 0)):
                body += conn.recv(65536)
            request = Trickled(headers.get("webhook-id", ""), time.monotonic())
            self.requests.append(request)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nx-slow: ")
                until = time.monotonic() + self.seconds
                while time.monotonic() < until and not self._stop.is_set():
                    conn.sendall(b"z")
                    # Wait for the next byte, noticing at once if the client hangs up.
                    if select.select([conn], [], [], self.interval)[0] and not conn.recv(1):
                        break
                else:
                    conn.sendall(b"\r\ncontent-length: 0\r\n\r\n")
                    request.finished = True
                    conn.recv(1)  # until the client hangs up
            except OSError:
                pass
            request.ended = time.monotonic()
