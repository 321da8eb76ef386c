"""People wire shapes. ``PersonUpdate`` is the body of ``PUT /v1/people/{external_id}``: it
creates or fully replaces the person (fields left out take their defaults)."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from ..wire import ExternalId, Key, Name, Strict

Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


class PersonBase(BaseModel):
    display_name: Name
    email: Email | None = None
    org_unit: Name | None = None
    manager_external_id: ExternalId | None = Field(
        None, description="The manager's external id; may name someone not synced yet")
    rubric: Key | None = Field(None, description="Key of the rubric the person is on")
    level: Key | None = Field(None, description="Current level: a level key of that rubric")
    active: bool = Field(True, description="false deactivates (people are never deleted)")


class PersonUpdate(PersonBase, Strict):
    """Create or replace a person (the HRIS sync shape)."""

    external_id: ExternalId | None = Field(
        None, description="Optional; when given it must equal the id in the path")


class PersonRead(PersonBase):
    id: uuid.UUID = Field(description="Ascent's own immutable id")
    external_id: str
    created_at: datetime
    updated_at: datetime
