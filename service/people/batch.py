"""People in batches, for bulk imports: the rules of ``service.upsert_person`` (the
``PersonUpdate`` validation and the placement in a published rubric) applied to many people,
then written with one statement per kind of change instead of one round trip per person.

A bulk file names only some of a person's fields (a CSV has no e-mail column, say), so the
fields given are merged over the stored record: a field left out keeps its value, an explicit
null clears it. The merged record is validated exactly as a ``PUT /v1/people/{id}`` body.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from ..batch_sql import Converter, execute_many, insert_rows
from ..problems import InvalidInput
from .models import Person
from .service import _FIELDS, _validated, check_placement

_IN_CHUNK = 500  # keeps IN lists well under every backend's parameter limit


@dataclass
class PersonState:
    """A person as a batch will leave them: ``values`` are the ``PersonUpdate`` fields."""

    id: uuid.UUID
    external_id: str
    values: dict[str, Any]
    row_version: int | None = None  # stored version; None: not stored yet
    changed: bool = False
    stored: dict[str, Any] = field(default_factory=dict)  # the values as read

    @property
    def new(self) -> bool:
        return self.row_version is None


def load(session: Session, external_ids: Iterable[str]) -> dict[str, PersonState]:
    """The stored people among ``external_ids`` (one query per 500)."""
    ids = sorted(set(external_ids))
    found: dict[str, PersonState] = {}
    columns = [Person.id, Person.external_id, Person.row_version,
               *(getattr(Person, name) for name in _FIELDS)]
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        for row in session.exec(select(*columns).where(Person.external_id.in_(chunk))):
            values = dict(zip(_FIELDS, row[3:], strict=True))
            found[row[1]] = PersonState(row[0], row[1], values, row[2], stored=values)
    return found


class Planner:
    """Validates person records against the same rules as the REST upsert. Placement checks
    are remembered per (rubric, level): a file of 10,000 people names a handful of levels."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._placements: dict[tuple[str | None, str | None], InvalidInput | None] = {}

    def plan(self, current: PersonState | None, external_id: str,
             given: Mapping[str, Any]) -> PersonState:
        """The person after applying ``given`` (raises InvalidInput with field paths)."""
        base = dict(current.values) if current is not None else {}
        data = _validated(external_id, base | dict(given))
        self._check_placement(data.rubric, data.level)
        values = data.model_dump(include=set(_FIELDS))
        if current is None:
            return PersonState(uuid.uuid4(), external_id, values, changed=True)
        changed = any(current.stored.get(k) != v for k, v in values.items())
        return PersonState(current.id, external_id, values, current.row_version, changed,
                           current.stored)

    def _check_placement(self, rubric: str | None, level: str | None) -> None:
        key = (rubric, level)
        if key not in self._placements:
            try:
                check_placement(self.session, rubric, level)
                self._placements[key] = None
            except InvalidInput as exc:
                self._placements[key] = exc
        if (error := self._placements[key]) is not None:
            raise error


_INSERT_COLUMNS = ("id", "external_id", *_FIELDS, "row_version", "created_at", "updated_at")


def write(session: Session, people: Iterable[PersonState], now: datetime) -> None:
    """Insert the new people and update the changed ones. Updates check the row version read
    by ``load`` (a concurrent change raises StaleDataError) and bump it, as the ORM does."""
    conv = Converter(session, Person.__table__)
    at = conv("updated_at", now)
    new, changed = [], []
    for p in people:
        if p.new:
            new.append((conv("id", p.id), p.external_id, *(p.values[k] for k in _FIELDS), 1,
                        at, at))
        elif p.changed:
            changed.append((*(p.values[k] for k in _FIELDS), at, conv("id", p.id),
                            p.row_version))
    insert_rows(session, Person.__table__, _INSERT_COLUMNS, new)
    assignments = ", ".join(f"{k} = ?" for k in _FIELDS)
    execute_many(session, f"UPDATE person SET {assignments}, updated_at = ?, "
                          "row_version = row_version + 1 WHERE id = ? AND row_version = ?",
                 changed, expect=len(changed))


def get_many(session: Session, external_ids: Iterable[str]) -> dict[str, Person]:
    """People by external id (for exports), in one query per 500."""
    ids = sorted(set(external_ids))
    found: dict[str, Person] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        found.update((p.external_id, p) for p in session.exec(
            select(Person).where(Person.external_id.in_(chunk))))
    return found
