"""SCIM provisioning rules: Users are people and Groups are org units.

One person, two doors: every write goes through ``people.service.sync_person``, the function
behind ``PUT /v1/people/{external_id}``, so placement on a rubric, e-mail and id rules, the
person binding and If-Match are the same on both. SCIM adds the identity attributes the HRIS
sync leaves alone (userName, name, employeeNumber). ``externalId`` is the HRIS id and never
changes; ``id`` is Ascent's own id. People are never deleted: DELETE deactivates.

Filters become SQL (``filters.py`` -> ``people.directory``); groups are filtered in memory over
the org units, whose number is small whatever the number of people.
"""

import uuid
from collections.abc import Callable
from typing import Any

import scim2_models as scim
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session

from ..auth.principal import Principal
from ..http import check_if_match
from ..people import directory
from ..people import service as people
from ..problems import Forbidden
from ..wire import Name
from . import filters
from .resources import (
    MAX_RESULTS,
    CareerUser,
    EnterpriseUser,
    Group,
    GroupList,
    GroupSearch,
    Manager,
    User,
    UserList,
    UserPatch,
    UserSearch,
)

_GROUP_NAMESPACE = uuid.UUID("6f1b2c1e-3c55-4f43-9a4e-5d0c1a7e2b90")
_GROUP_FILTERABLE = {"id", "displayName", "externalId"}
_LAST_START = 10**9  # a startIndex past any directory: an empty page, not an SQL overflow
_IDENTITY_VALUE = TypeAdapter(Name | None)


def require_provisioner(principal: Principal) -> None:
    """Provisioning reaches the whole directory, so no credential bound to a person may use
    it (whatever it asks, even about that person)."""
    if people.confined_to(principal) is not None:
        raise Forbidden("SCIM provisioning is not open to a credential bound to a person.")


# --- people -> SCIM ---------------------------------------------------------------------------

def user_location(base: str, person_id: uuid.UUID | str) -> str:
    return f"{base}/Users/{person_id}"


def to_user(person: people.Person, managers: dict[str, people.Person], base: str) -> User:
    """The person as a SCIM User. ``managers`` holds the provisioned managers by external id:
    a manager not synced yet is named by their HRIS id."""
    user = User(
        id=str(person.id), external_id=person.external_id,
        user_name=person.user_name or person.external_id,
        display_name=person.display_name, active=person.active,
        meta=scim.Meta(resource_type="User", created=person.created_at,
                       last_modified=person.updated_at, version=people.person_etag(person),
                       location=user_location(base, person.id)))
    if person.given_name or person.family_name:
        formatted = " ".join(p for p in (person.given_name, person.family_name) if p)
        user.name = scim.Name(given_name=person.given_name, family_name=person.family_name,
                              formatted=formatted)
    if person.email:  # stored as the HRIS sent it: not re-validated on the way out
        user.emails = [scim.Email.model_construct(value=person.email, type=scim.Email.Type.work,
                                                  primary=True)]
    manager = None
    if person.manager_external_id:
        known = managers.get(person.manager_external_id)
        manager = Manager(value=person.manager_external_id) if known is None else Manager(
            value=str(known.id), display_name=known.display_name,
            ref=user_location(base, known.id))
    user[EnterpriseUser] = EnterpriseUser(employee_number=person.employee_number,
                                          department=person.org_unit, manager=manager)
    user[CareerUser] = CareerUser(rubric=person.rubric, level=person.level)
    return user


def _users(session: Session, found: list[people.Person], principal: Principal, base: str
           ) -> list[User]:
    wanted = {p.manager_external_id for p in found if p.manager_external_id}
    managers = people.get_people(session, wanted, principal)  # one query for the page
    return [to_user(p, managers, base) for p in found]


def _one_user(session: Session, person: people.Person, principal: Principal, base: str) -> User:
    return _users(session, [person], principal, base)[0]


# --- SCIM -> people ---------------------------------------------------------------------------

def _manager_key(session: Session, principal: Principal) -> Callable[[str], str]:
    """A manager's ``value`` as people store it: an id here names that person, anything
    else is taken as an HRIS id (the manager may not be provisioned yet)."""
    def key(value: str) -> str:
        known = directory.find_by_id(session, value, principal)
        return known.external_id if known is not None else value
    return key


