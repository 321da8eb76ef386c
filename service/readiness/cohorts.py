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
from ..calibration.fits import latest_fit
from ..db import open_session
from ..people import service as people
from . import adjustment, scoring
from .adjustment import AS_POLICY, AdjustChoice
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
    fit_ids: list[str | None] | None = None  # per row when adjusting: the fit used ("" none)


def _group_policy(session: Session, key: str, version: int
                  ) -> tuple[scoring.RubricSpec, scoring.Policy]:
    spec, policy_name = rubric_spec(session, key, version)
    return spec, get_policy(session, policy_name)


def _score_group(spec: scoring.RubricSpec, policy: scoring.Policy, inputs, members: np.ndarray,
                 shifts: np.ndarray | None) -> scoring.CohortScores:
    """Score every assessment of one rubric version at once (arrays in, arrays out); with
    ``shifts`` (per rating, the severity to take off), on rater-adjusted ratings."""
    level = {lv: i for i, lv in enumerate(spec.levels)}
    rows = [inputs.rows[i] for i in members]
    local = np.full(len(inputs.rows), -1)
    local[members] = np.arange(len(members))
    mine = local[inputs.r_row] >= 0
    # Stored role indices are RaterRole codes (ROLE_VALUES order); scoring indexes roles in
    # role_order(policy), which lists every role, those the policy leaves out included.
    policy_role = {r: i for i, r in enumerate(scoring.role_order(policy))}
    role_map = np.array([policy_role[r] for r in ROLE_VALUES])
    proficiency = inputs.r_proficiency[mine]
    if shifts is not None:
        proficiency = scoring.adjust_array(proficiency, shifts[mine], spec.scale_min,
                                           spec.scale_max)
    try:
        return scoring.score_cohort(
            spec,
            np.fromiter((level[r.current_level] for r in rows), np.int64, len(rows)),
            np.fromiter((level[r.target_level] for r in rows), np.int64, len(rows)),
            local[inputs.r_row[mine]], inputs.r_competency[mine],
            role_map[inputs.r_role[mine]], proficiency, policy,
        )
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


def _groups(rows) -> dict[tuple[str, int], list[int]]:
    groups: dict[tuple[str, int], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault((row.rubric_key, row.rubric_version), []).append(i)
    return groups


def _row_fits(session: Session, rows, choice: AdjustChoice) -> list[scoring.RaterAdjustment]:
    """Per row, the fit to adjust with: the one ``choice`` names, else the latest of the row's
    cycle (``fit_id`` None: there is none)."""
    if choice.fit_id is not None:
        named = adjustment.of_fit(adjustment.named_fit(session, choice.fit_id))
        return [named] * len(rows)
    by_cycle: dict[str, scoring.RaterAdjustment] = {}
    for row in rows:
        if row.cycle not in by_cycle:
            by_cycle[row.cycle] = adjustment.of_fit(latest_fit(session, row.cycle))
    return [by_cycle[row.cycle] for row in rows]


def _shifts(inputs, raters: np.ndarray, fit_of_row: list[scoring.RaterAdjustment]
            ) -> np.ndarray:
    """Per rating, the severity adjustment takes off (0: left as rated, see
    ``scoring.shift_of``)."""
    return np.fromiter(
        (scoring.shift_of(ROLE_VALUES[role], rater, fit_of_row[i].severities) or 0.0
         for i, role, rater in zip(inputs.r_row.tolist(), inputs.r_role.tolist(), raters,
                                   strict=True)), np.float64, len(raters))


def cohort(session: Session, principal: Principal, filters: CohortFilters,
           only: Collection[str] | None = None, choice: AdjustChoice = AS_POLICY
           ) -> CohortResult:
    """Readiness of a population: the latest submitted or finalized assessment of each person
    matching the filters, scored together per rubric version (a few queries, no per-row I/O).
    Rater-adjusted where the policy or ``choice`` asks (the ratings are then read with their
    raters, and each row's fit is named)."""
    persons = _cohort_persons(session, principal, filters, only)
    wanted = filters.model_dump(exclude={"manager"})
    inputs = assessment_cohort.cohort_inputs(session, persons=persons, **wanted)
    groups = _groups(inputs.rows)
    specs = {version: _group_policy(session, *version) for version in groups}
    adjusting = {version: adjustment.wanted(policy, choice)
                 for version, (_, policy) in specs.items()}
    shifts, row_fits = None, None
    if any(adjusting.values()):
        fit_of_row = _row_fits(session, inputs.rows, choice)
        row_fits = [f.fit_id for f in fit_of_row]
        if any(row_fits):  # who rated matters only when some row has a fit
            inputs, raters = assessment_cohort.cohort_inputs_with_raters(
                session, inputs.rows, persons=persons, **wanted)
            shifts = _shifts(inputs, raters, fit_of_row)
        else:  # no fit anywhere: every rating stays as rated
            shifts = np.zeros(len(inputs.r_proficiency))

    order: list[int] = []
    fit_ids: list[str | None] = []
    scores, bands, gates, gap_blocks, competencies = [], [], [], [], {}
    for (key, version), members in groups.items():
        adjusted = shifts is not None and adjusting[key, version]
        spec, policy = specs[key, version]
        result = _score_group(spec, policy, inputs, np.array(members),
                              shifts if adjusted else None)
        fit_ids += [row_fits[i] or "" if adjusted else None for i in members]
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
        rater_adjustment=None if shifts is None else {
            rows[i].cycle: fit or None for i, fit in enumerate(fit_ids) if fit is not None},
    )
    return CohortResult(report, rows, all_scores, all_bands,
                        np.concatenate(gates) if gates else np.zeros(0, bool), keys, gaps,
                        fit_ids if shifts is not None else None)


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


