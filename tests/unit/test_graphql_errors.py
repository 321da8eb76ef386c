"""The pure parts of the GraphQL layer: error mapping, field paths, mutation detection."""

import json

from graphql import GraphQLError

from service.graphql.context import _has_mutation
from service.graphql.errors import UNEXPECTED, graphql_path, map_error
from service.problems import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized


def test_service_paths_become_the_paths_the_client_wrote():
    assert graphql_path("target_level", "input") == "input.targetLevel"
    assert graphql_path("ratings[1].proficiency", "input") == "input.ratings[1].proficiency"
    assert graphql_path("rubric.version", "input") == "input.rubric.version"
    assert graphql_path("changes[0].rater_role") == "changes[0].raterRole"
    # Keys inside an outline's values are the template's own field keys.
    assert graphql_path("values.target_date", "input") == "input.values.target_date"
    assert graphql_path("values.skills_to_gain[1]", "input") == "input.values.skills_to_gain[1]"
    assert graphql_path("query.cursor", renames={"query.cursor": "after"}) == "after"
    assert graphql_path("", "input") == "input"


def located(original: Exception) -> GraphQLError:
    return GraphQLError("raw", path=["field"], original_error=original)


def test_domain_errors_get_their_code_and_status():
    cases = [(NotFound("gone"), "NOT_FOUND", 404), (Conflict("busy"), "CONFLICT", 409),
             (Forbidden("no", scope="people:read"), "FORBIDDEN", 403),
             (Unauthorized("who?"), "UNAUTHENTICATED", 401),
             (InvalidInput.field("input.level", "bad"), "INVALID_INPUT", 422)]
    for original, code, status in cases:
        error = located(original)
        map_error(error)
        assert (error.extensions["code"], error.extensions["status"]) == (code, status)
        assert error.message == original.detail
    forbidden = located(Forbidden("no", scope="people:read"))
    map_error(forbidden)
    assert forbidden.extensions["scope"] == "people:read"
    invalid = located(InvalidInput.field("input.level", "bad"))
    map_error(invalid)
    assert invalid.extensions["errors"] == [{"field": "input.level", "message": "bad"}]


def test_anything_else_is_masked():
    error = located(KeyError("password=hunter2"))
    map_error(error)
    assert error.message == UNEXPECTED and "hunter2" not in json.dumps(error.formatted)
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "status": 500}
    assert error.original_error is None


def test_mutations_are_told_apart_from_queries():
    def body(query):
        return json.dumps({"query": query}).encode()

    assert _has_mutation(body("mutation { upsertPerson { created } }"))
    assert _has_mutation(body("query A { a } mutation B { b }"))
    assert _has_mutation(json.dumps([{"query": "{ a }"}, {"query": "mutation { b }"}]).encode())
    assert not _has_mutation(body("{ people { edges { cursor } } }"))
    assert not _has_mutation(body("query { mutation }"))
    assert not _has_mutation(b"not json")
    assert not _has_mutation(body("mutation {"))  # it will not run: no write lock needed
