"""Assessments in batches, for bulk imports: plan many assessments against the same rules as
``create_assessment`` / ``set_ratings`` / ``submit`` / ``finalize``, then write them with a
few statements per batch (``COPY`` / ``executemany``) instead of a few round trips per rating.

What the per-assessment functions do, a batch does too: the rubric version is pinned by
``service.pinned_rubric`` and every rule of an assessment (the subject's rubric and levels, the
target level, who rates, ratings against the pinned version, evidence) comes from ``rules``,
the module both writers call; every change is written to the audit trail (``created``,
``ratings_set`` per rater, ``submitted``, ``finalized``), ``ratings_packed`` is kept with
``pack_ratings``, updates of stored rows check and bump the row version, and
``assessment.submitted`` / ``assessment.finalized`` are emitted with the payload the lifecycle
functions emit (so readiness snapshots and webhook outbox rows follow, in the same
transaction).

A file names an assessment by (person, cycle). When that person has a current (not superseded)
assessment in that cycle, the import updates it instead of starting another: a draft gets the
named raters' ratings replaced (as ``PUT .../ratings`` does, rater by rater); a submitted or
finalized one is frozen, so the file must repeat its ratings unchanged. Importing the same
file twice therefore changes nothing the second time.
"""

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func
from sqlmodel import Session, select

from .. import events
from ..batch_sql import Converter, execute_many, insert_rows
from ..people.batch import PersonState
from ..problems import FieldError, InvalidInput
from ..rubrics.published import PublishedRubric, published_rubric
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
)
from .models import StoredRating as RatingRow  # not this module's StoredRating tuples
from .service import pinned_rubric, to_read

STAGE = {DRAFT: 0, SUBMITTED: 1, FINALIZED: 2}
_IN_CHUNK = 500


class RatingLike(Protocol):
    competency: str
    rater_role: str
    rater_id: str | None
    proficiency: int
    evidence: str | None


@dataclass
class Request:
    """One assessment as a file asks for it; ``person`` is already planned (people.batch)."""

    person: PersonState
    cycle: str
    ratings: Sequence[RatingLike]
    rubric_key: str | None = None
    rubric_version: int | None = None
    target_level: str | None = None
    status: str = DRAFT  # the status it should reach: draft | submitted | finalized


# (competency, rater_role, rater_id, proficiency, evidence, position)
StoredRating = tuple[str, str, str, int, str | None, int]


@dataclass
class Existing:
    id: uuid.UUID
    person_id: uuid.UUID
    org_unit: str | None
    rubric_key: str
    rubric_version: int
    current_level: str
    target_level: str
    status: str
    row_version: int
    created_at: datetime
    submitted_at: datetime | None
    finalized_at: datetime | None
    last_seq: int = 0
    ratings: list[StoredRating] = field(default_factory=list)


@dataclass
class Plan:
    """What to write for one assessment."""

    request: Request
    existing: Existing | None
    id: uuid.UUID
    version: PublishedRubric  # the pinned version
    current_level: str
    target_level: str
    org_unit: str | None
    status: str
    replaced: dict[tuple[str, str], list[RatingLike]]  # rater -> their new ratings
    ratings: list[StoredRating]  # every rating once written
    created_at: datetime | None = None

    @property
    def new(self) -> bool:
        return self.existing is None

    @property
    def changes(self) -> bool:
        return self.new or bool(self.replaced) or self.status != self.existing.status


