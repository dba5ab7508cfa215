"""Alembic's environment for newsmon: migrate the connection that crawler.store.schema opened.

That connection is already inside the transaction that serialises schema changes (BEGIN
IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so every migration of one upgrade,
and the version it records, commit together or not at all.
"""

from __future__ import annotations

from alembic import context

from crawler.store.migrations.search_objects import include_name
from crawler.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "newsmon's migrations run through crawler.store.schema (`newsmon db upgrade`), "
        "which hands them an open connection"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite: rebuild tables for what ALTER TABLE cannot do
    include_name=include_name,  # autogenerate: the search objects are not in the models
)
with context.begin_transaction():
    context.run_migrations()
