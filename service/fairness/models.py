"""Fairness tables, held apart from every other domain's: the attributes people declare (or
the HRIS provides), who read them or the analyses built on them, and the last four-fifths
state of each cycle (so an alert goes out when it is crossed, not on every finalization).

No other table refers to these and no other domain reads them: people reads, assessments,
reports, exports, GraphQL and webhooks cannot carry what they never load."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from ..models import UTCDateTime, created_at_field


class PersonAttribute(SQLModel, table=True):
    """One attribute of one person (e.g. gender -> woman); erased with the person's request."""

    __tablename__ = "fairness_attribute"
    __table_args__ = (UniqueConstraint("person", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    person: str = Field(max_length=200, index=True)  # the person's external id
    name: str = Field(max_length=64)
    category: str = Field(max_length=64)
    source: str = Field(max_length=16)  # "self" (the person's own credential) or "provided"
    updated_at: datetime = created_at_field()


class FairnessAudit(SQLModel, table=True):
    """Append-only: every read (and change) of attributes or fairness results. Holds who,
    when, what and the query's parameters; never an attribute's category."""

    __tablename__ = "fairness_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    principal: str = Field(max_length=200, index=True)
    action: str = Field(max_length=32)
    person: str | None = Field(default=None, max_length=200)  # whose attributes, if one's
    query: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class FourFifthsState(SQLModel, table=True):
    """Per cycle and attribute: which groups stood below four fifths when last checked, and
    the finalized assessments that check saw (a repeat with nothing new is skipped)."""

    __tablename__ = "fairness_state"
    __table_args__ = (UniqueConstraint("cycle", "attribute"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle: str = Field(max_length=64)
    attribute: str = Field(max_length=64)
    below: list[str] = Field(sa_column=Column(JSON, nullable=False))
    seen: str = Field(max_length=200)  # fingerprint of the cycle's finalized assessments
    checked_at: datetime = Field(sa_type=UTCDateTime)
