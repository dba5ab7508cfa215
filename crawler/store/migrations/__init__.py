"""The schema's history: Alembic migrations, run by :mod:`crawler.store.schema`.

``env.py`` and ``versions/`` are Alembic's; there is no ``alembic.ini``: the configuration is
built in code (:func:`crawler.store.schema.alembic_config`). SQLite migrations use batch
mode (a table is rebuilt for anything ALTER TABLE cannot do); a rebuild of ``articles``
drops its full-text triggers, so such a migration must call
:func:`crawler.store.migrations.search_objects.restore_fts_triggers` after it.
"""
