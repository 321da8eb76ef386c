"""Webhooks for tests: a receiver (a small HTTP server on 127.0.0.1 in a thread) and helpers
to subscribe and to run the delivery worker until the outbox is drained."""

import json
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