def _identity(user: User) -> dict[str, Any]:
    enterprise = user[EnterpriseUser]
    name = user.name
    values = {"user_name": user.user_name,
              "given_name": name.given_name if name else None,
              "family_name": name.family_name if name else None,
              "employee_number": enterprise.employee_number if enterprise else None}
    for field, value in values.items():
        try:
            _IDENTITY_VALUE.validate_python(value)
        except ValidationError as exc:
            raise scim.InvalidValueException(
                detail=f"{field}: {exc.errors()[0]['msg']} (1 to 200 characters)") from exc
    return values


def _display_name(user: User) -> str | None:
    if user.display_name:
        return user.display_name
    if user.name and user.name.formatted:
        return user.name.formatted
    if user.name and (user.name.given_name or user.name.family_name):
        return " ".join(p for p in (user.name.given_name, user.name.family_name) if p)
    return user.user_name


def _email(user: User) -> str | None:
    emails = user.emails or []
    chosen = next((e for e in emails if e.primary), emails[0] if emails else None)
    return str(chosen.value) if chosen is not None and chosen.value else None


def _person_doc(user: User, external_id: str, manager_key: Callable[[str], str]
                ) -> dict[str, Any]:
    """The ``PUT /v1/people`` body this User stands for (validated there, as any sync)."""
    enterprise, career = user[EnterpriseUser], user[CareerUser]
    manager = enterprise.manager.value if enterprise and enterprise.manager else None
    return {"external_id": external_id, "display_name": _display_name(user),
            "email": _email(user), "org_unit": enterprise.department if enterprise else None,
            "manager_external_id": manager_key(manager) if manager else None,
            "rubric": career.rubric if career else None,
            "level": career.level if career else None,
            "active": True if user.active is None else user.active}


def _write(session: Session, user: User, external_id: str, principal: Principal
           ) -> tuple[people.Person, bool]:
    identity = _identity(user)
    if identity["user_name"]:  # required by the User schema; checked before it is written
        directory.check_user_name(session, identity["user_name"], external_id)
    doc = _person_doc(user, external_id, _manager_key(session, principal))
    return people.sync_person(session, external_id, doc, principal, identity=identity)


def _existing(session: Session, user_id: str, principal: Principal) -> people.Person:
    person = directory.find_by_id(session, user_id, principal)
    if person is None:
        raise scim.NotFoundException(detail=f"No User with id '{user_id}'.")
    return person


def _keep_external_id(user: User, person: people.Person) -> None:
    if user.external_id not in (None, person.external_id):
        raise scim.MutabilityException(
            detail="externalId is the HRIS id: it cannot change once provisioned.")


# --- operations -------------------------------------------------------------------------------

def _page(search: scim.SearchRequest) -> tuple[int, int]:
    """(startIndex, count) as served: 1-based, at most ``MAX_RESULTS`` a page (RFC 7644
    3.4.2.4: a count below 0 is 0, a start below 1 is 1)."""
    start = min(max(search.start_index or 1, 1), _LAST_START)
    count = MAX_RESULTS if search.count is None else max(search.count, 0)
    return start, min(count, MAX_RESULTS)


def get_user(session: Session, user_id: str, principal: Principal, base: str) -> User:
    require_provisioner(principal)
    return _one_user(session, _existing(session, user_id, principal), principal, base)


def list_users(session: Session, search: UserSearch, principal: Principal, base: str
               ) -> UserList:
    require_provisioner(principal)
    condition = filters.to_condition(search.filter, _manager_key(session, principal))
    start, count = _page(search)
    found, total = directory.search(session, condition, offset=start - 1, limit=count,
                                    principal=principal)
    return UserList(total_results=total, start_index=start, items_per_page=len(found),
                    resources=_users(session, found, principal, base) if found else None)


