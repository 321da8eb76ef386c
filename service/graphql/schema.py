"""The schema, its limits, and its SDL (exported to ``openapi/schema.graphql``).

Limits are checked before anything executes: the parser stops at ``MAX_TOKENS``, and
validation refuses documents nested deeper than ``MAX_DEPTH``, with more than
``MAX_ALIASES`` aliases (fragments counted), or with a string literal holding a NUL (the
rule of ``wire.nul_paths``; the router checks variables). Introspection is a setting
(``ASCENT_GRAPHQL_INTROSPECTION``; unset, on only for the embedded default set-up).
"""

from datetime import datetime
from functools import lru_cache, partial

import strawberry
from graphql import GraphQLError, StringValueNode, ValidationRule
from pydantic import TypeAdapter
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from ..wire import NUL, NUL_MESSAGE, nul_error
from .context import MAX_TOKENS
from .errors import map_error
from .mutations import Mutation
from .queries import Query

# people > edges > node > assessments > readiness > topGaps > recommendations > title is 8 deep;
# person > manager > reports > assessments > opportunities > template > key is 7.
MAX_DEPTH = 10
MAX_ALIASES = 30

# Timestamps written exactly as REST (pydantic) writes them, e.g. 2026-07-01T09:30:00.123456Z.
_DATETIME = TypeAdapter(datetime)
DATETIME = strawberry.scalar(
    name="DateTime", description="Date and time in ISO 8601, UTC, as REST writes them",
    serialize=lambda value: _DATETIME.dump_python(value, mode="json"),
    parse_value=_DATETIME.validate_python)


class NoNulLiterals(ValidationRule):
    def enter_string_value(self, node: StringValueNode, *_args) -> None:
        if NUL in node.value:
            self.report_error(GraphQLError(f"A string literal {NUL_MESSAGE}.", node,
                                           original_error=nul_error(["query"])))


class AscentSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        """Strawberry calls this once for every error of every result (pre-execution ones
        included) before the answer is written: the place for the one error mapper."""
        for error in errors:
            map_error(error)


@lru_cache(maxsize=2)
def build_schema(introspection: bool = True) -> AscentSchema:
    # The limiters' rule classes are made once here, not by a limiter per request: the
    # validation cache keys on the rules, so parsing and validating a document the server has
    # seen before (clients send the same few documents) costs a lookup.
    rules = [*QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
             *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules, NoNulLiterals]
    if not introspection:
        rules += DisableIntrospection().validation_rules
    extensions = [
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        partial(AddValidationRules, rules),
        ParserCache,
        ValidationCache,
    ]
    return AscentSchema(query=Query, mutation=Mutation, extensions=extensions,
                        config=StrawberryConfig(scalar_map={datetime: DATETIME}))


def sdl() -> str:
    """The schema in GraphQL SDL, as committed in ``openapi/schema.graphql``."""
    return build_schema().as_str() + "\n"
