"""Cohort readiness: the latest submitted or finalized assessment of each person matching
the filters, scored together per rubric version with the NumPy cohort path, as an aggregate
report (bands, score distribution, competency x band heat map) or one CSV row per person
(streamed a page of people at a time)."""

import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import numpy as np
from sqlmodel import Session

from .. import csv_cells
from ..assessments import cohort as assessment_cohort
from ..assessments.roles import ROLE_VALUES
from ..auth.principal import Principal
from ..db import open_session
from ..people import service as people
from . import scoring
from .policies import get_policy
from .reports import invalid
from .schemas import CohortFilters, CohortReport, HeatRow
from .specs import rubric_spec

QUANTILES = (("min", 0), ("p10", 10), ("p25", 25), ("median", 50), ("p75", 75), ("p90", 90),
             ("max", 100))


@dataclass
class CohortResult:
    """Everyone's score, band and gaps, plus the aggregate answer (CohortReport)."""

    report: CohortReport
    rows: list[assessment_cohort.CohortRow]  # in the order of the arrays below
    scores: np.ndarray
    bands: np.ndarray
    gate_unmet: np.ndarray
    competencies: list[str]
    gaps: np.ndarray  # people x competencies (NaN where a person's rubric lacks it)


def _score_group(session: Session, key: str, version: int, inputs, members: np.ndarray
                 ) -> tuple[scoring.CohortScores, scoring.RubricSpec]:
    """Score every assessment of one rubric version at once (arrays in, arrays out)."""
    spec, policy_name = rubric_spec(session, key, version)
    policy = get_policy(session, policy_name)
    level = {lv: i for i, lv in enumerate(spec.levels)}
    rows = [inputs.rows[i] for i in members]
    local = np.full(len(inputs.rows), -1)
    local[members] = np.arange(len(members))
    mine = local[inputs.r_row] >= 0
    # Stored role indices are RaterRole codes (ROLE_VALUES order); scoring indexes roles in
    # role_order(policy), which lists every role, those the policy leaves out included.
    policy_role = {r: i for i, r in enumerate(scoring.role_order(policy))}
    role_map = np.array([policy_role[r] for r in ROLE_VALUES])
    try:
        return scoring.score_cohort(
            spec,
            np.fromiter((level[r.current_level] for r in rows), np.int64, len(rows)),
            np.fromiter((level[r.target_level] for r in rows), np.int64, len(rows)),
            local[inputs.r_row[mine]], inputs.r_competency[mine],
            role_map[inputs.r_role[mine]], inputs.r_proficiency[mine], policy,
        ), spec
    except scoring.ScoringInputError as exc:  # stored data no longer fits (should not happen)
        raise invalid(exc, prefix="cohort.") from exc


def _cohort_persons(session: Session, principal: Principal, filters: CohortFilters,
                    only: Collection[str] | None = None) -> set[str] | None:
    """Whom a cohort may include (None: anyone): a manager's reports, a person-bound
    principal's own person, ``only`` (a page of a streamed report)."""
    persons = None
    for allowed in (people.reports_of(session, filters.manager) if filters.manager else None,
                    {me} if (me := people.confined_to(principal)) is not None else None,
                    set(only) if only is not None else None):
        if allowed is not None:
            persons = allowed if persons is None else persons & allowed
    return persons


def cohort(session: Session, principal: Principal, filters: CohortFilters,
           only: Collection[str] | None = None) -> CohortResult:
    """Readiness of a population: the latest submitted or finalized assessment of each person
    matching the filters, scored together per rubric version (a few queries, no per-row I/O)."""
    persons = _cohort_persons(session, principal, filters, only)
    inputs = assessment_cohort.cohort_inputs(
        session, persons=persons, org_unit=filters.org_unit, rubric=filters.rubric,
        cycle=filters.cycle, current_level=filters.current_level,
        target_level=filters.target_level)

    groups: dict[tuple[str, int], list[int]] = {}
    for i, row in enumerate(inputs.rows):
        groups.setdefault((row.rubric_key, row.rubric_version), []).append(i)

    order: list[int] = []
    scores, bands, gates, gap_blocks, competencies = [], [], [], [], {}
    for (key, version), members in groups.items():
        result, spec = _score_group(session, key, version, inputs, np.array(members))
        for c in spec.competencies:
            competencies.setdefault(c.key, len(competencies))
        order += members
        scores.append(result.score)
        bands.append(result.band)
        gates.append(result.gate_unmet)
        gap_blocks.append((spec, result.gap))

    keys = list(competencies)
    gaps = np.full((len(order), len(keys)), np.nan)
    start = 0
    for spec, block in gap_blocks:
        cols = [competencies[c.key] for c in spec.competencies]
        gaps[start:start + len(block), cols] = block
        start += len(block)
    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    all_bands = np.concatenate(bands) if bands else np.zeros(0, np.int8)
    rows = [inputs.rows[i] for i in order]
    report = CohortReport(
        filters=filters, people=len(rows),
        bands={b: int((all_bands == i).sum()) for i, b in enumerate(scoring.BANDS)},
        score=_distribution(all_scores),
        heat_map=[_heat_row(k, gaps[:, j], all_bands) for j, k in enumerate(keys)],
        rubrics=[{"key": k, "version": v} for k, v in groups],
    )
    return CohortResult(report, rows, all_scores, all_bands,
                        np.concatenate(gates) if gates else np.zeros(0, bool), keys, gaps)


