"""From readiness gaps to leadership work: draft outlines for the top gaps of an assessment.

Each outline starts from what the rubric expects at the target level (the descriptor of the
competency there) and from what the raters wrote, in words a person can act on. The rubric
content decides the rest: which recommendations fit the target level, which gaps are best
closed by a tour of duty (and of which kind of work), and where each competency sits in the
prioritisation quadrant and the leadership dimensions.

An assessment gets at most one tour of duty: it covers every gap whose recommendation for the
target level is a tour (up to what the template allows), because one person runs one tour at a
time. Every other gap becomes an opportunity outline. Unrated competencies are never drafted:
the first thing they need is a rating, not development work. Calling again creates nothing
new: a gap that already has an outline keeps it.
"""

import calendar
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from ..assessments import service as assessments
from ..auth.principal import Principal
from ..people import service as people
from ..problems import NotFound
from ..readiness import reports as readiness
from ..rubrics.published import published_rubric
from ..rubrics.schemas import TOUR_OF_DUTY, CompetencyDoc, RecommendationDoc, RubricCreate
from . import service
from .models import Outline

OPPORTUNITY, TOUR = "opportunity-outline", "tour-of-duty"
UNDECLARED_QUADRANT = "improve_products"  # for rubrics that declare none for a competency
MENTORING_KINDS = {"mentoring", "coaching", "delegation"}
QUOTES, QUOTE_CHARS = 5, 300  # evidence quoted per outline: enough to read, never a dump


@dataclass
class Drafted:
    outlines: list[Outline]
    created: int


# --- dates -------------------------------------------------------------------------------------

_CYCLE = re.compile(r"^\s*(\d{4})(?:\s*[-_/ ]\s*([HQ])([1-4]))?\s*$", re.IGNORECASE)
_PERIOD_MONTHS = {None: 12, "H": 6, "Q": 3}


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def target_date(cycle: str, today: date) -> date:
    """The last day of the review cycle after the assessment's one, when progress is next
    assessed: cycle labels such as ``2026``, ``2026-H2`` or ``2026-Q3``. Six months from
    today when the label is none of these or that day has already passed."""
    found = _CYCLE.match(cycle)
    if found:
        year, kind, number = found.groups()
        kind = kind.upper() if kind else None
        months = _PERIOD_MONTHS[kind]
        if number is None or int(number) <= 12 // months:
            start = date(int(year), 1 + (int(number or 1) - 1) * months, 1)
            end = date.fromordinal(_add_months(start, 2 * months).toordinal() - 1)
            if end > today:
                return end
    return _add_months(today, 6)


# --- what the drafting reads -----------------------------------------------------------------

@dataclass(frozen=True)
class _Context:
    rubric: RubricCreate
    report: dict[str, Any]
    person: str  # external id: the outline's person and owner
    name: str  # how the text calls them
    target_key: str
    target: str  # the level's name, as people read it
    current: str
    today: date
    due: date
    evidence: dict[str, list[tuple[str, str]]]  # competency -> (rater role, what they wrote)
    placements: dict[str, tuple[str, list[str]]]  # competency -> (quadrant, dimensions)

    def advice(self, comp: CompetencyDoc) -> list[RecommendationDoc]:
        """The competency's recommendations written for the target level."""
        return [r for r in comp.recommendations
                if r.levels is None or self.target_key in r.levels]

    def tour(self, comp: CompetencyDoc) -> RecommendationDoc | None:
        return next((r for r in self.advice(comp)
                     if r.kind == TOUR_OF_DUTY and r.kind_of_work is not None), None)


def _placements(session: Session, rubric: RubricCreate) -> dict[str, tuple[str, list[str]]]:
    """Quadrant and leadership dimensions per competency, as the assessment's rubric version
    declares them; a version published before they were declared borrows them from the
    rubric's latest published version (competency keys keep their meaning across versions)."""
    declared = {c.key: c for c in rubric.competencies if c.quadrant}
    if len(declared) < len(rubric.competencies):
        try:
            latest = published_rubric(session, rubric.key).doc
        except NotFound:
            latest = rubric
        declared = {c.key: c for c in latest.competencies if c.quadrant} | declared
    return {c.key: (declared[c.key].quadrant, list(declared[c.key].leadership_dimensions))
            if c.key in declared else (UNDECLARED_QUADRANT, [])
            for c in rubric.competencies}


