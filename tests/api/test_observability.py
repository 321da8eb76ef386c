"""Request ids, JSON logs without secrets or evidence, Prometheus metrics by route template."""

import io
import json
import logging
import re

import pytest

from service.logs import JsonFormatter, TextFormatter, redact
from service.settings import Settings
from tests.factories.assessments import create_assessment, rate
from tests.factories.rubrics import load_default_rubric

pytestmark = pytest.mark.anyio


@pytest.fixture
def log_lines():
    """Every log line of the app (JSON, as `ascent serve` writes them), as parsed dicts."""
    from asgi_correlation_id import CorrelationIdFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CorrelationIdFilter(default_value="-"))
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


async def test_request_ids_are_generated_echoed_or_replaced(client):
    generated = (await client.get("/livez")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    given = await client.get("/livez", headers={"X-Request-ID": "hris-sync-42"})
    assert given.headers["x-request-id"] == "hris-sync-42"
    forged = await client.get("/livez", headers={"X-Request-ID": "x\" injected=1 " + "y" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])
    problem = await client.get("/v1/rubrics")  # errors carry it too
    assert problem.status_code == 401 and problem.headers["x-request-id"]


async def test_access_log_is_json_with_request_id_and_no_secrets(client_with, make_key,
                                                                 log_lines):
    secret = make_key("rubrics:read")
    async with client_with(secret) as client:
        response = await client.get("/v1/rubrics/no-such-rubric",
                                    headers={"X-Request-ID": "req-abc"})
    assert response.status_code == 404
    lines = log_lines()
    access = [line for line in lines if line["logger"] == "ascent.access"]
    assert access[-1] | {"duration_ms": 0} == {
        "ts": access[-1]["ts"], "level": "info", "logger": "ascent.access",
        "message": "GET /v1/rubrics/{key} 404", "request_id": "req-abc", "method": "GET",
        "route": "/v1/rubrics/{key}", "status": 404, "duration_ms": 0,
        "principal": f"key:{secret[:12]}"}
    everything = json.dumps(lines)
    assert secret not in everything and secret[12:] not in everything


async def test_evidence_and_credentials_never_reach_the_logs(admin, engine, log_lines):
    await load_default_rubric(engine)
    assessment = await create_assessment(admin, "E123")
    evidence = "Confidential: handled the layoffs in team Kestrel"
    response = await rate(admin, assessment["id"], "manager", "E001", [
        {"competency": "strategy", "proficiency": 4, "evidence": evidence}])
    assert response.status_code == 200
    broken = await admin.put(f"/v1/assessments/{assessment['id']}/ratings",
                             content=b'{"rater_role": "self", "ratings": [{"evidence": "' +
                             evidence.encode() + b'"', headers={"If-Match": "*"})
    assert broken.status_code in (400, 422)
    text = json.dumps(log_lines())
    assert "Kestrel" not in text
    assert admin.headers["authorization"].split()[1] not in text


def test_redaction_covers_tokens_secrets_and_sql_parameters():
    line = ('Authorization: Bearer asc_abcdefghijklmnop; whsec_c2VjcmV0c2VjcmV0 '
            'token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln and\n'
            '[SQL: INSERT INTO rating VALUES (?)]\n[parameters: (\'private evidence\',)]\n')
    cleaned = redact(line)
    for leaked in ("abcdefghijklmnop", "c2VjcmV0c2VjcmV0", "eyJzdWIiOiJ4In0", "private evidence"):
        assert leaked not in cleaned
    assert "[SQL: INSERT INTO rating VALUES (?)]" in cleaned


def test_text_format_for_local_use():
    from service.logs import configure

    stream = io.StringIO()
    handler = configure(Settings(log_format="text", log_level="INFO"), stream=stream)
    try:
        assert isinstance(handler.formatter, TextFormatter)
        logging.getLogger("ascent.test").info("hello %s", "Bearer asc_secretsecret")
        assert re.search(r"INFO +\[-\] ascent.test: hello Bearer \[redacted\]$",
                         stream.getvalue().strip())
    finally:
        logging.getLogger().handlers.remove(handler)


async def test_metrics_by_route_template_and_status_class(admin):
    await admin.get("/v1/rubrics/one-rubric")
    await admin.get("/v1/rubrics/another-rubric")
    await admin.get("/v1/rubrics")
    text = (await admin.get("/metrics")).text
    assert re.search(r'http_requests_total\{handler="/v1/rubrics/\{key\}",method="GET",'
                     r'status="4xx"\} 2.0', text)
    assert 'handler="/v1/rubrics",method="GET",status="2xx"' in text
    assert re.search(r'http_request_duration_seconds_bucket\{handler="/v1/rubrics/\{key\}",'
                     r'le="0.1",method="GET"\}', text)
    assert "one-rubric" not in text  # raw paths never become labels
    for name in ("ascent_webhook_deliveries_total", "ascent_webhook_backlog",
                 "ascent_jobs_total", "ascent_jobs_running"):
        assert f"# TYPE {name.removesuffix('_total')}" in text


def test_the_quick_secret_test_agrees_with_the_redaction_patterns():
    """Lines of plain values skip the per-value redaction when one test finds no secret in
    them: it must find every secret the patterns redact, and pass a key's public prefix."""
    record = logging.makeLogRecord({"name": "ascent.access", "msg": "GET /v1/x 200",
                                    "levelname": "INFO", "principal": "key:asc_abcdefgh"})
    assert json.loads(JsonFormatter().format(record))["principal"] == "key:asc_abcdefgh"
    for leaked, text in (
        ("abcdefghijklmnopqrstu", "key asc_abcdefghijklmnopqrstu"),
        ("hunter2", "AUTHORIZATION: BEARER hunter2"), ("hunter2", "Basic\thunter2"),
        ("hunter2", "ba\u017fic hunter2"),  # long s: case-insensitively an "s"
        ("c2VjcmV0", "whsec_c2VjcmV0"), ("eyJzdWIiOiJ4In0", "eyJhbGc.eyJzdWIiOiJ4In0.c2ln"),
        ("private", "[parameters: ('private',)]"),
    ):
        record = logging.makeLogRecord({"name": "t", "msg": "x", "levelname": "INFO",
                                        "detail": text})
        assert leaked not in JsonFormatter().format(record), text


def test_a_json_record_stays_one_line_of_json_when_redaction_rewrites_it():
    """SQLAlchemy error messages carry newlines and the bound parameters (which may hold "]"
    and credentials): redacting them must not split the record or break its JSON."""
    from sqlalchemy.exc import DataError

    secret = "asc_abcdefghijklmnopqrstuvwxyz0123"
    error = DataError("INSERT INTO person (display_name, email) VALUES (%(a)s, %(b)s)",
                      {"a": f"evidence] Bearer {secret}\nsecond line", "b": "private evidence"},
                      Exception("invalid byte sequence for encoding \"UTF8\": 0x00\nCONTEXT: x"))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ascent.test.sqlalchemy")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise error
        except DataError:
            logger.exception("could not write: %s", error, extra={"detail": str(error)})
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1, text
    record = json.loads(text)
    for field in ("message", "detail", "exception"):
        assert "[parameters: redacted]" in record[field]
        assert "[SQL: INSERT INTO person" in record[field]
    for leaked in (secret, "private evidence", "second line"):
        assert leaked not in text
