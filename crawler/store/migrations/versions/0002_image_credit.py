"""Lead image caption and credit on articles; feeds without the validators nobody wrote.

Revision ID: 0002_image_credit
Revises: 0001_baseline

``articles.lead_image_caption`` and ``lead_image_credit`` keep what the parser found beside
the lead image (NULL for articles stored before). ``feeds.etag``, ``last_modified`` and
``body_hash`` were never written: each page's validators are in ``page_states``.

On SQLite, adding columns is a plain ALTER TABLE, but dropping them rebuilds the table
(batch mode): ``feeds`` on the way up, ``articles`` on the way down, which is why the
downgrade restores the full-text triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crawler.store.migrations.search_objects import restore_fts_triggers

revision = "0002_image_credit"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("lead_image_caption", sa.Text(), nullable=True))
        batch.add_column(sa.Column("lead_image_credit", sa.Text(), nullable=True))
    restore_fts_triggers()  # nothing to do after a plain ALTER; kept for safety
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("etag")
        batch.drop_column("last_modified")
        batch.drop_column("body_hash")


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("etag", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_modified", sa.Text(), nullable=True))
        batch.add_column(sa.Column("body_hash", sa.String(64), nullable=True))
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("lead_image_credit")
        batch.drop_column("lead_image_caption")
    restore_fts_triggers()  # the rebuild of articles dropped them
