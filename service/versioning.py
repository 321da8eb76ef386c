"""The lifecycle shared by versioned documents (rubrics, outline templates): a stable key owns
numbered versions that go draft -> published -> retired; only a draft changes, so published
content is immutable and a change starts the next version.

Each domain builds its two tables on ``DocumentTable`` and ``VersionTable``, describes them
with a ``Versioned`` and keeps what differs (content, publish validation, events) in its own
service.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import sqlmodel
from pydantic import BaseModel, Field
from sqlalchemy import Text
from sqlmodel import Session, SQLModel, select

from .http import check_if_match, next_page
from .models import UTCDateTime, created_at_field, utcnow
from .problems import Conflict, FieldError, InvalidInput, NotFound
from .wire import Key, Strict, VersionNumber

DRAFT, PUBLISHED, RETIRED = "draft", "published", "retired"
Status = Literal["draft", "published", "retired"]
V = TypeVar("V")
C = TypeVar("C")


# --- tables ----------------------------------------------------------------------------------
# Columns only: each table adds its own parent column, content, row_version counter (the
# mapper's version_id_col needs the table's own Column) and relationships.

class DocumentTable(SQLModel):
    id: int | None = sqlmodel.Field(default=None, primary_key=True)
    key: str = sqlmodel.Field(max_length=64, unique=True)
    created_at: datetime = created_at_field()


class VersionTable(SQLModel):
    id: int | None = sqlmodel.Field(default=None, primary_key=True)
    version: int
    status: str = sqlmodel.Field(default=DRAFT, max_length=16, index=True)
    name: str = sqlmodel.Field(max_length=200)
    description: str = sqlmodel.Field(default="", sa_type=Text, nullable=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    published_at: datetime | None = sqlmodel.Field(default=None, sa_type=UTCDateTime)
    retired_at: datetime | None = sqlmodel.Field(default=None, sa_type=UTCDateTime)


# --- wire ------------------------------------------------------------------------------------


# Read shapes every versioned document lists the same way; each domain subclasses them under
# its own name so the OpenAPI components stay distinct.
class VersionSummaryBase(BaseModel):
    version: int
    status: Status
    name: str
    created_at: datetime
    published_at: datetime | None = None
    retired_at: datetime | None = None


class VersionStamps(BaseModel):
    """What a version's read shape adds to its document: ``class XVersionRead(VersionStamps,
    XCreate)`` lists the document's fields first, then these."""

    version: int
    status: Status
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    retired_at: datetime | None = None


def stamps(version) -> dict[str, Any]:
    """A version row's ``VersionStamps`` fields, to build its read shape."""
    return VersionStamps.model_validate(version, from_attributes=True).model_dump()


class DocumentRef(Strict):
    """A request's reference to a published version of a document."""

    key: Key
    version: VersionNumber | None = Field(None, description="Default: the latest published version")


class VersionPin(BaseModel):
    """The version of a document something was made from (read shapes)."""

    key: str
    version: int


class DocumentSummaryBase(BaseModel):
    key: str
    name: str = Field(description="Name of the latest version")
    description: str
    latest_version: int
    published_version: int | None = Field(description="Latest published version, if any")
    draft_version: int | None = Field(description="The open draft, if any")


