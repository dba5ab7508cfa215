"""Conditional-GET state per feed: ``page_states`` is keyed by (feed, url_key).

Revision ID: 0004_page_states_per_feed
Revises: 0003_fts_content_quoted

Two feeds of one URL (with different tags, say) shared one row of validators: the second
to run sent them, got a 304 and never saw the page's articles, so its tags were never
given to them. Now each feed keeps its own.

The old rows are dropped, not given to every feed of their URL: a row cannot say which
feed fetched the page, and given to both, the feed that never read the page would go on
getting its 304. Each feed's pages are fetched once unconditionally after the upgrade
(known articles are linked, not downloaded again), and conditional from then on. The
downgrade drops them too: they are a cache, and the old key cannot hold two feeds' rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_page_states_per_feed"
down_revision = "0003_fts_content_quoted"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_table("page_states")
    op.create_table(
        "page_states",
        sa.Column("feed", sa.String(64), nullable=False),
        *_validator_columns(),
        sa.PrimaryKeyConstraint("feed", "url_key"),
    )


def downgrade() -> None:
    op.drop_table("page_states")
    op.create_table("page_states", *_validator_columns(), sa.PrimaryKeyConstraint("url_key"))


def _validator_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("url_key", sa.String(2048), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("body_hash", sa.String(64), nullable=True),
        sa.Column("fetched_at", _UTC, nullable=False),
    ]
