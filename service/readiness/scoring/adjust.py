"""Rater adjustment: a rating less its rater's severity, clamped to the scale.

Severities come from a stored rater-effects fit (positive = lenient, in scale steps); the
service loads the fit and passes it in as data, so scoring stays pure. Only non-self
ratings with a rater id the fit estimated are adjusted: self ratings are not in the fit
(nobody else rates a person's self), and an unknown rater is left as rated.

The single report and the cohort path both go through `shift_of` (who is adjusted, by how
much) and `adjust_array` (the arithmetic), so they agree exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ...assessments.roles import RaterRole
from .model import Rating, dumps

SELF_ROLE = RaterRole.SELF.value
_DIGEST_MAGIC = b"readiness-adjusted/1\n"


@dataclass(frozen=True)
class RaterAdjustment:
    """The fit a report is adjusted with: its id (None: adjustment was asked for but no fit
    is stored, so nothing is adjusted) and its severities by rater id."""

    fit_id: str | None
    severities: Mapping[str, float] = field(default_factory=dict)


def shift_of(rater_role: str, rater_id: str | None, severities: Mapping[str, float]
             ) -> float | None:
    """The severity to take off this rating, None when it is not adjusted."""
    if rater_role == SELF_ROLE or not rater_id:
        return None
    return severities.get(rater_id)


def adjust_array(proficiency: np.ndarray, shift: np.ndarray, scale_min: float,
                 scale_max: float) -> np.ndarray:
    """rating - severity, clamped to the scale (shift 0 leaves a rating as it was)."""
    return np.clip(np.asarray(proficiency, np.float64) - shift, scale_min, scale_max)


def adjust_ratings(ratings: Sequence[Rating], adjustment: RaterAdjustment, scale_min: float,
                   scale_max: float) -> tuple[list[Rating], dict[str, float]]:
    """The ratings with adjusted proficiencies, and the severities used (by rater id).
    A proficiency that is not a number is passed on unchanged for scoring to report."""
    shifts = [shift_of(r.rater_role, r.rater_id, adjustment.severities) for r in ratings]
    movable = [i for i, (r, s) in enumerate(zip(ratings, shifts, strict=True))
               if s is not None and isinstance(r.proficiency, int | float)
               and not isinstance(r.proficiency, bool)]
    out = list(ratings)
    moved = adjust_array(np.array([ratings[i].proficiency for i in movable], np.float64),
                         np.array([shifts[i] for i in movable], np.float64),
                         scale_min, scale_max)
    for i, value in zip(movable, moved.tolist(), strict=True):
        out[i] = replace(ratings[i], proficiency=value)
    used = {str(ratings[i].rater_id): float(shifts[i]) for i in movable}  # type: ignore[arg-type]
    return out, used


def adjusted_digest(raw_digest: str, fit_id: str, used: Mapping[str, float]) -> str:
    """The inputs digest of an adjusted report: sha256 of b"readiness-adjusted/1\\n", the raw
    inputs digest, b"\\n" and the JSON object (sorted keys, no whitespace) of the fit id and
    the severities used, by rater id. Equal ratings and fit: equal digest."""
    hashed = hashlib.sha256(_DIGEST_MAGIC + raw_digest.encode() + b"\n")
    hashed.update(dumps({"fit_id": fit_id,
                         "severities": {k: float(v) for k, v in used.items()}}).encode())
    return "sha256:" + hashed.hexdigest()