def cohort_csv(result: CohortResult, fit_column: bool = False) -> Iterator[str]:
    """One row per person: who, which assessment, score, band, and the gap per competency;
    with ``fit_column``, the rater-effects fit each score was adjusted with (empty: none)."""
    out = io.StringIO()
    writer = csv_cells.Writer(out, lineterminator="\n")
    writer.writerow(["external_id", "assessment_id", "rubric", "rubric_version", "cycle",
                     "current_level", "target_level", "score", "band", "gate_unmet",
                     *(["fit_id"] if fit_column else []),
                     *[f"gap:{k}" for k in result.competencies]])
    for i, row in enumerate(result.rows):
        fit = [result.fit_ids[i] or "" if result.fit_ids else ""] if fit_column else []
        writer.writerow([row.person, row.assessment_id, row.rubric_key, row.rubric_version,
                         row.cycle, row.current_level, row.target_level,
                         f"{result.scores[i]:.1f}", scoring.BANDS[result.bands[i]],
                         str(bool(result.gate_unmet[i])).lower(), *fit,
                         *["" if np.isnan(g) else f"{g:.4g}" for g in result.gaps[i]]])
        if i % 500 == 499:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


COHORT_PAGE = 1000


def check_choice(session: Session, choice: AdjustChoice) -> None:
    """Refuse a fit that does not exist before a streamed answer starts."""
    if choice.fit_id is not None:
        adjustment.named_fit(session, choice.fit_id)


def cohort_csv_pages(engine, principal: Principal, filters: CohortFilters,
                     choice: AdjustChoice = AS_POLICY) -> Iterator[str]:
    """``cohort_csv`` at constant memory, whatever the cohort's size: people a page at a time
    (each page scored by ``cohort``, in a short session of its own), the gap columns those of
    every rubric version the cohort pins (known before the first row), and a ``fit_id``
    column when any of them is rater-adjusted."""
    wanted = filters.model_dump(exclude={"manager"})
    with open_session(engine) as session:
        persons = _cohort_persons(session, principal, filters)
        keys: dict[str, int] = {}
        fit_column = False
        for key, version in assessment_cohort.cohort_versions(session, persons=persons,
                                                             **wanted):
            spec, policy = _group_policy(session, key, version)
            fit_column |= adjustment.wanted(policy, choice)
            for c in spec.competencies:
                keys.setdefault(c.key, len(keys))
    yield "".join(cohort_csv(CohortResult(None, [], *(np.zeros(0),) * 3, list(keys),
                                          np.zeros((0, len(keys)))), fit_column))  # header
    after = None
    while True:
        with open_session(engine) as session:
            page = assessment_cohort.cohort_people(session, after=after, limit=COHORT_PAGE,
                                                  persons=persons, **wanted)
            if not page:
                return
            result = cohort(session, principal, filters, only=page, choice=choice)
        gaps = np.full((len(result.rows), len(keys)), np.nan)
        gaps[:, [keys[k] for k in result.competencies]] = result.gaps
        chunks = cohort_csv(CohortResult(result.report, result.rows, result.scores,
                                         result.bands, result.gate_unmet, list(keys), gaps,
                                         result.fit_ids), fit_column)
        yield next(chunks).split("\n", 1)[1]  # less its header, written once above
        yield from chunks
        after = page[-1]
