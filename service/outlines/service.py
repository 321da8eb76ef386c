"""Outline logic: template lifecycle (draft -> published -> retired) and publish validation,
outlines written from a published template version (values checked, rendered, moved through
their statuses), and the default templates. Routes call these functions; they never touch the
session. Other domains are reached through their service functions only."""

import uuid
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import and_, or_
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from .. import sync, versioning
from ..assessments import service as assessments
from ..auth.principal import Principal
from ..http import etag, next_page, where_given
from ..models import utcnow
from ..people import service as people
from ..problems import Conflict, FieldError, Forbidden, InvalidInput, NotFound, field_path
from ..rubrics.published import PublishedRubric, published_rubric
from . import render as rendering
from .models import (
    ACTIVE,
    DONE,
    DRAFT,
    DROPPED,
    PUBLISHED,
    Outline,
    OutlineCompetency,
    Template,
    TemplateVersion,
)
from .schemas import (
    OutlineContent,
    OutlineCreate,
    OutlineRead,
    PinnedTemplate,
    TemplateContent,
    TemplateCreate,
    TemplateField,
    TemplateRef,
    TemplateSummary,
    TemplateVersionRead,
    TemplateVersionSummary,
)
from .validation import RubricLookup, check_values, definition_errors

CONTENT_DIR = Path(__file__).parent / "content"

# Where an outline may go from each status. Closed outlines can be brought back: a finished one
# reopened (active), a dropped one revived as a draft.
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({ACTIVE, DROPPED}),
    ACTIVE: frozenset({DONE, DROPPED}),
    DONE: frozenset({ACTIVE}),
    DROPPED: frozenset({DRAFT}),
}
EDITABLE = frozenset({DRAFT, ACTIVE})


# === templates ===============================================================================

def version_etag(version: TemplateVersion) -> str:
    return etag(version.template.key, version.version, version.row_version)


DOCS = versioning.Versioned(Template, TemplateVersion, "template_id", "template", version_etag,
                            loads=(selectinload(TemplateVersion.template),))
get_version, get_matching, get_latest_published = DOCS.get, DOCS.get_matching, DOCS.latest_published
# An outline comes with its template version (and that version's template) and its links.
_OUTLINE = (selectinload(Outline.template_version).selectinload(TemplateVersion.template),
            selectinload(Outline.competency_links))


def _outlines():
    return select(Outline).options(*_OUTLINE)


def fields_of(version: TemplateVersion) -> list[TemplateField]:
    return [TemplateField.model_validate(f) for f in version.fields]


def to_content(version: TemplateVersion) -> TemplateCreate:
    return TemplateCreate(key=version.template.key, name=version.name,
                          description=version.description, fields=fields_of(version))


def to_version_read(version: TemplateVersion) -> TemplateVersionRead:
    return TemplateVersionRead(**to_content(version).model_dump(), **versioning.stamps(version))


def list_templates(session: Session, *, status: str | None, limit: int, after: list | None
                   ) -> tuple[list[TemplateSummary], str | None]:
    return DOCS.list_documents(session, TemplateSummary, status=status, limit=limit,
                               after=after)


def list_versions(session: Session, key: str) -> list[TemplateVersionSummary]:
    return DOCS.list_versions(session, key, TemplateVersionSummary)


def _fill(version: TemplateVersion, content: TemplateContent) -> None:
    version.name, version.description = content.name, content.description
    version.fields = [f.model_dump() for f in content.fields]
    version.updated_at = utcnow()


def create_template(session: Session, data: TemplateCreate) -> TemplateVersion:
    return versioning.write(session, DOCS.first_draft(session, data.key), data, _fill)


def new_draft(session: Session, key: str, content: TemplateContent | None = None
              ) -> TemplateVersion:
    """Start the next version, from ``content`` or else as a copy of the latest version."""
    latest, version = DOCS.next_draft(session, key)
    return versioning.write(session, version, content or to_content(latest), _fill)


def update_draft(session: Session, version: TemplateVersion, content: TemplateContent
                 ) -> TemplateVersion:
    versioning.require_draft(version, "changed")
    return versioning.write(session, version, content, _fill)


