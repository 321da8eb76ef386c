"""Many rows in one statement, below the ORM: what bulk imports use to write thousands of rows
per batch. PostgreSQL inserts with ``COPY``; SQLite with ``executemany``. Both run on the
session's own connection, so they belong to its transaction.

Values must already be in driver form: ``Converter`` turns Python values (UUIDs, aware
datetimes, JSON documents) into what SQLAlchemy itself would bind, once per distinct value
rather than once per row.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session


class Converter:
    """``conv("created_at", value)``: the value as the table's column type binds it."""

    def __init__(self, session: Session, table: Table) -> None:
        dialect = session.get_bind().dialect
        self._procs: dict[str, Callable[[Any], Any] | None] = {
            c.name: c.type._cached_bind_processor(dialect) for c in table.columns}

    def __call__(self, column: str, value: Any) -> Any:
        proc = self._procs[column]
        return proc(value) if proc is not None and value is not None else value


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_rows(session: Session, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence[Any]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order, driver form) into ``table``."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return
    conn = session.connection()
    names = ", ".join(columns)
    if is_postgresql(session):
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)


def execute_many(session: Session, sql: str, rows: list[Sequence[Any]], *,
                 expect: int | None = None) -> int:
    """Run ``sql`` (``?`` placeholders) once per row; returns the rows affected. With
    ``expect``, fewer rows affected means a concurrent writer got there first: a version-checked
    UPDATE matched nothing, which is what the ORM reports as ``StaleDataError`` (412)."""
    if not rows:
        return 0
    if is_postgresql(session):
        sql = sql.replace("?", "%s")
    affected = session.connection().exec_driver_sql(sql, rows).rowcount
    if expect is not None and affected != expect:
        raise StaleDataError(f"{sql.split()[0]} matched {affected} of {expect} rows: "
                             "changed by another request meanwhile")
    return affected
