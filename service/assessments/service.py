"""Assessment logic: creation against a pinned published rubric version, one rater's ratings
at a time, the lifecycle ``draft -> submitted -> finalized`` (plus ``supersede``), who may see
what, and the audit trail. Routes call these functions; they never touch the session.

Every change bumps the assessment's row version *first* (an UPDATE that checks the version the
request read), so of two writers holding the same ETag exactly one gets past that statement;
the other gets ``StaleDataError`` (412) before it has touched a rating. The audit event is
written in the same transaction.

Person-bound principals (an API key made with ``--person E123``):
- read the assessments of that person, with peer ratings' ``rater_id`` hidden;
- read someone else's assessment only when they rated in it, and then see only their own
  ratings (its history stays hidden: it would show the other raters);
- list only their own assessments; write only ``self`` ratings on their own draft (403
  otherwise); cannot create assessments or move them through the lifecycle (403).
Anything they may not see is 404, so existence does not leak.
"""

import uuid
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Executable,
    RowMapping,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from .. import events, sync
from ..auth.principal import Principal
from ..http import etag, next_page, where_given
from ..models import utcnow
from ..people import service as people
from ..problems import Conflict, Forbidden, InvalidInput, NotFound
from ..rubrics.published import PublishedRubric, published_rubric, status_of
from . import rules
from .cohort import pack_ratings
from .models import (
    DRAFT,
    FINALIZED,
    SUBMITTED,
    SUPERSEDED,
    Assessment,
    AssessmentEvent,
    Rating,
    StoredRating,
)
from .roles import RaterRole
from .schemas import (
    AssessmentCreate,
    AssessmentEventRead,
    AssessmentRead,
    RatingsUpdate,
    RubricPin,
)
from .schemas import Rating as RatingRead

_ROLE_ORDER = {role.value: role.code for role in RaterRole}  # ratings are listed in code order


# --- who sees what ---------------------------------------------------------------------------

def _sees_all(assessment: Assessment, principal: Principal | None) -> bool:
    """Unrestricted principals, and a person-bound one looking at its own assessment."""
    return people.sees(principal, assessment.person_external_id)


def _can_read(assessment: Assessment, principal: Principal | None) -> bool:
    return _sees_all(assessment, principal) or any(
        r.rater_id == principal.person for r in assessment.ratings)


def _visible_ratings(assessment: Assessment, viewer: Principal | None) -> list[StoredRating]:
    ratings = sorted(assessment.ratings,
                     key=lambda r: (_ROLE_ORDER[r.rater_role], r.rater_id, r.position))
    if _sees_all(assessment, viewer):
        return ratings
    return [r for r in ratings if r.rater_id == viewer.person]


def _shown_rater_id(role: str, rater_id: str | None, viewer: Principal | None) -> str | None:
    """Peer feedback is anonymous to the person assessed."""
    if viewer is not None and viewer.person is not None and role == "peer" \
            and rater_id != viewer.person:
        return None
    return rater_id


def _forbid_person_bound(principal: Principal, action: str) -> None:
    if principal.person is not None:
        raise Forbidden(f"A key bound to a person may only write its own self ratings; it "
                        f"cannot {action}.")


# --- reading ---------------------------------------------------------------------------------

def _not_found(assessment_id: object) -> NotFound:
    return NotFound(f"No assessment with id '{assessment_id}'.")


def get_assessment(session: Session, assessment_id: uuid.UUID | str,
                   principal: Principal | None) -> Assessment:
    """The assessment if this principal may read it, else 404 (``None``: internal callers)."""
    try:
        key = assessment_id if isinstance(assessment_id, uuid.UUID) else uuid.UUID(assessment_id)
    except ValueError as exc:
        raise _not_found(assessment_id) from exc
    found = _rows_to_assessments(session, _BY_ID, {"id": key})
    if not found or not _can_read(load_ratings(session, found)[0], principal):
        raise _not_found(assessment_id)
    return found[0]


def assessment_etag(assessment: Assessment) -> str:
    return etag(assessment.id.hex[:12], assessment.row_version)


