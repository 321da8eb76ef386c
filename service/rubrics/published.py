"""A published rubric version as one immutable, cached value.

Published versions never change (409 on any attempt), so what other domains need from one
(levels, competencies, scale, expectations, gates, recommendations) is read from the database
once per process and database and shared: assessments validate against it, outlines check
references with it, readiness builds its scoring spec from it. Only the status may change
(published -> retired); it is not part of this value, so callers that care ask for it."""

from dataclasses import dataclass
from functools import cached_property

from sqlmodel import Session, select

from ..cache import LRU, db_key
from ..problems import InvalidInput, NotFound
from ..versioning import DRAFT
from .models import Rubric, RubricVersion
from .schemas import RubricCreate
from .service import get_version, latest_published_number, to_content


@dataclass(frozen=True, eq=False)
class PublishedRubric:
    key: str
    version: int
    doc: RubricCreate  # the full content; shared between callers, so never mutate it

    @cached_property
    def levels(self) -> tuple[str, ...]:
        return tuple(lv.key for lv in self.doc.levels)

    @cached_property
    def competencies(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.doc.competencies)

    @cached_property
    def level_set(self) -> frozenset[str]:
        return frozenset(self.levels)

    @cached_property
    def competency_set(self) -> frozenset[str]:
        return frozenset(self.competencies)

    @property
    def scale_min(self) -> int:
        return self.doc.scale.min

    @property
    def scale_max(self) -> int:
        return self.doc.scale.max

    @property
    def policy(self) -> str:
        return self.doc.policy


_published = LRU(256)


def published_rubric(session: Session, key: str, version: int | None = None,
                     *, field: str = "rubric.version") -> PublishedRubric:
    """The content of a published (or retired) version; the latest published one when
    ``version`` is None. 404 when it does not exist; 422 on ``field`` for a draft."""
    if version is None:
        version = latest_published_number(session, key)
    cache_key = (db_key(session), key, version)
    if (cached := _published.get(cache_key)) is not None:
        return cached
    found = get_version(session, key, version)
    if found.status == DRAFT:  # drafts change: never cached, never used as a pin
        raise InvalidInput.field(field, f"version {version} of '{key}' is a draft; "
                                        "publish it first")
    return _published.put(cache_key, PublishedRubric(key, version, to_content(found, key)))


def status_of(session: Session, key: str, version: int) -> str:
    """The current status of a version (the one part of a published version that changes)."""
    status = session.exec(select(RubricVersion.status).join(Rubric).where(
        Rubric.key == key, RubricVersion.version == version)).first()
    if status is None:
        raise NotFound(f"Rubric '{key}' has no version {version}.")
    return status


def clear_cache() -> None:
    _published.clear()
