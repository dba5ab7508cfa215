"""Bulk-filled history for bench/pipeline.py's growth part: N stored articles, with
SQLAlchemy Core inserts into every table a save reads that grows with history."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from gensite import WORDS, GeneratedSite, StoryInfo


def prefill(url: str, total: int, known: list[StoryInfo], site: GeneratedSite, feed: str) -> None:
    """``total`` stored articles, the last ``len(known)`` of them the site's, with SQLAlchemy
    Core bulk inserts; all first seen long ago (outside the revisit window). Besides the
    article rows it fills the tables a save reads that grow with history: URLs, versions,
    feed links, tags, LSH bands (random buckets: no near-copies) and, where the schema has
    them, the per-site paragraph counts of boilerplate learning."""
    from sqlalchemy import Table

    from crawler.dedup import content_hash
    from crawler.minhash import BANDS
    from crawler.store.models import Base
    from crawler.store.store import Store, utcnow
    from crawler.textnorm import paragraph_key
    from crawler.urls import normalize_url, site_of, url_key

    store = Store.open(url)
    tables = Base.metadata.tables
    rng = random.Random(total)
    now = utcnow()
    span = timedelta(days=365)
    filler = total - len(known)
    site_name = site_of(site.base_url)
    chunk = 5000
    paragraphs: dict[str, dict[str, Any]] = {}
    try:
        with store.engine.begin() as conn:
            for start in range(1, total + 1, chunk):
                rows: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
                for article_id in range(start, min(total, start + chunk - 1) + 1):
                    seen = now - span + (span - timedelta(days=30)) * (article_id / total)
                    if article_id > filler:
                        story = known[article_id - filler - 1]
                        page_url = normalize_url(site.url(story.path)) or site.url(story.path)
                        title, body, feed_name = story.title, "\n\n".join(story.paragraphs), feed
                        tag = story.section
                    else:
                        page_url = site.url(f"/archive/{article_id}")
                        title = " ".join(rng.choices(WORDS, k=8)).capitalize()
                        body = " ".join(rng.choices(WORDS, k=80)).capitalize() + "."
                        feed_name = f"archive-{article_id % 20}"
                        tag = WORDS[article_id % 40]
                    digest = content_hash(title, body)
                    rows["articles"].append(
                        {
                            "id": article_id,
                            "url": page_url,
                            "canonical_url": page_url,
                            "site": site_name,
                            "title": title,
                            "authors": [],
                            "published_at": seen,
                            "published_source": "json-ld",
                            "published_precision": "second",
                            "modified_at": None,
                            "body": body,
                            "summary": body[:200],
                            "lead_image_url": None,
                            "language": "en",
                            "content_hash": digest,
                            "first_seen_at": seen,
                            "last_seen_at": seen,
                            "last_fetched_at": seen,
                            "version_count": 1,
                            "cluster_id": article_id,
                        }
                    )
                    rows["article_urls"].append(
                        {
                            "url_key": url_key(page_url),
                            "url": page_url,
                            "article_id": article_id,
                            "first_seen_at": seen,
                        }
                    )
                    rows["article_versions"].append(
                        {
                            "article_id": article_id,
                            "version": 1,
                            "content_hash": digest,
                            "title": title,
                            "body": body,
                            "modified_at": None,
                            "fetched_at": seen,
                        }
                    )
                    rows["article_feeds"].append(
                        {"article_id": article_id, "feed": feed_name, "first_seen_at": seen}
                    )
                    rows["article_tags"].append({"article_id": article_id, "tag": tag})
                    rows["lsh_bands"].extend(
                        {
                            "band": band,
                            "bucket": rng.getrandbits(64) - 2**63,
                            "article_id": article_id,
                        }
                        for band in range(BANDS)
                    )
                    for paragraph in body.split("\n\n"):
                        key = paragraph_key(paragraph)
                        paragraphs.setdefault(
                            key,
                            {
                                "site": site_name,
                                "paragraph_key": key,
                                "article_count": 0,
                                "first_article_seq": article_id,
                                "first_seen_at": seen,
                                "last_seen_at": seen,
                            },
                        )["article_count"] += 1
                for name, values in rows.items():
                    if values:
                        conn.execute(Table.insert(tables[name]), values)
            if "site_paragraphs" in tables:
                conn.execute(Table.insert(tables["site_paragraphs"]), list(paragraphs.values()))
            if "site_paragraph_stats" in tables:
                conn.execute(
                    Table.insert(tables["site_paragraph_stats"]),
                    [{"site": site_name, "article_count": total, "updated_at": now}],
                )
    finally:
        store.close()
