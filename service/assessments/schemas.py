"""Assessment wire shapes (DESIGN.md): create, the ratings of one rater, the read model and
the audit trail."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from .. import versioning
from ..wire import ExternalId, Key, Strict, VersionNumber
from .roles import RoleName

Status = Literal["draft", "submitted", "finalized", "superseded"]
Cycle = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Evidence = Annotated[str, StringConstraints(max_length=5000)]


class RubricRef(versioning.DocumentRef):
    version: VersionNumber | None = Field(
        None, description="A published version; default: the latest one")


class RubricPin(versioning.VersionPin):
    pass


class AssessmentCreate(Strict):
    person: ExternalId = Field(description="External id of the person assessed")
    rubric: RubricRef | None = Field(
        None, description="Default: the latest published version of the person's rubric")
    target_level: Key | None = Field(None, description="Default: the level after the current")
    cycle: Cycle = Field(description="Review cycle label, e.g. 2026-H2")


class RatingIn(Strict):
    competency: Key
    proficiency: int = Field(ge=0, le=100, description="Within the pinned rubric's scale")
    evidence: Evidence | None = Field(None, description="What the rating rests on (optional; "
                                                        "readiness flags its absence)")


class RatingsUpdate(Strict):
    """Replaces every rating of one rater (rater_role + rater_id); an empty list removes them."""

    rater_role: RoleName
    rater_id: ExternalId | None = Field(
        None, description="Who rated; defaults to the assessed person for `self`")
    ratings: list[RatingIn] = Field(max_length=200)


class Rating(BaseModel):
    competency: str
    rater_role: RoleName
    rater_id: str | None = Field(description="Hidden (null) on peer ratings for the person "
                                             "assessed")
    proficiency: int
    evidence: str | None = None


class AssessmentRead(BaseModel):
    id: uuid.UUID
    person: str = Field(description="External id of the person assessed")
    rubric: RubricPin
    current_level: str
    target_level: str
    cycle: str
    status: Status
    org_unit: str | None = Field(description="The person's org unit when the assessment began")
    ratings: list[Rating]
    supersedes: uuid.UUID | None = None
    superseded_by: uuid.UUID | None = None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    finalized_at: datetime | None = None


class AssessmentEventRead(BaseModel):
    seq: int
    action: Literal["created", "ratings_set", "submitted", "finalized", "superseded"]
    principal: str = Field(description="Who did it (e.g. `key:asc_1a2b3c4d`)")
    at: datetime
    details: dict[str, Any]
