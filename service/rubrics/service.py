"""Rubric logic: lifecycle (draft -> published -> retired), publish validation, import/export,
and the default content. Routes call these functions; they never touch the session."""

import io
import itertools
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from .. import csv_cells, events, versioning
from ..cache import LRU, Latest, db_key
from ..http import etag
from ..models import utcnow
from ..problems import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    UnsupportedMediaType,
    field_path,
)
from ..wire import load_yaml, reject_nul
from .models import (
    PUBLISHED,
    Competency,
    Expectation,
    Recommendation,
    Rubric,
    RubricLevel,
    RubricVersion,
)
from .schemas import (
    TOUR_OF_DUTY,
    CompetencyDoc,
    ExpectationDoc,
    Level,
    RecommendationDoc,
    RubricContent,
    RubricCreate,
    RubricSummary,
    RubricVersionRead,
    Scale,
    VersionSummary,
)

CONTENT_DIR = Path(__file__).parent / "content"
EXPORT_FORMATS = {"json": "application/json", "yaml": "application/yaml", "csv": "text/csv"}


# --- reading ---------------------------------------------------------------------------------

# A version read whole: levels, competencies and their expectations and recommendations.
CONTENT = (selectinload(RubricVersion.levels),
           selectinload(RubricVersion.competencies).selectinload(Competency.expectations),
           selectinload(RubricVersion.competencies).selectinload(Competency.recommendations))


def version_etag(version: RubricVersion) -> str:
    return etag(version.version, version.row_version)


DOCS = versioning.Versioned(Rubric, RubricVersion, "rubric_id", "rubric", version_etag,
                            loads=CONTENT)
get_version, get_matching, get_latest_published = DOCS.get, DOCS.get_matching, DOCS.latest_published


# (number, row_version) of each rubric's latest published version, believed for
# cache.LATEST_TTL seconds; publishing or retiring here forgets the entry (``_changed``).
_latest = Latest()


def _latest_published(session: Session, key: str) -> tuple[int, int]:
    """(number, row_version) of the latest published version; 404 when there is none."""
    if (known := _latest.get(session, key)) is not None:
        return known
    found = session.exec(
        select(RubricVersion.version, RubricVersion.row_version).join(Rubric)
        .where(Rubric.key == key, RubricVersion.status == PUBLISHED)
        .order_by(RubricVersion.version.desc()).limit(1)
    ).first()
    if found is None:
        DOCS.get_parent(session, key)  # 404 names the rubric when it is unknown
        raise NotFound(f"Rubric '{key}' has no published version.")
    return _latest.put(session, key, tuple(found))


def latest_published_number(session: Session, key: str) -> int:
    """The number of the latest published version (for hot paths: see ``_latest``)."""
    return _latest_published(session, key)[0]


def _changed(session: Session, version: RubricVersion) -> RubricVersion:
    """A version was published or retired: which one is the latest may have changed."""
    _latest.forget(session, version.rubric.key)
    return version


# Serialised documents, keyed by (database, key, version, row_version): every change of a
# version bumps its row_version, so a hit is always current.
_documents = LRU(512)


def document(session: Session, key: str, version: int | None = None) -> tuple[bytes, str]:
    """(JSON body, ETag) of a version, or of the latest published one when ``version`` is None
    (then no query at all while ``_latest`` and ``_documents`` know it)."""
    if version is None:
        number, row_version = _latest_published(session, key)
    else:
        found = session.exec(select(RubricVersion.row_version).join(Rubric).where(
            Rubric.key == key, RubricVersion.version == version)).first()
        if found is None:
            get_version(session, key, version)  # the same 404 as the uncached reader
        number, row_version = version, found
    cache_key = (db_key(session), key, number, row_version)
    body = _documents.get(cache_key)
    if body is None:
        body = _documents.put(cache_key, to_read(get_version(session, key, number)
                                                 ).model_dump_json().encode())
    return body, etag(number, row_version)


def clear_caches() -> None:
    _documents.clear()
    _latest.clear()


