"""service/client.py against a fake transport: retries with backoff on 429/503 and on
connection errors (one Idempotency-Key per upload, the body re-sent whole), problem details
on errors, and the async twin."""

import io
import json

import httpx
import pytest

from service.client import ApiError, AscentClient, AsyncAscentClient, Job, upload_format

JOB = {"id": "j1", "status": "queued", "format": "csv", "mode": "atomic", "total": None,
       "processed": 0, "succeeded": 0, "failed": 0, "rows": 0, "progress": 0.0,
       "errors_total": 0, "reason": None, "errors": [], "next_cursor": None}


def recorder(answers):
    """A transport answering from ``answers`` (a response, or an exception to raise)."""
    seen = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request, request.read()))
        answer = answers[min(len(seen) - 1, len(answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return seen, handle


def problem(status: int, **extra) -> httpx.Response:
    body = {"type": "urn:ascent:problem:x", "title": "Nope", "status": status,
            "detail": "it failed", "code": "x"} | extra
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def test_an_upload_is_retried_with_the_same_key_and_the_whole_body(tmp_path):
    path = tmp_path / "cycle.csv"
    path.write_bytes(b"external_id,cycle\nE1,2026-H2\n")
    seen, handle = recorder([
        httpx.ConnectError("refused"),
        problem(503, detail="busy"),
        httpx.Response(429, headers={"retry-after": "0"}),
        httpx.Response(202, json={"job": JOB}),
    ])
    with AscentClient("http://ascent.test", "asc_k", backoff=0.0,
                      transport=httpx.MockTransport(handle)) as client:
        job = client.import_assessments(path, mode="partial", submit=True)
    assert job == Job.from_dict({"job": JOB}) and job.id == "j1" and not job.done
    assert len(seen) == 4
    keys = {request.headers["idempotency-key"] for request, _ in seen}
    assert len(keys) == 1 and keys.pop().startswith("upload-")
    assert all(body == path.read_bytes() for _, body in seen)
    request = seen[-1][0]
    assert request.headers["content-type"] == "text/csv"
    assert request.headers["authorization"] == "Bearer asc_k"
    assert request.headers["content-length"] == str(path.stat().st_size)
    assert dict(request.url.params) == {"mode": "partial", "submit": "true",
                                        "finalize": "false"}


def test_problem_details_come_back_as_an_api_error():
    seen, handle = recorder([problem(422, errors=[{"field": "header.Idempotency-Key",
                                                   "message": "used with another file"}])])
    with AscentClient("http://ascent.test", "k", transport=httpx.MockTransport(handle)) as c, \
            pytest.raises(ApiError) as error:
        c.import_assessments(io.BytesIO(b"{}\n"), format="ndjson", idempotency_key="mine")
    assert (error.value.status, error.value.code, error.value.detail) == (422, "x", "it failed")
    assert error.value.errors[0].field == "header.Idempotency-Key"
    assert "used with another file" in str(error.value)
    assert len(seen) == 1 and seen[0][0].headers["idempotency-key"] == "mine"


def test_retries_end_with_the_last_answer():
    seen, handle = recorder([problem(503)])
    with AscentClient("http://ascent.test", "k", retries=2, backoff=0.0,
                      transport=httpx.MockTransport(handle)) as client, \
            pytest.raises(ApiError) as error:
        client.get_job("j1")
    assert error.value.status == 503 and len(seen) == 3


def test_a_conflict_is_retried_only_for_uploads():
    seen, handle = recorder([problem(409)])
    with AscentClient("http://ascent.test", "k", retries=1, backoff=0.0,
                      transport=httpx.MockTransport(handle)) as client:
        with pytest.raises(ApiError):
            client.get_job("j1")
        assert len(seen) == 1
        with pytest.raises(ApiError):
            client.import_assessments(b"x", format="csv")
        assert len(seen) == 3


def test_errors_are_paged_and_exports_streamed_to_a_file(tmp_path):
    pages = {None: JOB | {"errors": [{"line": 2, "field": "f", "message": "m"}],
                          "next_cursor": "c2"},
             "c2": JOB | {"errors": [{"line": 9, "field": "g", "message": "n",
                                      "external_id": "E9", "cycle": "c"}]}}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/assessments:export":
            return httpx.Response(200, content=b"a,b\n1,2\n")
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    with AscentClient("http://ascent.test", "k", transport=httpx.MockTransport(handle)) as c:
        assert [(e.line, e.external_id) for e in c.job_errors("j1")] == [(2, None), (9, "E9")]
        assert c.export_assessments(tmp_path / "out.csv", cycle="2026-H2", person=None) == 8
    assert (tmp_path / "out.csv").read_bytes() == b"a,b\n1,2\n"


def test_the_format_comes_from_the_file_name():
    assert upload_format("a/cycle.JSONL", None) == "ndjson"
    assert upload_format("cycle.csv", None) == "csv"
    with pytest.raises(ValueError):
        upload_format("cycle.xlsx", None)


@pytest.mark.anyio
async def test_the_async_client_retries_and_waits_the_same_way():
    states = iter(["queued", "running", "succeeded"])
    seen, handle = recorder([httpx.ReadError("reset"), httpx.Response(202, json={"job": JOB})])

    def route(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=JOB | {"status": next(states)})
        return handle(request)

    progress = []
    async with AsyncAscentClient("http://ascent.test", "k", backoff=0.0,
                                 transport=httpx.MockTransport(route)) as client:
        job = await client.import_assessments(b'{"person": "E1"}\n', format="ndjson")
        done = await client.wait_for_job(job.id, poll=0.0, on_progress=progress.append)
    assert len(seen) == 2 and seen[0][1] == seen[1][1] == b'{"person": "E1"}\n'
    assert [j.status for j in progress] == ["queued", "running", "succeeded"]
    assert done.ok and json.loads(json.dumps(done.raw))["status"] == "succeeded"