def to_read(assessment: Assessment, viewer: Principal | None = None) -> AssessmentRead:
    """The wire shape; ``viewer`` trims it for person-bound principals (see module doc)."""
    return AssessmentRead(
        id=assessment.id, person=assessment.person_external_id,
        rubric=RubricPin(key=assessment.rubric_key, version=assessment.rubric_version),
        current_level=assessment.current_level, target_level=assessment.target_level,
        cycle=assessment.cycle, status=assessment.status, org_unit=assessment.org_unit,
        ratings=[RatingRead(competency=r.competency, rater_role=r.rater_role,
                            rater_id=_shown_rater_id(r.rater_role, r.rater_id, viewer),
                            proficiency=r.proficiency, evidence=r.evidence)
                 for r in _visible_ratings(assessment, viewer)],
        supersedes=assessment.supersedes_id, superseded_by=assessment.superseded_by_id,
        created_at=assessment.created_at, updated_at=assessment.updated_at,
        submitted_at=assessment.submitted_at, finalized_at=assessment.finalized_at,
    )


class ScoringInputs(NamedTuple):
    rubric_key: str
    rubric_version: int
    current_level: str
    target_level: str
    ratings: list[RatingRead]


def scoring_inputs(session: Session, assessment: Assessment) -> ScoringInputs:
    """What readiness scoring needs: the pinned rubric (load it with
    ``rubrics.get_version(session, key, version)``), the two levels and every rating."""
    return ScoringInputs(assessment.rubric_key, assessment.rubric_version,
                         assessment.current_level, assessment.target_level,
                         to_read(assessment).ratings)


def _listed(principal: Principal, *, person: str | None, rubric: str | None,
            status: str | None, cycle: str | None, org_unit: str | None,
            target_level: str | None):
    """The filtered query, or None when a person-bound principal asks for someone else."""
    if (me := people.confined_to(principal)) is not None:
        if person not in (None, me):
            return None
        person = me
    query = select(Assessment)
    return where_given(query, (Assessment.person_external_id, person),
                       (Assessment.rubric_key, rubric), (Assessment.status, status),
                       (Assessment.cycle, cycle), (Assessment.org_unit, org_unit),
                       (Assessment.target_level, target_level))


def list_assessments(session: Session, principal: Principal, *, person: str | None = None,
                     rubric: str | None = None, status: str | None = None,
                     cycle: str | None = None, org_unit: str | None = None,
                     target_level: str | None = None, limit: int, after: list | None
                     ) -> tuple[list[AssessmentRead], str | None]:
    """Oldest first. A person-bound principal lists only its own person's assessments."""
    query = _listed(principal, person=person, rubric=rubric, status=status, cycle=cycle,
                    org_unit=org_unit, target_level=target_level)
    if query is None:
        return [], None
    query = query.order_by(Assessment.created_at, Assessment.id).limit(limit + 1)
    if after:
        created_at, last_id = _cursor_values(after)
        query = query.where(or_(Assessment.created_at > created_at,
                                and_(Assessment.created_at == created_at,
                                     Assessment.id > last_id)))
    page, next_cursor = next_page(_rows_to_assessments(session, query), limit,
                                  lambda last: [last.created_at.isoformat(), last.id.hex])
    return [to_read(a, principal) for a in load_ratings(session, page)], next_cursor


def changed_assessments(session: Session, principal: Principal, since: sync.Position, *,
                        limit: int, **filters: Any) -> sync.Changes:
    """The assessments this principal may list changed after ``since`` (status moves such as
    supersession included), oldest change first (``service/sync.py``)."""
    query = _listed(principal, **filters)
    if query is None:
        return sync.Changes([], [], None, since.cursor())
    found = sync.changes(session, query, Assessment.updated_at, Assessment.id, since, limit)
    return replace(found, rows=[to_read(a, principal) for a in load_ratings(session, found.rows)])


def _cursor_values(after: list) -> tuple[datetime, uuid.UUID]:
    try:
        return datetime.fromisoformat(after[0]), uuid.UUID(after[1])
    except (IndexError, TypeError, ValueError) as exc:
        raise InvalidInput.field("query.cursor", "not a cursor this API issued") from exc


def list_history(session: Session, assessment: Assessment, principal: Principal, *,
                 limit: int, after: list | None
                 ) -> tuple[list[AssessmentEventRead], str | None]:
    if not _sees_all(assessment, principal):
        raise _not_found(assessment.id)  # a rater of someone else sees no one else's actions
    query = (select(AssessmentEvent).where(AssessmentEvent.assessment_id == assessment.id)
             .order_by(AssessmentEvent.seq).limit(limit + 1))
    if after:
        query = query.where(AssessmentEvent.seq > _int(after[0]))
    page, next_cursor = next_page(list(session.exec(query)), limit, lambda last: [last.seq])
    return [AssessmentEventRead(seq=e.seq, action=e.action, principal=e.principal, at=e.at,
                                details=_shown_details(e.details, principal))
            for e in page], next_cursor


