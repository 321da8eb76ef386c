"""Readiness as pictures and documents over HTTP: gathers what the pure renderers in
``render/`` need (display names from the rubric, the person, who rated, evidence) through the
owning domains' services, and answers with the media type and a strict CSP.

Who rated is shown by role. Peer and upward raters are never named, to anyone (peer feedback
is anonymous to the person assessed, and upward feedback comes from their own reports);
self, manager and other raters are named. Evidence excerpts carry the role only."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Response
from sqlmodel import Session

from ..assessments import service as assessments
from ..auth.principal import Principal
from ..people import service as people
from ..problems import ProblemError
from ..rubrics.published import published_rubric
from . import render

ANONYMOUS_ROLES = frozenset({"peer", "upward"})
ROLE_ORDER = ("self", "manager", "peer", "upward", "other")


def labels_for(session: Session, rubrics: Sequence[Mapping[str, Any]]) -> render.Labels:
    """Names of levels and competencies (and the scale) of the rubric versions a report or a
    cohort used; keys stand in for anything not found."""
    competencies: dict[str, str] = {}
    levels: dict[str, str] = {}
    scale: tuple[int | None, int | None] = (None, None)
    for ref in rubrics:
        try:
            rubric = published_rubric(session, ref["key"], ref["version"])
        except (ProblemError, KeyError, TypeError):
            continue
        for c in rubric.doc.competencies:
            competencies.setdefault(c.key, c.name)
        for lv in rubric.doc.levels:
            levels.setdefault(lv.key, lv.name)
        if scale == (None, None):
            scale = (rubric.scale_min, rubric.scale_max)
    return render.Labels(competencies, levels, *scale)


def _svg(body: bytes, frame_ancestors: Sequence[str], name: str) -> Response:
    return Response(body, media_type=render.SVG_MEDIA_TYPE, headers={
        "Content-Security-Policy": render.svg_csp(frame_ancestors),
        "Content-Disposition": f'inline; filename="{name}.svg"'})


def radar(session: Session, raw: bytes, frame_ancestors: Sequence[str] = ()) -> Response:
    """A report's canonical JSON as its radar chart."""
    report = json.loads(raw)
    return _svg(render.radar_svg(report, labels_for(session, [report.get("rubric") or {}])),
                frame_ancestors, "readiness-radar")


def cohort_chart(session: Session, cohort: Mapping[str, Any], chart: str,
                 frame_ancestors: Sequence[str] = ()) -> Response:
    if chart == "bands":
        return _svg(render.bands_svg(cohort), frame_ancestors, "readiness-bands")
    labels = labels_for(session, cohort.get("rubrics") or [])
    return _svg(render.heatmap_svg(cohort, labels), frame_ancestors, "readiness-heatmap")


def _raters(session: Session, ratings: Sequence[Any], principal: Principal
            ) -> list[render.RaterGroup]:
    by_role: dict[str, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for r in ratings:
        by_role[r.rater_role][r.rater_id] += 1
    named = {rid for role, raters in by_role.items() if role not in ANONYMOUS_ROLES
             for rid in raters if rid}
    # Names only of people this principal may see; the others show as their HRIS id.
    found = people.get_people(session, named, principal) if named else {}
    groups = []
    for role in sorted(by_role, key=lambda r: ROLE_ORDER.index(r) if r in ROLE_ORDER else 99):
        raters = by_role[role]
        names: tuple[str, ...] = ()
        if role not in ANONYMOUS_ROLES:
            names = tuple(found[rid].display_name if rid in found else rid
                          for rid in sorted(raters, key=str) if rid)
        groups.append(render.RaterGroup(role=role, raters=len(raters),
                                        ratings=sum(raters.values()), names=names))
    return groups


def assessment_page(session: Session, assessment_id: uuid.UUID, principal: Principal,
                    raw: bytes, frame_ancestors: Sequence[str] = ()) -> Response:
    """The HTML report of an assessment (``raw``: its readiness report, already authorised
    and computed by the caller for this principal and target level)."""
    report = json.loads(raw)
    assessment = assessments.get_assessment(session, assessment_id, principal)
    person = people.find_person(session, assessment.person_external_id)
    # What this principal may see of the ratings; rater ids go no further than the counts.
    ratings = assessments.to_read(assessment, principal).ratings
    page = render.Page(
        report=report,
        labels=labels_for(session, [report.get("rubric") or {}]),
        subject=render.Subject(
            external_id=assessment.person_external_id,
            name=person.display_name if person is not None else None,
            assessment_id=str(assessment.id), cycle=assessment.cycle,
            status=assessment.status),
        # Counted from every rating (peer ids never leave this function, only counts).
        raters=_raters(session, assessments.to_read(assessment).ratings, principal),
        evidence=[render.Excerpt(r.competency, r.rater_role, r.evidence)
                  for r in ratings if r.evidence],
    )
    return Response(render.report_html(page), media_type=render.HTML_MEDIA_TYPE, headers={
        "Content-Security-Policy": render.html_csp(frame_ancestors)})
