"""People logic: the HRIS upsert, lookups other domains use, filtered listing, and who may see
whom.

Other domains call ``get_person``, ``find_existing`` and ``upsert_person``; none of them
reads the person table itself. ``confined_to``/``sees``/``visible`` are the one definition
of the person binding: REST routes, GraphQL root fields, every DataLoader and the other
domains (assessments, readiness, outlines, jobs) ask here, so no path can drift from another."""

from collections.abc import Collection, Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from .. import sync
from ..auth.principal import Principal
from ..http import check_if_match, etag, next_page, where_given
from ..models import utcnow
from ..problems import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    field_path,
)
from ..rubrics import service as rubrics
from .models import Person
from .schemas import PersonRead, PersonUpdate

_FIELDS = tuple(f for f in PersonUpdate.model_fields if f != "external_id")


# --- who sees whom ----------------------------------------------------------------------------

def confined_to(principal: Principal | None) -> str | None:
    """The one person this principal may see, or None when it may see everyone.

    A principal bound to a person (a self-service API key, a portal user's JWT) is confined
    to that person; an admin never is (its scopes "say more"), nor is an internal caller
    (``None``)."""
    if principal is None or principal.is_admin:
        return None
    return principal.person


def sees(principal: Principal | None, external_id: str) -> bool:
    """Whether this principal may see the person ``external_id`` (and what is theirs)."""
    me = confined_to(principal)
    return me is None or me == external_id


def visible(query, principal: Principal | None):
    """``query`` (over ``Person``) narrowed to the people this principal may see."""
    me = confined_to(principal)
    return query if me is None else query.where(Person.external_id == me)


# --- reading ---------------------------------------------------------------------------------

def find_person(session: Session, external_id: str) -> Person | None:
    return session.exec(select(Person).where(Person.external_id == external_id)).first()


def get_person(session: Session, external_id: str) -> Person:
    person = find_person(session, external_id)
    if person is None:
        raise NotFound(f"No person with external id '{external_id}'.")
    return person


def find_existing(session: Session, external_ids: set[str]) -> set[str]:
    """Which of these external ids belong to a synced person (active or not)."""
    if not external_ids:
        return set()
    found: set[str] = set()
    ids = sorted(external_ids)
    for start in range(0, len(ids), 500):  # keep IN lists well under backend limits
        chunk = ids[start:start + 500]
        found.update(session.exec(select(Person.external_id)
                                  .where(Person.external_id.in_(chunk))).all())
    return found


def person_etag(person: Person) -> str:
    return etag(person.id.hex[:12], person.row_version)


def to_read(person: Person) -> PersonRead:
    return PersonRead.model_validate(person, from_attributes=True)


def visible_person(session: Session, external_id: str, principal: Principal) -> Person:
    """A person as this principal may see them: self-service principals see only themselves
    (others are 404, so the directory does not leak)."""
    if not sees(principal, external_id):
        raise NotFound(f"No person with external id '{external_id}'.")
    return get_person(session, external_id)


def require_directory_writer(principal: Principal) -> None:
    if confined_to(principal) is not None:
        raise Forbidden("A credential bound to a person cannot change people records.")


def _listed(principal: Principal | None, *, org_unit: str | None, manager: str | None,
            rubric: str | None, level: str | None, active: bool | None):
    return where_given(visible(select(Person), principal), (Person.org_unit, org_unit),
                       (Person.manager_external_id, manager), (Person.rubric, rubric),
                       (Person.level, level), (Person.active, active))


def list_people(session: Session, *, org_unit: str | None = None, manager: str | None = None,
                rubric: str | None = None, level: str | None = None,
                active: bool | None = None, limit: int, after: list | None,
                principal: Principal | None) -> tuple[list[PersonRead], str | None]:
    """``principal`` is required (``None`` only for internal callers): the list is what it
    may see."""
    query = _listed(principal, org_unit=org_unit, manager=manager, rubric=rubric, level=level,
                    active=active).order_by(Person.external_id).limit(limit + 1)
    if after:
        query = query.where(Person.external_id > str(after[0]))
    page, next_cursor = next_page(list(session.exec(query)), limit,
                                  lambda last: [last.external_id])
    return [to_read(p) for p in page], next_cursor


def changed_people(session: Session, since: sync.Position, *, limit: int,
                   principal: Principal | None, **filters: Any) -> sync.Changes:
    """The people this principal may see changed after ``since`` (deactivations included),
    oldest change first (``service/sync.py``); rows are ``Person`` rows."""
    return sync.changes(session, _listed(principal, **filters), Person.updated_at, Person.id,
                        since, limit)


# --- writing ---------------------------------------------------------------------------------