def _int(value: Any) -> int:
    if not isinstance(value, int):
        raise InvalidInput.field("query.cursor", "not a cursor this API issued")
    return value


def _shown_details(details: dict[str, Any], viewer: Principal) -> dict[str, Any]:
    if "rater_id" in details:
        shown = _shown_rater_id(details.get("rater_role", ""), details["rater_id"], viewer)
        return details | {"rater_id": shown}
    return details


# --- creating --------------------------------------------------------------------------------

def create_assessment(session: Session, data: AssessmentCreate, principal: Principal
                      ) -> Assessment:
    _forbid_person_bound(principal, "create assessments")
    try:
        person = people.get_person(session, data.person)
    except NotFound as exc:
        raise InvalidInput.field("person", f"no person with external id '{data.person}'; "
                                           "sync them first (PUT /v1/people/{external_id})"
                                 ) from exc
    rubric_key = rules.subject_rubric(person.external_id, active=person.active,
                                      requested=data.rubric.key if data.rubric else None,
                                      default=person.rubric)
    rubric = pinned_rubric(session, rubric_key, data.rubric.version if data.rubric else None)
    current, target = rules.levels(rubric, person.level, data.target_level)
    assessment = Assessment(
        person_id=person.id, person_external_id=person.external_id, org_unit=person.org_unit,
        rubric_key=rubric_key, rubric_version=rubric.version, current_level=current,
        target_level=target, cycle=data.cycle, status=DRAFT)
    assessment.ratings = []
    session.add(assessment)
    session.flush()
    _record(session, assessment, "created", principal, {
        "person": person.external_id, "rubric": {"key": rubric_key, "version": rubric.version},
        "current_level": current, "target_level": target, "cycle": data.cycle})
    return assessment


def pinned_rubric(session: Session, key: str, number: int | None) -> PublishedRubric:
    """The published version a new assessment pins (the latest when ``number`` is None);
    422 on ``rubric.key`` / ``rubric.version`` when there is none to pin."""
    try:
        if number is not None:
            rules.require_pinnable(key, number, status_of(session, key, number))
        return published_rubric(session, key, number)
    except NotFound as exc:
        field = "rubric.version" if number is not None else "rubric.key"
        raise InvalidInput.field(field, exc.detail or "not found") from exc


# --- rating ----------------------------------------------------------------------------------

def set_ratings(session: Session, assessment: Assessment, data: RatingsUpdate,
                principal: Principal) -> Assessment:
    """Replace every rating of one rater (role + id). Nothing changes unless all is valid."""
    rater_id = rules.rater_id(data.rater_role, data.rater_id, assessment.person_external_id)
    if principal.person is not None and not (
            data.rater_role == "self" and principal.person == assessment.person_external_id):
        raise Forbidden("A key bound to a person may only write its own self ratings.")
    _require_status(assessment, DRAFT, "rated")
    rubric = published_rubric(session, assessment.rubric_key, assessment.rubric_version)
    if errors := rules.validate_ratings(rubric, data.ratings):
        raise InvalidInput("Some ratings do not fit the assessment's rubric.", errors)

    rater = (data.rater_role, rater_id)
    mine = [r for r in assessment.ratings if (r.rater_role, r.rater_id) == rater]
    kept = [r for r in assessment.ratings if (r.rater_role, r.rater_id) != rater]
    written = [StoredRating(i, r.competency, data.rater_role, rater_id, r.proficiency,
                            rules.evidence(r.evidence)) for i, r in enumerate(data.ratings)]
    _touch(session, assessment, ratings_packed=pack_ratings(  # first (module doc)
        rubric.competencies, [(r.competency, r.rater_role, r.proficiency)
                              for r in kept + written]))
    # One DELETE (when this rater had ratings) and one multi-row INSERT: the ratings are
    # rows, not objects to track.
    connection = session.connection()
    if mine:
        connection.execute(_DELETE_RATER, {
            "of": assessment.id, "role": data.rater_role, "rater": rater_id})
    _insert_ratings(connection, assessment, written)
    assessment.ratings = kept + written
    _record(session, assessment, "ratings_set", principal, {
        "rater_role": data.rater_role, "rater_id": rater_id,
        "ratings": {r.competency: r.proficiency for r in data.ratings},
        "previous": {r.competency: r.proficiency for r in mine}})
    return assessment


