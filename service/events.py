"""In-process domain events: a domain announces what happened, other domains react, all inside
the same database transaction (so a reaction exists exactly when the change does).

The producer does not import its consumers: assessments emit ``assessment.finalized``,
readiness stores its report snapshot, webhooks write an outbox row. Handlers are registered at
import time by the consumer (``service.models.load_all`` imports every domain).
"""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

Handler = Callable[[Session, str, dict[str, Any]], None]

ASSESSMENT_SUBMITTED = "assessment.submitted"
ASSESSMENT_FINALIZED = "assessment.finalized"
RUBRIC_PUBLISHED = "rubric.published"
READINESS_CHANGED = "readiness.changed"

_handlers: dict[str, list[Handler]] = defaultdict(list)
_any: list[Handler] = []


def subscribe(event: str | None, handler: Handler) -> Handler:
    """Call ``handler(session, event, payload)`` on ``event`` (on every event when None)."""
    target = _any if event is None else _handlers[event]
    if handler not in target:
        target.append(handler)
    return handler


def emit(session: Session, event: str, payload: dict[str, Any]) -> None:
    """Run every handler now, in the caller's transaction; a failing handler fails the change."""
    # Observers of every event (the webhooks outbox) go first, so an event is recorded before
    # the reactions it causes record theirs (assessment.finalized before readiness.changed).
    for handler in (*_any, *_handlers.get(event, ())):
        handler(session, event, payload)


def unsubscribe(event: str | None, handler: Handler) -> None:
    target = _any if event is None else _handlers[event]
    if handler in target:
        target.remove(handler)