def _validated(external_id: str, data: PersonUpdate | Mapping[str, Any]) -> PersonUpdate:
    """Accept the API model or a plain mapping (bulk import), validated the same way."""
    if not isinstance(data, PersonUpdate):
        try:
            data = PersonUpdate.model_validate(dict(data))
        except ValidationError as exc:
            raise InvalidInput("The person has invalid fields.", [
                FieldError(field=field_path(e["loc"]), message=e["msg"]) for e in exc.errors()
            ]) from exc
    if data.external_id is not None and data.external_id != external_id:
        raise InvalidInput.field("external_id", f"must equal the id in the path ('{external_id}')")
    return data


def check_placement(session: Session, rubric: str | None, level: str | None) -> None:
    """A level must be a level of the latest published version of the person's rubric."""
    if rubric is None:
        if level is not None:
            raise InvalidInput.field("rubric", "a level needs the rubric it belongs to")
        return
    try:
        version = rubrics.get_latest_published(session, rubric)
    except NotFound as exc:
        raise InvalidInput.field("rubric", f"no published rubric '{rubric}'") from exc
    keys = [lv.key for lv in version.levels]
    if level is not None and level not in keys:
        raise InvalidInput.field(
            "level", f"'{level}' is not a level of rubric '{rubric}' "
                     f"(version {version.version}: {', '.join(keys)})")


def sync_person(session: Session, external_id: str, data: PersonUpdate, principal: Principal,
                if_match: str | None = None, identity: Mapping[str, Any] | None = None
                ) -> tuple[Person, bool]:
    """The HRIS sync as REST, GraphQL and SCIM expose it: refused to person-bound principals,
    ``If-Match`` honoured when given, then ``upsert_person``."""
    require_directory_writer(principal)
    if if_match is not None:
        current = find_person(session, external_id)
        if current is None:
            raise PreconditionFailed(f"No person with external id '{external_id}' exists yet.")
        check_if_match(if_match, person_etag(current), required=False)
    return upsert_person(session, external_id, data, identity)


def upsert_person(session: Session, external_id: str, data: PersonUpdate | Mapping[str, Any],
                  identity: Mapping[str, Any] | None = None) -> tuple[Person, bool]:
    """Create or replace; (person, created). Sending what is stored changes nothing, so a
    repeated sync keeps the row version (and the ETag). ``identity`` (user_name, given_name,
    family_name, employee_number: what SCIM writes) is replaced too when given; the HRIS sync
    leaves it alone."""
    data = _validated(external_id, data)
    check_placement(session, data.rubric, data.level)
    values = data.model_dump(include=set(_FIELDS)) | dict(identity or {})
    person = find_person(session, external_id)
    if person is None:
        created = _insert(session, external_id, values)
        if created is not None:
            return created, True
        # Someone created the same person concurrently: this sync becomes an update.
        person = find_person(session, external_id)
        if person is None:  # the clash was on another unique value: a user name (SCIM)
            raise Conflict("Another person took the same user name at the same time.")
    if any(getattr(person, k) != v for k, v in values.items()):
        for key, value in values.items():
            setattr(person, key, value)
        person.updated_at = utcnow()
        session.add(person)
        session.flush()
    return person, False


def _insert(session: Session, external_id: str, values: dict[str, Any]) -> Person | None:
    person = Person(external_id=external_id, **values)
    try:
        with session.begin_nested():  # a savepoint, so a lost race leaves the request usable
            session.add(person)
            session.flush()
    except IntegrityError:  # the rolled-back savepoint also expunged the new row
        return None
    return person


def reports_of(session: Session, manager: str) -> set[str]:
    """External ids of the people whose manager is ``manager`` (direct reports)."""
    return set(session.exec(select(Person.external_id).where(
        Person.manager_external_id == manager)))


# --- batches (GraphQL DataLoaders: one query for a whole page, whatever its size) ---------------

def get_people(session: Session, external_ids: Collection[str], principal: Principal | None
               ) -> dict[str, Person]:
    """The synced people among these external ids that this principal may see, by external id
    (unknown and unseen ones are absent, alike)."""
    if not external_ids:
        return {}
    found = session.exec(visible(select(Person), principal)
                         .where(Person.external_id.in_(sorted(external_ids))))
    return {p.external_id: p for p in found}


def reports_of_many(session: Session, managers: Collection[str], principal: Principal | None
                    ) -> dict[str, list[Person]]:
    """Each manager's direct reports that this principal may see, ordered by external id
    (every manager gets a list)."""
    out: dict[str, list[Person]] = {m: [] for m in managers}
    if managers:
        found = session.exec(visible(select(Person), principal)
                             .where(Person.manager_external_id.in_(sorted(managers)))
                             .order_by(Person.external_id))
        for person in found:
            out[person.manager_external_id].append(person)
    return out
