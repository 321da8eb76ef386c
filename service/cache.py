"""Small per-process caches: ``LRU`` for immutable data (published rubric versions, policy
versions, serialised documents) and ``Latest`` for "which version is the latest" answers,
which change, kept for ``LATEST_TTL`` seconds.

Keys start with ``db_key(session)``: one process may talk to several databases (tests do).
A write session is bound to a view of the engine (``db.open_session``) sharing its pool, so the
pool names the database."""

import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

# How long a process keeps believing which version of a rubric or policy is the latest. A
# change made in this process is seen at once (``Latest.forget``); other server processes
# (ASCENT_WORKERS, replicas) see a newly published, retired or created version within this.
LATEST_TTL = 1.0


def db_key(session: Session) -> int:
    return id(session.get_bind().pool)


class LRU(OrderedDict):
    """A bounded mapping that forgets the least recently stored entry first."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)
        return value


class Latest:
    """A per-database answer about a name (e.g. a rubric key's latest published version),
    believed for ``ttl`` seconds: hot reads skip the database query without serving a stale
    answer for longer than that. A change forgets the name's answers for every database this
    process knows (more than needed, never less: one process may reach one database through
    several engines)."""

    def __init__(self, size: int = 1024, ttl: float = LATEST_TTL) -> None:
        self._names, self.ttl = LRU(size), ttl  # name -> {db_key: (expires, answer)}

    def get(self, session: Session, name: Any) -> Any:
        """The remembered answer, or None when there is none or it is older than ``ttl``."""
        hit = self._names.get(name, {}).get(db_key(session))
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def put(self, session: Session, name: Any, value: Any) -> Any:
        answers = self._names.get(name)
        if answers is None:
            answers = self._names.put(name, {})
        answers[db_key(session)] = (time.monotonic() + self.ttl, value)
        return value

    def forget(self, session: Session, name: Any) -> None:
        """A write in ``session`` changes the answer: forget it now and again when the session
        commits (a reader in between may have remembered the answer from before the commit)."""
        self._names.pop(name, None)
        event.listen(session, "after_commit", lambda _: self._names.pop(name, None), once=True)

    def clear(self) -> None:
        self._names.clear()