def validate_for_publish(session: Session, content: TemplateContent) -> list[FieldError]:
    return definition_errors(content, _rubric_lookup(session))


def publish(session: Session, version: TemplateVersion) -> TemplateVersion:
    versioning.publish(session, version,
                       lambda: validate_for_publish(session, to_content(version)))
    return version


def retire(session: Session, version: TemplateVersion) -> TemplateVersion:
    return versioning.retire(session, version)


# --- references into other domains ------------------------------------------------------------

def _rubric_lookup(session: Session) -> RubricLookup:
    """Each rubric's latest published version, looked up once per check."""
    cache: dict[str, PublishedRubric | None] = {}

    def lookup(key: str) -> PublishedRubric | None:
        if key not in cache:
            try:
                cache[key] = published_rubric(session, key)
            except NotFound:
                cache[key] = None
        return cache[key]

    return lookup


def _unknown_people(session: Session, refs: list[tuple[str, str]]) -> list[FieldError]:
    if not refs:
        return []
    known = people.find_existing(session, {ext_id for _, ext_id in refs})
    return [FieldError(field=path, message=f"unknown person '{ext_id}'")
            for path, ext_id in refs if ext_id not in known]


def _link_errors(session: Session, content: OutlineContent, principal: Principal | None
                 ) -> list[FieldError]:
    """The linked assessment must exist, be visible to the caller (``None``: an internal
    caller) and be about the outline's person; the competency links must then belong to the
    rubric version it was made with. Without an assessment, links are only format-checked."""
    if content.assessment_id is None:
        return []
    try:
        assessment = assessments.get_assessment(session, content.assessment_id, principal)
    except NotFound:
        return [FieldError(field="assessment_id",
                           message=f"unknown assessment '{content.assessment_id}'")]
    errors = []
    if content.person and content.person != assessment.person_external_id:
        errors.append(FieldError(field="assessment_id", message=(
            f"the assessment is about '{assessment.person_external_id}', "
            f"not '{content.person}'")))
    known = published_rubric(session, assessment.rubric_key,
                             assessment.rubric_version).competency_set
    errors += [FieldError(field=f"competencies[{i}]", message=(
                   f"unknown competency '{key}' in rubric '{assessment.rubric_key}' "
                   f"version {assessment.rubric_version}"))
               for i, key in enumerate(content.competencies) if key not in known]
    return errors


# === outlines ================================================================================

def outline_etag(outline: Outline) -> str:
    return etag(outline.id, outline.row_version)


def to_read(outline: Outline) -> OutlineRead:
    version = outline.template_version
    return OutlineRead(
        id=outline.id, template=PinnedTemplate(key=version.template.key, version=version.version),
        title=outline.title, status=outline.status, values=outline.values, person=outline.person,
        assessment_id=outline.assessment_id, competencies=outline.competencies,
        owner=outline.owner, created_by=outline.created_by, created_at=outline.created_at,
        updated_at=outline.updated_at)


def _self_service(principal: Principal | None) -> str | None:
    """The person a principal is confined to (None: unconfined). A person-bound principal
    manages the outlines about them or owned by them; admins are never confined."""
    return people.confined_to(principal)


def get_outline(session: Session, outline_id: uuid.UUID, principal: Principal | None) -> Outline:
    outline = session.get(Outline, outline_id, options=_OUTLINE)
    me = _self_service(principal)
    if outline is None or (me is not None and me not in (outline.person, outline.owner)):
        raise NotFound(f"No outline with id '{outline_id}'.")  # others' outlines stay unseen
    return outline


def _pinned_version(session: Session, ref: TemplateRef) -> TemplateVersion:
    """The published version an outline is written from; a bad reference is a 422."""
    try:
        version = (get_version(session, ref.key, ref.version) if ref.version
                   else get_latest_published(session, ref.key))
    except NotFound as exc:
        field = "template.version" if ref.version else "template.key"
        raise InvalidInput.field(field, exc.detail or "unknown template") from exc
    if version.status != PUBLISHED:
        raise InvalidInput.field("template.version", (
            f"version {version.version} of '{ref.key}' is {version.status}; outlines are "
            "written from a published version"))
    return version


