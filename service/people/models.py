"""The person table: one row per HRIS employee, keyed for integrators by ``external_id``.

``id`` is our own immutable identity (assessments point at it), so an assessment keeps its
subject whatever happens to the HRIS record; people are deactivated, never deleted."""

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from ..models import created_at_field, row_version_column

_person_row_version = row_version_column()


class Person(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (Index("ix_person_updated_at_id", "updated_at", "id"),)  # change lists
    __mapper_args__ = {"version_id_col": _person_row_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    external_id: str = Field(max_length=200, unique=True, description="The HRIS employee id")
    display_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    org_unit: str | None = Field(default=None, max_length=200, index=True)
    # May name someone not synced yet (HR systems sync in any order), so no foreign key.
    manager_external_id: str | None = Field(default=None, max_length=200, index=True)
    rubric: str | None = Field(default=None, max_length=64, index=True,
                               description="Key of the rubric the person is on")
    level: str | None = Field(default=None, max_length=64, index=True)
    active: bool = Field(default=True, index=True)
    # Identity attributes that provisioning (SCIM) writes and the HRIS sync leaves alone.
    user_name: str | None = Field(default=None, max_length=200, unique=True)
    given_name: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)
    employee_number: str | None = Field(default=None, max_length=200)
    row_version: int | None = Field(default=None, sa_column=_person_row_version)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
