"""Logging: one line per request and per event, JSON by default (``ASCENT_LOG_FORMAT=text``
for local use), each carrying the request id (``X-Request-ID``: a valid one is honoured, else one
is generated; the edge layer binds it and echoes it back, ``bind_request_id``).

Never in a log line: credentials (the Authorization header, API keys, JWTs, webhook secrets)
and request bodies (rating evidence is personal). Nothing here logs headers or bodies, and
every line passes through ``redact`` as a second fence, which also blanks the bound
parameters SQLAlchemy puts into its error messages.
"""

import atexit
import copy
import json
import logging
import random
import re
import sys
import time
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from queue import Empty, SimpleQueue
from typing import Any

import orjson
from asgi_correlation_id import CorrelationIdFilter
from asgi_correlation_id.context import correlation_id
from asgi_correlation_id.middleware import FAILED_VALIDATION_MESSAGE
from starlette.routing import Match
from starlette.types import Scope

from .settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = b"x-request-id"  # as ASGI servers give header names: lower case
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # anything else is replaced, not logged
_SECRETS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',]+"), r"\1 [redacted]"),
    (re.compile(r"\basc_[A-Za-z0-9_-]{20,}"), "asc_[redacted]"),  # not the 8-char prefix
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), "whsec_[redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[jwt redacted]"),
    # SQLAlchemy writes the bound parameters as one repr on one line: blank the whole line (a
    # parameter may itself hold "]").
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: redacted]"),
)
QUIET_PATHS = frozenset({"/metrics", "/livez", "/healthz", "/readyz"})  # probes: debug only
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "correlation_id",
                                                     "color_message"}  # uvicorn's ANSI copy


# What every pattern above needs to match: one test (``_maybe_secret``) decides whether the
# five run at all (most strings of most lines hold none of them).
_MAYBE_SECRET = re.compile(r"(?i:\b(?:bearer|basic)\s)|\basc_|\bwhsec_|\beyJ|\[parameters: ")
_API_KEY = re.compile(r"asc_[A-Za-z0-9_-]{20}")  # no \b: a literal first is found fast


def _maybe_secret(text: str) -> bool:
    """``_MAYBE_SECRET`` for ASCII text by substring tests, several times faster than that
    search (whose leading word boundary is tried at every position). A key's 8-character
    prefix, which names the principal in every access line, is not enough to match."""
    if not text.isascii():  # case-insensitive matching knows non-ASCII letters (long s ~ s)
        return _MAYBE_SECRET.search(text) is not None
    if "whsec_" in text or "eyJ" in text or "[parameters: " in text:
        return True
    if "asc_" in text and _API_KEY.search(text):
        return True
    lowered = text.lower()
    return "bearer" in lowered or "basic" in lowered


_PLAIN = (str, int, float, bool, type(None))


