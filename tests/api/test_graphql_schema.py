"""The committed GraphQL schema is what the app serves (like openapi/openapi.json)."""

from pathlib import Path

from service.graphql.schema import sdl

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "schema.graphql"


def test_committed_graphql_schema_matches_the_app():
    assert COMMITTED.exists(), "run `make openapi`"
    assert COMMITTED.read_text() == sdl(), (
        "openapi/schema.graphql is stale: run `make openapi` and commit it")


def test_the_schema_offers_what_portals_walk():
    text = sdl()
    for needle in ("people(filter: PeopleFilter = null, first: Int = null, after: String = null)"
                   ": PersonConnection", "type PageInfo", "readiness(targetLevel: String = null)"
                   ": ReadinessReport", "opportunities: [Outline!]", "reports: [Person!]",
                   "cohortReadiness(filter: CohortFilter = null): CohortReadiness",
                   "simulateReadiness("):
        assert needle in text, needle


def test_the_readme_portal_query_is_valid():
    import re

    from graphql import parse, validate

    from service.graphql.schema import build_schema

    readme = (COMMITTED.parents[1] / "README.md").read_text()
    blocks = re.findall(r"```graphql\n(.*?)```", readme, re.S)
    assert blocks, "README shows no GraphQL query"
    for block in blocks:
        assert validate(build_schema()._schema, parse(block)) == []
