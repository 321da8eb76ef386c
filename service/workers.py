"""`ascent serve` with several worker processes: uvicorn's supervisor, each worker listening on
a socket of its own.

With one listening socket shared by the workers, whichever worker wakes first accepts every
connection waiting (asyncio accepts up to the backlog in one go), so a client that opens its
keep-alive pool in a burst lands on one worker: all 16 of wrk's connections went to one of two
workers. Here each worker binds its own socket to the port with SO_REUSEPORT, and Linux spreads
new connections over the listening sockets by address hash. The supervisor's socket is bound
but never listens: it holds the port and tells each worker (first, replacement or restarted)
the address.

Every listener has TCP_NODELAY: asyncio sets it only on connections of sockets it made itself,
and without it an answer's second write waits for the client's delayed ACK (about 40 ms). Linux
copies it from the listener to the connections it accepts.
"""

import socket

from uvicorn import Config
from uvicorn.supervisors import Multiprocess, multiprocess

SHARES_PORT = hasattr(socket, "SO_REUSEPORT")  # Linux, BSD, macOS; not Windows


def listener(address: tuple, family: socket.AddressFamily) -> socket.socket:
    """A TCP socket bound to ``address`` that other processes may bind too."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if SHARES_PORT:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(address)
    return sock


class _OwnListenerWorker(multiprocess.Process):
    """A uvicorn worker that serves a socket of its own at its supervisor's address."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # in the worker
        own = [listener(s.getsockname(), s.family) for s in sockets or ()]
        for inherited in sockets or ():
            inherited.close()
        super().target(own)


def serve(config: Config) -> None:
    """``uvicorn.run``'s multi-worker path for ``config`` (a host and port)."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = listener((config.host, config.port), family)
    sock.set_inheritable(True)
    if SHARES_PORT:  # else the workers share this socket, as uvicorn has them do
        # uvicorn's supervisor makes every worker it starts from this module-level name.
        multiprocess.Process = _OwnListenerWorker
    Multiprocess(config, sockets=[sock]).run()
