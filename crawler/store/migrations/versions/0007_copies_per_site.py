"""One article per publisher's copy: cross-site merges are split into per-site articles.

Revision ID: 0007_copies_per_site
Revises: 0006_article_feeds_by_time

Until this revision an article with the same content on two sites (or a page whose
``rel=canonical`` named another site's page) was stored once, under whichever site was
crawled first; the other site's copy survived only as extra rows of ``article_urls``. From
now on identity is per site (see :mod:`crawler.store.saving`), and this revision splits
what the old rule merged. No table or column changes.

For each article, the URLs of another site become that site's own article when the site
is a publisher's — some article of the database has it as its ``site``. (An article's URLs
also hold the addresses it was reached at, such as an aggregator's or a feed proxy's
redirect; those hosts publish nothing themselves, and their URLs stay where they lead.)
The new article takes what is known of the copy: its site, its URLs (the earliest seen,
without a query if it can, is its ``url``), when they were first seen, a ``canonical_url``
only when it is on its site; everything else — title, authors, times, body, summary, image,
language, content hash — is the original's, since the copy was merged because it had that
content. Its versions are the original's from the one current when the copy was first seen
(renumbered from 1); its tags, signature and LSH bands are the original's. Feeds on the
copy's site move to it (the original keeps at least one feed); when none is on its site,
it gets the original's feeds. The original and its copies share one cluster.

The downgrade keeps the split: older code reads per-site copies as articles of one
cluster, which they are.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

from crawler.urls import site_of

revision = "0007_copies_per_site"
down_revision = "0006_article_feeds_by_time"
branch_labels = None
depends_on = None

log = logging.getLogger("crawler.store.schema")

Row = dict[str, Any]


class _Tables:
    """The tables as the database has them (reflected, so columns added by other revisions
    are copied too)."""

    def __init__(self, bind: sa.Connection) -> None:
        meta = sa.MetaData()
        names = ("articles", "article_versions", "article_urls", "article_feeds",
                 "article_tags", "article_signatures", "lsh_bands", "feeds")  # fmt: skip
        meta.reflect(bind, only=names)
        self.articles, self.versions, self.urls = (meta.tables[n] for n in names[:3])
        self.feeds, self.tags, self.signatures = (meta.tables[n] for n in names[3:6])
        self.bands, self.feed_states = meta.tables["lsh_bands"], meta.tables["feeds"]


def upgrade() -> None:
    bind = op.get_bind()
    tables = _Tables(bind)
    strays = _urls_of_other_sites(bind, tables)
    feed_sites = {
        name: site_of(url)
        for name, url in bind.execute(
            sa.select(tables.feed_states.c.name, tables.feed_states.c.url)
        )
    }
    copies = 0
    for article_id, by_site in sorted(strays.items()):
        copies += _split(bind, tables, article_id, by_site, feed_sites)
    if copies:
        log.info("split %d article(s) into %d per-site copies", len(strays), copies)


def downgrade() -> None:
    pass  # see the module's docstring: the copies stay articles of their own


def _urls_of_other_sites(bind: sa.Connection, t: _Tables) -> dict[int, dict[str, list[Row]]]:
    """article id → site → its URL rows, for URLs of another publisher's site."""
    publishers = set(bind.scalars(sa.select(t.articles.c.site).distinct()))
    query = (
        sa.select(t.urls, t.articles.c.site)
        .join(t.articles, t.articles.c.id == t.urls.c.article_id)
        .execution_options(yield_per=2000)
    )
    strays: dict[int, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for row in bind.execute(query).mappings():
        other = site_of(row["url"])
        if other != row["site"] and other in publishers:
            strays[row["article_id"]][other].append({k: v for k, v in row.items() if k != "site"})
    return strays


def _split(
    bind: sa.Connection,
    t: _Tables,
    article_id: int,
    by_site: dict[str, list[Row]],
    feed_sites: dict[str, str],
) -> int:
    original = dict(bind.execute(sa.select(t.articles).where(t.articles.c.id == article_id))
                    .mappings().one())  # fmt: skip
    cluster = original["cluster_id"] or article_id
    if original["cluster_id"] is None:
        bind.execute(t.articles.update().where(t.articles.c.id == article_id)
                     .values(cluster_id=cluster))  # fmt: skip
    versions = _rows(bind, t.versions, article_id, t.versions.c.version)
    feeds = _rows(bind, t.feeds, article_id, t.feeds.c.feed)
    shared = [(table, _rows(bind, table, article_id)) for table in (t.tags, t.signatures, t.bands)]
    kept_feeds = {f["feed"] for f in feeds}
    for site, urls in sorted(by_site.items()):
        urls.sort(key=lambda u: (u["first_seen_at"], "?" in u["url"], len(u["url"]), u["url"]))
        first_seen = urls[0]["first_seen_at"]
        last_seen = max(u["first_seen_at"] for u in urls)
        canonical = original["canonical_url"]
        values = {
            **{c.name: original[c.name] for c in _copied(t.articles)},
            "url": urls[0]["url"],
            "site": site,
            "canonical_url": canonical if canonical and site_of(canonical) == site else None,
            "first_seen_at": first_seen,
            "last_seen_at": max(last_seen, original["last_seen_at"]),
            "last_fetched_at": last_seen,
            "cluster_id": cluster,
        }
        seen = [v for v in versions if v["fetched_at"] <= first_seen]
        history = versions[versions.index(seen[-1]) :] if seen else versions
        values["version_count"] = len(history)
        inserted = bind.execute(t.articles.insert().values(values)).inserted_primary_key
        assert inserted is not None
        copy_id = inserted[0]
        for number, version in enumerate(history, start=1):
            fetched = (
                max(version["fetched_at"], first_seen) if number == 1 else version["fetched_at"]
            )
            row = {**_without_id(version), "article_id": copy_id, "version": number}
            bind.execute(t.versions.insert().values({**row, "fetched_at": fetched}))
        bind.execute(
            t.urls.update()
            .where(t.urls.c.url_key.in_([u["url_key"] for u in urls]))
            .values(article_id=copy_id)
        )
        on_site = [f for f in feeds if feed_sites.get(f["feed"]) == site]
        for feed in on_site or feeds:
            bind.execute(t.feeds.insert().values({**feed, "article_id": copy_id}))
        kept_feeds -= {f["feed"] for f in on_site}
        for table, rows in shared:
            if rows:
                bind.execute(table.insert(), [{**r, "article_id": copy_id} for r in rows])
    moved = {f["feed"] for f in feeds} - kept_feeds
    if moved and kept_feeds:  # the original keeps at least one of its feeds
        bind.execute(
            t.feeds.delete().where(t.feeds.c.article_id == article_id, t.feeds.c.feed.in_(moved))
        )
    return len(by_site)


def _rows(bind: sa.Connection, table: sa.Table, article_id: int, *order: Any) -> list[Row]:
    query = sa.select(table).where(table.c.article_id == article_id).order_by(*order)
    return [dict(row) for row in bind.execute(query).mappings()]


def _copied(table: sa.Table) -> list[sa.Column[Any]]:
    """The columns a copy takes from its original: not the key, nor generated ones
    (PostgreSQL's ``search_vector``)."""
    return [c for c in table.columns if c.name != "id" and c.computed is None]


def _without_id(row: Row) -> Row:
    return {k: v for k, v in row.items() if k != "id"}
