"""One Alembic history serves both databases and matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from openslot.store.migrate import current_head, upgrade
from openslot.store.models import Base
from openslot.store.uow import Database


def test_migrated_schema_matches_the_models(migrated_database: Database) -> None:
    with migrated_database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_database_is_at_head_and_upgrade_is_idempotent(migrated_database: Database) -> None:
    upgrade(migrated_database.engine)
    with migrated_database.engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == current_head()


def test_sqlite_runs_in_wal_mode(migrated_database: Database) -> None:
    if migrated_database.engine.dialect.name != "sqlite":
        return
    with migrated_database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
