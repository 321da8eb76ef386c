"""SCIM 2.0 at /scim/v2: a sub-application of its own, so that its errors are SCIM Error
messages and its content type ``application/scim+json``. It shares the app's state (engine,
settings, credential checks) and middleware.

Its operations are left out of ``/openapi.json`` on purpose: SCIM clients discover them from
``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` (RFC 7644 section 4), and the
OpenAPI contract promises RFC 9457 problems that SCIM replaces with its own error messages.
The sub-application's own OpenAPI document lists them for the authorisation matrix.
"""

import json
from typing import Annotated, Any

import scim2_models as scim
from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse

from ..auth.deps import require
from ..db import SessionDep, UnitOfWorkRoute
from ..http import Router
from ..problems import UnsupportedMediaType
from ..wire import nul_paths
from . import errors, service
from .resources import (
    MEDIA_TYPE,
    RESOURCE_TYPES,
    SCHEMAS,
    SERVICE_PROVIDER_CONFIG,
    GroupSearch,
    User,
    UserPatch,
    UserSearch,
)

PREFIX = "/scim/v2"
Provisioner = require("scim")
IfMatch = Annotated[str | None, Header(alias="If-Match")]
_JSON_TYPES = {"", "application/json", MEDIA_TYPE}
_SHAPE = ("attributes", "excludedAttributes")
_QUERY = ("filter", "startIndex", "count", *_SHAPE)
Q = scim.Context.RESOURCE_QUERY_RESPONSE

router = Router(route_class=UnitOfWorkRoute)


