"""Assessment tables: an assessment pins a person, a published rubric version and two levels;
it owns its ratings and an append-only audit trail (``assessment_event``).

The rubric is pinned by key + version number (published versions never change) and the
person's external id and org unit are copied at creation, so reading or listing assessments
never needs another domain's tables."""

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlmodel import Field, SQLModel

from ..models import UTCDateTime, created_at_field, row_version_column, utcnow

DRAFT, SUBMITTED, FINALIZED, SUPERSEDED = "draft", "submitted", "finalized", "superseded"


def _assessment_link() -> Any:
    return Field(default=None, sa_column=Column(Uuid, ForeignKey("assessment.id"), nullable=True))


_assessment_row_version = row_version_column()


class Assessment(SQLModel, table=True):
    __tablename__ = "assessment"
    __table_args__ = (Index("ix_assessment_updated_at_id", "updated_at", "id"),)  # change lists
    __mapper_args__ = {"version_id_col": _assessment_row_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # person_id anchors the subject; the external id is copied (it is immutable in this API)
    # so answers and filters need no lookup in the people domain.
    person_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("person.id"), nullable=False,
                                                  index=True))
    person_external_id: str = Field(max_length=200, index=True)
    # Snapshot at creation, like the levels: a cycle is reviewed in the org it happened in.
    org_unit: str | None = Field(default=None, max_length=200, index=True)
    rubric_key: str = Field(max_length=64, index=True)
    rubric_version: int
    current_level: str = Field(max_length=64)
    target_level: str = Field(max_length=64, index=True)
    cycle: str = Field(max_length=64, index=True)
    status: str = Field(default=DRAFT, max_length=16, index=True)
    supersedes_id: uuid.UUID | None = _assessment_link()
    superseded_by_id: uuid.UUID | None = _assessment_link()
    row_version: int | None = Field(default=None, sa_column=_assessment_row_version)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False,
                                 index=True)  # list order
    updated_at: datetime = created_at_field()
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finalized_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Derived copy of the ratings for cohort scoring (see cohort.pack_ratings): reading 10k of
    # these beats joining and converting hundreds of thousands of rating rows. NULL: unknown.
    ratings_packed: bytes | None = Field(default=b"", sa_column=Column(LargeBinary,
                                                                       nullable=True))

    @property
    def ratings(self) -> list["StoredRating"]:
        """The ratings as ``service.load_ratings`` read them: plain rows, not ORM objects (one
        query, no unit of work to track them; they are written by statements). Unloaded
        ratings raise rather than load by accident."""
        try:
            return self.__dict__["_ratings"]
        except KeyError:
            raise AttributeError("ratings were not loaded (service.load_ratings)") from None

    @ratings.setter
    def ratings(self, ratings: list["StoredRating"]) -> None:
        self.__dict__["_ratings"] = ratings


class StoredRating(NamedTuple):
    """A row of ``rating`` as readers use it (its columns but the ids)."""

    position: int
    competency: str
    rater_role: str
    rater_id: str
    proficiency: int
    evidence: str | None


class Rating(SQLModel, table=True):
    """One rater's proficiency for one competency; a rater is (rater_role, rater_id)."""

    __tablename__ = "rating"
    __table_args__ = (UniqueConstraint("assessment_id", "rater_role", "rater_id", "competency"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("assessment.id", ondelete="CASCADE"), nullable=False, index=True))
    position: int = Field(description="Order within the rater's submitted list")
    competency: str = Field(max_length=64)
    rater_role: str = Field(max_length=16)
    rater_id: str = Field(max_length=200)
    proficiency: int
    evidence: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class AssessmentEvent(SQLModel, table=True):
    """Append-only audit trail, written in the transaction of the change it records."""

    __tablename__ = "assessment_event"
    __table_args__ = (UniqueConstraint("assessment_id", "seq"),
                      Index("ix_assessment_event_at", "at"))  # retention: purged by age

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: uuid.UUID = Field(sa_column=Column(
        Uuid, ForeignKey("assessment.id", ondelete="CASCADE"), nullable=False))
    seq: int
    action: str = Field(max_length=32)
    principal: str = Field(max_length=200)
    at: datetime = created_at_field()
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
