from __future__ import annotations

from alembic import context

from openslot.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    raise RuntimeError("run migrations through `openslot migrate`, which passes the engine")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