class Planner:
    """Validates a batch of requests. New pins are looked up once per job; the versions are
    ``PublishedRubric`` values, detached from any session (batches outlive rollbacks)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._pins: dict[tuple[str, int | None], PublishedRubric | InvalidInput] = {}
        self._last_created: datetime | None = None

    # --- rubric versions -------------------------------------------------------------------

    def _pinned(self, key: str, number: int | None) -> PublishedRubric:
        if (key, number) not in self._pins:
            try:
                self._pins[key, number] = pinned_rubric(self.session, key, number)
            except InvalidInput as exc:
                self._pins[key, number] = exc
        found = self._pins[key, number]
        if isinstance(found, InvalidInput):
            raise found
        return found

    # --- what is stored ----------------------------------------------------------------------

    def existing(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[Existing]]:
        """Current (not superseded) assessments per (person, cycle), with ratings and the last
        audit sequence number, in a few queries for the whole batch."""
        keys = set(keys)
        persons = sorted({p for p, _ in keys})
        found: dict[tuple[str, str], list[Existing]] = defaultdict(list)
        by_id: dict[uuid.UUID, Existing] = {}
        A = Assessment
        for start in range(0, len(persons), _IN_CHUNK):
            rows = self.session.exec(select(
                A.person_external_id, A.cycle, A.id, A.person_id, A.org_unit, A.rubric_key,
                A.rubric_version, A.current_level, A.target_level, A.status, A.row_version,
                A.created_at, A.submitted_at, A.finalized_at,
            ).where(A.person_external_id.in_(persons[start:start + _IN_CHUNK]),
                    A.status != SUPERSEDED))  # by person only: that index is the selective one
            for person, cycle, *values in rows:
                if (person, cycle) in keys:
                    found[person, cycle].append(item := Existing(*values))
                    by_id[item.id] = item
        ids = list(by_id)
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start:start + _IN_CHUNK]
            for aid, seq in self.session.exec(
                    select(AssessmentEvent.assessment_id, func.max(AssessmentEvent.seq))
                    .where(AssessmentEvent.assessment_id.in_(chunk))
                    .group_by(AssessmentEvent.assessment_id)):
                by_id[aid].last_seq = seq or 0
            for aid, *rating in self.session.exec(
                    select(Rating.assessment_id, Rating.competency, Rating.rater_role,
                           Rating.rater_id, Rating.proficiency, Rating.evidence, Rating.position)
                    .where(Rating.assessment_id.in_(chunk)).order_by(Rating.id)):
                by_id[aid].ratings.append(tuple(rating))
        return found

    # --- planning ----------------------------------------------------------------------------

    def plan(self, req: Request, matches: list[Existing], now: datetime) -> Plan:
        """Raises InvalidInput whose field paths are those of a JSON line (``rubric.key``,
        ``target_level``, ``ratings[3].proficiency``, ...)."""
        if len(matches) > 1:
            raise InvalidInput.field("cycle", (
                f"'{req.person.external_id}' has {len(matches)} current assessments in cycle "
                f"'{req.cycle}'; an import cannot tell which one to update"))
        existing = matches[0] if matches else None
        if existing is None:
            version, current, target = self._new_pins(req)
        else:
            version, current, target = self._kept_pins(req, existing)
        replaced = self._raters(req, version)
        plan = Plan(req, existing, existing.id if existing else uuid.uuid4(), version, current,
                    target, existing.org_unit if existing else req.person.values["org_unit"],
                    DRAFT, {}, [])
        stored = existing.ratings if existing else []
        if stored:  # raters whose stored ratings are exactly these need no change
            replaced = {rater: new for rater, new in replaced.items()
                        if not _same(rater, new, stored)}
        if replaced and existing is not None and existing.status != DRAFT:
            raise InvalidInput.field("ratings", (
                f"the current assessment of this person in this cycle is {existing.status}; "
                "its ratings can no longer change (supersede it to re-rate)"))
        plan.replaced = replaced
        plan.ratings = [r for r in stored if (r[1], r[2]) not in replaced] if stored else []
        for (role, rater_id), new in replaced.items():
            plan.ratings.extend((r.competency, role, rater_id, r.proficiency,
                                 rules.evidence(r.evidence), i) for i, r in enumerate(new))
        # Statuses only move forward: asking for less than an assessment has is no change.
        plan.status = max(existing.status if existing else DRAFT, req.status,
                          key=STAGE.__getitem__)
        if existing is None:
            self._last_created = max(now, (self._last_created or now) + timedelta(microseconds=1))
            plan.created_at = self._last_created  # file order is list order
        return plan

    def _new_pins(self, req: Request) -> tuple[PublishedRubric, str, str]:
        """The checks of ``create_assessment``, on the person as this batch leaves them."""
        person = req.person
        key = rules.subject_rubric(person.external_id, active=person.values["active"],
                                   requested=req.rubric_key, default=person.values["rubric"])
        version = self._pinned(key, req.rubric_version)
        return version, *rules.levels(version, person.values["level"], req.target_level)

    def _kept_pins(self, req: Request, existing: Existing) -> tuple[PublishedRubric, str, str]:
        """An assessment keeps its pins; a file naming others means another assessment."""
        errors = []
        if req.rubric_key is not None and req.rubric_key != existing.rubric_key:
            errors.append(FieldError(field="rubric.key", message=(
                f"the current assessment of this person in this cycle pins rubric "
                f"'{existing.rubric_key}'")))
        if req.rubric_version is not None and req.rubric_version != existing.rubric_version:
            errors.append(FieldError(field="rubric.version", message=(
                f"the current assessment of this person in this cycle pins version "
                f"{existing.rubric_version}")))
        if req.target_level is not None and req.target_level != existing.target_level:
            errors.append(FieldError(field="target_level", message=(
                f"the current assessment of this person in this cycle targets "
                f"'{existing.target_level}'; supersede it to assess for another level")))
        if errors:
            raise InvalidInput("The file disagrees with the stored assessment.", errors)
        # Stored pins stay valid once their version is retired: no status check here.
        return (published_rubric(self.session, existing.rubric_key, existing.rubric_version),
                existing.current_level, existing.target_level)

    def _raters(self, req: Request, version: PublishedRubric
                ) -> dict[tuple[str, str], list[RatingLike]]:
        """Ratings per rater, checked as ``set_ratings`` checks one rater's list."""
        person = req.person.external_id
        groups: dict[tuple[str, str], list[int]] = {}
        errors: list[FieldError] = []
        for i, r in enumerate(req.ratings):
            try:
                rater_id = rules.rater_id(r.rater_role, r.rater_id, person,
                                          field=f"ratings[{i}].rater_id")
            except InvalidInput as exc:
                errors.extend(exc.errors)
                continue
            groups.setdefault((r.rater_role, rater_id), []).append(i)
        for indexes in groups.values():
            errors.extend(rules.validate_ratings(version, [req.ratings[i] for i in indexes],
                                                 positions=indexes))
        if errors:
            errors.sort(key=lambda e: _index(e.field))
            raise InvalidInput("Some ratings do not fit the assessment's rubric.", errors)
        return {rater: [req.ratings[i] for i in indexes] for rater, indexes in groups.items()}