def redact(text: str) -> str:
    if not _maybe_secret(text):
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _request_id(record),
        }
        line.update({k: v for k, v in vars(record).items()
                     if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:  # formatted before a thread hop (_Enqueue)
            line["exception"] = record.exc_text
        # Redact the values, then encode: redacting the encoded line could put a raw newline
        # into it (one record on two lines) or break its escapes (invalid JSON).
        return _json_line(line if _plainly_clean(line) else _redacted(line))


def _plainly_clean(line: dict[str, Any]) -> bool:
    """Whether a line of plain values holds nothing to redact, decided by one search over all
    its strings (as most lines, every access line among them, hold nothing)."""
    strings = []
    for key, value in line.items():
        if type(value) not in _PLAIN:
            return False
        strings.append(key)
        if type(value) is str:
            strings.append(value)
    return not _maybe_secret("\n".join(strings))


def _json_line(data: dict[str, Any]) -> str:
    """orjson: several times faster than json for the line every request writes."""
    try:
        return orjson.dumps(data).decode()
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits, which json can write
        return json.dumps(data, ensure_ascii=False)


def _redacted(value: Any) -> Any:
    """``value`` as JSON data with every string redacted (anything else becomes its str)."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redacted(v) for v in value]
    return redact(str(value))


def _request_id(record: logging.LogRecord) -> str | None:
    value = getattr(record, "correlation_id", None)
    return None if value in (None, "-") else value  # "-": logged outside any request


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s [%(correlation_id)s] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _Enqueue(QueueHandler):
    """Hands records to the writer thread with their message and traceback already made
    (their arguments and exc_info may not outlive the call); the formatter runs there."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not record.args and not record.exc_info and type(record.msg) is str:
            return record  # nothing to make (access lines): no copy
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        return record


class _PeriodicWriter(QueueListener):
    """Writes what is queued every ``INTERVAL`` in one go, rather than waking for each record:
    every wake-up of a thread waiting on the queue is a hand-over of the GIL from the event
    loop and back, which cost about 200 us a request (GET /v1/rubrics/{key} at 1,200 req/s
    with the access log on, 1,600 with it off)."""

    INTERVAL = 0.05

    def _monitor(self) -> None:
        (handler,) = self.handlers
        while True:
            time.sleep(self.INTERVAL)
            lines, last, stopping = [], None, False
            while True:
                try:
                    record = self.queue.get_nowait()
                except Empty:
                    break
                if record is self._sentinel:
                    stopping = True
                    break
                last = record
                try:
                    lines.append(handler.format(record) + handler.terminator)
                except Exception:
                    handler.handleError(record)
            if lines:
                try:
                    handler.stream.write("".join(lines))
                    handler.flush()
                except Exception:
                    handler.handleError(last)
            if stopping:
                return


def configure(settings: Settings, stream=None, *, background: bool = False) -> logging.Handler:
    """Route every logger (uvicorn's too) through one handler on stderr (returned).
    ``background`` (the server): lines are formatted and written by a thread of their own,
    every 50 ms, so a slow stderr never holds up the event loop; the request id is read before
    the hand-over."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    front: logging.Handler = handler
    if background:
        records: SimpleQueue = SimpleQueue()
        front = _Enqueue(records)
        writer = _PeriodicWriter(records, handler)
        writer.start()
        atexit.register(writer.stop)  # writes what is queued before the process ends
    front.addFilter(CorrelationIdFilter(default_value="-"))
    root = logging.getLogger()
    root.handlers[:] = [front]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = name != "uvicorn.access"
    # The edge writes the access line (``access_log``, with the route and principal); uvicorn's
    # own would be a second line per request. ``uvicorn.run(access_log=False)`` turns it off
    # in one process, but each of several workers sets up logging after uvicorn has.
    return handler


_access = logging.getLogger("ascent.access")


def access_log(scope: Scope, route: str | None, status: int, seconds: float) -> None:
    """One line per request with the route template (not the raw path), status, duration and
    the principal (set by authentication); written by the edge layer (``edge.Edge``)."""
    level = logging.DEBUG if scope["path"] in QUIET_PATHS else logging.INFO
    if not _access.isEnabledFor(level):
        return
    principal = getattr(scope.get("state", {}).get("principal"), "id", None)
    route, method = route or "unmatched", scope["method"]
    # The record is made here rather than by Logger.log, which would look up the calling
    # source line on every request (no line of the access log shows it).
    _access.handle(_access.makeRecord(
        _access.name, level, __file__, 0, f"{method} {route} {status}", None, None,
        extra={"method": method, "route": route, "status": status,
               "duration_ms": round(seconds * 1000, 1), "principal": principal}))


def route_template(scope: Scope) -> str | None:
    """The route template (``/v1/rubrics/{key}``; None when no route matched): never the raw
    path, which holds ids."""
    route = scope.get("route")
    if route is None and scope.get("app") is not None:  # not every router leaves it behind
        route = next((r for r in scope["app"].routes if r.matches(scope)[0] == Match.FULL), None)
    return getattr(route, "path", None)


# What asgi-correlation-id's middleware did, as this app configured it, done by the edge layer
# (one pure-ASGI layer instead of two); ``correlation_id`` stays the variable log lines read.
_id_log = logging.getLogger("asgi_correlation_id")
_UUID4_CLEAR = ~((0xc000 << 48) | (0xf000 << 64))  # variant and version bits
_UUID4_SET = (0x8000 << 48) | (4 << 76)  # RFC 4122 variant, version 4


def _new_request_id() -> str:
    """A random UUID4 in 32 hex digits, as ``uuid4().hex``, without making a UUID object and
    without a system call per request: an id needs to be unique, not secret (a client may send
    any valid one), and ``random`` is seeded from the OS in every process, forked ones too."""
    return "%032x" % (random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)


def bind_request_id(scope: Scope) -> str:
    """The request's id, set as ``correlation_id`` for every log line made while it is
    answered: its ``X-Request-ID`` when that is valid (``_REQUEST_ID``), else a new one (an
    invalid one is logged as replaced, never itself). A new id replaces the header in the
    request too. The caller echoes the id on the answer (``edge.Edge``)."""
    given = None
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_KEY:
            given = value.decode("latin-1")
            break
    if not given:
        request_id = _new_request_id()
    elif _REQUEST_ID.match(given):
        request_id = given
    else:
        request_id = _new_request_id()
        _id_log.warning(FAILED_VALIDATION_MESSAGE, request_id)
    if request_id != given:
        headers = scope["headers"] = list(scope["headers"])
        at = [i for i, (name, _) in enumerate(headers) if name == _REQUEST_ID_KEY]
        if at:  # the first one holds the new id, the others go
            headers[at[0]] = (_REQUEST_ID_KEY, request_id.encode("latin-1"))
            for i in reversed(at[1:]):
                del headers[i]
        else:
            headers.append((_REQUEST_ID_KEY, request_id.encode("latin-1")))
    correlation_id.set(request_id)
    return request_id


def current_request_id() -> str | None:
    return correlation_id.get()