def _write(session: Session, outline: Outline, version: TemplateVersion,
           content: OutlineContent, owner: str | None, principal: Principal | None) -> Outline:
    """Check everything, then apply everything: no half-applied outline."""
    fields = fields_of(version)
    checked = check_values(fields, content.values, _rubric_lookup(session))
    refs = checked.people + [(name, value) for name, value in
                             (("person", content.person), ("owner", owner)) if value]
    errors = (checked.errors + _unknown_people(session, refs)
              + _link_errors(session, content, principal))
    if errors:
        raise InvalidInput(f"The outline does not fit template '{version.template.key}' "
                           f"version {version.version}: {len(errors)} problem(s).", errors)

    outline.template_version = version
    outline.title, outline.values = content.title, checked.values
    outline.person, outline.owner = content.person, owner
    outline.assessment_id = content.assessment_id
    outline.quadrant = _quadrant(fields, checked.values)
    links = _competencies(content.competencies, fields, checked.values)
    if links != outline.competencies:
        outline.competency_links = [OutlineCompetency(position=i, competency=c)
                                    for i, c in enumerate(links)]
    outline.updated_at = utcnow()
    session.add(outline)
    session.flush()
    return outline


def _quadrant(fields: list[TemplateField], values: dict[str, Any]) -> str | None:
    quadrant = next((f for f in fields if f.key == "quadrant" and f.type == "enum"), None)
    return values.get("quadrant") if quadrant and not quadrant.multiple else None


def _competencies(explicit: list[str], fields: list[TemplateField], values: dict[str, Any]
                  ) -> list[str]:
    """The explicit links, then every competency the values name; each once, in order."""
    named: list[str] = list(explicit)
    for f in fields:
        if f.type == "competency" and f.key in values:
            value = values[f.key]
            named.extend(value if isinstance(value, list) else [value])
    return list(dict.fromkeys(named))


def _confine(session: Session, principal: Principal | None, content: OutlineContent,
             owner: str | None, before: Outline | None = None) -> None:
    """What a person-bound principal may write: outlines about or owned by its own person,
    never about someone else nor linked to someone else's assessment (even one it rated in),
    so it cannot put words in another person's outlines. On an update, the links the outline
    already has (an admin may have made one about someone else and given it to this person)
    may stay as they are."""
    me = _self_service(principal)
    if me is None:
        return
    if me not in (content.person, owner):
        raise Forbidden("A person-bound credential manages only outlines about or owned by "
                        f"its own person ('{me}').")
    kept = before is not None and content.person == before.person
    if content.person not in (None, me) and not kept:
        raise Forbidden("A person-bound credential writes only outlines about its own person "
                        f"('{me}'), not about '{content.person}'.")
    link = content.assessment_id
    if link is not None and not (before is not None and link == before.assessment_id):
        linked = assessments.get_assessments(session, [link], None).get(link)
        if linked is not None and linked.person_external_id != me:
            raise Forbidden("A person-bound credential links only its own person's "
                            f"assessments ('{me}').")


def create_outline(session: Session, data: OutlineCreate, principal: Principal) -> Outline:
    version = _pinned_version(session, data.template)
    owner = data.owner or principal.person or data.person
    _confine(session, principal, data, owner)
    outline = Outline(template_version=version, title=data.title, status=data.status,
                      created_by=principal.id, competency_links=[])
    return _write(session, outline, version, data, owner, principal)