def _index(path: str) -> int:
    return int(path[8:path.index("]")]) if path.startswith("ratings[") else -1


def _same(rater: tuple[str, str], new: Sequence[RatingLike], stored: list[StoredRating]
          ) -> bool:
    """Whether a rater's stored ratings are these (order aside)."""
    return sorted((r.competency, r.proficiency, rules.evidence(r.evidence)) for r in new) == sorted(
        (c, p, ev) for c, role, rater_id, p, ev, _ in stored if (role, rater_id) == rater)


# --- writing ---------------------------------------------------------------------------------

_ASSESSMENT_COLUMNS = (
    "id", "person_id", "person_external_id", "org_unit", "rubric_key", "rubric_version",
    "current_level", "target_level", "cycle", "status", "row_version", "created_at",
    "updated_at", "submitted_at", "finalized_at", "ratings_packed")
_RATING_COLUMNS = ("assessment_id", "position", "competency", "rater_role", "rater_id",
                   "proficiency", "evidence")
_EVENT_COLUMNS = ("assessment_id", "seq", "action", "principal", "at", "details")


class _Writer:
    """Collects the rows of a batch, then writes each table in one statement."""

    def __init__(self, session: Session, principal: str, job: str, now: datetime) -> None:
        self.session, self.principal, self.job, self.now = session, principal, job, now
        self.a = Converter(session, Assessment.__table__)
        self.at = self.a("updated_at", now)
        self.inserts: list[tuple] = []
        self.updates: list[tuple] = []
        self.deletes: list[tuple] = []
        self.ratings: list[tuple] = []
        self.events: list[tuple] = []

    def add(self, plan: Plan) -> None:
        aid = self.a("id", plan.id)
        existing = plan.existing
        seq = existing.last_seq if existing else 0
        packed = pack_ratings(plan.version.competencies, [(r[0], r[1], r[3]) for r in plan.ratings])
        submitted_at = self._stamp(existing.submitted_at if existing else None, plan.status,
                                   SUBMITTED)
        finalized_at = self._stamp(existing.finalized_at if existing else None, plan.status,
                                   FINALIZED)
        if existing is None:
            person = plan.request.person
            self.inserts.append((
                aid, self.a("person_id", person.id), person.external_id, plan.org_unit,
                plan.version.key, plan.version.version, plan.current_level, plan.target_level,
                plan.request.cycle, plan.status, 1, self.a("created_at", plan.created_at),
                self.at, self.a("submitted_at", submitted_at),
                self.a("finalized_at", finalized_at), packed))
            seq = self._event(aid, seq, "created", {
                "person": person.external_id,
                "rubric": {"key": plan.version.key, "version": plan.version.version},
                "current_level": plan.current_level, "target_level": plan.target_level,
                "cycle": plan.request.cycle, "job": self.job})
        else:
            self.updates.append((plan.status, self.at, self.a("submitted_at", submitted_at),
                                 self.a("finalized_at", finalized_at), packed, aid,
                                 existing.row_version))
        for (role, rater_id), new in plan.replaced.items():
            if existing is not None:
                self.deletes.append((aid, role, rater_id))
            self.ratings.extend((aid, i, r.competency, role, rater_id, r.proficiency,
                                 rules.evidence(r.evidence)) for i, r in enumerate(new))
            previous = {r[0]: r[3] for r in (existing.ratings if existing else ())
                        if (r[1], r[2]) == (role, rater_id)}
            seq = self._event(aid, seq, "ratings_set", {
                "rater_role": role, "rater_id": rater_id,
                "ratings": {r.competency: r.proficiency for r in new}, "previous": previous,
                "job": self.job})
        stage = STAGE[existing.status] if existing else 0
        if stage < 1 <= STAGE[plan.status]:
            seq = self._event(aid, seq, "submitted", {"from": DRAFT, "to": SUBMITTED})
        if stage < 2 <= STAGE[plan.status]:
            seq = self._event(aid, seq, "finalized", {"from": SUBMITTED, "to": FINALIZED})

    def _stamp(self, stored: datetime | None, status: str, stage: str) -> datetime | None:
        if stored is not None:
            return stored
        return self.now if STAGE[status] >= STAGE[stage] else None

    def _event(self, aid, seq: int, action: str, details: dict[str, Any]) -> int:
        # The JSON column's own encoding (json.dumps), written compactly.
        self.events.append((aid, seq + 1, action, self.principal, self.at,
                            json.dumps(details, separators=(",", ":"))))
        return seq + 1

    def flush(self) -> None:
        s = self.session
        insert_rows(s, Assessment.__table__, _ASSESSMENT_COLUMNS, self.inserts)
        execute_many(s, "UPDATE assessment SET status = ?, updated_at = ?, submitted_at = ?, "
                        "finalized_at = ?, ratings_packed = ?, row_version = row_version + 1 "
                        "WHERE id = ? AND row_version = ?", self.updates,
                     expect=len(self.updates))
        execute_many(s, "DELETE FROM rating WHERE assessment_id = ? AND rater_role = ? "
                        "AND rater_id = ?", self.deletes)
        insert_rows(s, Rating.__table__, _RATING_COLUMNS, self.ratings)
        insert_rows(s, AssessmentEvent.__table__, _EVENT_COLUMNS, self.events)


