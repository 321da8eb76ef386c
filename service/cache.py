"""Small per-process caches for immutable data (published rubric versions, policy versions).

Keys start with ``db_key(session)``: one process may talk to several databases (tests do).
A write session is bound to a view of the engine (``db.open_session``) sharing its pool, so the
pool names the database."""

from collections import OrderedDict
from typing import Any

from sqlmodel import Session


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