def draft_outline(session: Session, *, template_key: str, title: str, values: dict[str, Any],
                  person: str | None, assessment_id: uuid.UUID | None,
                  competencies: list[str], owner: str | None,
                  created_by: str = "system") -> Outline:
    """Validate and store a draft written from the latest published version of a template
    (for other domains, e.g. drafting outlines from readiness gaps; no principal checks: the
    caller has authorised). Raises ``InvalidInput`` with every problem, paths as in
    ``POST /v1/outlines`` (``values.<key>``, ``person``, ``competencies[0]`` ...). ``owner``
    defaults to ``person``; a linked assessment must exist and be about ``person``."""
    try:
        content = OutlineContent(title=title, values=values, person=person,
                                 assessment_id=assessment_id, competencies=competencies,
                                 owner=owner)
    except ValidationError as exc:
        raise InvalidInput("The outline has invalid fields.", [
            FieldError(field=field_path(e["loc"]), message=e["msg"]) for e in exc.errors()
        ]) from exc
    version = _pinned_version(session, TemplateRef(key=template_key))
    outline = Outline(template_version=version, title=title, status=DRAFT, created_by=created_by,
                      competency_links=[])
    return _write(session, outline, version, content, owner or person, None)


def update_outline(session: Session, outline: Outline, data: OutlineContent,
                   principal: Principal) -> Outline:
    if outline.status not in EDITABLE:
        raise Conflict(f"The outline is {outline.status}; reopen it before editing.",
                       current_status=outline.status)
    owner = data.owner or outline.owner or principal.person or data.person
    _confine(session, principal, data, owner, outline)
    return _write(session, outline, outline.template_version, data, owner, principal)


def change_status(session: Session, outline: Outline, status: str) -> Outline:
    """Move an outline along ``TRANSITIONS``; asking for the current status changes nothing."""
    if status == outline.status:
        return outline
    allowed = TRANSITIONS[outline.status]
    if status not in allowed:
        raise Conflict(f"An outline that is {outline.status} cannot become {status}; it can "
                       f"become: {', '.join(sorted(allowed))}.",
                       current_status=outline.status, allowed=sorted(allowed))
    outline.status, outline.updated_at = status, utcnow()
    session.add(outline)
    session.flush()
    return outline


def list_outlines(session: Session, principal: Principal | None, *, limit: int,
                  after: list | None, template: str | None = None, person: str | None = None,
                  status: str | None = None, quadrant: str | None = None,
                  competency: str | None = None, assessment_id: uuid.UUID | None = None
                  ) -> tuple[list[Outline], str | None]:
    """Newest first; the cursor is the (created_at, id) of the last outline of the page."""
    query = _listed(principal, template=template, person=person, status=status,
                    quadrant=quadrant, competency=competency, assessment_id=assessment_id)
    if after:
        created_at, last_id = _decode_after(after)
        query = query.where(or_(Outline.created_at < created_at,
                                and_(Outline.created_at == created_at, Outline.id < last_id)))
    query = query.order_by(Outline.created_at.desc(), Outline.id.desc()).limit(limit + 1)
    return next_page(list(session.exec(query)), limit,
                     lambda last: [last.created_at.isoformat(), str(last.id)])


def changed_outlines(session: Session, principal: Principal | None, since: sync.Position, *,
                     limit: int, **filters: Any) -> sync.Changes:
    """The outlines this principal may list changed after ``since`` (status moves included),
    oldest change first (``service/sync.py``); rows are ``Outline`` rows, as in
    ``list_outlines``."""
    return sync.changes(session, _listed(principal, **filters), Outline.updated_at, Outline.id,
                        since, limit)


def _listed(principal: Principal | None, **filters: Any):
    """The outlines matching ``filters`` that this principal may list: a person-bound one,
    those about or owned by its person."""
    query = _filtered(_outlines(), **filters)
    if (me := _self_service(principal)) is not None:
        query = query.where(or_(Outline.person == me, Outline.owner == me))
    return query


def _filtered(query, *, template, person, status, quadrant, competency, assessment_id):
    if template:
        query = query.where(Outline.template_version_id.in_(
            select(TemplateVersion.id).join(Template).where(Template.key == template)))
    if competency:
        query = query.where(Outline.id.in_(
            select(OutlineCompetency.outline_id).where(OutlineCompetency.competency == competency)))
    return where_given(query, (Outline.person, person), (Outline.status, status),
                       (Outline.quadrant, quadrant), (Outline.assessment_id, assessment_id))


