"""Root mutations: the REST writes, one code path. Each validates with the REST request model,
checks the same scope, applies the same If-Match rule as its REST route, and calls the same
service function, which enforces the person-bound rules. Each runs in a savepoint of the
request's transaction (``Context.write``): a failing mutation leaves nothing behind."""

import uuid
from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from pydantic import BaseModel

from ..assessments import service as assessments
from ..assessments.schemas import AssessmentCreate, RatingsUpdate
from ..http import check_if_match
from ..outlines import service as outlines
from ..outlines.schemas import OutlineCreate
from ..people import service as people
from ..people.schemas import PersonUpdate
from ..readiness import reports as readiness
from ..readiness.schemas import SimulateRequest
from ..wire import ExternalId
from .errors import arguments
from .inputs import (
    AssessmentInput,
    OutlineInput,
    PersonInput,
    PolicyChoiceInput,
    RatingChangeInput,
    RatingsInput,
    to_model,
)
from .loaders import assessment_of, outline_of, person_of
from .types import Assessment, Info, Outline, Simulation, UpsertPersonResult

IfMatch = Annotated[str | None, strawberry.argument(
    description="The `etag` of the version being changed (REST's `If-Match`)")]


class _PersonKey(BaseModel):
    external_id: ExternalId  # as REST's path parameter


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create or replace a person (the HRIS sync; needs "
                                     "`people:write`). `ifMatch` is honoured when given.")
    async def upsert_person(self, info: Info, external_id: str, input: PersonInput,
                            if_match: IfMatch = None) -> UpsertPersonResult | None:
        ctx = info.context
        principal = ctx.require("people:write")
        with arguments():
            to_model(_PersonKey, {"external_id": external_id})
        with arguments("input"):
            data = to_model(PersonUpdate, input)

        def upsert() -> UpsertPersonResult:
            person, created = people.sync_person(ctx.session, external_id, data, principal,
                                                 if_match)
            return UpsertPersonResult(person=person_of(person), created=created)

        with arguments("input"):
            return await ctx.write(upsert)

    @strawberry.mutation(description="Start a draft assessment (needs `assessments:write`; not "
                                     "for person-bound credentials)")
    async def create_assessment(self, info: Info, input: AssessmentInput) -> Assessment | None:
        return await _create(info, "assessments:write", AssessmentCreate, input,
                             assessments.create_assessment,
                             lambda found: assessment_of(found, info.context))

    @strawberry.mutation(description="Replace one rater's ratings on a draft (needs "
                                     "`assessments:write`). `ifMatch` is required.")
    async def set_ratings(self, info: Info, id: uuid.UUID, input: RatingsInput,
                          if_match: IfMatch = None) -> Assessment | None:
        ctx = info.context
        principal = ctx.require("assessments:write")
        with arguments("input"):
            data = to_model(RatingsUpdate, input)

        def rate() -> Assessment:
            found = assessments.get_assessment(ctx.session, id, principal)
            check_if_match(if_match, assessments.assessment_etag(found))
            return assessment_of(assessments.set_ratings(ctx.session, found, data, principal),
                                 ctx)

        with arguments("input"):
            return await ctx.write(rate)

    @strawberry.mutation(description="`draft -> submitted` (needs `assessments:write`)")
    async def submit_assessment(self, info: Info, id: uuid.UUID, if_match: IfMatch = None
                                ) -> Assessment | None:
        return await _transition(info, assessments.submit, id, if_match)

    @strawberry.mutation(description="`submitted -> finalized`: the report is stored (needs "
                                     "`assessments:write`)")
    async def finalize_assessment(self, info: Info, id: uuid.UUID, if_match: IfMatch = None
                                  ) -> Assessment | None:
        return await _transition(info, assessments.finalize, id, if_match)

    @strawberry.mutation(description="Write an outline from a published template version "
                                     "(needs `outlines:write`)")
    async def create_outline(self, info: Info, input: OutlineInput) -> Outline | None:
        return await _create(info, "outlines:write", OutlineCreate, input,
                             outlines.create_outline, outline_of)

    @strawberry.mutation(description="What-if: the report with these rating changes beside the "
                                     "current one; stores nothing (needs `readiness:read`)")
    async def simulate_readiness(self, info: Info, assessment_id: uuid.UUID,
                                 changes: list[RatingChangeInput],
                                 target_level: str | None = None,
                                 policy: PolicyChoiceInput | None = None) -> Simulation | None:
        ctx = info.context
        principal = ctx.require("readiness:read")
        with arguments():
            body = to_model(SimulateRequest, {"changes": changes, "target_level": target_level,
                                              "policy": policy})
            result = await ctx.run(readiness.simulate, ctx.session, assessment_id, principal,
                                   body)
        return Simulation.of(result)


async def _create(info: Info, scope: str, model: type[BaseModel], input: Any,
                  create: Callable[..., Any], answer: Callable[[Any], Any]) -> Any:
    """``create(session, body, principal)`` with ``input`` read as REST's ``model``; errors
    name the input's fields."""
    ctx = info.context
    principal = ctx.require(scope)
    with arguments("input"):
        data = to_model(model, input)
        return await ctx.write(lambda: answer(create(ctx.session, data, principal)))


async def _transition(info: Info, action, assessment_id: uuid.UUID, if_match: str | None
                      ) -> Assessment:
    ctx = info.context
    principal = ctx.require("assessments:write")

    def move() -> Assessment:
        found = assessments.get_assessment(ctx.session, assessment_id, principal)
        check_if_match(if_match, assessments.assessment_etag(found), required=False)
        return assessment_of(action(ctx.session, found, principal), ctx)

    return await ctx.write(move)
