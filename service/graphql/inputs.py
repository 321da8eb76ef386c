"""GraphQL input types, and their conversion into the REST request models: the same pydantic
models validate both, so a value REST refuses with 422 GraphQL refuses with INVALID_INPUT, at
the same field (written as the GraphQL client wrote it, e.g. ``input.ratings[1].proficiency``).
"""

import dataclasses
import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
)
from strawberry.scalars import JSON

from ..assessments.schemas import RubricRef
from ..outlines.schemas import TemplateRef
from ..problems import FieldError, InvalidInput, field_path
from ..readiness.schemas import CohortFilters, PolicyChoice
from .types import OutlineStatus, RaterRole

M = TypeVar("M", bound=BaseModel)


def to_model(model: type[M], value: Any) -> M:
    """Validate a Strawberry input (or a mapping) with a REST model; 422 paths as REST's."""
    data = _plain(value)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("The request has invalid fields.", [
            FieldError(field=field_path(e["loc"]), message=e["msg"]) for e in exc.errors()
        ]) from exc


def _plain(value: Any) -> Any:
    """Inputs as plain data: snake_case keys, enum values; fields left null are left out, so
    the REST model's default applies (as when a JSON body omits them)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {k: _plain(v) for k, v in fields.items()
                if v is not None and v is not strawberry.UNSET}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.value if isinstance(value, Enum) else value


# --- people ------------------------------------------------------------------------------------

@strawberry.input(description="The HRIS sync shape of `PUT /v1/people/{external_id}`")
class PersonInput:
    display_name: str
    email: str | None = None
    org_unit: str | None = None
    manager_external_id: str | None = None
    rubric: str | None = None
    level: str | None = None
    active: bool = True


@strawberry.input
class PeopleFilter:
    org_unit: str | None = None
    manager: str | None = strawberry.field(default=None, description="Manager's external id")
    rubric: str | None = None
    level: str | None = None
    active: bool | None = None
    updated_since: datetime | None = strawberry.field(default=None, description=(
        "Only people changed at or after it (with an offset), oldest change first; keep the "
        "last `endCursor` and pass it as `after` next time (README: Syncing changes)"))


Filter = Annotated[str, StringConstraints(max_length=200)]
KeyFilter = Annotated[str, StringConstraints(max_length=64)]


class PeopleFilters(BaseModel):
    """The bounds REST puts on the query parameters of `GET /v1/people`."""

    model_config = ConfigDict(extra="forbid")
    org_unit: Filter | None = None
    manager: Filter | None = None
    rubric: KeyFilter | None = None
    level: KeyFilter | None = None
    active: bool | None = None
    updated_since: AwareDatetime | None = None


# --- assessments -------------------------------------------------------------------------------

@strawberry.experimental.pydantic.input(model=RubricRef, all_fields=True)
class RubricRefInput:
    pass


@strawberry.input(description="`POST /v1/assessments`")
class AssessmentInput:
    person: str = strawberry.field(description="External id of the person assessed")
    cycle: str
    rubric: RubricRefInput | None = None
    target_level: str | None = None


@strawberry.input
class RatingInput:
    competency: str
    proficiency: int
    evidence: str | None = None


@strawberry.input(description="`PUT /v1/assessments/{id}/ratings`: replaces one rater's "
                               "ratings")
class RatingsInput:
    rater_role: RaterRole
    ratings: list[RatingInput]
    rater_id: str | None = strawberry.field(
        default=None, description="Who rated; defaults to the assessed person for `self`")


# --- readiness ---------------------------------------------------------------------------------

@strawberry.input(description="A rating to add, or to replace where (competency, raterRole, "
                               "raterId) match")
class RatingChangeInput:
    competency: str
    rater_role: RaterRole
    proficiency: float
    rater_id: str | None = None
    evidence: str | None = None


@strawberry.experimental.pydantic.input(
    model=PolicyChoice, all_fields=True,
    description="A scoring policy by name and version (default: the latest)")
class PolicyChoiceInput:
    pass


@strawberry.experimental.pydantic.input(model=CohortFilters, all_fields=True)
class CohortFilter:
    pass


def bounded(model: type[M], bound: Any) -> type[M]:
    """``model`` with every field's value under ``bound``, as REST bounds the query parameters
    it reads ``model`` from."""
    return create_model(f"{model.__name__}Bounds", __config__=ConfigDict(extra="forbid"),
                        **{name: (bound | None, None) for name in model.model_fields})


# The bounds of `GET /v1/cohorts/readiness`.
CohortFilterBounds = bounded(CohortFilters, Filter)


# --- outlines ----------------------------------------------------------------------------------

@strawberry.experimental.pydantic.input(model=TemplateRef, all_fields=True)
class TemplateRefInput:
    pass


@strawberry.input(description="`POST /v1/outlines`")
class OutlineInput:
    template: TemplateRefInput
    title: str
    values: JSON | None = strawberry.field(
        default=None, description="Field key -> value, checked against the template "
                                  "(default: none)")
    person: str | None = None
    assessment_id: uuid.UUID | None = None
    competencies: list[str] = strawberry.field(default_factory=list)
    owner: str | None = None
    status: OutlineStatus = OutlineStatus.draft


# --- pagination ----------------------------------------------------------------------------------

class PageArgs(BaseModel):
    """`first` as REST bounds `limit`."""

    first: int | None = Field(None, ge=1, le=500)
