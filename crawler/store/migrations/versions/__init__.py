"""One module per revision, oldest first; Alembic finds them by their ``revision`` ids."""
