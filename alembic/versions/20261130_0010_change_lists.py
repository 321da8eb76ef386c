"""change lists: (stamp, id) indexes, and stamps never earlier than their transaction

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 16:00:00

On PostgreSQL a trigger replaces a row's stamp by the database clock at the write when the
writer gave one older than its transaction's start (another host's clock, a timestamp taken
before BEGIN, an UPDATE that left the stamp as it was), whichever code path wrote it. The
settled horizon of ``service/sync.py`` relies on this. SQLite needs neither (one writer at a
time).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> its change stamp (report snapshots are never updated: their stamp is created_at)
STAMPS = {"person": "updated_at", "assessment": "updated_at", "outline": "updated_at",
          "readiness_report": "created_at"}


def upgrade() -> None:
    for table, stamp in STAMPS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_{stamp}_id", [stamp, "id"], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return
    for stamp in sorted(set(STAMPS.values())):
        op.execute(f"""
            CREATE FUNCTION ascent_settle_{stamp}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.{stamp} IS NULL OR NEW.{stamp} < now() THEN
                    NEW.{stamp} := clock_timestamp();
                END IF;
                RETURN NEW;
            END $$""")
    for table, stamp in STAMPS.items():
        events = "INSERT" if table == "readiness_report" else "INSERT OR UPDATE"
        op.execute(f"CREATE TRIGGER settle_{stamp} BEFORE {events} ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION ascent_settle_{stamp}()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, stamp in STAMPS.items():
            op.execute(f"DROP TRIGGER settle_{stamp} ON {table}")
        for stamp in sorted(set(STAMPS.values())):
            op.execute(f"DROP FUNCTION ascent_settle_{stamp}()")
    for table, stamp in STAMPS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_{stamp}_id")
