"""Migrations, on SQLite and PostgreSQL: one head, upgrade from empty, downgrade to nothing and
back, and the models agree with what the migrations build."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from alembic import command
from service.db import alembic_config, make_engine
from service.tables import load_all
from tests.backends import fresh_database


@pytest.fixture
def empty_url(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        yield url


def test_single_head():
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, heads


def test_upgrade_downgrade_upgrade(empty_url):
    cfg = alembic_config(empty_url)
    engine = make_engine(empty_url)
    command.upgrade(cfg, "head")
    tables = set(inspect(engine).get_table_names())
    assert set(load_all().metadata.tables) <= tables
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert set(load_all().metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_every_revision_steps_down_and_up(empty_url):
    cfg = alembic_config(empty_url)
    revisions = list(reversed(list(ScriptDirectory.from_config(cfg).walk_revisions())))
    for revision in revisions:
        command.upgrade(cfg, revision.revision)
        command.downgrade(cfg, revision.down_revision or "base")
        command.upgrade(cfg, revision.revision)


def test_models_match_migrations(empty_url):
    command.upgrade(alembic_config(empty_url), "head")
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                load_all().metadata)
    engine.dispose()
    assert diff == [], diff
