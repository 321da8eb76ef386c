"""The app served for real, for tests that need a socket (truly parallel requests, a browser)."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def served_in_thread(app, start_within: float = 10, **config: Any) -> Iterator[str]:
    """The app served by uvicorn on a free 127.0.0.1 port in a thread of this process (its own
    thread pool, sessions and transactions); yields its base URL and stops it afterwards.
    ``config``: more ``uvicorn.Config`` settings."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(
        app, **{"log_level": "warning", "lifespan": "on"} | config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_within
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
