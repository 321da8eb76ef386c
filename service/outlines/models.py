"""Outline tables: a template (stable key) has numbered versions, each with its ordered field
definitions; an outline is a document written from one pinned template version.

Field definitions are stored as one JSON list per version rather than as child rows: they are
always read and written whole, never queried one by one, and a published version never changes.
An outline's competency links get a table of their own because lists are filtered by them."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, UniqueConstraint, Uuid
from sqlmodel import Field, Relationship, SQLModel

from .. import versioning
from ..models import created_at_field, row_version_column
from ..versioning import DRAFT, PUBLISHED, RETIRED  # noqa: F401  (re-exported)

ACTIVE, DONE, DROPPED = "active", "done", "dropped"  # outline statuses besides DRAFT


class Template(versioning.DocumentTable, table=True):
    __tablename__ = "outline_template"

    versions: list["TemplateVersion"] = Relationship(back_populates="template")


_template_row_version = row_version_column()


class TemplateVersion(versioning.VersionTable, table=True):
    __tablename__ = "outline_template_version"
    __table_args__ = (UniqueConstraint("template_id", "version"),)
    __mapper_args__ = {"version_id_col": _template_row_version}

    template_id: int = Field(sa_column=Column(
        Integer, ForeignKey("outline_template.id", ondelete="CASCADE"), nullable=False,
        index=True))
    fields: list[dict[str, Any]] = Field(default_factory=list,
                                         sa_column=Column(JSON, nullable=False))
    row_version: int | None = Field(default=None, sa_column=_template_row_version)

    # lazy="raise" here and below: queries load what they use (service.DOCS, service._OUTLINE).
    template: Template = Relationship(back_populates="versions",
                                      sa_relationship_kwargs={"lazy": "raise"})


_outline_row_version = row_version_column()


class Outline(SQLModel, table=True):
    __tablename__ = "outline"
    __table_args__ = (Index("ix_outline_updated_at_id", "updated_at", "id"),)  # change lists
    __mapper_args__ = {"version_id_col": _outline_row_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    template_version_id: int = Field(sa_column=Column(
        Integer, ForeignKey("outline_template_version.id", ondelete="RESTRICT"),
        nullable=False, index=True))
    title: str = Field(max_length=200)
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=DRAFT, max_length=16, index=True)
    owner: str | None = Field(default=None, max_length=200, index=True)
    person: str | None = Field(default=None, max_length=200, index=True)
    # A reference into the assessments domain, kept as a plain column (no foreign key): domains
    # never reach into each other's tables.
    assessment_id: uuid.UUID | None = Field(default=None, sa_column=Column(
        Uuid, nullable=True, index=True))
    # Copied from values.quadrant so lists can filter on the prioritisation quadrant.
    quadrant: str | None = Field(default=None, max_length=64, index=True)
    created_by: str = Field(max_length=200)
    row_version: int | None = Field(default=None, sa_column=_outline_row_version)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()

    template_version: TemplateVersion = Relationship(sa_relationship_kwargs={"lazy": "raise"})
    competency_links: list["OutlineCompetency"] = Relationship(
        sa_relationship_kwargs={"order_by": "OutlineCompetency.position",
                                "cascade": "all, delete-orphan", "lazy": "raise"})

    @property
    def competencies(self) -> list[str]:
        return [link.competency for link in self.competency_links]


class OutlineCompetency(SQLModel, table=True):
    __tablename__ = "outline_competency"

    id: int | None = Field(default=None, primary_key=True)
    outline_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("outline.id", ondelete="CASCADE"), nullable=False, index=True))
    position: int
    competency: str = Field(max_length=64, index=True)
