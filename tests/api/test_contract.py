"""Contract fuzzing with schemathesis over every operation of the OpenAPI document.

Pass 1 (admin key): generated requests must never answer 5xx, and every answer must conform to
the document: a declared status code, a declared content type, a body valid against the
declared schema. Pass 2 (no credential): every non-public operation answers 401.

Runs on SQLite only (a database of its own, with the default content loaded so that reads
find something), with a bounded number of examples per operation (ASCENT_FUZZ_EXAMPLES,
default 40) so the whole run stays within a few minutes on two cores. The per-operation
example counts are printed. The webhook worker is off: fuzzed subscriptions point anywhere,
and nothing may be sent there.
"""

import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings

from service.app import create_app
from service.auth.service import ensure_admin_key
from service.cli import load_defaults
from service.db import engine_for, open_session, upgrade
from service.settings import Settings, get_settings
from tests.routes import PUBLIC_PATHS

EXAMPLES = int(os.environ.get("ASCENT_FUZZ_EXAMPLES", "40"))
UNAUTHENTICATED_EXAMPLES = 3
CHECKS = [schemathesis.checks.not_a_server_error,
          schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance,
          schemathesis.checks.response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory, monkeypatch_module):
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/fuzz.db"
    upgrade(url)
    monkeypatch_module.setenv("ASCENT_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        load_defaults()  # the CLI command: rubrics, readiness policy, templates
    finally:
        get_settings.cache_clear()
    settings = Settings(database_url=url, webhooks_worker=False)
    engine = engine_for(settings)
    with open_session(engine, write=True) as session:
        ensure_admin_key(session, "asc_contract-fuzzing-admin-key-0123456789")
        session.commit()
    engine.dispose()
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield schema, "asc_contract-fuzzing-admin-key-0123456789"
    schemathesis.python.asgi.shutdown_lifespans()
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def operations(schema) -> list:
    """Every operation; revoking API keys last, since the fuzzer may well revoke its own."""
    return sorted((result.ok() for result in schema.get_all_operations()),
                  key=lambda op: op.label == "POST /v1/api-keys/{key_id}/revoke")


def run(operation, examples: int, test) -> tuple[int, str | None]:
    """Run ``test(case)`` on up to ``examples`` generated cases; (cases run, failure)."""
    seen = 0

    @given(case=operation.as_strategy())
    # derandomize: the same examples every run, so CI cannot fail by the luck of a seed.
    @hypothesis_settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                         phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=list(HealthCheck))
    def fuzz(case):
        nonlocal seen
        seen += 1
        test(case)

    try:
        fuzz()
    except Exception as exc:  # collected: one report for every operation
        return seen, f"{type(exc).__name__}: {exc}"[:3000]
    return seen, None


def report(capsys, title: str, rows: list[tuple[str, int, str | None]], seconds: float) -> None:
    with capsys.disabled():
        print(f"\n{title}: {len(rows)} operations, {sum(n for _, n, _ in rows)} examples, "
              f"{seconds:.0f} s")
        for label, count, failure in rows:
            print(f"  {count:4d}  {label}{'  FAILED' if failure else ''}")


def test_every_operation_conforms_to_the_contract(fuzzed, capsys):
    schema, secret = fuzzed
    auth = {"Authorization": f"Bearer {secret}"}
    started, rows = time.monotonic(), []
    for operation in operations(schema):
        count, failure = run(operation, EXAMPLES,
                             lambda case: case.call_and_validate(headers=auth, checks=CHECKS))
        rows.append((operation.label, count, failure))
    report(capsys, "schemathesis (admin key)", rows, time.monotonic() - started)
    assert len(rows) >= 30
    failures = [f"{label}\n{failure}" for label, _, failure in rows if failure]
    assert not failures, "\n\n".join(failures)


def test_every_non_public_operation_needs_a_credential(fuzzed, capsys):
    schema, _ = fuzzed

    def unauthenticated(case):
        (case.headers or {}).pop("Authorization", None)
        response = case.call()
        public = case.operation.path in PUBLIC_PATHS
        assert response.status_code < 500, case.as_curl_command()
        if not public:
            assert response.status_code == 401, (response.status_code, case.as_curl_command())
            assert response.headers["www-authenticate"][0].startswith("Bearer")

    started, rows = time.monotonic(), []
    for operation in operations(schema):
        count, failure = run(operation, UNAUTHENTICATED_EXAMPLES, unauthenticated)
        rows.append((operation.label, count, failure))
    report(capsys, "schemathesis (no credential)", rows, time.monotonic() - started)
    failures = [f"{label}\n{failure}" for label, _, failure in rows if failure]
    assert not failures, "\n\n".join(failures)