async def scim_body(request: Request) -> Any:
    """The JSON body (``application/scim+json`` or ``application/json``); not JSON is a 400
    ``invalidSyntax``, a NUL anywhere a 400 ``invalidValue`` (as on every other door)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _JSON_TYPES:
        raise UnsupportedMediaType(f"Send {MEDIA_TYPE} (or application/json), not '{media}'.")
    try:
        document = json.loads(await request.body())
    except (ValueError, RecursionError) as exc:
        raise scim.InvalidSyntaxException(detail="The request body is not valid JSON.") from exc
    if paths := nul_paths(document):
        raise scim.InvalidValueException(
            detail=f"{', '.join(paths)}: must not contain the NUL character (U+0000)")
    return document


Body = Annotated[Any, Depends(scim_body)]


def _query(request: Request, names: tuple[str, ...] = _QUERY) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k in names}


def _base(request: Request) -> str:
    """The absolute URL of /scim/v2 (``base_url`` is the whole app's, behind any proxy)."""
    return str(request.base_url).rstrip("/") + PREFIX


def scim_response(document: dict[str, Any], status: int = 200,
                  headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(document, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def _user_response(user: User, context: scim.Context, status: int = 200,
                   params: Any = None) -> JSONResponse:
    headers = {"ETag": user.meta.version}
    if status == 201:
        headers["Location"] = user.meta.location
    return scim_response(user.model_dump(scim_ctx=context, response_parameters=params),
                         status, headers)


def _shown(params: Any, name: str) -> bool:
    """Whether a response keeps an attribute (so members are loaded only when asked for)."""
    attributes = [str(a) for a in params.attributes or []]
    excluded = [str(a) for a in params.excluded_attributes or []]
    return (not attributes or any(a.split(".")[0].endswith(name) for a in attributes)) \
        and not any(a.endswith(name) for a in excluded)


# --- Users ----------------------------------------------------------------------------------

@router.get("/Users", operation_id="scim_users_list")
def list_users(request: Request, session: SessionDep, principal: Provisioner):
    search = UserSearch.model_validate(_query(request), scim_ctx=scim.Context.SEARCH_REQUEST)
    found = service.list_users(session, search, principal, _base(request))
    return scim_response(found.model_dump(scim_ctx=Q, response_parameters=search))


@router.post("/Users", operation_id="scim_users_create")
def create_user(request: Request, body: Body, session: SessionDep, principal: Provisioner):
    user = User.model_validate(body, scim_ctx=scim.Context.RESOURCE_CREATION_REQUEST)
    user = service.create_user(session, user, principal, _base(request))
    return _user_response(user, scim.Context.RESOURCE_CREATION_RESPONSE, 201)


@router.get("/Users/{user_id}", operation_id="scim_users_get")
def get_user(user_id: str, request: Request, session: SessionDep, principal: Provisioner):
    params = scim.ResponseParameters[User].model_validate(_query(request, _SHAPE))
    user = service.get_user(session, user_id, principal, _base(request))
    return _user_response(user, Q, params=params)


@router.put("/Users/{user_id}", operation_id="scim_users_replace")
def replace_user(user_id: str, request: Request, body: Body, session: SessionDep,
                 principal: Provisioner, if_match: IfMatch = None):
    user = User.model_validate(body, scim_ctx=scim.Context.RESOURCE_REPLACEMENT_REQUEST)
    user = service.replace_user(session, user_id, user, principal, if_match,
                                        _base(request))
    return _user_response(user, scim.Context.RESOURCE_REPLACEMENT_RESPONSE)


@router.patch("/Users/{user_id}", operation_id="scim_users_patch")
def patch_user(user_id: str, request: Request, body: Body, session: SessionDep,
               principal: Provisioner, if_match: IfMatch = None):
    patch = UserPatch.model_validate(body, scim_ctx=scim.Context.RESOURCE_PATCH_REQUEST)
    user = service.patch_user(session, user_id, patch, principal, if_match,
                                      _base(request))
    return _user_response(user, scim.Context.RESOURCE_PATCH_RESPONSE)


@router.delete("/Users/{user_id}", status_code=204, operation_id="scim_users_deactivate")
def deactivate_user(user_id: str, session: SessionDep, principal: Provisioner,
                    if_match: IfMatch = None):
    """Deactivates: people are never deleted, so their assessments keep their subject."""
    service.deactivate_user(session, user_id, principal, if_match)
    return Response(status_code=204)


# --- Groups (org units, read-only) ----------------------------------------------------------

@router.get("/Groups", operation_id="scim_groups_list")
def list_groups(request: Request, session: SessionDep, principal: Provisioner):
    search = GroupSearch.model_validate(_query(request), scim_ctx=scim.Context.SEARCH_REQUEST)
    found = service.list_groups(session, search, principal, _base(request),
                                _shown(search, "members"))
    return scim_response(found.model_dump(scim_ctx=Q, response_parameters=search))


@router.get("/Groups/{group_id}", operation_id="scim_groups_get")
def get_group(group_id: str, request: Request, session: SessionDep, principal: Provisioner):
    params = scim.ResponseParameters[scim.Group].model_validate(_query(request, _SHAPE))
    group = service.get_group(session, group_id, principal, _base(request),
                              _shown(params, "members"))
    return scim_response(group.model_dump(scim_ctx=Q, response_parameters=params))


# --- discovery --------------------------------------------------------------------------------

def _listed(resources) -> dict[str, Any]:
    documents = [r.model_dump(scim_ctx=Q) for r in resources]
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(documents), "startIndex": 1,
            "itemsPerPage": len(documents), "Resources": documents}


@router.get("/ServiceProviderConfig", operation_id="scim_service-provider-config_get")
def service_provider_config(principal: Provisioner):
    service.require_provisioner(principal)
    return scim_response(SERVICE_PROVIDER_CONFIG.model_dump(scim_ctx=Q))


@router.get("/ResourceTypes", operation_id="scim_resource-types_list")
def resource_types(principal: Provisioner):
    service.require_provisioner(principal)
    return scim_response(_listed(RESOURCE_TYPES))


@router.get("/Schemas", operation_id="scim_schemas_list")
def schemas(principal: Provisioner):
    service.require_provisioner(principal)
    return scim_response(_listed(SCHEMAS))


def install(app: FastAPI, guard: list) -> None:
    """Mount SCIM under ``PREFIX``, sharing ``app``'s state; ``guard`` holds the
    dependencies every authenticated route takes."""
    scim_app = FastAPI(title="Ascent SCIM 2.0", openapi_url=None, docs_url=None,
                       redoc_url=None)
    scim_app.state = app.state  # one engine, one settings object, one credential check
    errors.install(scim_app)
    scim_app.include_router(router, dependencies=guard)
    app.mount(PREFIX, scim_app)