def _mean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return round(float(values.mean()), 2) if values.size else None


def _distribution(scores: np.ndarray) -> dict[str, float | None]:
    if scores.size == 0:
        return {name: None for name, _ in QUANTILES} | {"mean": None}
    points = np.percentile(scores, [q for _, q in QUANTILES])
    return ({name: round(float(p), 1) for (name, _), p in zip(QUANTILES, points, strict=True)}
            | {"mean": round(float(scores.mean()), 1)})


def _heat_row(key: str, gaps: np.ndarray, bands: np.ndarray) -> HeatRow:
    return HeatRow(competency=key, mean_gap=_mean(gaps) or 0.0,
                   by_band={b: _mean(gaps[bands == i]) for i, b in enumerate(scoring.BANDS)})


def cohort_csv(result: CohortResult) -> Iterator[str]:
    """One row per person: who, which assessment, score, band, and the gap per competency."""
    out = io.StringIO()
    writer = csv_cells.Writer(out, lineterminator="\n")
    writer.writerow(["external_id", "assessment_id", "rubric", "rubric_version", "cycle",
                     "current_level", "target_level", "score", "band", "gate_unmet",
                     *[f"gap:{k}" for k in result.competencies]])
    for i, row in enumerate(result.rows):
        writer.writerow([row.person, row.assessment_id, row.rubric_key, row.rubric_version,
                         row.cycle, row.current_level, row.target_level,
                         f"{result.scores[i]:.1f}", scoring.BANDS[result.bands[i]],
                         str(bool(result.gate_unmet[i])).lower(),
                         *["" if np.isnan(g) else f"{g:.4g}" for g in result.gaps[i]]])
        if i % 500 == 499:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


COHORT_PAGE = 1000


def cohort_csv_pages(engine, principal: Principal, filters: CohortFilters) -> Iterator[str]:
    """``cohort_csv`` at constant memory, whatever the cohort's size: people a page at a time
    (each page scored by ``cohort``, in a short session of its own), the gap columns those of
    every rubric version the cohort pins (known before the first row)."""
    wanted = filters.model_dump(exclude={"manager"})
    with open_session(engine) as session:
        persons = _cohort_persons(session, principal, filters)
        keys: dict[str, int] = {}
        for key, version in assessment_cohort.cohort_versions(session, persons=persons,
                                                             **wanted):
            for c in rubric_spec(session, key, version)[0].competencies:
                keys.setdefault(c.key, len(keys))
    yield "".join(cohort_csv(CohortResult(None, [], *(np.zeros(0),) * 3, list(keys),
                                          np.zeros((0, len(keys))))))  # the header
    after = None
    while True:
        with open_session(engine) as session:
            page = assessment_cohort.cohort_people(session, after=after, limit=COHORT_PAGE,
                                                  persons=persons, **wanted)
            if not page:
                return
            result = cohort(session, principal, filters, only=page)
        gaps = np.full((len(result.rows), len(keys)), np.nan)
        gaps[:, [keys[k] for k in result.competencies]] = result.gaps
        chunks = cohort_csv(CohortResult(result.report, result.rows, result.scores,
                                         result.bands, result.gate_unmet, list(keys), gaps))
        yield next(chunks).split("\n", 1)[1]  # less its header, written once above
        yield from chunks
        after = page[-1]
