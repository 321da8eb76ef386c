"""The rules an assessment obeys, written once for both writers: ``service`` (one assessment
through the ORM) and ``batch`` (bulk imports in SQL).

Pure: plain values and a ``PublishedRubric`` in, the checked value out, or ``InvalidInput``
naming the field at fault (``validate_ratings`` lists every error instead). Looking things up
is the callers' part."""

from collections.abc import Sequence
from typing import Protocol

from ..problems import FieldError, InvalidInput
from ..rubrics.published import PublishedRubric
from ..versioning import PUBLISHED
from .roles import RaterRole


class RatingLike(Protocol):
    competency: str
    proficiency: int


# --- what an assessment pins -----------------------------------------------------------------

def require_pinnable(key: str, number: int, status: str) -> None:
    """Only a published version is pinned: a draft may still change, a retired one is over."""
    if status != PUBLISHED:
        raise InvalidInput.field("rubric.version", f"version {number} of '{key}' is {status}; "
                                                   "assessments pin a published version")


def subject_rubric(person: str, *, active: bool, requested: str | None,
                   default: str | None) -> str:
    """The rubric key to assess a person against: the one asked for, else the person's own.
    Deactivated people are not assessed."""
    if not active:
        raise InvalidInput.field("person", f"person '{person}' is deactivated")
    key = requested or default
    if key is None:
        raise InvalidInput.field("rubric", f"person '{person}' is on no rubric; name one")
    return key


def levels(rubric: PublishedRubric, current: str | None, target: str | None
           ) -> tuple[str, str]:
    """(current, target) levels: the person's level must be one of the pinned version's, and
    the target (default: the next level up) a level above it."""
    if current is None or current not in rubric.level_set:
        raise InvalidInput.field("person", (
            f"the person's level ({current or 'none'}) is not a level of rubric "
            f"'{rubric.key}' version {rubric.version}"))
    return current, target_level(rubric.levels, current, target)


def target_level(levels: Sequence[str], current: str, target: str | None) -> str:
    position = levels.index(current)
    if target is None:
        if position + 1 == len(levels):
            raise InvalidInput.field("target_level", f"'{current}' is the top level; there is "
                                                     "no level to assess for")
        return levels[position + 1]
    if target not in levels:
        raise InvalidInput.field("target_level", f"'{target}' is not a level of the rubric "
                                                 f"(one of {', '.join(levels)})")
    if levels.index(target) <= position:
        raise InvalidInput.field("target_level", f"'{target}' is not above the current level "
                                                 f"'{current}'")
    return target


# --- ratings ---------------------------------------------------------------------------------

def rater_id(role: str, given: str | None, subject: str, *, field: str = "rater_id") -> str:
    """Who a rating is by. Self ratings are the subject's own (the id may be left out); every
    other role names its rater."""
    if role == RaterRole.SELF:
        if (given or subject) != subject:
            raise InvalidInput.field(field, f"self ratings are the assessed person's own: "
                                            f"'{subject}'")
        return subject
    if given is None:
        raise InvalidInput.field(field, f"required for {role} ratings")
    return given


def validate_ratings(rubric: PublishedRubric, ratings: Sequence[RatingLike], *,
                     path: str = "ratings", positions: Sequence[int] | None = None
                     ) -> list[FieldError]:
    """One rater's ratings: each names a competency of the pinned version, once, with a
    proficiency within its scale. ``positions`` are the ratings' indexes in the caller's
    list (default: 0, 1, ...), used in the field paths."""
    lo, hi = rubric.scale_min, rubric.scale_max
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, rating in enumerate(ratings):
        at = f"{path}[{positions[i] if positions is not None else i}]"
        if rating.competency not in rubric.competency_set:
            errors.append(FieldError(field=f"{at}.competency", message=(
                f"'{rating.competency}' is not a competency of rubric version "
                f"{rubric.version}")))
        elif rating.competency in seen:
            errors.append(FieldError(field=f"{at}.competency",
                                     message=f"'{rating.competency}' is rated twice"))
        seen.add(rating.competency)
        if not lo <= rating.proficiency <= hi:
            errors.append(FieldError(field=f"{at}.proficiency",
                                     message=f"must be within the scale {lo}..{hi}"))
    return errors


def evidence(text: str | None) -> str | None:
    """Evidence as stored: blank text is no evidence (readiness flags its absence)."""
    return text if text and text.strip() else None