def _decode_after(after: list) -> tuple[datetime, uuid.UUID]:
    try:
        created_at, last_id = after
        return datetime.fromisoformat(created_at), uuid.UUID(last_id)
    except (TypeError, ValueError) as exc:
        raise InvalidInput.field("query.cursor", "not a cursor this API issued") from exc


def find_outlines(session: Session, assessment_id: uuid.UUID | None, competency: str | None,
                  template_key: str | None) -> list[Outline]:
    """Every outline matching all the given links (None matches anything), oldest first, with
    no principal filter: for other domains avoiding duplicate drafts."""
    query = _filtered(_outlines(), template=template_key, person=None, status=None,
                      quadrant=None, competency=competency, assessment_id=assessment_id)
    return list(session.exec(query.order_by(Outline.created_at, Outline.id)))


def render(outline: Outline, fmt: str) -> str:
    version = outline.template_version
    return rendering.render(rendering.Document(
        title=outline.title, status=outline.status, template_name=version.name,
        template_key=version.template.key, template_version=version.version,
        fields=fields_of(version), values=outline.values, person=outline.person,
        owner=outline.owner,
        assessment_id=str(outline.assessment_id) if outline.assessment_id else None,
        competencies=outline.competencies), fmt)


# === default content =========================================================================

def parse_document(raw: bytes) -> TemplateCreate:
    try:
        return TemplateCreate.model_validate(yaml.safe_load(raw))
    except (yaml.YAMLError, ValidationError) as exc:
        raise InvalidInput.field("body", f"not a valid template document: {exc}") from exc


def load_defaults(session: Session) -> list[str]:
    """Publish each shipped template unless an identical published version exists (idempotent).
    Needs the default rubric first: competency and level fields are checked against it."""
    messages = []
    for path in sorted(CONTENT_DIR.glob("*.yaml")):
        doc = parse_document(path.read_bytes())
        published = session.exec(
            select(TemplateVersion).join(Template).options(*DOCS.loads)
            .where(Template.key == doc.key, TemplateVersion.status == PUBLISHED)).all()
        if any(to_content(v) == doc for v in published):
            messages.append(f"template {doc.key}: up to date")
            continue
        exists = DOCS.exists(session, doc.key)
        try:
            content = TemplateContent.model_validate(doc.model_dump(exclude={"key"}))
            version = new_draft(session, doc.key, content) if exists else create_template(
                session, doc)
        except Conflict:  # someone is editing a draft of it: leave their work alone
            messages.append(f"template {doc.key}: skipped, a draft version is open")
            continue
        publish(session, version)
        messages.append(f"template {doc.key}: published version {version.version}")
    return messages


# === batches (GraphQL DataLoaders: one query for a whole page, whatever its size) =============

def _visible(principal: Principal | None, query):
    if (me := _self_service(principal)) is not None:
        query = query.where(or_(Outline.person == me, Outline.owner == me))
    return query.order_by(Outline.created_at.desc(), Outline.id.desc())


def outlines_about(session: Session, persons: Collection[str], principal: Principal | None
                   ) -> dict[str, list[Outline]]:
    """Each person's outlines (``list_outlines(person=...)``: newest first, as this principal
    may see them); every person gets a list."""
    out: dict[str, list[Outline]] = {p: [] for p in persons}
    if persons:
        for outline in session.exec(_visible(principal, _outlines().where(
                Outline.person.in_(sorted(persons))))):
            out[outline.person].append(outline)
    return out


def outlines_of_assessments(session: Session, assessment_ids: Collection[uuid.UUID],
                            principal: Principal | None) -> dict[uuid.UUID, list[Outline]]:
    """The outlines linked to each assessment (e.g. drafted from its gaps), newest first, as
    this principal may see them; every assessment gets a list."""
    out: dict[uuid.UUID, list[Outline]] = {a: [] for a in assessment_ids}
    if assessment_ids:
        for outline in session.exec(_visible(principal, _outlines().where(
                Outline.assessment_id.in_(sorted(assessment_ids))))):
            out[outline.assessment_id].append(outline)
    return out
