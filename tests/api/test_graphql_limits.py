"""Hostile documents are refused before anything executes: too deep, too many aliases (also
through fragments), too many tokens; introspection and the IDE are settings, on by default
only for the embedded `make run` set-up."""

from contextlib import asynccontextmanager

import httpx
import pytest

from service.app import create_app
from service.graphql.schema import MAX_ALIASES, MAX_DEPTH
from service.settings import DEFAULT_SQLITE_URL, Settings
from tests.factories.graphql import codes, gql

pytestmark = pytest.mark.anyio


def upsert(alias: str, who: str, selection: str = "created") -> str:
    return f'{alias}: upsertPerson(externalId: "{who}", input: {{displayName: "X"}}) ' \
           f"{{ {selection} }}"


async def nobody_was_created(admin, *who: str) -> None:
    for external_id in who:
        assert (await admin.get(f"/v1/people/{external_id}")).status_code == 404


async def test_a_too_deep_document_is_refused_before_execution(admin):
    nested = "externalId"
    for _ in range(MAX_DEPTH):
        nested = f"manager {{ {nested} }}"
    answer = await gql(admin, f"mutation {{ {upsert('a', 'D1', 'person { ' + nested + ' }')} }}")
    assert answer["data"] is None and codes(answer) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "exceeds maximum operation depth" in answer["errors"][0]["message"]
    await nobody_was_created(admin, "D1")

    shallow = await gql(admin, f"mutation {{ {upsert('a', 'D1', 'person { externalId }')} }}")
    assert shallow["data"]["a"]["person"] == {"externalId": "D1"}  # the same, within limits


async def test_an_alias_flood_is_refused_before_execution(admin):
    flood = " ".join(upsert(f"a{i}", f"F{i}") for i in range(MAX_ALIASES + 1))
    answer = await gql(admin, f"mutation {{ {flood} }}")
    assert answer["data"] is None and codes(answer) == ["GRAPHQL_VALIDATION_FAILED"]
    assert f"{MAX_ALIASES + 1} aliases found" in answer["errors"][0]["message"]
    await nobody_was_created(admin, "F0", f"F{MAX_ALIASES}")


async def test_aliases_hidden_in_fragments_count_too(admin):
    half = MAX_ALIASES // 2 + 1
    fields = " ".join(f"n{i}: displayName" for i in range(half))
    document = ("query { a: person(externalId: \"E1\") { ...F } "
                "b: person(externalId: \"E2\") { ...F } } "
                f"fragment F on Person {{ {fields} }}")
    answer = await gql(admin, document)
    assert answer["data"] is None and codes(answer) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "aliases found" in answer["errors"][0]["message"]


async def test_a_huge_document_is_refused_while_parsing(admin):
    fields = " ".join("__typename" for _ in range(5000))
    answer = await gql(admin, f"{{ {fields} }}")
    assert answer["data"] is None and codes(answer) == ["GRAPHQL_PARSE_FAILED"]
    assert "more than" in answer["errors"][0]["message"]


@asynccontextmanager
async def client_of(db_url: str, secret: str, **settings):
    """A client of an app made with these settings (the shared ``app`` uses the defaults)."""
    app = create_app(Settings(database_url=db_url, **settings))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://ascent.test",
                                     headers={"Authorization": f"Bearer {secret}"}) as client:
            yield client
    finally:
        app.state.engine.dispose()


def test_introspection_and_the_ide_are_on_by_default_only_for_the_embedded_set_up():
    embedded = Settings(database_url=DEFAULT_SQLITE_URL)
    assert embedded.embedded and embedded.graphql_introspection and embedded.graphql_ide
    for url in ("postgresql+psycopg://ascent@db:5432/ascent", "sqlite:////srv/ascent.db",
                "sqlite:///./var/other.db"):
        deployed = Settings(database_url=url)
        assert not deployed.graphql_introspection and not deployed.graphql_ide, url
        assert Settings(database_url=url, graphql_introspection=True).graphql_introspection
        assert Settings(database_url=url, graphql_ide=True).graphql_ide
    switched_off = Settings(database_url=DEFAULT_SQLITE_URL, graphql_introspection=False,
                            graphql_ide=False)
    assert not switched_off.graphql_introspection and not switched_off.graphql_ide


@pytest.mark.parametrize("settings", [{}, {"graphql_introspection": False,
                                           "graphql_ide": False}], ids=["unset", "off"])
async def test_introspection_and_the_ide_are_off_outside_the_embedded_set_up(
        db_url, make_key, settings):
    # The test database is not the default one under ./var: unset means off, as deployed.
    async with client_of(db_url, make_key("people:read"), **settings) as client:
        answer = await gql(client, "{ __schema { queryType { name } } }")
        assert answer["data"] is None and set(codes(answer)) == {"GRAPHQL_VALIDATION_FAILED"}
        assert "introspection" in answer["errors"][0]["message"]
        assert (await gql(client, "{ people { edges { cursor } } }"))["data"] == {
            "people": {"edges": []}}
        ide = await client.get("/graphql", headers={"Accept": "text/html"})
        assert ide.status_code == 404
        asset = await client.get("/docs-assets/graphiql/graphiql.min.js")
        assert asset.status_code in (401, 404)


async def test_introspection_and_the_ide_can_be_switched_on(db_url, make_key):
    async with client_of(db_url, make_key("people:read"), graphql_introspection=True,
                         graphql_ide=True) as client:
        answer = await gql(client, "{ __schema { queryType { name } } }")
        assert answer["data"] == {"__schema": {"queryType": {"name": "Query"}}}
        ide = await client.get("/graphql", headers={"Accept": "text/html"})
        assert ide.status_code == 200 and "GraphiQL" in ide.text


async def test_the_ides_introspection_query_fits_the_limits(db_url, make_key):
    from graphql import get_introspection_query

    query = get_introspection_query(descriptions=True, specified_by_url=True,
                                    directive_is_repeatable=True, schema_description=True,
                                    input_value_deprecation=True)
    async with client_of(db_url, make_key("people:read"), graphql_introspection=True) as client:
        answer = await gql(client, query)
    assert "errors" not in answer, answer.get("errors")
    names = {t["name"] for t in answer["data"]["__schema"]["types"]}
    assert {"Person", "ReadinessReport", "PersonConnection"} <= names
