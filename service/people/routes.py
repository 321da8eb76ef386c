from typing import Annotated

from fastapi import Path, Query, Request, Response

from .. import sync
from ..auth.deps import require
from ..db import SessionDep, UnitOfWorkRoute
from ..http import Cursor, IfMatch, Limit, Router, page_params, set_link_header
from ..problems import PROBLEM_RESPONSES, responses
from ..sync import SyncPage, UpdatedSince
from ..wire import EXTERNAL_ID_PATTERN
from . import service
from .schemas import PersonRead, PersonUpdate

router = Router(prefix="/v1/people", tags=["people"], responses=PROBLEM_RESPONSES,
                route_class=UnitOfWorkRoute)

Reader = require("people:read")
Writer = require("people:write")
ExternalIdPath = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN,
                                     description="The person's HRIS employee id")]
Filter = Annotated[str | None, Query(max_length=200)]


def _answer(response: Response, person) -> PersonRead:
    response.headers["ETag"] = service.person_etag(person)
    return service.to_read(person)


@router.get("", response_model=SyncPage[PersonRead], operation_id="people_list")
def list_people(
    request: Request, response: Response, session: SessionDep, principal: Reader,
    org_unit: Filter = None,
    manager: Annotated[str | None, Query(max_length=200,
                                         description="Manager's external id")] = None,
    rubric: Annotated[str | None, Query(max_length=64)] = None,
    level: Annotated[str | None, Query(max_length=64)] = None,
    active: Annotated[bool | None, Query(description="Only active (or inactive) people")
                      ] = None,
    updated_since: UpdatedSince = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """People ordered by external id, filtered; cursor paginated. With `updated_since` (or a
    `sync_cursor`): the people changed since, oldest change first, deactivations included. A
    credential bound to a person sees only that person."""
    page = page_params(request, limit, cursor)
    filters = {"org_unit": org_unit, "manager": manager, "rubric": rubric, "level": level,
               "active": active}
    if (since := sync.position(updated_since, page.after)) is not None:
        return sync.answer(request, response, service.changed_people(
            session, since, limit=page.limit, principal=principal, **filters), service.to_read)
    data, next_cursor = service.list_people(session, **filters, limit=page.limit,
                                            after=page.after, principal=principal)
    set_link_header(request, response, next_cursor)
    return SyncPage(data=data, next_cursor=next_cursor)


@router.get("/{external_id}", response_model=PersonRead, operation_id="people_get")
def get_person(external_id: ExternalIdPath, response: Response, session: SessionDep,
               principal: Reader):
    return _answer(response, service.visible_person(session, external_id, principal))


@router.put("/{external_id}", response_model=PersonRead, operation_id="people_upsert",
            responses={201: {"model": PersonRead, "description": "Created"},
                       **responses(412)})
def upsert_person(external_id: ExternalIdPath, data: PersonUpdate, response: Response,
                  session: SessionDep, principal: Writer, if_match: IfMatch = None):
    """Create (201) or replace (200) a person: the HRIS sync. Sending the stored values again
    changes nothing (same ETag). `If-Match` is honoured when given. Deactivate with
    `"active": false`; people are never deleted, so their assessments keep their subject."""
    person, created = service.sync_person(session, external_id, data, principal, if_match)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/v1/people/{external_id}"
    return _answer(response, person)