# --- lifecycle -------------------------------------------------------------------------------

def _require_status(assessment: Assessment, allowed: str | set[str], action: str) -> None:
    allowed = {allowed} if isinstance(allowed, str) else allowed
    if assessment.status not in allowed:
        raise Conflict(f"The assessment is {assessment.status}; only a "
                       f"{' or '.join(sorted(allowed))} assessment can be {action}.",
                       current_status=assessment.status)


def _advance(session: Session, assessment: Assessment, principal: Principal, verb: str,
             source: str, target: str, event: Callable[[AssessmentRead], events.Event]
             ) -> Assessment:
    """One step forward in the lifecycle: checked, stamped (``<target>_at``), recorded in the
    history and announced by ``event`` in this transaction."""
    _forbid_person_bound(principal, f"{verb} assessments")
    _require_status(assessment, source, target)
    _touch(session, assessment, status=target, **{f"{target}_at": utcnow()})
    _record(session, assessment, target, principal, {"from": source, "to": target})
    events.emit(session, event(to_read(assessment)))
    return assessment


def submit(session: Session, assessment: Assessment, principal: Principal) -> Assessment:
    # Webhooks write their outbox row from this event (service/events.py).
    return _advance(session, assessment, principal, "submit", DRAFT, SUBMITTED,
                    events.AssessmentSubmitted)


def finalize(session: Session, assessment: Assessment, principal: Principal) -> Assessment:
    # Readiness stores its report snapshot and webhooks their outbox row from this event, in
    # this transaction (service/events.py): a finalized assessment always has both.
    return _advance(session, assessment, principal, "finalize", SUBMITTED, FINALIZED,
                    events.AssessmentFinalized)


def supersede(session: Session, assessment: Assessment, principal: Principal) -> Assessment:
    """A new draft with the same pins and a copy of the ratings; the old one is superseded."""
    _forbid_person_bound(principal, "supersede assessments")
    _require_status(assessment, {SUBMITTED, FINALIZED}, "superseded")
    successor = Assessment(
        person_id=assessment.person_id, person_external_id=assessment.person_external_id,
        org_unit=assessment.org_unit, rubric_key=assessment.rubric_key,
        rubric_version=assessment.rubric_version, current_level=assessment.current_level,
        target_level=assessment.target_level, cycle=assessment.cycle, status=DRAFT,
        supersedes_id=assessment.id, ratings_packed=assessment.ratings_packed)
    successor.ratings = list(assessment.ratings)
    session.add(successor)
    session.flush()  # the successor must exist before the old row points at it
    _insert_ratings(session.connection(), successor, successor.ratings)
    previous_status = assessment.status
    _touch(session, assessment, status=SUPERSEDED, superseded_by_id=successor.id)
    _record(session, assessment, "superseded", principal,
            {"from": previous_status, "to": SUPERSEDED, "by": str(successor.id)})
    _record(session, successor, "created", principal,
            {"supersedes": str(assessment.id), "ratings_copied": len(successor.ratings)})
    return successor


# --- plumbing --------------------------------------------------------------------------------

# Built once and run on the connection: no ORM statement handling for rows no object stands for.
_events, _ratings = AssessmentEvent.__table__, Rating.__table__
_APPEND_EVENT = insert(_events).values(seq=select(func.coalesce(func.max(_events.c.seq), 0) + 1)
                                       .where(_events.c.assessment_id == bindparam("of"))
                                       .scalar_subquery())
_INSERT_RATINGS = insert(_ratings)
_BY_ID = select(Assessment).where(Assessment.id == bindparam("id"))
_new_assessment = sa_inspect(Assessment).class_manager.new_instance
_LOAD_RATINGS = (select(_ratings.c.assessment_id, *(_ratings.c[f] for f in StoredRating._fields))
                 .where(_ratings.c.assessment_id.in_(bindparam("ids", expanding=True)))
                 .order_by(_ratings.c.id))
_LOAD_RATINGS_OF = (select(*(_ratings.c[f] for f in StoredRating._fields))
                    .where(_ratings.c.assessment_id == bindparam("of")).order_by(_ratings.c.id))
# The SET clause is the parameters named after columns (``_touch``).
_UPDATE_ASSESSMENT = update(Assessment.__table__).where(
    Assessment.__table__.c.id == bindparam("of"),
    Assessment.__table__.c.row_version == bindparam("version"))