@dataclass(frozen=True)
class Versioned(Generic[V]):
    parent: Any  # a DocumentTable
    version: type[V]  # a VersionTable with the parent's id and a relationship to the parent
    parent_id: str  # name of that column; the relationship has the name without "_id"
    noun: str  # "rubric", "template": used in problem details
    etag: Callable[[V], str]  # the version's ETag
    # Loader options for what a version read here comes with (its content, its parent):
    # relationships never load lazily (the models say lazy="raise").
    loads: tuple = ()

    def get_parent(self, session: Session, key: str):
        found = session.exec(select(self.parent).where(self.parent.key == key)).first()
        if found is None:
            raise NotFound(f"No {self.noun} with key '{key}'.")
        return found

    def exists(self, session: Session, key: str) -> bool:
        return session.exec(select(self.parent.id).where(self.parent.key == key)
                            ).first() is not None

    def require_new(self, session: Session, key: str) -> None:
        if self.exists(session, key):
            raise Conflict(f"A {self.noun} with key '{key}' exists; start a new version "
                           "instead.")

    def first_draft(self, session: Session, key: str):
        """Version 1 of a new document, unfilled (409 when the key is taken)."""
        self.require_new(session, key)
        return self.version(**{self._relation: self.parent(key=key)}, version=1, status=DRAFT)

    def next_draft(self, session: Session, key: str) -> tuple[Any, Any]:
        """(latest version, the next one as an unfilled draft); 409 when a draft is open."""
        parent, latest = self.latest_closed(session, key)
        return latest, self.version(**{self._relation: parent}, version=latest.version + 1,
                                    status=DRAFT)

    @property
    def _relation(self) -> str:
        return self.parent_id.removesuffix("_id")  # "template_id" -> the "template" relationship

    def _of(self, key: str):
        return (select(self.version).join(self.parent).where(self.parent.key == key)
                .options(*self.loads))

    def get(self, session: Session, key: str, number: int) -> V:
        found = session.exec(self._of(key).where(self.version.version == number)).first()
        if found is None:
            self.get_parent(session, key)  # 404 names the document when it is unknown
            raise NotFound(f"{self.noun.title()} '{key}' has no version {number}.")
        return found

    def get_matching(self, session: Session, key: str, number: int, if_match: str | None, *,
                     required: bool = False) -> V:
        """The version a change names, if `If-Match` names it too (412 when it names another;
        428 when it is missing and ``required``)."""
        found = self.get(session, key, number)
        check_if_match(if_match, self.etag(found), required=required)
        return found

    def latest_published(self, session: Session, key: str) -> V:
        found = session.exec(self._of(key).where(self.version.status == PUBLISHED)
                             .order_by(self.version.version.desc()).limit(1)).first()
        if found is None:
            self.get_parent(session, key)
            raise NotFound(f"{self.noun.title()} '{key}' has no published version.")
        return found

    def latest_closed(self, session: Session, key: str):
        """(parent, latest version) before starting the next one; 409 when a draft is open."""
        parent = self.get_parent(session, key)
        latest = session.exec(
            select(self.version).where(getattr(self.version, self.parent_id) == parent.id)
            .options(*self.loads).order_by(self.version.version.desc()).limit(1)).one()
        if latest.status == DRAFT:
            raise Conflict(f"{self.noun.title()} '{key}' already has an open draft (version "
                           f"{latest.version}).", draft_version=latest.version)
        return parent, latest

    def list_documents(self, session: Session, summary: type[DocumentSummaryBase], *,
                       status: str | None, limit: int, after: list | None
                       ) -> tuple[list, str | None]:
        """A page of documents by key (those with a version in ``status`` when given)."""
        query = select(self.parent).order_by(self.parent.key).limit(limit + 1)
        if after:
            query = query.where(self.parent.key > str(after[0]))
        if status:
            query = query.where(self.parent.id.in_(
                select(getattr(self.version, self.parent_id))
                .where(self.version.status == status)))
        page, next_cursor = next_page(list(session.exec(query)), limit, lambda last: [last.key])
        summaries = self._summaries(session, summary, [p.id for p in page])
        return [summaries[p.id] for p in page], next_cursor

    def _summaries(self, session: Session, summary: type[DocumentSummaryBase],
                   parent_ids: list[int]) -> dict[int, Any]:
        """One query for all versions of a page of documents (no per-document round trips)."""
        V, parent_id = self.version, getattr(self.version, self.parent_id)
        rows = session.exec(
            select(parent_id, self.parent.key, V.version, V.status, V.name, V.description)
            .join(self.parent).where(parent_id.in_(parent_ids))
            .order_by(parent_id, V.version)
        ).all()
        out: dict[int, Any] = {}
        for owner, key, number, status, name, description in rows:
            previous = out.get(owner)
            out[owner] = summary(
                key=key, name=name, description=description, latest_version=number,
                published_version=number if status == PUBLISHED else (
                    previous.published_version if previous else None),
                draft_version=number if status == DRAFT else (
                    previous.draft_version if previous else None),
            )
        return out

    def list_versions(self, session: Session, key: str, summary: type[VersionSummaryBase]
                      ) -> list:
        parent = self.get_parent(session, key)
        versions = session.exec(
            select(self.version).where(getattr(self.version, self.parent_id) == parent.id)
            .order_by(self.version.version))
        return [summary.model_validate(v, from_attributes=True) for v in versions]


def write(session: Session, version: V, content: C, fill: Callable[[V, C], None]) -> V:
    """(Re)write a draft's content with the domain's ``fill`` and flush it."""
    fill(version, content)
    session.add(version)
    session.flush()
    return version


def publish(session: Session, version, errors: Callable[[], list[FieldError]]) -> None:
    """Publish a draft when ``errors()`` finds no broken rule (else 422 listing them all)."""
    require_draft(version, "published")
    if found := errors():
        raise InvalidInput(f"Version {version.version} cannot be published: "
                           f"{len(found)} problem(s).", found)
    mark_published(session, version)


def require_draft(version, action: str) -> None:
    if version.status != DRAFT:
        raise Conflict(f"Version {version.version} is {version.status}; only a draft can be "
                       f"{action}. Start a new version instead.", current_status=version.status)


def mark_published(session: Session, version) -> None:
    """Stamp a validated draft as published (callers check the draft and their rules)."""
    version.status, version.published_at = PUBLISHED, utcnow()
    version.updated_at = version.published_at
    session.add(version)
    session.flush()


def retire(session: Session, version):
    if version.status != PUBLISHED:
        raise Conflict(f"Version {version.version} is {version.status}; only a published "
                       "version can be retired.", current_status=version.status)
    version.status, version.retired_at = RETIRED, utcnow()
    version.updated_at = version.retired_at
    session.add(version)
    session.flush()
    return version
