"""Searching the directory with a condition tree, for provisioning protocols (SCIM).

A caller describes what it wants over the person's attribute names (``Compare``,
``Present``, ``Not``, ``AllOf``, ``AnyOf``); this module alone turns that into SQL over the
person table, so the protocol's filter runs in the database, page by page, and never reads
the whole directory. Absent values follow SCIM's reading: a comparison on a missing value is
false (``ne`` is true), so ``Not`` is a plain boolean negation.

Org units (what provisioning calls groups) are the distinct ``org_unit`` values; their number,
not the number of people, bounds ``org_units``.
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, not_, or_, true
from sqlmodel import Session, select

from ..auth.principal import Principal
from ..problems import Conflict
from .models import Person
from .service import visible

# What a condition may name: the person's columns, plus ``user_name`` read as the external id
# for people no provisioning has named (every person then has a user name, as SCIM needs).
_COLUMNS = {name: getattr(Person, name) for name in (
    "external_id", "display_name", "email", "org_unit", "manager_external_id", "rubric",
    "level", "active", "given_name", "family_name", "employee_number", "created_at",
    "updated_at")}
_COLUMNS["id"] = Person.id
_COLUMNS["user_name"] = func.coalesce(Person.user_name, Person.external_id)
SEARCHABLE = frozenset(_COLUMNS)
CASE_EXACT = frozenset({"id", "external_id", "manager_external_id", "employee_number"})


@dataclass(frozen=True)
class Compare:
    field: str
    op: str  # eq ne co sw ew gt ge lt le
    value: Any


@dataclass(frozen=True)
class Present:
    field: str


@dataclass(frozen=True)
class Not:
    term: Any


@dataclass(frozen=True)
class AllOf:
    terms: tuple


@dataclass(frozen=True)
class AnyOf:
    terms: tuple


Condition = Compare | Present | Not | AllOf | AnyOf


def _compare(node: Compare):
    column = _COLUMNS[node.field]
    value = node.value
    if isinstance(value, str) and node.field not in CASE_EXACT:
        column, value = func.lower(column), value.lower()
    if node.field == "id":
        try:
            value = uuid.UUID(str(value))
        except ValueError:  # not an id this service issues: it matches nothing
            return true() if node.op == "ne" else ~true()
    if node.op == "ne":
        return or_(column.is_(None), column != value)
    match node.op:
        case "eq":
            test = column == value
        case "co":
            test = column.contains(value, autoescape=True)
        case "sw":
            test = column.startswith(value, autoescape=True)
        case "ew":
            test = column.endswith(value, autoescape=True)
        case "gt":
            test = column > value
        case "ge":
            test = column >= value
        case "lt":
            test = column < value
        case "le":
            test = column <= value
        case _:
            raise ValueError(f"unknown operator {node.op!r}")
    return and_(column.is_not(None), test)  # two-valued, so Not negates it exactly


def where(condition: Condition):
    """The SQL boolean expression for ``condition``."""
    match condition:
        case Compare():
            return _compare(condition)
        case Present(field=name):
            column = _COLUMNS[name]
            return column.is_not(None) if name in ("active", "created_at", "updated_at", "id") \
                else and_(column.is_not(None), column != "")
        case Not(term=term):
            return not_(where(term))
        case AllOf(terms=terms):
            return and_(*(where(t) for t in terms))
        case AnyOf(terms=terms):
            return or_(*(where(t) for t in terms))
    raise TypeError(f"not a condition: {condition!r}")


def search(session: Session, condition: Condition | None, *, offset: int, limit: int,
           principal: Principal | None) -> tuple[list[Person], int]:
    """One page of the people matching ``condition`` that ``principal`` may see, ordered by
    external id, and how many match in all (two queries, whatever the directory's size)."""
    query = visible(select(Person), principal)
    if condition is not None:
        query = query.where(where(condition))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    if limit <= 0:
        return [], total
    page = session.exec(query.order_by(Person.external_id).offset(offset).limit(limit))
    return list(page), total


def find_by_id(session: Session, person_id: str, principal: Principal | None) -> Person | None:
    """A person by Ascent's own id (text; anything that is not one finds no one)."""
    try:
        key = uuid.UUID(person_id)
    except ValueError:
        return None
    return session.exec(visible(select(Person), principal).where(Person.id == key)).first()


def check_user_name(session: Session, user_name: str, external_id: str) -> None:
    """User names are unique, compared without case (a person without one is known by their
    external id): 409 when someone else already holds ``user_name``."""
    holder = session.exec(select(Person.external_id).where(
        func.lower(_COLUMNS["user_name"]) == user_name.lower(),
        Person.external_id != external_id)).first()
    if holder is not None:
        raise Conflict(f"The user name '{user_name}' is already taken.")


@dataclass(frozen=True)
class OrgUnit:
    name: str
    people: int
    created_at: datetime
    updated_at: datetime


def org_units(session: Session) -> list[OrgUnit]:
    """Every org unit some person is in, by name, with when its people were first and last
    written."""
    rows = session.exec(select(Person.org_unit, func.count(), func.min(Person.created_at),
                               func.max(Person.updated_at))
                        .where(Person.org_unit.is_not(None))
                        .group_by(Person.org_unit).order_by(Person.org_unit))
    return [OrgUnit(*row) for row in rows]


def members_of(session: Session, units: Collection[str]) -> dict[str, list[Person]]:
    """The people of each of these org units, ordered by external id (one query)."""
    out: dict[str, list[Person]] = {u: [] for u in units}
    if units:
        for person in session.exec(select(Person).where(Person.org_unit.in_(sorted(units)))
                                   .order_by(Person.external_id)):
            out[person.org_unit].append(person)
    return out