_DELETE_RATER = delete(_ratings).where(_ratings.c.assessment_id == bindparam("of"),
                                       _ratings.c.rater_role == bindparam("role"),
                                       _ratings.c.rater_id == bindparam("rater"))


def _rows_to_assessments(session: Session, statement: Executable,
                         params: dict[str, Any] | None = None) -> list[Assessment]:
    """The assessments ``statement`` selects, read on the connection as rows and made into
    objects the session does not track. The ORM's loading cost several times the query itself
    (Session.get: 420 us against 90 us), and these objects need none of its bookkeeping: every
    change to an assessment is a statement (``_touch``)."""
    rows = session.connection().execute(statement, params).mappings()
    return [_loaded(row) for row in rows]


def _loaded(row: RowMapping) -> Assessment:
    assessment = _new_assessment()
    assessment.__dict__.update(row)  # as the ORM's loader fills a loaded instance
    return assessment


def load_ratings(session: Session, assessments: list[Assessment]) -> list[Assessment]:
    """Read the ratings of these assessments, in one query; returns ``assessments``."""
    by_id = {a.id: a for a in assessments}
    for a in by_id.values():
        a.ratings = []
    if len(by_id) == 1:  # no IN list to render per call, no assessment id to convert per row
        (one,) = by_id.values()
        one.ratings = [StoredRating._make(row) for row in
                       session.connection().execute(_LOAD_RATINGS_OF, {"of": one.id})]
    elif by_id:
        for row in session.connection().execute(_LOAD_RATINGS, {"ids": list(by_id)}):
            by_id[row[0]].ratings.append(StoredRating._make(row[1:]))
    return assessments


def _insert_ratings(connection: Connection, assessment: Assessment,
                    ratings: list[StoredRating]) -> None:
    if ratings:  # no rows would INSERT one row of defaults
        connection.execute(_INSERT_RATINGS, [{"assessment_id": assessment.id} | r._asdict()
                                             for r in ratings])


def _touch(session: Session, assessment: Assessment, **changes: Any) -> None:
    """UPDATE the row now with ``changes``, bumping and checking the row version: a writer
    that lost the race raises ``StaleDataError`` (412), as the ORM's own check would. One
    statement on the connection; the object then holds the values as committed."""
    version = assessment.row_version
    changes |= {"updated_at": utcnow(), "row_version": version + 1}
    matched = session.connection().execute(
        _UPDATE_ASSESSMENT, {"of": assessment.id, "version": version} | changes).rowcount
    if matched != 1:
        raise StaleDataError(f"assessment {assessment.id} was changed by another request")
    for name, value in changes.items():
        set_committed_value(assessment, name, value)


def _record(session: Session, assessment: Assessment, action: str, principal: Principal,
            details: dict[str, Any]) -> None:
    """Append to the audit trail. Callers have already updated the assessment row, which
    holds its lock on PostgreSQL (and SQLite serialises writers), so ``max(seq) + 1`` is safe;
    the (assessment_id, seq) unique constraint backs that up."""
    session.connection().execute(_APPEND_EVENT, {
        "assessment_id": assessment.id, "of": assessment.id, "action": action,
        "principal": principal.id, "at": utcnow(), "details": details})


# --- batches (GraphQL DataLoaders: one query for a whole page, whatever its size) ---------------

def get_assessments(session: Session, ids: Collection[uuid.UUID], principal: Principal | None
                    ) -> dict[uuid.UUID, Assessment]:
    """The assessments among these ids that this principal may read (as ``get_assessment``
    decides), by id; the others are absent. Ratings come with them (one more query)."""
    if not ids:
        return {}
    found = load_ratings(session, _rows_to_assessments(
        session, select(Assessment).where(Assessment.id.in_(sorted(ids)))))
    return {a.id: a for a in found if _can_read(a, principal)}


def assessments_of_people(session: Session, persons: Collection[str], principal: Principal
                          ) -> dict[str, list[Assessment]]:
    """Each person's assessments, oldest first, as ``list_assessments(person=...)`` lists them:
    a person-bound principal gets only its own person's (everyone else: an empty list)."""
    out: dict[str, list[Assessment]] = {p: [] for p in persons}
    wanted = [p for p in persons if people.sees(principal, p)]
    if wanted:
        found = _rows_to_assessments(session, select(Assessment).where(
            Assessment.person_external_id.in_(sorted(wanted))).order_by(
            Assessment.created_at, Assessment.id))
        for assessment in load_ratings(session, found):
            out[assessment.person_external_id].append(assessment)
    return out