def write(session: Session, plans: Sequence[Plan], *, principal: str, job: str,
          now: datetime) -> None:
    """Write the planned changes (people first: see people.batch.write), then announce the
    lifecycle moves exactly as ``submit`` and ``finalize`` do."""
    writer = _Writer(session, principal, job, now)
    changing = [p for p in plans if p.changes]
    for plan in changing:
        writer.add(plan)
    writer.flush()
    for plan in changing:
        stage = STAGE[plan.existing.status] if plan.existing else 0
        if stage < 1 <= STAGE[plan.status]:
            events.emit(session, events.AssessmentSubmitted(
                to_read(_transient(plan, SUBMITTED, now))))
        if stage < 2 <= STAGE[plan.status]:
            events.emit(session, events.AssessmentFinalized(
                to_read(_transient(plan, FINALIZED, now))))


def _transient(plan: Plan, status: str, now: datetime) -> Assessment:
    """An unsaved Assessment as it stands after a lifecycle move, so the event payload is
    built by the same ``to_read`` the lifecycle functions use."""
    existing, person = plan.existing, plan.request.person
    transient = Assessment(
        id=plan.id, person_id=person.id, person_external_id=person.external_id,
        org_unit=plan.org_unit, rubric_key=plan.version.key,
        rubric_version=plan.version.version, current_level=plan.current_level,
        target_level=plan.target_level, cycle=plan.request.cycle, status=status,
        created_at=existing.created_at if existing else plan.created_at, updated_at=now,
        submitted_at=(existing.submitted_at if existing and existing.submitted_at else now),
        finalized_at=now if status == FINALIZED else None)
    transient.ratings = [RatingRow(pos, c, role, rater, p, ev)
                         for c, role, rater, p, ev, pos in plan.ratings]
    return transient
