"""Root queries: thin, like the REST routes. Each checks the scope its REST twin needs, calls
the same service functions (through ``Context.run``) and shapes the answer."""

import uuid

import strawberry

from .. import sync
from ..calibration import sessions as calibrations
from ..http import decode_cursor, encode_cursor
from ..outlines import service as outlines
from ..people import service as people
from ..problems import NotFound
from ..readiness import cohorts as readiness
from ..readiness.schemas import CohortFilters
from ..rubrics import service as rubrics
from .context import Context
from .errors import arguments
from .inputs import (
    CohortFilter,
    CohortFilterBounds,
    PageArgs,
    PeopleFilter,
    PeopleFilters,
    to_model,
)
from .loaders import outline_of, person_of
from .types import (
    Assessment,
    Calibration,
    CohortReadiness,
    Connection,
    Info,
    Outline,
    Person,
    Rubric,
    RubricSummary,
    Template,
    TemplateSummary,
    VersionStatus,
)


def _page(ctx: Context, first: int | None, after: str | None) -> tuple[int, list | None]:
    """(page size, decoded cursor) under REST's bounds; errors name `first` and `after`."""
    with arguments(renames={"query.cursor": "after"}):
        to_model(PageArgs, {"first": first})
        cursor = decode_cursor(after)
    settings = ctx.settings
    return min(first or settings.page_size_default, settings.page_size_max), cursor


async def _documents(info: Info, scope: str, listing, summary: type[RubricSummary],
                     status: VersionStatus | None, first: int | None, after: str | None
                     ) -> Connection:
    """A page of versioned documents (rubrics, templates) by key."""
    ctx = info.context
    ctx.require(scope)
    limit, cursor = _page(ctx, first, after)
    data, next_cursor = await ctx.run(lambda: listing(
        ctx.session, status=status and status.value, limit=limit, after=cursor))
    return Connection.of([(encode_cursor([s.key]), summary.of(s)) for s in data], next_cursor)


@strawberry.type
class Query:
    @strawberry.field(description="Rubrics by key, with their latest, published and draft "
                                  "version numbers (needs `rubrics:read`)")
    async def rubrics(self, info: Info, status: VersionStatus | None = None,
                      first: int | None = None, after: str | None = None
                      ) -> Connection[RubricSummary] | None:
        return await _documents(info, "rubrics:read", rubrics.list_rubrics, RubricSummary,
                                status, first, after)

    @strawberry.field(description="A rubric version; without `version`, the latest published "
                                  "one (needs `rubrics:read`)")
    async def rubric(self, info: Info, key: str, version: int | None = None) -> Rubric | None:
        info.context.require("rubrics:read")
        return await info.context.loaders.rubric.load((key, version))

    @strawberry.field(description="People ordered by external id, filtered (needs "
                                  "`people:read`; a person-bound credential sees only its "
                                  "own person)")
    async def people(self, info: Info, filter: PeopleFilter | None = None,
                     first: int | None = None, after: str | None = None
                     ) -> Connection[Person] | None:
        ctx = info.context
        principal = ctx.require("people:read")
        limit, cursor = _page(ctx, first, after)
        with arguments("filter"):
            filters = to_model(PeopleFilters, filter or {})
        with arguments(renames={"query.cursor": "after",
                                "query.updated_since": "filter.updatedSince"}):
            since = sync.position(filters.updated_since, cursor)
        chosen = filters.model_dump(exclude={"updated_since"})

        def page() -> tuple[list[tuple[str, Person]], str | None]:
            if since is not None:  # a change list: edges carry (updated_at, id) cursors
                found = people.changed_people(ctx.session, since, limit=limit,
                                              principal=principal, **chosen)
                return [(c, person_of(p)) for c, p in zip(found.cursors, found.rows,
                                                          strict=True)], found.next_cursor
            data, next_cursor = people.list_people(ctx.session, **chosen, limit=limit,
                                                   after=cursor, principal=principal)
            rows = people.get_people(ctx.session, [p.external_id for p in data], principal)
            return [(encode_cursor([p.external_id]), person_of(rows[p.external_id]))
                    for p in data], next_cursor

        edges, next_cursor = await ctx.run(page)
        ctx.loaders.person.prime_many({p.external_id: p for _, p in edges})
        return Connection.of(edges, next_cursor)

    @strawberry.field(description="A person by HRIS id (needs `people:read`; a person-bound "
                                  "credential sees only its own person)")
    async def person(self, info: Info, external_id: str) -> Person | None:
        info.context.require("people:read")
        found = await info.context.loaders.person.load(external_id)
        if found is None:
            raise NotFound(f"No person with external id '{external_id}'.")
        return found

    @strawberry.field(description="An assessment (needs `assessments:read`; a person-bound "
                                  "credential sees its own, and those it rated in)")
    async def assessment(self, info: Info, id: uuid.UUID) -> Assessment | None:
        info.context.require("assessments:read")
        return await info.context.loaders.assessment.load(id)

    @strawberry.field(description="Outline templates by key (needs `templates:read`)")
    async def templates(self, info: Info, status: VersionStatus | None = None,
                        first: int | None = None, after: str | None = None
                        ) -> Connection[TemplateSummary] | None:
        return await _documents(info, "templates:read", outlines.list_templates, TemplateSummary,
                                status, first, after)

    @strawberry.field(description="A template version; without `version`, the latest "
                                  "published one (needs `templates:read`)")
    async def template(self, info: Info, key: str, version: int | None = None
                       ) -> Template | None:
        ctx = info.context
        ctx.require("templates:read")

        def find() -> Template:
            found = (outlines.get_version(ctx.session, key, version) if version is not None
                     else outlines.get_latest_published(ctx.session, key))
            return Template.of(outlines.to_version_read(found))

        return await ctx.run(find)

    @strawberry.field(description="An outline (needs `outlines:read`; a person-bound "
                                  "credential sees those about or owned by its person)")
    async def outline(self, info: Info, id: uuid.UUID) -> Outline | None:
        ctx = info.context
        principal = ctx.require("outlines:read")
        return await ctx.run(lambda: outline_of(outlines.get_outline(ctx.session, id, principal)))

    @strawberry.field(description="Readiness of a population: people per band, the score "
                                  "distribution and a competency x band heat map of mean gaps "
                                  "(needs `readiness:read`)")
    async def cohort_readiness(self, info: Info, filter: CohortFilter | None = None
                               ) -> CohortReadiness | None:
        ctx = info.context
        principal = ctx.require("readiness:read")
        with arguments("filter"):
            filters = CohortFilters(**to_model(CohortFilterBounds, filter or {}).model_dump())
        result = await ctx.run(readiness.cohort, ctx.session, principal, filters)
        return CohortReadiness.of(result.report)

    @strawberry.field(description="Calibration sessions, newest first (needs "
                                  "`calibration:read`; refused to credentials bound to a "
                                  "person)")
    async def calibrations(self, info: Info) -> list[Calibration] | None:
        ctx = info.context
        principal = ctx.require("calibration:read")
        found = await ctx.run(calibrations.list_sessions, ctx.session, principal)
        return [Calibration.of(s) for s in found]

    @strawberry.field(description="A calibration session with its people (needs "
                                  "`calibration:read`; not found for credentials bound to a "
                                  "person)")
    async def calibration(self, info: Info, id: uuid.UUID) -> Calibration | None:
        ctx = info.context
        principal = ctx.require("calibration:read")
        return await ctx.run(lambda: Calibration.of(calibrations.summary(
            calibrations.get(ctx.session, principal, id))))
