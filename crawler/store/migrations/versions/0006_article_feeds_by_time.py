"""An index of article_feeds by when each feed first found each article.

Revision ID: 0006_article_feeds_by_time
Revises: 0005_alerts

``newsmon status`` (articles collected in the last 24 hours) and the web app's /feeds
(articles per feed per day, when each feed last found a new one) ask article_feeds by
``first_seen_at``; without an index each of them read the whole table (at 100,000
articles ~100-200 ms each, three on every /feeds page). ``(first_seen_at, feed)`` answers
all three from the index alone.
"""

from __future__ import annotations

from alembic import op

revision = "0006_article_feeds_by_time"
down_revision = "0005_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_article_feeds_first_seen_at_feed", "article_feeds", ["first_seen_at", "feed"]
    )


def downgrade() -> None:
    op.drop_index("ix_article_feeds_first_seen_at_feed", table_name="article_feeds")