def create_user(session: Session, user: User, principal: Principal, base: str) -> User:
    require_provisioner(principal)
    enterprise = user[EnterpriseUser]
    external_id = user.external_id or (enterprise.employee_number if enterprise else None)
    if not external_id:
        raise scim.InvalidValueException(
            detail="externalId is required: it is the person's HRIS id (employeeNumber is "
                   "taken when externalId is absent).")
    if people.find_person(session, external_id) is not None:
        raise scim.UniquenessException(
            detail=f"A person with externalId '{external_id}' already exists; find them "
                   f"with filter=externalId eq \"{external_id}\" and PUT or PATCH instead.")
    person, _ = _write(session, user, external_id, principal)
    return _one_user(session, person, principal, base)


def replace_user(session: Session, user_id: str, user: User, principal: Principal,
                 if_match: str | None, base: str) -> User:
    require_provisioner(principal)
    person = _existing(session, user_id, principal)
    check_if_match(if_match, people.person_etag(person), required=False)
    _keep_external_id(user, person)
    person, _ = _write(session, user, person.external_id, principal)
    return _one_user(session, person, principal, base)


def patch_user(session: Session, user_id: str, patch: UserPatch, principal: Principal,
               if_match: str | None, base: str) -> User:
    """The PATCH operations applied (by scim2-models) to the User as stored, then written as
    a replacement: the same checks as PUT, and nothing written when nothing changed."""
    require_provisioner(principal)
    person = _existing(session, user_id, principal)
    check_if_match(if_match, people.person_etag(person), required=False)
    user = _one_user(session, person, principal, base)
    if patch.patch(user):
        _keep_external_id(user, person)
        person, _ = _write(session, user, person.external_id, principal)
        user = _one_user(session, person, principal, base)
    return user


def deactivate_user(session: Session, user_id: str, principal: Principal,
                    if_match: str | None) -> None:
    """DELETE: people are never deleted (their assessments keep their subject)."""
    require_provisioner(principal)
    person = _existing(session, user_id, principal)
    check_if_match(if_match, people.person_etag(person), required=False)
    doc = people.to_read(person).model_dump(include=set(people.PersonUpdate.model_fields))
    people.sync_person(session, person.external_id, doc | {"active": False}, principal)


# --- groups: org units, read-only -------------------------------------------------------------

def group_id(unit: str) -> str:
    return str(uuid.uuid5(_GROUP_NAMESPACE, unit))


def _group(unit: directory.OrgUnit, base: str) -> Group:
    return Group(id=group_id(unit.name), display_name=unit.name, meta=scim.Meta(
        resource_type="Group", created=unit.created_at, last_modified=unit.updated_at,
        location=f"{base}/Groups/{group_id(unit.name)}"))


def _with_members(session: Session, groups: list[Group], base: str) -> None:
    members = directory.members_of(session, [g.display_name for g in groups])
    for group in groups:
        group.members = [scim.GroupMember(value=str(p.id), display=p.display_name, type="User",
                                          ref=user_location(base, p.id))
                         for p in members[group.display_name]] or None


def list_groups(session: Session, search: GroupSearch, principal: Principal, base: str,
                with_members: bool) -> GroupList:
    require_provisioner(principal)
    groups = [_group(u, base) for u in directory.org_units(session)]
    if search.filter is not None:
        named = {n.rsplit(":", 1)[-1].split(".")[0] for n in
                 filters.attribute_names(search.filter.ast)}
        if not named <= _GROUP_FILTERABLE:
            raise scim.InvalidFilterException(
                detail="Groups may be filtered on id, displayName and externalId only.")
        groups = [g for g in groups if search.filter.match(g)]
    start, count = _page(search)
    page = groups[start - 1:start - 1 + count]
    if with_members:
        _with_members(session, page, base)
    return GroupList(total_results=len(groups), start_index=start, items_per_page=len(page),
                     resources=page or None)


def get_group(session: Session, group_id_: str, principal: Principal, base: str,
              with_members: bool) -> Group:
    require_provisioner(principal)
    found = [_group(u, base) for u in directory.org_units(session)
             if group_id(u.name) == group_id_]
    if not found:
        raise scim.NotFoundException(detail=f"No Group with id '{group_id_}'.")
    if with_members:
        _with_members(session, found, base)
    return found[0]