def to_content(version: RubricVersion, key: str) -> RubricCreate:
    return RubricCreate(
        key=key, name=version.name, description=version.description, policy=version.policy,
        scale=Scale(min=version.scale_min, max=version.scale_max, labels=version.scale_labels),
        levels=[Level(key=lv.key, name=lv.name, order=lv.order, summary=lv.summary)
                for lv in version.levels],
        competencies=[
            CompetencyDoc(
                key=c.key, name=c.name, description=c.description, weight=c.weight,
                quadrant=c.quadrant, leadership_dimensions=c.leadership_dimensions or [],
                expectations=[ExpectationDoc(level=e.level, proficiency=e.proficiency,
                                             descriptor=e.descriptor, gate=e.gate,
                                             gate_reason=e.gate_reason)
                              for e in c.expectations],
                recommendations=[RecommendationDoc(kind=r.kind, title=r.title, detail=r.detail,
                                                   levels=r.levels, kind_of_work=r.kind_of_work)
                                 for r in c.recommendations],
            )
            for c in version.competencies
        ],
    )


def to_read(version: RubricVersion) -> RubricVersionRead:
    return RubricVersionRead(**to_content(version, version.rubric.key).model_dump(),
                             **versioning.stamps(version))


def list_rubrics(session: Session, *, status: str | None, limit: int, after: list | None
                 ) -> tuple[list[RubricSummary], str | None]:
    return DOCS.list_documents(session, RubricSummary, status=status, limit=limit, after=after)


def list_versions(session: Session, key: str) -> list[VersionSummary]:
    return DOCS.list_versions(session, key, VersionSummary)


# --- writing ---------------------------------------------------------------------------------

def _fill(version: RubricVersion, content: RubricContent) -> None:
    """(Re)write a version's content; child rows are replaced wholesale."""
    version.name, version.description = content.name, content.description
    version.policy = content.policy
    version.scale_min, version.scale_max = content.scale.min, content.scale.max
    version.scale_labels = dict(content.scale.labels)
    version.levels = [
        RubricLevel(position=i, key=lv.key, name=lv.name, order=lv.order, summary=lv.summary)
        for i, lv in enumerate(content.levels)
    ]
    version.competencies = [
        Competency(
            position=i, key=c.key, name=c.name, description=c.description, weight=c.weight,
            quadrant=c.quadrant, leadership_dimensions=list(c.leadership_dimensions),
            expectations=[Expectation(position=j, **e.model_dump())
                          for j, e in enumerate(c.expectations)],
            recommendations=[Recommendation(position=j, **r.model_dump())
                             for j, r in enumerate(c.recommendations)],
        )
        for i, c in enumerate(content.competencies)
    ]
    version.updated_at = utcnow()


def create_rubric(session: Session, data: RubricCreate) -> RubricVersion:
    return versioning.write(session, DOCS.first_draft(session, data.key), data, _fill)


def new_draft(session: Session, key: str, content: RubricContent | None = None) -> RubricVersion:
    """Start the next version, from ``content`` or else as a copy of the latest version."""
    latest, version = DOCS.next_draft(session, key)
    return versioning.write(session, version, content or to_content(latest, key), _fill)


def update_draft(session: Session, version: RubricVersion, content: RubricContent
                 ) -> RubricVersion:
    versioning.require_draft(version, "changed")
    return versioning.write(session, version, content, _fill)


def publish(session: Session, version: RubricVersion) -> RubricVersion:
    versioning.publish(session, version,
                       lambda: validate_for_publish(to_content(version, version.rubric.key)))
    events.emit(session, events.RubricPublished(version.rubric.key, version.version))
    return _changed(session, version)


def retire(session: Session, version: RubricVersion) -> RubricVersion:
    return _changed(session, versioning.retire(session, version))


# --- validation ------------------------------------------------------------------------------

def _repeats(keys: Iterable[str]) -> list[bool]:
    """For each key, whether it already appeared earlier in the list."""
    seen: set[str] = set()
    return [k in seen or seen.add(k) is not None for k in keys]


