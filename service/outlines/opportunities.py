"""From readiness gaps to leadership work: one draft outline per top gap of an assessment.

A gap whose competency the rubric recommends a tour of duty for becomes a tour-of-duty plan
(when that template's competency fields refer to the assessment's rubric); every other gap
becomes an opportunity outline, pre-filled from the gap and the rubric's recommendations.
Calling again creates nothing new: a gap that already has an outline keeps it.
"""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from ..auth.principal import Principal
from ..readiness import reports as readiness
from ..rubrics.published import published_rubric
from . import service
from .models import Outline

OPPORTUNITY, TOUR = "opportunity-outline", "tour-of-duty"

# Which quadrant of leadership work, and which leadership dimensions, a gap belongs to.
QUADRANT = {
    "trust-collaboration": "improve_relationships", "communication-influence":
    "improve_relationships", "developing-people": "improve_relationships",
    "self-leadership": "improve_relationships", "operating-model": "organisational_debt",
    "org-improvement": "organisational_debt", "team-design": "organisational_innovation",
}
DIMENSIONS = {
    "self-leadership": ["self", "time"], "scope-judgement": ["self", "time"],
    "developing-people": ["people"], "trust-collaboration": ["people"],
    "communication-influence": ["people"], "execution": ["people"],
    "team-design": ["organisational_improvement"], "operating-model":
    ["organisational_improvement"], "org-improvement": ["organisational_improvement"],
    "strategy": ["value"], "value-outcomes": ["value"], "business-understanding": ["value"],
}
KIND_OF_WORK = {"team-design": "scaling", "operating-model": "scaling",
                "org-improvement": "scaling", "strategy": "growth", "value-outcomes": "growth",
                "business-understanding": "growth"}


@dataclass
class Drafted:
    outlines: list[Outline]
    created: int


def _gaps(report: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """The largest gaps first (ties: heavier competency, then key), as readiness ranks them."""
    open_gaps = [c for c in report["competencies"] if c["gap"] > 0]
    return sorted(open_gaps, key=lambda c: (-c["gap"], -c["weight"], c["key"]))[:limit]


def _tour_fits(session: Session, rubric_key: str) -> bool:
    fields = service.fields_of(service.get_latest_published(session, TOUR))
    return all(f.rubric in (None, rubric_key) for f in fields)


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _opportunity(comp, gap: dict[str, Any], report: dict[str, Any], person: str
                 ) -> dict[str, Any]:
    observed = "no rating yet" if gap["observed"] is None else f"{gap['observed']:g}"
    recs = comp.recommendations
    return {
        "problem": (f"{comp.name}: observed {observed} against the {gap['expected_target']} "
                    f"expected at {report['target_level']} (gap {gap['gap']:g})."),
        "who_is_affected": f"{person}, on the way from {report['current_level']} to "
                           f"{report['target_level']}.",
        "intent": comp.description or f"Close the {comp.name} gap.",
        "desired_outcome": (f"{comp.name} observed at {gap['expected_target']} or above by the "
                            "people who work with them, with evidence."),
        "target_measure": f"{comp.name} rating (manager and peers)",
        "target_value": str(gap["expected_target"]),
        "pass_fail_criteria": (f"Pass when the next assessment observes {comp.name} at "
                               f"{gap['expected_target']} or above with evidence; else fail."),
        "solution_outline": _bullets([f"**{r.title}**: {r.detail}" for r in recs])
        or "To be written.",
        "quadrant": QUADRANT.get(comp.key, "improve_products"),
        "leadership_dimensions": DIMENSIONS.get(comp.key, []),
        "owner": person,
        "first_experiments": [r.title for r in recs][:3],
    }


def _tour(comp, report: dict[str, Any]) -> dict[str, Any]:
    recs = comp.recommendations
    return {
        "career_goal": report["target_level"],
        "goal_statement": f"Be ready for {report['target_level']} by growing {comp.name}.",
        "duration_months": 12,
        "kind_of_work": KIND_OF_WORK.get(comp.key, "feature"),
        "skills_to_gain": [comp.key],
        "mentoring_commitments": [r.title for r in recs if r.kind == "mentoring"],
        "thought_leadership_outputs": [r.title for r in recs if r.kind == "thought_leadership"],
        "checkpoints": [f"Month 3: first evidence of {comp.name} at the next bar",
                        "Month 6: mid-point review with the manager",
                        f"Month 12: re-assess {comp.name}"],
    }


def draft_from_gaps(session: Session, assessment_id: uuid.UUID, principal: Principal,
                    limit: int) -> Drafted:
    report = json.loads(readiness.assessment_report(session, assessment_id, principal))
    rubric = published_rubric(session, report["rubric"]["key"], report["rubric"]["version"]).doc
    comps = {c.key: c for c in rubric.competencies}
    person = readiness.assessment_subject(session, assessment_id)
    outlines, created = [], 0
    tour_fits = None
    for gap in _gaps(report, limit):
        existing = service.find_outlines(session, assessment_id, gap["key"], None)
        if existing:
            outlines.append(existing[0])
            continue
        comp = comps[gap["key"]]
        wants_tour = any(r.kind == "tour_of_duty" for r in comp.recommendations)
        if wants_tour and tour_fits is None:
            tour_fits = _tour_fits(session, rubric.key)
        template, values = ((TOUR, _tour(comp, report)) if wants_tour and tour_fits
                            else (OPPORTUNITY, _opportunity(comp, gap, report, person)))
        outlines.append(service.draft_outline(
            session, template_key=template, title=f"{comp.name}: close the gap to "
            f"{report['target_level']}", values=values, person=person,
            assessment_id=assessment_id, competencies=[comp.key], owner=person,
            created_by=principal.id))
        created += 1
    return Drafted(outlines, created)
