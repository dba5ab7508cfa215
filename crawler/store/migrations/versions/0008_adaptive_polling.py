"""Adaptive polling: host pauses, the server's hints, re-check bookkeeping.

Revision ID: 0008_adaptive_polling
Revises: 0007_copies_per_site

* ``host_pauses``: a host that answered 429/503 with ``Retry-After`` is left alone until
  then, across restarts.
* ``crawl_runs.retry_after`` (until when the run's host was paused, if it was) and
  ``crawl_runs.rechecks`` (conditional re-checks of stored articles it sent).
* ``feeds.poll_interval``, ``poll_hint``, ``poll_hint_reason``, ``next_run_reason``,
  ``last_new_at``: an adaptive feed's current interval, the server's last hint, why the next
  run is when it is, and when it last found something new.
* ``article_validators``: the ETag/Last-Modified of each stored article URL and when it was
  last checked, for conditional re-checks.

The downgrade drops them all (they are schedule state and caches).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_adaptive_polling"
down_revision = "0007_copies_per_site"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)
_FEED_COLUMNS = ("poll_interval", "poll_hint", "poll_hint_reason", "next_run_reason", "last_new_at")


def upgrade() -> None:
    op.create_table(
        "host_pauses",
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("until", _UTC, nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("paused_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("host"),
    )
    op.create_table(
        "article_validators",
        sa.Column("url_key", sa.String(2048), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("checked_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("url_key"),
    )
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("retry_after", _UTC, nullable=True))
        batch.add_column(sa.Column("rechecks", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("poll_interval", sa.Float(), nullable=True))
        batch.add_column(sa.Column("poll_hint", sa.Float(), nullable=True))
        batch.add_column(sa.Column("poll_hint_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("next_run_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_new_at", _UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        for column in _FEED_COLUMNS:
            batch.drop_column(column)
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("rechecks")
        batch.drop_column("retry_after")
    op.drop_table("article_validators")
    op.drop_table("host_pauses")