def validate_for_publish(content: RubricContent) -> list[FieldError]:
    """Every rule a published version must satisfy; returns all violations at once."""
    errors: list[FieldError] = []

    def err(field: str, message: str) -> None:
        errors.append(FieldError(field=field, message=message))

    lo, hi = content.scale.min, content.scale.max
    if lo >= hi:
        err("scale.max", f"must be greater than scale.min ({lo})")
    if not content.levels:
        err("levels", "at least one level is required")
    if not content.competencies:
        err("competencies", "at least one competency is required")

    for i, (lv, repeated) in enumerate(zip(content.levels, _repeats(
            lv.key for lv in content.levels), strict=True)):
        if repeated:
            err(f"levels[{i}].key", f"duplicate level key '{lv.key}'")
        if i and lv.order <= content.levels[i - 1].order:
            err(f"levels[{i}].order", "levels must be listed in strictly increasing order")

    rank = {lv.key: i for i, lv in enumerate(content.levels)}
    comp_repeats = _repeats(c.key for c in content.competencies)
    for i, comp in enumerate(content.competencies):
        where = f"competencies[{i}]"
        if comp_repeats[i]:
            err(f"{where}.key", f"duplicate competency key '{comp.key}'")
        if comp.weight <= 0:
            err(f"{where}.weight", "must be greater than 0")
        by_level: dict[str, int] = {}
        for j, exp in enumerate(comp.expectations):
            at = f"{where}.expectations[{j}]"
            if exp.level not in rank:
                err(f"{at}.level", f"unknown level '{exp.level}'")
            elif exp.level in by_level:
                err(f"{at}.level", f"second expectation for level '{exp.level}'")
            else:
                by_level[exp.level] = exp.proficiency
            if not lo <= exp.proficiency <= hi:
                err(f"{at}.proficiency", f"must be within the scale {lo}..{hi}")
        if any(_repeats(comp.leadership_dimensions)):
            err(f"{where}.leadership_dimensions", "names a dimension twice")
        for j, rec in enumerate(comp.recommendations):
            _check_recommendation(rec, rank, f"{where}.recommendations[{j}]", err)
        for lv_key in rank:
            if lv_key not in by_level:
                err(f"{where}.expectations", f"no expectation for level '{lv_key}'")
        ordered = sorted(by_level.items(), key=lambda kv: rank[kv[0]])
        for (low_key, low), (high_key, high) in itertools.pairwise(ordered):
            if high < low:
                j = next(j for j, e in enumerate(comp.expectations) if e.level == high_key)
                err(f"{where}.expectations[{j}].proficiency",
                    f"{high} at '{high_key}' is below {low} at the lower level '{low_key}'")
    return errors


def _check_recommendation(rec: RecommendationDoc, rank: dict[str, int], at: str,
                          err: Callable[[str, str], None]) -> None:
    if rec.levels is not None:
        if not rec.levels:
            err(f"{at}.levels", "leave it out for advice that fits every level; an empty "
                                "list would never apply")
        for k, (level, repeated) in enumerate(zip(rec.levels, _repeats(rec.levels),
                                                  strict=True)):
            if level not in rank:
                err(f"{at}.levels[{k}]", f"unknown level '{level}'")
            elif repeated:
                err(f"{at}.levels[{k}]", f"level '{level}' is listed twice")
    if rec.kind_of_work is not None and rec.kind != TOUR_OF_DUTY:
        err(f"{at}.kind_of_work", f"only a {TOUR_OF_DUTY} recommendation proposes a kind of "
                                  f"work; this one is '{rec.kind}'")


# --- import / export -------------------------------------------------------------------------

