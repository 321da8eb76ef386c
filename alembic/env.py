"""Alembic environment: the app's own engine factory (same SQLite pragmas), every domain's
tables via ``service.tables.load_all``, batch mode so SQLite can alter tables."""

from alembic import context
from service.db import make_engine
from service.models import UTCDateTime
from service.settings import get_settings
from service.tables import load_all

config = context.config
target_metadata = load_all().metadata


def render_item(type_, obj, autogen_context):
    """Write app-specific column types as plain SQLAlchemy ones, so revisions stand alone."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, compare_type=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:  # handed over by a caller (tests)
        _run(connectable)
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
