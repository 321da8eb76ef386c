"""Bad input, on SQLite and PostgreSQL: NUL characters, invalid UTF-8, deep nesting, bodies over
the limit, huge integers, non-string keys, numbers sent as strings. Each is a 4xx with a
problem body (or one row error in a partial bulk job), nothing is stored, never a 5xx, and the
same client is served on its next request.

The write operations are enumerated from the OpenAPI document: a NUL goes into every string
field of every JSON request body, every string query, path and header parameter of every
operation, so a route added later is covered without a change here."""

import asyncio
import copy
import json
import socket
import uuid
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from service.readiness.policies import ensure_default_policy
from service.settings import Settings
from service.tables import load_all
from tests.factories.assessments import create_assessment, rate
from tests.factories.bulk import CSV, NDJSON, csv_body, csv_row, line, ndjson, run_import
from tests.factories.people import person_doc
from tests.factories.rubrics import load_default_rubric, rubric_doc
from tests.routes import operations
from tests.servers import served_in_thread

pytestmark = pytest.mark.anyio

NUL = "\x00"
PROBLEM = "application/problem+json"
DEPTH = 10_000
HUGE = 10**400


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database_url=db_url, bulk_spool_dir=tmp_path / "spool",
                    webhooks_worker=False)


@pytest.fixture
async def ladder(engine, db_url):
    from service.db import open_session

    await load_default_rubric(engine)
    with open_session(engine, write=True) as session:
        ensure_default_policy(session)
        session.commit()


def rows(engine) -> dict[str, int]:
    """Rows per table: what "nothing stored" is checked against."""
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in load_all().metadata.sorted_tables}