def _context(session: Session, assessment_id: uuid.UUID, principal: Principal) -> _Context:
    report = json.loads(readiness.assessment_report(session, assessment_id, principal))
    seen = assessments.to_read(assessments.get_assessment(session, assessment_id, principal),
                               principal)
    rubric = published_rubric(session, report["rubric"]["key"], report["rubric"]["version"]).doc
    names = {lv.key: lv.name for lv in rubric.levels}
    evidence: dict[str, list[tuple[str, str]]] = {c.key: [] for c in rubric.competencies}
    for rating in seen.ratings:
        if rating.evidence and rating.evidence.strip():
            evidence[rating.competency].append((rating.rater_role, rating.evidence.strip()))
    today = datetime.now(UTC).date()
    found = people.find_person(session, seen.person)
    return _Context(rubric, report, seen.person, found.display_name if found else seen.person,
                    report["target_level"],
                    names[report["target_level"]], names[report["current_level"]], today,
                    target_date(seen.cycle, today), evidence, _placements(session, rubric))


def _unrated(report: dict[str, Any]) -> set[str]:
    """Competencies nobody rated: from the report's ``unrated`` list where it has one, and
    always those without an observed value."""
    listed = {u["competency"] for u in report.get("unrated") or ()}
    return listed | {c["key"] for c in report["competencies"] if c["observed"] is None}


