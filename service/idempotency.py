"""``Idempotency-Key`` on creating POSTs: same key + same body replays the first answer,
same key + another body is 422, a concurrent duplicate is 409. Answers are kept 24 h.

The stored answer is written in the request's own transaction, so it exists exactly when the
change it describes does.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import JSON, Column, Text, UniqueConstraint, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from .auth.deps import PrincipalDep
from .auth.principal import Principal
from .db import SessionDep
from .models import UTCDateTime, created_at_field, utcnow
from .problems import Conflict, InvalidInput

REPLAY_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("ETag", "Location")


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    principal: str = Field(max_length=200)
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)
    status_code: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class Idempotency:
    """Per-request helper: ``idem.run(lambda: (201, body, headers))`` returns the response."""

    def __init__(self, session: Session, principal: Principal, key: str | None,
                 fingerprint: str, ttl: timedelta) -> None:
        self.session, self.principal, self.key = session, principal, key
        self.fingerprint, self.ttl = fingerprint, ttl

    def run(self, create: Callable[[], tuple[int, Any, dict[str, str]]]) -> JSONResponse:
        if self.key is None:
            status, body, headers = create()
            return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)

        previous = self.session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.principal == self.principal.id,
                IdempotencyRecord.key == self.key,
                IdempotencyRecord.expires_at > utcnow(),
            )
        ).first()
        if previous is not None:
            if previous.fingerprint != self.fingerprint:
                raise InvalidInput.field(
                    "header.Idempotency-Key",
                    "this key was already used with a different request body",
                )
            return JSONResponse(
                json.loads(previous.body), status_code=previous.status_code,
                headers=previous.headers | {REPLAY_HEADER: "true"},
            )

        status, body, headers = create()
        encoded = jsonable_encoder(body)
        kept = {k: v for k, v in headers.items() if k in KEPT_HEADERS}
        # An expired record with the same key would block the insert: clear it first.
        self.session.exec(delete(IdempotencyRecord).where(
            IdempotencyRecord.principal == self.principal.id, IdempotencyRecord.key == self.key))
        self.session.add(IdempotencyRecord(
            principal=self.principal.id, key=self.key, fingerprint=self.fingerprint,
            status_code=status, body=json.dumps(encoded), headers=kept,
            expires_at=utcnow() + self.ttl,
        ))
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise Conflict(
                "A request with this Idempotency-Key is being processed; retry later."
            ) from exc
        return JSONResponse(encoded, status_code=status, headers=headers)


async def get_idempotency(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                      description="Makes a create safe to retry (kept 24 h)")
                   ] = None,
) -> Idempotency:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url.path}?{request.url.query}\n".encode())
    digest.update(await request.body())
    ttl = timedelta(hours=request.app.state.settings.idempotency_ttl_hours)
    return Idempotency(session, principal, idempotency_key, digest.hexdigest(), ttl)


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]


def purge_expired(session: Session) -> int:
    result = session.exec(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow()))
    return result.rowcount or 0