def assert_problem(response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == response.status_code
    return body


async def assert_still_served(client) -> None:
    response = await client.get("/v1/rubrics")
    assert response.status_code == 200, response.text


def fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors") or []}


# --- the OpenAPI document as data --------------------------------------------------------------

def json_body_operations(app) -> list[tuple[str, str, dict]]:
    """(METHOD, concrete path, request body schema) of every operation taking a JSON body."""
    found = []
    for method, path, op in operations(app):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            found.append((method, path, content["application/json"]["schema"]))
    return found


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        return _resolve(schema["allOf"][0], spec)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return _resolve(options[0], spec)
    return schema


def instance(schema: dict, spec: dict, path: str = "", strings: list | None = None) -> Any:
    """A document of ``schema`` with every member present (arrays with one item, maps with
    one key), every string ``"x"``; the field path of each string goes into ``strings``."""
    schema = _resolve(schema, spec)
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        value = schema["const"] if "const" in schema else schema["enum"][0]
        if isinstance(value, str):
            strings.append(path)
        return value
    if kind == "object" or "properties" in schema:
        doc = {name: instance(sub, spec, f"{path}.{name}" if path else name, strings)
               for name, sub in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties")
        if not schema.get("properties") and extra is not False:
            key = (_resolve(schema.get("propertyNames", {}), spec).get("enum") or ["k"])[0]
            doc[key] = instance(extra if isinstance(extra, dict) else {}, spec,
                                f"{path}.{key}" if path else key, strings)
        return doc
    if kind == "array":
        return [instance(schema.get("items", {}), spec, f"{path}[0]", strings)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    strings.append(path)  # a string, or anything (``Any`` fields take strings too)
    return {"uuid": str(uuid.uuid4()), "date": "2026-12-31",
            "date-time": "2026-12-31T12:00:00Z"}.get(schema.get("format"), "x")


def put_at(doc: Any, path: str, value: Any) -> Any:
    """``doc`` with the member at field path ``path`` (``a.b[0].c``) set to ``value``."""
    doc = copy.deepcopy(doc)
    steps = [int(p) if p.isdigit() else p
             for p in path.replace("[", ".").replace("]", "").split(".")]
    target = doc
    for step in steps[:-1]:
        target = target[step]
    target[steps[-1]] = value
    return doc


def headers_for(method: str) -> dict[str, str]:
    return {"If-Match": "*", "Idempotency-Key": f"bad-input-{uuid.uuid4()}"} \
        if method in ("PUT", "POST", "PATCH") else {}


# --- NUL characters: enumerated ----------------------------------------------------------------

async def test_a_nul_in_any_string_of_any_json_body_is_a_422_naming_it(app, admin, engine,
                                                                       ladder):
    spec = app.openapi()
    targets = json_body_operations(app)
    assert len(targets) >= 15  # every JSON write of the API
    before, sent = rows(engine), 0
    for method, path, schema in targets:
        strings: list[str] = []
        doc = instance(schema, spec, strings=strings)
        assert strings, (method, path)
        for field in strings:
            response = await admin.request(method, path, json=put_at(doc, field, "a\x00b"),
                                           headers=headers_for(method))
            body = assert_problem(response, 422)
            assert fields(body) == {field}, (method, path, field, body)
            sent += 1
        key = await admin.request(method, path, json={"k\x00": "x"} | (
            doc if isinstance(doc, dict) else {}), headers=headers_for(method))
        assert "k\\u0000" in fields(assert_problem(key, 422)), (method, path)
    assert sent >= 100
    assert rows(engine) == before
    await assert_still_served(admin)


async def test_a_nul_in_any_parameter_is_a_422_naming_it(app, admin, engine, ladder):
    from tests.routes import PLACEHOLDER, PUBLIC_PATHS

    before, checked = rows(engine), set()
    for template, item in app.openapi()["paths"].items():
        if template in PUBLIC_PATHS:
            continue
        for method, op in item.items():
            params = op.get("parameters", [])
            kinds = {p["name"]: p.get("schema", {}).get("type", "string")
                     for p in params if p["in"] == "path"}
            for param in params:
                name, where = param["name"], param["in"]
                path = template
                for other, kind in kinds.items():
                    path = path.replace("{" + other + "}", "a%00b" if (where, name) == (
                        "path", other) else PLACEHOLDER[kind])
                query = {name: "a\x00b"} if where == "query" else {}
                headers = headers_for(method.upper())
                if where == "header":
                    headers[name] = "a\x00b"
                response = await admin.request(method.upper(), path, params=query,
                                               headers=headers)
                field = f"{where}.{name.lower() if where == 'header' else name}"
                assert fields(assert_problem(response, 422)) == {field}, (method, path, field)
                checked.add(where)
    assert checked == {"query", "path", "header"}
    assert rows(engine) == before
    await assert_still_served(admin)


async def test_people_put_with_a_nul_is_422_on_both_backends(admin, engine, ladder):
    """The review's case: 500 on PostgreSQL, stored on SQLite."""
    response = await admin.put("/v1/people/X", json=person_doc("X", display_name="a\x00b"))
    body = assert_problem(response, 422)
    assert body["errors"] == [{"field": "display_name",
                               "message": "must not contain the NUL character (U+0000)"}]
    assert (await admin.get("/v1/people/X")).status_code == 404
    search = await admin.get("/v1/people", params={"org_unit": "pay\x00ments"})
    assert fields(assert_problem(search, 422)) == {"query.org_unit"}
    await assert_still_served(admin)


async def test_a_nul_is_refused_only_after_the_credential(client, make_key, client_with):
    """No credential (or a bad one): 401 first, as for any other input."""
    response = await client.put("/v1/people/X", json=person_doc("X", display_name="a\x00b"))
    assert response.status_code == 401
    response = await client.get("/v1/people", params={"org_unit": "a\x00b"})
    assert response.status_code == 401
    async with client_with("asc_not-a-real-key-0123456789abcdef") as bad:
        assert (await bad.get("/v1/people", params={"org_unit": "a\x00b"})).status_code == 401


async def test_a_nul_in_a_rubric_import_is_a_422_in_json_and_yaml(admin, engine):
    doc = rubric_doc()
    doc["competencies"][1]["recommendations"] = [
        {"kind": "mentoring", "title": "a\x00b", "detail": "x"}]
    before = rows(engine)
    for media, raw in (("application/json", json.dumps(doc).encode()),
                       ("application/yaml", yaml.safe_dump(doc).encode())):
        response = await admin.post("/v1/rubrics:import", content=raw,
                                    headers={"Content-Type": media})
        assert fields(assert_problem(response, 422)) == {"competencies[1].recommendations[0].title"}
    assert rows(engine) == before
    await assert_still_served(admin)


PEOPLE_QUERY = "query($o: String) { people(first: 5, filter: {orgUnit: $o}) { edges { node " \
               "{ externalId } } } }"
UPSERT = "mutation($input: PersonInput!) { upsertPerson(externalId: \"X\", input: $input) " \
         "{ person { externalId } } }"


async def test_a_nul_in_graphql_variables_or_literals_is_refused(admin, engine, ladder):
    before = rows(engine)
    person = {"displayName": "a\x00b", "rubric": "product-leadership", "level": "pm"}
    for response in (
            await admin.post("/graphql", json={"query": UPSERT, "variables": {"input": person}}),
            await admin.get("/graphql", params={"query": PEOPLE_QUERY,
                                                "variables": json.dumps({"o": "a\x00b"})})):
        body = assert_problem(response, 422)
        assert fields(body) <= {"variables.input.displayName", "variables.o"} and fields(body)
    literal = PEOPLE_QUERY.replace("($o: String) ", "").replace("$o", '"a\\u0000b"')
    response = await admin.post("/graphql", json={"query": literal})
    assert response.status_code == 200 and response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert rows(engine) == before
    await assert_still_served(admin)


# --- NUL characters and deep nesting in bulk files ----------------------------------------------

async def test_a_nul_in_one_ndjson_line_is_one_row_error(app, admin, ladder):
    bad = line("E2", ratings=[{"competency": "strategy", "rater_role": "self",
                               "proficiency": 3, "evidence": "a\x00b"}])
    deep = b'{"person": "E4", "cycle": "2026-H2", "x": ' + b"[" * DEPTH + b"]" * DEPTH + b"}\n"
    body = ndjson(line("E1"), bad, line("E3")) + deep + ndjson(line("E5"))
    job = await run_import(app, admin, body, NDJSON, mode="partial")
    assert (job["status"], job["succeeded"], job["failed"]) == ("partial", 3, 2), job
    assert [(e["line"], e["field"]) for e in job["errors"]] == [
        (2, "ratings[0].evidence"), (4, "")]
    assert "NUL" in job["errors"][0]["message"] and "deeply" in job["errors"][1]["message"]
    await assert_still_served(admin)


async def test_a_nul_in_one_csv_row_is_one_row_error(app, admin, ladder):
    rows_ = [csv_row("E1"), csv_row("E2", evidence="a\x00b"), csv_row("E3")]
    job = await run_import(app, admin, csv_body(rows_), CSV, mode="partial")
    assert (job["status"], job["succeeded"], job["failed"]) == ("partial", 2, 1), job
    assert [(e["line"], e["field"]) for e in job["errors"]] == [(3, "evidence")]
    stored = (await admin.get("/v1/assessments", params={"limit": 50})).json()["data"]
    assert sorted(a["person"] for a in stored) == ["E1", "E3"]


async def test_a_nul_in_a_csv_external_id_is_stored_escaped_in_the_row_error(app, admin, ladder):
    job = await run_import(app, admin, csv_body([csv_row("E\x001"), csv_row("E2")]), CSV,
                           mode="partial")
    assert (job["status"], job["succeeded"], job["failed"]) == ("partial", 1, 1), job
    assert {e["external_id"] for e in job["errors"]} == {"E\\u00001"}


async def test_a_nul_in_the_csv_header_fails_the_job_cleanly(app, admin, ladder, engine):
    header = ["external_id", "cycle\x00", "competency", "rater_role", "proficiency"]
    body = (",".join(header) + "\nE1,2026-H2,strategy,self,3\n").encode()
    job = await run_import(app, admin, body, CSV, mode="partial")
    assert job["status"] == "failed" and job["processed"] == 0, job
    assert "cannot be read" in job["reason"] and "NUL" in job["reason"]
    assert [(e["line"], e["field"]) for e in job["errors"]] == [(1, "")]
    await assert_still_served(admin)


# --- invalid UTF-8, deep nesting, size, huge integers, keys --------------------------------------

async def test_invalid_utf8_is_a_400_everywhere(app, admin, engine, ladder):
    before = rows(engine)
    raw = b'{"display_name": "caf\xe9"}'
    for method, path, _ in json_body_operations(app):
        response = await admin.request(method, path, content=raw, headers={
            "Content-Type": "application/json", **headers_for(method)})
        assert_problem(response, 400, 422)
    yaml_response = await admin.post("/v1/rubrics:import", content=b"key: caf\xe9\n",
                                     headers={"Content-Type": "application/yaml"})
    assert_problem(yaml_response, 422)
    graphql = await admin.post("/graphql", content=b'{"query": "{ __typename \xff }"}',
                               headers={"Content-Type": "application/json"})
    assert_problem(graphql, 400)
    assert rows(engine) == before
    await assert_still_served(admin)


async def test_ten_thousand_deep_json_yaml_and_graphql_variables_are_4xx(app, admin, engine,
                                                                         ladder):
    before = rows(engine)
    deep = b"[" * DEPTH + b"]" * DEPTH
    for method, path, _ in json_body_operations(app):
        response = await admin.request(method, path, content=b'{"a": ' + deep + b"}", headers={
            "Content-Type": "application/json", **headers_for(method)})
        assert_problem(response, 400, 422)
    response = await admin.post("/v1/rubrics:import", content=deep,
                                headers={"Content-Type": "application/yaml"})
    assert "nested deeper" in assert_problem(response, 422)["detail"]
    response = await admin.post("/graphql", content=(
        b'{"query": "query($v: JSON) { __typename }", "variables": {"v": ' + deep + b"}}"),
        headers={"Content-Type": "application/json"})
    assert_problem(response, 400)
    response = await admin.get("/graphql", params={
        "query": "query($v: JSON) { __typename }", "variables": '{"v": ' + deep.decode() + "}"})
    assert_problem(response, 400, 413, 414, 431)
    assert rows(engine) == before
    await assert_still_served(admin)


async def test_yaml_aliases_are_refused(admin, engine):
    """A few lines of nested aliases expand to billions of nodes for whatever walks them."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    response = await admin.post("/v1/rubrics:import", content=bomb.encode(),
                                headers={"Content-Type": "application/yaml"})
    assert "aliases" in assert_problem(response, 422)["detail"]


async def test_bodies_over_the_limit_are_413(app, admin, engine, ladder):
    before = rows(engine)
    big = b'{"a": "' + b"x" * (50 * 1024 * 1024) + b'"}'
    for method, path, _ in [*json_body_operations(app), ("POST", "/graphql", None)]:
        response = await admin.request(method, path, content=big, headers={
            "Content-Type": "application/json", **headers_for(method)})
        assert_problem(response, 413)

    async def chunks():  # no Content-Length: counted as it streams
        for _ in range(50):
            yield b"x" * (1024 * 1024)

    response = await admin.put("/v1/people/X", content=chunks(),
                               headers={"Content-Type": "application/json"})
    assert_problem(response, 413)
    assert rows(engine) == before
    await assert_still_served(admin)


async def test_huge_integers_are_4xx(admin, engine, ladder):
    assessment = await create_assessment(admin, "E1")
    before = rows(engine)
    for response in (
            await admin.get("/v1/people", params={"limit": str(HUGE)}),
            await admin.get(f"/v1/rubrics/product-leadership/versions/{HUGE}"),
            await admin.post("/v1/assessments", json={"person": "E1", "cycle": "2027-H1",
                                                      "rubric": {"key": "product-leadership",
                                                                 "version": HUGE}}),
            await rate(admin, assessment["id"], "self", None,
                       [{"competency": "strategy", "proficiency": HUGE}]),
            await admin.post("/v1/readiness:score", json={
                "rubric": {"key": "product-leadership"}, "current_level": "pm",
                "ratings": [{"competency": "strategy", "rater_role": "self",
                             "proficiency": HUGE}]}),
            # Beyond Python's 4,300-digit limit for parsing integers: not even JSON it reads.
            await admin.put("/v1/people/E1", content=b'{"display_name": ' + b"9" * 5000 + b"}",
                            headers={"Content-Type": "application/json"})):
        assert_problem(response, 400, 404, 422)
    assert rows(engine) == before
    await assert_still_served(admin)


@pytest.mark.parametrize("document", [
    "1: x\n2: y\n",
    "? [a, b]\n: x\n",
    "key: eng\nname: x\nscale: {min: 1, max: 5, labels: {1: novice}}\n",
    "null: x\ntrue: y\n",
    "- 1\n- 2\n",
])
async def test_yaml_with_keys_that_are_not_strings_is_a_422(admin, engine, document):
    before = rows(engine)
    response = await admin.post("/v1/rubrics:import", content=document.encode(),
                                headers={"Content-Type": "application/yaml"})
    assert_problem(response, 422)
    assert rows(engine) == before
    await assert_still_served(admin)


# --- numbers are not strings on the wire -------------------------------------------------------

async def test_every_json_body_takes_text_where_json_has_only_text(app, admin, ladder):
    """Strict types refuse a number sent as text, never the text JSON carries an enum's value,
    a UUID or a date as (strict validation of parsed JSON would want Python objects there)."""
    spec = app.openapi()
    for method, path, schema in json_body_operations(app):
        response = await admin.request(method, path, json=instance(schema, spec, strings=[]),
                                       headers=headers_for(method))
        assert response.status_code < 500, (method, path, response.text[:300])
        problems = (response.json().get("errors") or []) if response.status_code >= 400 else []
        refused = [e for e in problems if "instance of" in e["message"]]
        assert refused == [], (method, path, refused)


async def test_numbers_and_booleans_sent_as_strings_are_422(admin, engine, ladder):
    assessment = await create_assessment(admin, "E1")
    before = rows(engine)
    response = await rate(admin, assessment["id"], "self", None,
                          [{"competency": "strategy", "proficiency": "4"}])
    assert fields(assert_problem(response, 422)) == {"ratings[0].proficiency"}
    response = await admin.post("/v1/readiness:score", json={
        "rubric": {"key": "product-leadership", "version": "1"}, "current_level": "pm",
        "ratings": [{"competency": "strategy", "rater_role": "self", "proficiency": "4"}]})
    assert fields(assert_problem(response, 422)) == {"rubric.version", "ratings[0].proficiency"}
    response = await admin.put("/v1/people/E1", json=person_doc("E1", active="false"))
    assert fields(assert_problem(response, 422)) == {"active"}
    assert rows(engine) == before
    valid = await rate(admin, assessment["id"], "self", None,
                       [{"competency": "strategy", "proficiency": 4}])
    assert valid.status_code == 200, valid.text


async def test_bulk_csv_cells_still_convert_but_ndjson_numbers_must_be_numbers(app, admin,
                                                                              ladder):
    job = await run_import(app, admin, csv_body([csv_row("E1", proficiency="4", active="true")],
                                                header=[*csv_row(), "active"]), CSV)
    assert (job["status"], job["failed"]) == ("succeeded", 0), job
    text = line("E2", ratings=[{"competency": "strategy", "rater_role": "self",
                                "proficiency": "4"}])
    job = await run_import(app, admin, ndjson(text), NDJSON, mode="partial")
    assert (job["status"], job["failed"]) == ("partial", 1), job
    assert [e["field"] for e in job["errors"]] == ["ratings[0].proficiency"]


# --- over a real connection ----------------------------------------------------------------------

class Connection:
    """One kept-alive HTTP/1.1 connection (a plain socket, so a reconnect cannot hide)."""

    def __init__(self, port: int, secret: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.secret, self.buffer = secret, b""

    def request(self, method: str, target: str, body: bytes = b"",
                media: str = "application/json") -> tuple[int, dict[str, str], bytes]:
        head = (f"{method} {target} HTTP/1.1\r\nHost: ascent.test\r\n"
                f"Authorization: Bearer {self.secret}\r\nContent-Type: {media}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.sock.sendall(head + body)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        raw, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
        size = int(headers.get("content-length", 0))
        while len(self.buffer) < size:
            self.buffer += self._recv()
        payload, self.buffer = self.buffer[:size], self.buffer[size:]
        return int(status_line.split()[1]), headers, payload

    def _recv(self) -> bytes:
        data = self.sock.recv(1 << 16)
        assert data, "the server closed the connection"
        return data


@pytest.fixture
def server(app):
    """The app behind uvicorn on a free port of 127.0.0.1; yields the port."""
    with served_in_thread(app, start_within=30, log_config=None, timeout_keep_alive=60) as url:
        yield int(url.rsplit(":", 1)[1])


async def test_bad_input_over_one_kept_alive_connection(server, make_key, engine, ladder):
    conn = Connection(server, make_key("admin"))
    deep = b"[" * DEPTH + b"]" * DEPTH
    before = rows(engine)
    cases = [
        ("PUT", "/v1/people/X", json.dumps(person_doc("X", display_name="a\x00b")).encode(),
         "application/json", 422),
        ("GET", "/v1/people?org_unit=a%00b", b"", "application/json", 422),
        ("GET", "/v1/rubrics/a%00b", b"", "application/json", 422),
        ("PUT", "/v1/people/X", b'{"display_name": "caf\xe9"}', "application/json", 400),
        ("PUT", "/v1/people/X", b'{"display_name": ' + deep + b"}", "application/json", 400),
        ("POST", "/v1/rubrics:import", deep, "application/yaml", 422),
        ("POST", "/graphql", b'{"query": "query($v: JSON) { __typename }", "variables": {"v": '
         + deep + b"}}", "application/json", 400),
        ("GET", f"/v1/people?limit={HUGE}", b"", "application/json", 422),
        ("PUT", "/v1/people/X", b'{"display_name": "' + b"x" * (50 * 1024 * 1024) + b'"}',
         "application/json", 413),
    ]
    for method, target, body, media, status in cases:
        got, headers, payload = await asyncio.to_thread(conn.request, method, target, body,
                                                        media)
        assert got == status, (method, target, got, payload[:300])
        assert headers["content-type"].startswith(PROBLEM)
        assert headers.get("connection", "").lower() != "close", (method, target)
        assert json.loads(payload)["status"] == status
        served, _, listing = await asyncio.to_thread(conn.request, "GET", "/v1/rubrics")
        assert served == 200, listing[:300]  # the same connection, the next request
    assert rows(engine) == before
