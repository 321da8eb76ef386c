"""Stored rater-effects fits as other domains read them: readiness adjusts ratings with a
fit's severities. Reads calibration tables only, so readiness may import it without a cycle."""

import uuid

from sqlmodel import Session, select

from .models import RaterEffectsFit


def latest_fit(session: Session, cycle: str) -> RaterEffectsFit | None:
    """The newest stored fit of a cycle (any filters)."""
    return session.exec(select(RaterEffectsFit).where(RaterEffectsFit.cycle == cycle)
                        .order_by(RaterEffectsFit.created_at.desc(),
                                  RaterEffectsFit.id.desc())).first()


def get_fit(session: Session, fit_id: uuid.UUID) -> RaterEffectsFit | None:
    return session.get(RaterEffectsFit, fit_id)


def severities(fit: RaterEffectsFit) -> dict[str, float]:
    """Estimated severities by rater id (raters the fit could not estimate are absent)."""
    return {rater: float(v["severity"]) for rater, v in fit.severities.items()
            if v.get("severity") is not None}
