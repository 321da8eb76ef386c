"""A small typed client for Ascent, sync (``AscentClient``) and async (``AsyncAscentClient``),
used by the ``ascent`` CLI and importable by scripts::

    from service.client import AscentClient

    with AscentClient("http://127.0.0.1:8000", api_key) as ascent:
        job = ascent.import_assessments("cycle.csv", mode="partial")
        job = ascent.wait_for_job(job.id)
        for error in ascent.job_errors(job.id):
            print(error.line, error.field, error.message)
        ascent.export_assessments("out.csv", cycle="2026-H2")

- Retries with exponential backoff and jitter on 429 and 503 (honouring ``Retry-After``) and on
  connection errors; an upload is retried with the same ``Idempotency-Key`` (one is generated
  per upload unless given), so a retry never starts a second job.
- Errors are ``ApiError`` carrying the RFC 9457 problem details (``status``, ``title``,
  ``detail``, ``code``, field ``errors``).
"""

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextlib import aclosing, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

import httpx

CHUNK = 1 << 20
RETRY_STATUSES = frozenset({429, 503})
MEDIA = {"csv": "text/csv", "ndjson": "application/x-ndjson"}
SUFFIXES = {".csv": "csv", ".jsonl": "ndjson", ".ndjson": "ndjson"}
Source = str | Path | bytes | BinaryIO
Dest = str | Path | IO[bytes]


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ApiError(Exception):
    """An answer that is not a success, with its problem details."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status, self.problem = status, problem
        self.title = problem.get("title") or f"HTTP {status}"
        self.detail = problem.get("detail")
        self.code = problem.get("code")
        self.errors = [FieldError(e.get("field", ""), e.get("message", ""))
                       for e in problem.get("errors") or ()]
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.status} {self.title}" + (f": {self.detail}" if self.detail else "")
        return text + "".join(f"\n  {e.field}: {e.message}" for e in self.errors)


@dataclass(frozen=True)
class JobError:
    line: int
    field: str
    message: str
    external_id: str | None = None
    cycle: str | None = None


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    format: str
    mode: str
    total: int | None
    processed: int
    succeeded: int
    failed: int
    rows: int
    progress: float
    errors_total: int
    reason: str | None
    errors: tuple[JobError, ...] = ()
    next_cursor: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self.status not in ("queued", "running")

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Job":
        data = data.get("job", data)  # POST answers {"job": ...}; GET the job itself
        return cls(
            id=data["id"], status=data["status"], format=data["format"], mode=data["mode"],
            total=data.get("total"), processed=data["processed"], succeeded=data["succeeded"],
            failed=data["failed"], rows=data.get("rows", 0), progress=data.get("progress", 0.0),
            errors_total=data.get("errors_total", 0), reason=data.get("reason"),
            errors=tuple(JobError(**e) for e in data.get("errors", ())),
            next_cursor=data.get("next_cursor"), raw=data)


# --- shared rules ------------------------------------------------------------------------------

def upload_format(source: Source, format: str | None) -> str:
    if format is not None:
        if format not in MEDIA:
            raise ValueError(f"format must be one of {', '.join(MEDIA)}")
        return format
    suffix = Path(source).suffix.lower() if isinstance(source, str | Path) else ""
    if suffix not in SUFFIXES:
        raise ValueError("cannot tell the format from the file name; pass format='csv' or "
                         "format='ndjson'")
    return SUFFIXES[suffix]


def _chunks(source: Source, on_sent: Callable[[int], None] | None) -> Iterator[bytes]:
    """The body, re-readable for each attempt (a file object is rewound)."""
    if isinstance(source, bytes):
        yield source
        if on_sent:
            on_sent(len(source))
        return
    if not isinstance(source, str | Path):
        source.seek(0)
    with _file(source, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk
            if on_sent:
                on_sent(len(chunk))


@contextmanager
def _file(target: str | Path | IO[bytes], mode: str) -> Iterator[IO[bytes]]:
    """Open a path (and close it after), or use an open file as it is."""
    if isinstance(target, str | Path):
        with Path(target).open(mode) as f:
            yield f
    else:
        yield target


def size_of(source: Source) -> int | None:
    if isinstance(source, bytes):
        return len(source)
    if isinstance(source, str | Path):
        return Path(source).stat().st_size
    return None


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {"detail": response.text[:500] or None}


@dataclass
class _Retry:
    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    also: frozenset[int] = frozenset()  # statuses retried for this call only (e.g. 409)

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        ceiling = min(self.max_backoff, self.backoff * 2 ** attempt)
        wait = random.uniform(ceiling / 2, ceiling)
        asked = response.headers.get("retry-after") if response is not None else None
        if asked and asked.strip().isdigit():
            wait = max(wait, min(float(asked), self.max_backoff))
        return wait

    def should(self, attempt: int, response: httpx.Response | None) -> bool:
        if attempt >= self.retries:
            return False
        return response is None or response.status_code in RETRY_STATUSES | self.also


def _import_params(mode: str, submit: bool, finalize: bool) -> dict[str, str]:
    return {"mode": mode, "submit": str(submit).lower(), "finalize": str(finalize).lower()}


def _filters(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if v is not None}


# --- every call once, as the steps of I/O it needs --------------------------------------------
# A call is a generator that yields what it needs done (send a request, release or read an
# answer, copy a body into a file, wait) and is sent the outcome; ``AscentClient`` does each
# step blocking, ``AsyncAscentClient`` awaits it. Retries, uploads, polling and downloads are
# written once, so the two clients cannot drift apart.

@dataclass(frozen=True)
class _Send:
    request: httpx.Request
    stream: bool


@dataclass(frozen=True)
class _Release:
    response: httpx.Response
    read: bool  # read the body first (an error's problem details)


@dataclass(frozen=True)
class _Copy:
    response: httpx.Response  # streamed; released once copied
    dest: Dest


@dataclass(frozen=True)
class _Sleep:
    seconds: float


_Call = Generator[_Send | _Release | _Copy | _Sleep, Any, Any]


class _Steps:
    """Runs a call: iterate for its steps, ``reply`` with each one's outcome (an exception is
    raised inside the call, which decides whether to retry)."""

    def __init__(self, call: _Call) -> None:
        self._call, self._outcome, self.result = call, None, None

    def __iter__(self) -> "_Steps":
        return self

    def __next__(self) -> _Send | _Release | _Copy | _Sleep:
        outcome, self._outcome = self._outcome, None
        try:
            if isinstance(outcome, Exception):
                return self._call.throw(outcome)
            return self._call.send(outcome)
        except StopIteration as done:
            self.result = done.value
            raise

    def reply(self, outcome: Any) -> None:
        self._outcome = outcome


def _put(out: IO[bytes], chunk: bytes) -> int:
    out.write(chunk)
    return len(chunk)


class _Calls:
    """The calls of both clients, as generators (see above)."""

    _http: httpx.Client | httpx.AsyncClient
    _retry: _Retry
    _body: Callable[[Source, Callable[[int], None] | None], Any]  # an upload's chunks

    def _call(self, method: str, path: str, *, retry_also: frozenset[int] = frozenset(),
              content: Callable[[], Any] | None = None, stream: bool = False, **kwargs: Any
              ) -> _Call:
        policy = _Retry(self._retry.retries, self._retry.backoff, also=retry_also)
        attempt = 0
        while True:
            response = None
            body = {"content": content()} if content is not None else {}
            try:
                response = yield _Send(self._http.build_request(method, path, **body, **kwargs),
                                       stream)
            except httpx.TransportError:
                if not policy.should(attempt, None):
                    raise
            if response is not None:
                if not policy.should(attempt, response):
                    if response.is_error:
                        yield _Release(response, read=True)
                        raise ApiError(response.status_code, _problem(response))
                    return response
                yield _Release(response, read=False)
            yield _Sleep(policy.delay(attempt, response))
            attempt += 1

    def _import(self, source: Source, format: str | None, mode: str, submit: bool,
                finalize: bool, idempotency_key: str | None,
                on_sent: Callable[[int], None] | None) -> _Call:
        fmt = upload_format(source, format)
        headers = {"Content-Type": MEDIA[fmt],
                   "Idempotency-Key": idempotency_key or f"upload-{uuid.uuid4()}"}
        if (size := size_of(source)) is not None:
            headers["Content-Length"] = str(size)
        response = yield from self._call("POST", "/v1/bulk/assessments",
                                         retry_also=frozenset({409}),
                                         content=lambda: self._body(source, on_sent),
                                         headers=headers,
                                         params=_import_params(mode, submit, finalize))
        return Job.from_dict(response.json())

    def _get_job(self, job_id: str, limit: int | None, cursor: str | None) -> _Call:
        response = yield from self._call("GET", f"/v1/jobs/{job_id}", params=_filters(
            {"limit": limit, "cursor": cursor}))
        return Job.from_dict(response.json())

    def _wait_for_job(self, job_id: str, poll: float, timeout: float | None,
                      on_progress: Callable[[Job], None] | None) -> _Call:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = yield from self._get_job(job_id, 1, None)
            if on_progress:
                on_progress(job)
            if job.done:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job.status}")
            yield _Sleep(poll)

    def _download(self, path: str, dest: Dest, params: dict[str, Any]) -> _Call:
        """Stream an answer into ``dest`` (constant memory); returns the bytes written."""
        response = yield from self._call("GET", path, params=_filters(params), stream=True)
        return (yield _Copy(response, dest))

    def _readiness(self, assessment_id: str, target_level: str | None) -> _Call:
        response = yield from self._call("GET", f"/v1/assessments/{assessment_id}/readiness",
                                         params=_filters({"target_level": target_level}))
        return response.json()


def _options(base_url: str, api_key: str, timeout: float, transport: Any) -> dict[str, Any]:
    return {"base_url": base_url.rstrip("/"), "timeout": timeout, "transport": transport,
            "headers": {"Authorization": f"Bearer {api_key}"}}


_EXPORT, _COHORT = "/v1/assessments:export", "/v1/cohorts/readiness"


# --- sync --------------------------------------------------------------------------------------

class AscentClient(_Calls):
    _body = staticmethod(_chunks)

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0, retries: int = 5,
                 backoff: float = 0.5, transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(**_options(base_url, api_key, timeout, transport))
        self._retry = _Retry(retries, backoff)

    def __enter__(self) -> "AscentClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _run(self, call: _Call) -> Any:
        steps = _Steps(call)
        for step in steps:
            try:
                steps.reply(self._do(step))
            except Exception as exc:
                steps.reply(exc)
        return steps.result

    def _do(self, step: _Send | _Release | _Copy | _Sleep) -> Any:
        if isinstance(step, _Send):
            return self._http.send(step.request, stream=step.stream)
        if isinstance(step, _Sleep):
            return time.sleep(step.seconds)
        if isinstance(step, _Copy):
            with closing(step.response), _file(step.dest, "wb") as out:
                return sum(_put(out, chunk) for chunk in step.response.iter_bytes())
        if step.read:
            step.response.read()
        return step.response.close()

    def request(self, method: str, path: str, *, retry_also: frozenset[int] = frozenset(),
                content: Callable[[], Any] | None = None, stream: bool = False, **kwargs: Any
                ) -> httpx.Response:
        """One call with retries; ``content`` makes a fresh body for every attempt. With
        ``stream`` the answer's body is left unread (close the response)."""
        return self._run(self._call(method, path, retry_also=retry_also, content=content,
                                    stream=stream, **kwargs))

    def import_assessments(self, source: Source, *, format: str | None = None,
                           mode: str = "atomic", submit: bool = False, finalize: bool = False,
                           idempotency_key: str | None = None,
                           on_sent: Callable[[int], None] | None = None) -> Job:
        """Upload a JSONL or CSV file (streamed); returns the queued job."""
        return self._run(self._import(source, format, mode, submit, finalize, idempotency_key,
                                      on_sent))

    def get_job(self, job_id: str, *, limit: int | None = None, cursor: str | None = None
                ) -> Job:
        return self._run(self._get_job(job_id, limit, cursor))

    def job_errors(self, job_id: str) -> Iterator[JobError]:
        cursor = None
        while True:
            job = self.get_job(job_id, limit=500, cursor=cursor)
            yield from job.errors
            if not (cursor := job.next_cursor):
                return

    def wait_for_job(self, job_id: str, *, poll: float = 0.5, timeout: float | None = None,
                     on_progress: Callable[[Job], None] | None = None) -> Job:
        return self._run(self._wait_for_job(job_id, poll, timeout, on_progress))

    def export_assessments(self, dest: Dest, *, format: str = "csv", **filters: Any) -> int:
        """Write every matching assessment (filters of GET /v1/assessments) to ``dest``;
        returns the bytes written."""
        return self._run(self._download(_EXPORT, dest, {"format": format, **filters}))

    def cohort_readiness(self, dest: Dest, *, format: str = "csv", **filters: Any) -> int:
        """Write the cohort readiness report (CSV: a row per person; or JSON)."""
        return self._run(self._download(_COHORT, dest, {"format": format, **filters}))

    def readiness(self, assessment_id: str, target_level: str | None = None) -> dict[str, Any]:
        return self._run(self._readiness(assessment_id, target_level))


