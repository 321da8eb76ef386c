"""People's fairness attributes: stored, read and erased here only. Each person reads and
writes their own (a self-service declaration); anyone else needs the fairness scopes, and
every read is audited. Problems never repeat a category sent or stored."""

from collections.abc import Collection

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select

from ..auth.principal import Principal
from ..models import utcnow
from ..people import service as people
from ..problems import Conflict, FieldError, InvalidInput
from . import audit
from .models import PersonAttribute
from .schemas import AttributesRead


def _person(session: Session, principal: Principal, external_id: str) -> str:
    """The person, as this principal may address them (others: 404, as for no one)."""
    return people.visible_person(session, external_id, principal).external_id


def _read(session: Session, external_id: str) -> AttributesRead:
    rows = list(session.exec(select(PersonAttribute).where(PersonAttribute.person == external_id)
                             .order_by(PersonAttribute.name)))
    return AttributesRead(external_id=external_id,
                          attributes={r.name: r.category for r in rows},
                          sources={r.name: r.source for r in rows},
                          updated_at=max((r.updated_at for r in rows), default=None))


def get(session: Session, principal: Principal, external_id: str) -> AttributesRead:
    person = _person(session, principal, external_id)
    audit.record(session, principal.id, "attributes.read", person=person)
    return _read(session, person)


def _errors(values: dict[str, str], allowed: dict[str, list[str]]) -> list[FieldError]:
    """What is wrong with a submission, in words that name the attribute, never the value
    (the value may be what the person wanted kept private, even when mistyped)."""
    names = ", ".join(sorted(allowed))
    unknown = [n for n in values if n not in allowed]
    errors = [FieldError(field="body", message=f"{len(unknown)} attribute name(s) are not "
                                               f"collected here; the names are: {names}")
              ] if unknown else []
    errors += [FieldError(field=name, message="not one of the configured categories of "
                                              f"{name} (see the deployment's settings)")
               for name, category in sorted(values.items())
               if name in allowed and category not in allowed[name]]
    return errors


def put(session: Session, principal: Principal, external_id: str, values: dict[str, str],
        allowed: dict[str, list[str]]) -> AttributesRead:
    """Replace every attribute of the person with ``values``."""
    person = _person(session, principal, external_id)
    errors = _errors(values, allowed)
    if errors:
        raise InvalidInput("Some attributes are not acceptable; nothing was stored.", errors)
    source = "self" if people.confined_to(principal) == person else "provided"
    session.exec(delete(PersonAttribute).where(PersonAttribute.person == person))
    now = utcnow()
    try:
        with session.begin_nested():  # a savepoint: a lost race is a 409, not a broken request
            session.add_all([PersonAttribute(person=person, name=name, category=category,
                                             source=source, updated_at=now)
                             for name, category in values.items()])
            session.flush()
    except IntegrityError as exc:  # another request stored this person's attributes meanwhile
        raise Conflict("The person's attributes were being changed by another request; "
                       "send them again.") from exc
    audit.record(session, principal.id, "attributes.write", person=person,
                 query={"names": sorted(values)})
    return _read(session, person)


def erase(session: Session, principal: Principal, external_id: str) -> None:
    """The right to erasure: every attribute of the person goes (the audit keeps that it did)."""
    person = _person(session, principal, external_id)
    session.exec(delete(PersonAttribute).where(PersonAttribute.person == person))
    audit.record(session, principal.id, "attributes.erase", person=person)


def categories_of(session: Session, names: Collection[str], persons: Collection[str]
                  ) -> dict[str, dict[str, str]]:
    """person -> {attribute name -> category} for these attributes (for the analysis; the
    caller audits the read)."""
    found: dict[str, dict[str, str]] = {}
    wanted = sorted(persons)
    for start in range(0, len(wanted), 500):
        rows = session.exec(select(PersonAttribute.person, PersonAttribute.name,
                                   PersonAttribute.category)
                            .where(PersonAttribute.name.in_(sorted(names)),
                                   PersonAttribute.person.in_(wanted[start:start + 500])))
        for person, name, category in rows:
            found.setdefault(person, {})[name] = category
    return found


def stored_names(session: Session) -> list[str]:
    """The attribute names anyone has declared (what the alert check looks at)."""
    return sorted(session.exec(select(PersonAttribute.name).distinct()))
