"""Shared column plumbing: the naming convention, UTC timestamps, optimistic-locking counters.

Every domain's ``models.py`` imports from here, so this module imports no domain; the registry
of every table is ``service.tables``."""

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Integer, TypeDecorator
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use service.models.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def created_at_field() -> datetime:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def row_version_column() -> Column:
    """Optimistic-locking counter: pass it as ``sa_column`` and as the mapper's
    ``version_id_col`` so every UPDATE checks and bumps it (a lost update raises
    ``StaleDataError``, answered 412)."""
    return Column("row_version", Integer, nullable=False)