# --- async -------------------------------------------------------------------------------------

async def _achunks(source: Source, on_sent: Callable[[int], None] | None
                   ) -> AsyncIterator[bytes]:
    for chunk in _chunks(source, on_sent):  # local file reads: short, so not offloaded
        yield chunk


class AsyncAscentClient(_Calls):
    """The same calls as ``AscentClient``, awaitable."""

    _body = staticmethod(_achunks)

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0, retries: int = 5,
                 backoff: float = 0.5, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self._http = httpx.AsyncClient(**_options(base_url, api_key, timeout, transport))
        self._retry = _Retry(retries, backoff)

    async def __aenter__(self) -> "AsyncAscentClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run(self, call: _Call) -> Any:
        steps = _Steps(call)
        for step in steps:
            try:
                steps.reply(await self._do(step))
            except Exception as exc:
                steps.reply(exc)
        return steps.result

    async def _do(self, step: _Send | _Release | _Copy | _Sleep) -> Any:
        if isinstance(step, _Send):
            return await self._http.send(step.request, stream=step.stream)
        if isinstance(step, _Sleep):
            return await asyncio.sleep(step.seconds)
        if isinstance(step, _Copy):
            async with aclosing(step.response):
                with _file(step.dest, "wb") as out:
                    return sum([_put(out, chunk) async for chunk in step.response.aiter_bytes()])
        if step.read:
            await step.response.aread()
        return await step.response.aclose()

    async def request(self, method: str, path: str, *, retry_also: frozenset[int] = frozenset(),
                      content: Callable[[], Any] | None = None, stream: bool = False,
                      **kwargs: Any) -> httpx.Response:
        return await self._run(self._call(method, path, retry_also=retry_also, content=content,
                                          stream=stream, **kwargs))

    async def import_assessments(self, source: Source, *, format: str | None = None,
                                 mode: str = "atomic", submit: bool = False,
                                 finalize: bool = False, idempotency_key: str | None = None,
                                 on_sent: Callable[[int], None] | None = None) -> Job:
        return await self._run(self._import(source, format, mode, submit, finalize,
                                            idempotency_key, on_sent))

    async def get_job(self, job_id: str, *, limit: int | None = None,
                      cursor: str | None = None) -> Job:
        return await self._run(self._get_job(job_id, limit, cursor))

    async def job_errors(self, job_id: str) -> AsyncIterator[JobError]:
        cursor = None
        while True:
            job = await self.get_job(job_id, limit=500, cursor=cursor)
            for error in job.errors:
                yield error
            if not (cursor := job.next_cursor):
                return

    async def wait_for_job(self, job_id: str, *, poll: float = 0.5,
                           timeout: float | None = None,
                           on_progress: Callable[[Job], None] | None = None) -> Job:
        return await self._run(self._wait_for_job(job_id, poll, timeout, on_progress))

    async def export_assessments(self, dest: Dest, *, format: str = "csv", **filters: Any
                                 ) -> int:
        return await self._run(self._download(_EXPORT, dest, {"format": format, **filters}))

    async def cohort_readiness(self, dest: Dest, *, format: str = "csv", **filters: Any) -> int:
        return await self._run(self._download(_COHORT, dest, {"format": format, **filters}))

    async def readiness(self, assessment_id: str, target_level: str | None = None
                        ) -> dict[str, Any]:
        return await self._run(self._readiness(assessment_id, target_level))
