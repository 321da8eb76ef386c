"""Published rubric versions in the form the pure scoring package takes (RubricSpec).

Published versions never change, so the spec is derived once per PublishedRubric (the one
cached value per published version, service/rubrics/published.py) and kept beside it."""

import functools

from sqlmodel import Session

from ..rubrics.published import PublishedRubric, published_rubric
from ..rubrics.schemas import RubricCreate
from . import scoring


def to_spec(doc: RubricCreate, version: int) -> scoring.RubricSpec:
    levels = tuple(lv.key for lv in doc.levels)
    competencies = []
    for comp in doc.competencies:
        by_level = {e.level: e for e in comp.expectations}
        competencies.append(scoring.CompetencySpec(
            key=comp.key, weight=comp.weight,
            expected=tuple(by_level[lv].proficiency for lv in levels),
            gates=frozenset(e.level for e in comp.expectations if e.gate),
            recommendations=tuple(scoring.Recommendation(r.kind, r.title, r.detail,
                                                         tuple(r.levels or ()))
                                  for r in comp.recommendations),
        ))
    return scoring.RubricSpec(key=doc.key, version=version, scale_min=doc.scale.min,
                              scale_max=doc.scale.max, levels=levels,
                              competencies=tuple(competencies))


@functools.lru_cache(maxsize=256)
def spec_of(published: PublishedRubric) -> scoring.RubricSpec:
    """The scoring form of a published version, made once per PublishedRubric (which hashes
    by identity: one object per database, key and version while it is cached)."""
    return to_spec(published.doc, published.version)


def rubric_spec(session: Session, key: str, version: int | None = None
                ) -> tuple[scoring.RubricSpec, str]:
    """(scoring form, policy name) of a published (or retired) rubric version; the latest
    published one when ``version`` is None. 404 when missing, 422 on ``rubric.version`` for a
    draft (drafts change; only published content is scored)."""
    published = published_rubric(session, key, version)
    return spec_of(published), published.policy


def clear_cache() -> None:
    spec_of.cache_clear()