def export(version: RubricVersion, fmt: str) -> tuple[str, str]:
    """(body, media type) of a version as JSON, YAML (both re-importable) or a CSV matrix."""
    doc = to_content(version, version.rubric.key)
    if fmt == "json":
        return doc.model_dump_json(indent=2), EXPORT_FORMATS[fmt]
    if fmt == "yaml":
        return (yaml.safe_dump(doc.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
                EXPORT_FORMATS[fmt])
    if fmt == "csv":
        return _matrix_csv(doc), EXPORT_FORMATS[fmt]
    raise InvalidInput.field("query.format", f"must be one of {', '.join(EXPORT_FORMATS)}")


def _matrix_csv(doc: RubricCreate) -> str:
    """Competencies x levels: expected proficiency per cell; gates listed per competency."""
    out = io.StringIO()
    writer = csv_cells.Writer(out, lineterminator="\n")
    levels = [lv.key for lv in doc.levels]
    writer.writerow(["competency", "name", "weight", *levels, "gates"])
    for comp in doc.competencies:
        by_level = {e.level: e for e in comp.expectations}
        writer.writerow([
            comp.key, comp.name, comp.weight,
            *[by_level[lv].proficiency if lv in by_level else "" for lv in levels],
            " ".join(e.level for e in comp.expectations if e.gate),
        ])
    return out.getvalue()


def parse_document(raw: bytes, media_type: str) -> RubricCreate:
    """Parse and validate an import document (JSON or YAML) against every publish rule."""
    media_type = media_type.split(";")[0].strip().lower()
    try:
        if media_type == "application/json":
            data: Any = json.loads(raw)
        elif media_type in {"application/yaml", "application/x-yaml", "text/yaml"}:
            data = load_yaml(raw)
        else:
            raise UnsupportedMediaType(
                "Send the rubric as application/json or application/yaml.")
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidInput.field("body", f"not valid {media_type}: {exc}") from exc
    except RecursionError as exc:  # JSON nested thousands deep
        raise InvalidInput.field("body", "the document is nested too deeply") from exc
    reject_nul(data)
    try:
        doc = RubricCreate.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("The rubric document has invalid fields.", [
            FieldError(field=field_path(e["loc"]), message=e["msg"]) for e in exc.errors()
        ]) from exc
    if errors := validate_for_publish(doc):
        raise InvalidInput("The rubric document breaks publish rules.", errors)
    return doc


def import_document(session: Session, doc: RubricCreate, *, publish_now: bool) -> RubricVersion:
    """A new rubric (version 1) or the next draft version of an existing one."""
    exists = DOCS.exists(session, doc.key)
    content = RubricContent.model_validate(doc.model_dump(exclude={"key"}))
    version = new_draft(session, doc.key, content) if exists else create_rubric(session, doc)
    return publish(session, version) if publish_now else version


# --- default content -------------------------------------------------------------------------

def content_files() -> list[Path]:
    """The shipped rubric files, named ``<key>.<version>.yaml``, oldest version first: a fresh
    database publishes them in that order, so its version numbers match the file names."""
    def order(path: Path) -> tuple[str, int]:
        key, _, number = path.stem.rpartition(".")
        return key, int(number)
    return sorted(CONTENT_DIR.glob("*.yaml"), key=order)


def load_defaults(session: Session) -> list[str]:
    """Publish each shipped rubric version unless an identical version was published before
    (still published, or retired since): idempotent, and an older shipped version that is
    already in the database is never published again on top of a newer one."""
    messages = []
    for path in content_files():
        doc = parse_document(path.read_bytes(), "application/yaml")
        published = session.exec(
            select(RubricVersion).join(Rubric).options(*CONTENT)
            .where(Rubric.key == doc.key, RubricVersion.status != versioning.DRAFT)
        ).all()
        if any(to_content(v, doc.key) == doc for v in published):
            messages.append(f"rubric {doc.key} ({path.name}): up to date")
            continue
        try:
            version = import_document(session, doc, publish_now=True)
        except Conflict:  # someone is editing a draft of it: leave their work alone
            messages.append(f"rubric {doc.key}: skipped, a draft version is open")
            continue
        messages.append(f"rubric {doc.key}: published version {version.version}")
    return messages
