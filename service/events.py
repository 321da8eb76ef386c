"""In-process domain events: a domain announces what happened, other domains react, all inside
the same database transaction (so a reaction exists exactly when the change does).

Events are frozen dataclasses, one per fact; each knows its public name (the webhook event
type), the key that orders deliveries about the same thing, and its public webhook data. The
producer never imports its consumers: reactions live in the reacting domain's ``handlers.py``
and are wired up by ``service.handlers.register_handlers()``, which the app and the CLI call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from sqlmodel import Session

if TYPE_CHECKING:
    from .assessments.schemas import AssessmentRead


@dataclass(frozen=True)
class Event:
    name: ClassVar[str]

    def ordering_key(self) -> str:
        """Deliveries with the same key go out in order (one thing's history)."""
        return f"event:{self.name}"

    def webhook_data(self) -> dict[str, Any]:
        """The ``data`` member of the webhook message: what a subscriber may see."""
        raise NotImplementedError


@dataclass(frozen=True)
class RubricPublished(Event):
    name: ClassVar[str] = "rubric.published"
    key: str
    version: int

    def ordering_key(self) -> str:
        return f"rubric:{self.key}"

    def webhook_data(self) -> dict[str, Any]:
        return {"rubric": {"key": self.key, "version": self.version}}


@dataclass(frozen=True)
class _AssessmentEvent(Event):
    assessment: AssessmentRead  # as it stands after the move, ratings included

    def ordering_key(self) -> str:
        return f"assessment:{self.assessment.id}"

    def webhook_data(self) -> dict[str, Any]:
        # Rating content (evidence) is personal and stays behind the API: subscribers get a count.
        public = self.assessment.model_dump(mode="json", exclude={"ratings"})
        public["ratings_count"] = len(self.assessment.ratings)
        return {"assessment": public}


@dataclass(frozen=True)
class AssessmentSubmitted(_AssessmentEvent):
    name: ClassVar[str] = "assessment.submitted"


@dataclass(frozen=True)
class AssessmentFinalized(_AssessmentEvent):
    name: ClassVar[str] = "assessment.finalized"


@dataclass(frozen=True)
class PreviousReadiness:
    score: float
    band: str
    assessment_id: str


@dataclass(frozen=True)
class ReadinessChanged(Event):
    name: ClassVar[str] = "readiness.changed"
    person: str
    assessment_id: str
    score: float
    band: str
    target_level: str
    previous: PreviousReadiness | None

    def ordering_key(self) -> str:
        return f"assessment:{self.assessment_id}"

    def webhook_data(self) -> dict[str, Any]:
        return {"person": self.person, "assessment_id": self.assessment_id,
                "score": self.score, "band": self.band, "target_level": self.target_level,
                "previous": None if self.previous is None else {
                    "score": self.previous.score, "band": self.previous.band,
                    "assessment_id": self.previous.assessment_id}}


# Every event a subscriber can hear of, in the order the API documents them.
@dataclass(frozen=True)
class CalibrationLocked(Event):
    name: ClassVar[str] = "calibration.locked"
    calibration_id: str
    cycle: str
    decisions: tuple[tuple[str, str], ...]  # (person, calibrated band)

    def ordering_key(self) -> str:
        return f"calibration:{self.calibration_id}"

    def webhook_data(self) -> dict[str, Any]:
        return {"calibration_id": self.calibration_id, "cycle": self.cycle,
                "decisions": [{"person": p, "calibrated_band": b} for p, b in self.decisions]}


@dataclass(frozen=True)
class FairnessAlert(Event):
    """A cycle's bands fell below four fifths for some group of an attribute. Group-level
    figures only, and no group named: the analysis (audited) says which."""

    name: ClassVar[str] = "fairness.alert"
    cycle: str
    attribute: str
    trigger: str  # "calibration.locked" or "cycle.finalized"
    calibration_id: str | None
    basis: str  # "raw" or "calibrated"
    groups_below: int
    lowest_impact_ratio: float
    min_group: int
    outcome: tuple[str, ...]

    def ordering_key(self) -> str:
        return f"fairness:{self.cycle}"

    def webhook_data(self) -> dict[str, Any]:
        query = urlencode({"cycle": self.cycle, "attribute": self.attribute,
                           "outcome": ",".join(self.outcome), "min_group": self.min_group})
        return {"cycle": self.cycle, "attribute": self.attribute, "trigger": self.trigger,
                "calibration_id": self.calibration_id, "basis": self.basis,
                "groups_below_four_fifths": self.groups_below,
                "lowest_impact_ratio": self.lowest_impact_ratio, "min_group": self.min_group,
                "outcome": list(self.outcome),
                "analysis": f"/v1/cohorts/adverse-impact?{query}"}


EVENT_TYPES: tuple[type[Event], ...] = (RubricPublished, AssessmentSubmitted,
                                        AssessmentFinalized, ReadinessChanged,
                                        CalibrationLocked, FairnessAlert)
EVENT_NAMES: tuple[str, ...] = tuple(e.name for e in EVENT_TYPES)

Handler = Callable[[Session, Any], None]

_handlers: dict[type[Event], list[Handler]] = defaultdict(list)
_any: list[Handler] = []


def subscribe(event: type[Event] | None, handler: Handler) -> Handler:
    """Call ``handler(session, event)`` on each ``event`` (on every event when None)."""
    target = _any if event is None else _handlers[event]
    if handler not in target:
        target.append(handler)
    return handler


def unsubscribe(event: type[Event] | None, handler: Handler) -> None:
    target = _any if event is None else _handlers[event]
    if handler in target:
        target.remove(handler)


def emit(session: Session, event: Event) -> None:
    """Run every handler now, in the caller's transaction; a failing handler fails the change."""
    # Observers of every event (the webhooks outbox) go first, so an event is recorded before
    # the reactions it causes record theirs (assessment.finalized before readiness.changed).
    for handler in (*_any, *_handlers.get(type(event), ())):
        handler(session, event)
