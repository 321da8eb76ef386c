"""Template and outline wire shapes. ``TemplateCreate`` is also the default-content document.

Shapes and types are checked here (422 on any request). The cross-field rules of a template
(unique keys, enum options, sane bounds, known rubrics) are checked when a version is
published, so a draft can be built up in steps. Outline values are checked against their
template version by ``service.validate_values``."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from .. import versioning
from ..wire import ExternalId, Key, Name, Strict, Text, Uuid

# Field keys are snake_case so that they read well in paths such as ``values.target_date``.
FieldKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Option = Key
Status = versioning.Status
OutlineStatus = Literal["draft", "active", "done", "dropped"]
FieldType = Literal["text", "markdown", "enum", "date", "integer", "list", "competency",
                    "level", "person"]

TEXT_LIMIT = 100_000  # the most any text field may allow (max_length)


class TemplateField(Strict):
    key: FieldKey
    label: Name
    type: FieldType
    required: bool = False
    help: Text = ""
    options: list[Option] | None = Field(
        None, max_length=100, description="The allowed values of an `enum` field")
    multiple: bool = Field(
        False, description="`enum`, `competency`, `level` and `person` fields: the value is a "
                           "list of such values")
    min: int | None = Field(None, ge=-1_000_000_000, le=1_000_000_000,
                            description="Lowest allowed value of an `integer` field")
    max: int | None = Field(None, ge=-1_000_000_000, le=1_000_000_000,
                            description="Highest allowed value of an `integer` field")
    max_length: int | None = Field(
        None, ge=1, le=TEXT_LIMIT,
        description="Longest `text` or `markdown` value, or `list` item, in characters")
    max_items: int | None = Field(None, ge=1, le=1000,
                                  description="Most items of a `list` or `multiple` field")
    rubric: Key | None = Field(
        None, description="`competency` and `level` fields: the rubric whose latest published "
                          "version the values must belong to")
    group: Name | None = Field(
        None, description="Heading shared by consecutive fields that belong together, "
                          "e.g. the parts of a target condition")


class TemplateContent(Strict):
    name: Name
    description: Text = ""
    fields: list[TemplateField] = Field(default_factory=list, max_length=100)


class TemplateCreate(TemplateContent):
    """A template document: what create takes and what the default content files hold."""

    key: Key


class TemplateUpdate(TemplateContent):
    """Full replacement of a draft's content."""


class TemplateVersionRead(versioning.VersionStamps, TemplateCreate):
    pass


class TemplateVersionSummary(versioning.VersionSummaryBase):
    pass


class TemplateSummary(versioning.DocumentSummaryBase):
    pass


class TemplateRef(versioning.DocumentRef):
    pass


class PinnedTemplate(versioning.VersionPin):
    pass


class OutlineContent(Strict):
    title: Name
    values: dict[str, Any] = Field(
        default_factory=dict, max_length=200,
        description="Field key -> value, checked against the template version's fields")
    person: ExternalId | None = Field(None, description="The person the outline is about")
    assessment_id: Uuid | None = Field(None, description="The assessment it came from")
    competencies: list[Key] = Field(
        default_factory=list, max_length=50,
        description="Competency keys the outline works on (competency values are added)")
    owner: ExternalId | None = Field(
        None, description="External id of the person accountable. Left out: unchanged on "
                          "update; on create the caller's own person, else `person`")


class OutlineCreate(OutlineContent):
    template: TemplateRef
    status: Literal["draft", "active"] = "draft"


class OutlineUpdate(OutlineContent):
    """Full replacement of an outline's content (the template version stays pinned)."""


class OutlineStatusChange(Strict):
    status: OutlineStatus


class OutlineRead(BaseModel):
    id: uuid.UUID
    template: PinnedTemplate
    title: str
    status: OutlineStatus
    values: dict[str, Any]
    person: str | None
    assessment_id: uuid.UUID | None
    competencies: list[str]
    owner: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
