"""Incremental sync ("what changed since?"), shared by the lists that offer it: people,
assessments, outlines and readiness reports.

A change list is ordered by (stamp, id), oldest change first, and its cursor carries both, so
a job that keeps the last ``sync_cursor`` resumes exactly after the last row it was given.

Why a settled horizon (PostgreSQL). A row's stamp is taken while its transaction runs, but
the row becomes visible only when that transaction commits. A transaction that began at 10:00
may commit a row stamped 10:00:01 after a reader has returned rows stamped 10:00:05 and moved
its cursor past them; ordering by stamp alone would lose that row for good. So a change list
returns only rows stamped before the *settled horizon*: the start of the oldest transaction
still open on this database (``pg_stat_activity``), or the current time when none is. It is read
before the rows, so:

- every stamp is taken after its transaction started and showed in ``pg_stat_activity``:
  writers here stamp after their first statement (each reads before it writes), and a
  trigger (Alembic 0010) replaces any stamp older than its transaction's start by the
  database clock at the write, whatever the code path (ORM, bulk SQL) or the writer's clock;
- a transaction still open when the horizon is read started at or after the horizon, so every
  row it commits is stamped at or after it and is left for a later read;
- a transaction that started later is stamped later still; every other writer had committed
  when the horizon was read, so the row query (a later statement, a newer snapshot) sees it.

Rows stamped before the horizon are therefore complete and final: none can appear behind the
cursor later. A long transaction holds the horizon back (its rows, and newer ones, wait for the
next read); it never makes a reader skip anything. The database role must see the other
sessions' ``xact_start`` (the same role does; otherwise grant ``pg_read_all_stats``).

SQLite has one writer at a time and write transactions begin IMMEDIATE (``db.open_session``),
so stamps are taken under the write lock: every row committed later is stamped later than all
rows visible now, and no horizon is needed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic

from fastapi import Query, Request, Response
from pydantic import AwareDatetime, Field
from sqlalchemy import and_, or_, text
from sqlmodel import Session

from .http import Page, T, encode_cursor, set_link_header
from .problems import InvalidInput

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TAG = "changes"  # first element of a change-list cursor; ordinary cursors never start so

UpdatedSince = Annotated[AwareDatetime | None, Query(description=(
    "RFC 3339 timestamp with an offset: only rows changed at or after it, oldest change "
    "first. Keep the answer's `sync_cursor` and pass it as `cursor` next time."))]

# The start of the oldest open transaction of this database but ours, or now. Autovacuum
# never writes application rows, so it may not hold the horizon back.
_HORIZON = text("""
    SELECT LEAST(clock_timestamp(), min(xact_start)) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND xact_start IS NOT NULL AND backend_type <> 'autovacuum worker'
""")


class SyncPage(Page[T], Generic[T]):
    sync_cursor: str | None = Field(None, description=(
        "Only with `updated_since` or a change cursor: where this read stopped. Pass it as "
        "`cursor` on the next run to get the rows changed since (an empty page: nothing yet)."))


@dataclass(frozen=True)
class Position:
    """Where a change list resumes: after (at, id), or from ``at`` inclusive when id is None."""

    at: datetime
    id: str | None = None

    def cursor(self) -> str:
        return encode_cursor([_TAG, self.at.isoformat(), self.id])


def position(updated_since: datetime | None, after: list[Any] | None, *,
             from_start: bool = False) -> Position | None:
    """The change-list position a request asks for; None for an ordinary list unless
    ``from_start`` (a list that is only ever a change list). A change cursor carries its own
    position, past ``updated_since``, which it then overrides."""
    if after and len(after) == 3 and after[0] == _TAG:
        _, at, last_id = after
        try:
            at = _utc(datetime.fromisoformat(at))
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInput.field("query.cursor", "not a cursor this API issued") from exc
        if not isinstance(last_id, str | None):
            raise InvalidInput.field("query.cursor", "not a cursor this API issued")
        return Position(at, last_id)
    if after and (updated_since is not None or from_start):
        raise InvalidInput.field("query.cursor", "not a change-list cursor: with updated_since, "
                                                 "pass the sync_cursor of the previous read")
    if updated_since is not None:
        try:
            return Position(_utc(updated_since))
        except (ValueError, OverflowError) as exc:
            raise InvalidInput.field("query.updated_since", "out of range") from exc
    return Position(_EPOCH) if from_start else None


def _utc(at: datetime) -> datetime:
    """``at`` in UTC (a ValueError when it has no offset, OverflowError past year 1..9999)."""
    if at.tzinfo is None:
        raise ValueError("no offset")
    return at.astimezone(UTC)


def settled_horizon(session: Session) -> datetime | None:
    """Rows stamped before this are final (module doc); None: no bound (SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    # pg_stat_activity is read once per transaction and then cached: a second change list in
    # one request (GraphQL aliases) must not use an older list of open transactions.
    session.execute(text("SELECT pg_stat_clear_snapshot()"))
    return session.execute(_HORIZON).scalar_one()


@dataclass(frozen=True)
class Changes:
    rows: list[Any]
    cursors: list[str]  # each row's own position (GraphQL edges)
    next_cursor: str | None  # more rows are ready now
    sync_cursor: str  # resume here next time


def changes(session: Session, query, stamp, key, since: Position, limit: int) -> Changes:
    """``query`` (filtered, unordered) narrowed to the rows changed after ``since`` and before
    the settled horizon, by (stamp, key), one page of ``limit``."""
    horizon = settled_horizon(session)  # before the rows: see the module doc
    if since.id is None:
        query = query.where(stamp >= since.at)
    else:
        last = _key_value(key, since.id)
        query = query.where(or_(stamp > since.at, and_(stamp == since.at, key > last)))
    if horizon is not None:
        query = query.where(stamp < horizon)
    found = list(session.exec(query.order_by(stamp, key).limit(limit + 1)))
    page, more = found[:limit], len(found) > limit
    cursors = [Position(getattr(row, stamp.key), str(getattr(row, key.key))).cursor()
               for row in page]
    cursor = cursors[-1] if cursors else since.cursor()
    return Changes(page, cursors, cursor if more else None, cursor)


def answer(request: Request, response: Response, found: Changes,
           shape: Callable[[Any], Any] | None = None) -> SyncPage:
    """A change list's page (rows passed through ``shape`` when given), with its Link
    header."""
    set_link_header(request, response, found.next_cursor)
    return SyncPage(data=[shape(r) for r in found.rows] if shape else found.rows,
                    next_cursor=found.next_cursor, sync_cursor=found.sync_cursor)


def _key_value(key, raw: str) -> Any:
    try:
        return key.type.python_type(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidInput.field("query.cursor", "not a cursor this API issued") from exc
