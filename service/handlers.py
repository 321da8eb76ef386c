"""Wires every domain's reactions to the events it listens for. The app and the CLI both call
``register_handlers()`` (it is idempotent), so a change made from either runs the same
reactions: a rubric published by ``ascent load-defaults`` reaches webhook subscribers too."""

from .fairness import handlers as fairness
from .readiness import handlers as readiness
from .webhooks import handlers as webhooks


def register_handlers() -> None:
    webhooks.register()
    readiness.register()
    fairness.register()
