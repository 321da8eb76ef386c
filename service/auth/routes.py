from typing import Annotated

from fastapi import Path

from ..db import SessionDep, UnitOfWorkRoute
from ..http import Router
from ..problems import PROBLEM_RESPONSES, responses
from . import service
from .deps import AdminDep
from .schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead

router = Router(prefix="/v1/api-keys", tags=["api-keys"], responses=PROBLEM_RESPONSES,
                route_class=UnitOfWorkRoute)


@router.post("", status_code=201, response_model=ApiKeyCreated, operation_id="api-keys_create",
             responses=responses(409))
def create_api_key(data: ApiKeyCreate, session: SessionDep, _: AdminDep):
    """Create an API key. The secret is in this answer only; it is stored as a hash.
    (`Idempotency-Key` is not honoured here: replaying would mean storing the secret.)"""
    key, secret = service.create_key(session, data)
    return ApiKeyCreated(**ApiKeyRead.model_validate(key).model_dump(), secret=secret)


@router.get("", response_model=list[ApiKeyRead], operation_id="api-keys_list")
def list_api_keys(session: SessionDep, _: AdminDep, include_revoked: bool = False):
    return service.list_keys(session, include_revoked=include_revoked)


@router.post("/{key_id}/revoke", response_model=ApiKeyRead, operation_id="api-keys_revoke",
             responses=responses(409))
def revoke_api_key(key_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep,
                   _: AdminDep):
    return service.revoke_key(session, key_id)