def _gaps(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rated gap, largest first (ties: heavier competency, then key)."""
    unrated = _unrated(report)
    open_gaps = [c for c in report["competencies"] if c["gap"] > 0 and c["key"] not in unrated]
    return sorted(open_gaps, key=lambda c: (-c["gap"], -c["weight"], c["key"]))


# --- wording -----------------------------------------------------------------------------------

def _scale(rubric: RubricCreate, value: float) -> str:
    label = rubric.scale.labels.get(f"{value:g}")
    number = f"{value:g} of {rubric.scale.max}"
    return f"{label} ({number})" if label else number


def _descriptor(comp: CompetencyDoc, level: str) -> str:
    return next((e.descriptor for e in comp.expectations if e.level == level), "").strip()


def _is_gate(comp: CompetencyDoc, level: str) -> bool:
    return any(e.gate for e in comp.expectations if e.level == level)


def _quoted(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text[:QUOTE_CHARS]}{'…' if len(text) > QUOTE_CHARS else ''}”"


def _what_raters_wrote(ctx: _Context, comp: CompetencyDoc) -> str:
    quotes = ctx.evidence.get(comp.key, [])
    if not quotes:
        return (f"No rater wrote down evidence for {comp.name}; collect two or three "
                "concrete examples before choosing the work.")
    lines = [f"- {role}: {_quoted(text)}" for role, text in quotes[:QUOTES]]
    return "What the raters wrote:\n" + "\n".join(lines)


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _opportunity(ctx: _Context, comp: CompetencyDoc, gap: dict[str, Any], rank: int
                 ) -> dict[str, Any]:
    expected = _descriptor(comp, ctx.target_key) or comp.name
    gate = (" It is a gate for that level: it has to be met whatever the overall score."
            if _is_gate(comp, ctx.target_key) else "")
    advice = [r for r in ctx.advice(comp) if r.kind != TOUR_OF_DUTY]
    quadrant, dimensions = ctx.placements[comp.key]
    largest = "the largest" if rank == 0 else "one of the largest"
    return {
        "problem": (f"A {ctx.target} is expected to show this in {comp.name}: "
                    f"{_quoted(expected)}\n\nRaters currently see {ctx.name} at "
                    f"{_scale(ctx.rubric, gap['observed'])}, where the level asks for "
                    f"{_scale(ctx.rubric, gap['expected_target'])}.{gate}\n\n"
                    f"{_what_raters_wrote(ctx, comp)}"),
        "who_is_affected": (f"{ctx.name}, working toward {ctx.target} from {ctx.current}, "
                            f"and the people who would rely on their {comp.name.lower()} at "
                            "that level."),
        "intent": (f"{comp.name} is {largest} of the gaps between {ctx.name}'s ratings and "
                   f"{ctx.target}.{gate} The intent: by {ctx.due.isoformat()} the people who "
                   f"work with {ctx.name} see the behaviour above in ordinary work, so the "
                   "next review can rate it from examples rather than from impressions."),
        "desired_outcome": (f"{ctx.name} does this routinely, and colleagues can point to "
                            f"it: {_quoted(expected)}"),
        "target_measure": "Dated examples of the behaviour, each told by someone who saw it",
        "target_value": "Two or more examples, from at least two people other than "
                        f"{ctx.name}"[:300],
        "target_date": ctx.due.isoformat(),
        "pass_fail_criteria": (f"Pass if, by {ctx.due.isoformat()}, the manager and at least "
                               "one other colleague can each describe a dated occasion that "
                               f"matches {_quoted(expected)} Fail if there are no such "
                               "examples, or only self-reported ones."),
        "solution_outline": _bullets([f"**{r.title}**: {r.detail}" for r in advice])
        or "To be written.",
        "quadrant": quadrant,
        "leadership_dimensions": dimensions,
        "owner": ctx.person,
        "first_experiments": [r.title for r in advice][:3],
    }


def _tour(ctx: _Context, comps: list[CompetencyDoc]) -> dict[str, Any]:
    tours = [ctx.tour(c) for c in comps]
    kinds = [t.kind_of_work for t in tours]
    # The kind most of the covered recommendations propose; on a tie, the largest gap's.
    kind = max(kinds, key=lambda k: (kinds.count(k), -kinds.index(k)))
    chosen = tours[kinds.index(kind)]
    advice = [r for c in comps for r in ctx.advice(c)]
    months = min(18, max(12, (ctx.due.year - ctx.today.year) * 12
                         + ctx.due.month - ctx.today.month))
    names = ", ".join(c.name for c in comps)
    return {
        "career_goal": ctx.target_key,
        "goal_statement": (f"Be ready for {ctx.target}: spend this tour on {kind} work, as "
                           f"{_quoted(chosen.title)} advises, to grow {names}.")[:500],
        "starts_on": ctx.today.isoformat(),
        "duration_months": months,
        "kind_of_work": kind,
        "skills_to_gain": [c.key for c in comps],
        "mentoring_commitments": list(dict.fromkeys(
            r.title for r in advice if r.kind in MENTORING_KINDS))[:10],
        "thought_leadership_outputs": list(dict.fromkeys(
            r.title for r in advice if r.kind == "thought_leadership"))[:10],
        "checkpoints": [
            f"{_add_months(ctx.today, 3):%Y-%m}: first review with the manager, one concrete "
            "example per skill",
            f"{ctx.due.isoformat()}: next review cycle, re-assess {names}"[:500],
            f"{_add_months(ctx.today, months):%Y-%m}: close the tour and decide the next one",
        ],
    }


# --- drafting ----------------------------------------------------------------------------------

def _tour_capacity(session: Session, rubric_key: str) -> int:
    """How many competencies the latest tour-of-duty template takes (0: its competency fields
    belong to another rubric, so this assessment's gaps cannot fill it)."""
    fields = service.fields_of(service.get_latest_published(session, TOUR))
    if any(f.rubric not in (None, rubric_key) for f in fields):
        return 0
    skills = next((f for f in fields if f.key == "skills_to_gain"), None)
    return (skills.max_items or 1000) if skills else 0


def draft_from_gaps(session: Session, assessment_id: uuid.UUID, principal: Principal,
                    limit: int) -> Drafted:
    ctx = _context(session, assessment_id, principal)
    comps = {c.key: c for c in ctx.rubric.competencies}
    gaps = _gaps(ctx.report)
    has_tour = bool(service.find_outlines(session, assessment_id, None, TOUR))
    tour_keys = [] if has_tour else [
        g["key"] for g in gaps if ctx.tour(comps[g["key"]])
        and not service.find_outlines(session, assessment_id, g["key"], None)]
    if tour_keys:
        tour_keys = tour_keys[:_tour_capacity(session, ctx.rubric.key)]

    def draft(template: str, title: str, values: dict[str, Any], keys: list[str]) -> Outline:
        return service.draft_outline(
            session, template_key=template, title=title[:200], values=values,
            person=ctx.person, assessment_id=assessment_id, competencies=keys,
            owner=ctx.person, created_by=principal.id)

    outlines: dict[uuid.UUID, Outline] = {}
    created = 0
    for rank, gap in enumerate(gaps[:limit]):
        existing = service.find_outlines(session, assessment_id, gap["key"], None)
        if existing:
            outlines.setdefault(existing[0].id, existing[0])
            continue
        comp = comps[gap["key"]]
        if gap["key"] in tour_keys:
            outline = draft(TOUR, f"Tour of duty toward {ctx.target}",
                            _tour(ctx, [comps[k] for k in tour_keys]), tour_keys)
        else:
            outline = draft(OPPORTUNITY, f"{comp.name}: reach the {ctx.target} bar",
                            _opportunity(ctx, comp, gap, rank), [comp.key])
        outlines[outline.id] = outline
        created += 1
    return Drafted(list(outlines.values()), created)
