"""The lifecycle shared by versioned documents (rubrics, outline templates): a stable key owns
numbered versions that go draft -> published -> retired; only a draft changes, so published
content is immutable and a change starts the next version.

Each domain describes its two tables with a ``Versioned`` and keeps what differs (content,
publish validation, events) in its own service.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, select

from .http import encode_cursor
from .models import utcnow
from .problems import Conflict, NotFound

DRAFT, PUBLISHED, RETIRED = "draft", "published", "retired"
Status = Literal["draft", "published", "retired"]


# Read shapes every versioned document lists the same way; each domain subclasses them under
# its own name so the OpenAPI components stay distinct.
class VersionSummaryBase(BaseModel):
    version: int
    status: Status
    name: str
    created_at: datetime
    published_at: datetime | None = None
    retired_at: datetime | None = None


class DocumentSummaryBase(BaseModel):
    key: str
    name: str = Field(description="Name of the latest version")
    description: str
    latest_version: int
    published_version: int | None = Field(description="Latest published version, if any")
    draft_version: int | None = Field(description="The open draft, if any")


@dataclass(frozen=True)
class Versioned:
    parent: Any  # table with `id` and a unique `key`
    version: Any  # table with `version`, `status`, the parent's id and the timestamps below
    parent_id: str  # name of the version table's column holding the parent's id
    noun: str  # "rubric", "template": used in problem details
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

    def _of(self, key: str):
        return (select(self.version).join(self.parent).where(self.parent.key == key)
                .options(*self.loads))

    def get(self, session: Session, key: str, number: int):
        found = session.exec(self._of(key).where(self.version.version == number)).first()
        if found is None:
            self.get_parent(session, key)  # 404 names the document when it is unknown
            raise NotFound(f"{self.noun.title()} '{key}' has no version {number}.")
        return found

    def latest_published(self, session: Session, key: str):
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
        parents = list(session.exec(query))
        page, more = parents[:limit], len(parents) > limit
        summaries = self._summaries(session, summary, [p.id for p in page])
        return ([summaries[p.id] for p in page],
                encode_cursor([page[-1].key]) if more and page else None)

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
