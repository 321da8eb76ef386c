"""The fairness audit log: one row per read (or change) of attributes or fairness results,
written in the same transaction as the read it records, so an answer never goes out
unrecorded. Rows name who, when, what and the query, never a category."""

import io
import json
from typing import Any

from sqlmodel import Session, select

from .. import csv_cells
from ..auth.principal import Principal
from ..http import encode_cursor
from ..people import service as people
from ..problems import Forbidden, InvalidInput
from .models import FairnessAudit
from .schemas import AuditEntry

SYSTEM = "system:fairness"  # the principal of reads Ascent makes itself (the alert check)


def record(session: Session, who: str, action: str, *, person: str | None = None,
           query: dict[str, Any] | None = None) -> None:
    session.add(FairnessAudit(principal=who, action=action, person=person,
                              query={k: v for k, v in (query or {}).items() if v is not None}))
    session.flush()


def refuse_person_bound(principal: Principal, what: str) -> None:
    """Group-level fairness results compare people: nothing of them for one person's key."""
    if people.confined_to(principal) is not None:
        raise Forbidden(f"{what} is not available to credentials bound to a person")


def _entry(row: FairnessAudit) -> AuditEntry:
    return AuditEntry(id=row.id, at=row.at, principal=row.principal, action=row.action,
                      person=row.person, query=row.query)


def entries(session: Session, principal: Principal, *, limit: int, after: list | None,
            query: dict[str, Any]) -> tuple[list[AuditEntry], str | None]:
    """Newest first; reading the log is itself recorded."""
    refuse_person_bound(principal, "The fairness audit log")
    statement = select(FairnessAudit).order_by(FairnessAudit.id.desc())
    if after:
        if type(after[0]) is not int or not 0 < after[0] < 2**63:
            raise InvalidInput.field("query.cursor", "not a cursor this API issued")
        statement = statement.where(FairnessAudit.id < after[0])
    rows = list(session.exec(statement.limit(limit + 1)))
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    record(session, principal.id, "audit.read", query=query)
    return [_entry(r) for r in rows[:limit]], next_cursor


CSV_COLUMNS = ("id", "at", "principal", "action", "person", "query")


def as_csv(session: Session, principal: Principal, query: dict[str, Any]) -> str:
    """The whole log, oldest first, one row per entry (the query as compact JSON)."""
    refuse_person_bound(principal, "The fairness audit log")
    record(session, principal.id, "audit.export", query=query)
    out = io.StringIO()
    writer = csv_cells.Writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in session.exec(select(FairnessAudit).order_by(FairnessAudit.id)):
        writer.writerow([row.id, row.at.isoformat(), row.principal, row.action,
                         row.person or "", json.dumps(row.query, sort_keys=True,
                                                      separators=(",", ":"))])
    return out.getvalue()
