"""Alerts: how far each alert has matched, and every match's delivery to each target.

Revision ID: 0005_alerts
Revises: 0004_page_states_per_feed

``alerts`` holds one row per ``[[alerts]]`` entry that has run: the newest
``article_versions.id`` when it started and the last one it has looked at.
``alert_deliveries`` holds one row per match and notify target — unique, so a restart or a
re-crawl never sends a match twice — with its attempts, the next one's time and the last
error while the target fails. Both are new tables: nothing stored before is touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_alerts"
down_revision = "0004_page_states_per_feed"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("first_version_id", sa.Integer(), nullable=False),
        sa.Column("last_version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert", sa.String(64), nullable=False),
        sa.Column("target_key", sa.String(64), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("matched_at", _UTC, nullable=False),
        sa.Column("next_attempt_at", _UTC, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", _UTC, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", _UTC, nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert", "target_key", "article_id", "version"),
    )
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "next_attempt_at"])
    op.create_index(op.f("ix_alert_deliveries_article_id"), "alert_deliveries", ["article_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_deliveries_article_id"), table_name="alert_deliveries")
    op.drop_index("ix_alert_deliveries_due", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_table("alerts")
