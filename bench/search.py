"""Search latency at scale: generated articles, a handful of queries, median and p95.

    .venv/bin/python bench/search.py                       # 10,000 articles, both backends
    .venv/bin/python bench/search.py --sizes 10000,100000,1000000 --backends sqlite

Articles are generated (a Zipf-distributed synthetic vocabulary, a few recurring names and
phrases, some accented) and bulk-inserted straight into the tables — not through
``Store.save_article`` — so that a million rows take minutes, not hours. The search objects
(FTS5 triggers, the generated tsvector and its GIN index) are the real ones, created by
``Store.open``. Sizes grow in place: the 100,000 run adds to the 10,000 rows.

Each query runs through ``crawler.store.queries.query_articles`` — what ``newsmon query --search``
does, minus printing — ``--repeats`` times after one warm-up run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from crawler.store.models import Article, ArticleFeed, ArticleTag
from crawler.store.queries import ArticleFilter, query_articles
from crawler.store.search import parse_query, ranked_matches
from crawler.store.store import Store

VOCABULARY = 30_000
BODY_WORDS = 160
TITLE_WORDS = 8
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_DAYS = 730
SITES = [f"site{n}.example" for n in range(200)]
TAGS = [f"topic{n}" for n in range(300)]
# Recurring phrases and names, each put into a share of the articles.
INSERTS = [
    ("prime minister", 0.02),
    ("central bank", 0.01),
    ("Jürgen Müller", 0.005),
    ("São Paulo", 0.004),
]


def vocabulary(rng: random.Random) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words, key=lambda w: (len(w), w))


class Generator:
    """Deterministic articles: the same seed gives the same corpus on every backend."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.words = np.array(vocabulary(self.rng))
        ranks = np.arange(1, VOCABULARY + 1)
        weights = 1.0 / ranks**1.07
        self.p = weights / weights.sum()

    def word(self, rank: int) -> str:
        return str(self.words[rank])

    def batch(self, first_id: int, count: int) -> Iterator[dict[str, Any]]:
        bodies = self.np.choice(VOCABULARY, size=(count, BODY_WORDS), p=self.p)
        titles = self.np.choice(VOCABULARY, size=(count, TITLE_WORDS), p=self.p)
        for n in range(count):
            article_id = first_id + n
            body = [str(w) for w in self.words[bodies[n]]]
            title = [str(w) for w in self.words[titles[n]]]
            for phrase, share in INSERTS:
                if self.rng.random() < share:
                    target = title if self.rng.random() < 0.3 else body
                    target.insert(self.rng.randrange(len(target)), phrase)
            paragraphs = [" ".join(body[i : i + 40]) + "." for i in range(0, len(body), 40)]
            published = START + timedelta(minutes=self.rng.randrange(SPAN_DAYS * 24 * 60))
            site = self.rng.choice(SITES)
            title_text = " ".join(title).capitalize()
            body_text = "\n\n".join(p.capitalize() for p in paragraphs)
            yield {
                "id": article_id,
                "url": f"https://{site}/{article_id}",
                "canonical_url": None,
                "site": site,
                "title": title_text,
                "authors": [],
                "published_at": published,
                "published_source": "json-ld",
                "published_precision": "second",
                "modified_at": None,
                "body": body_text,
                "summary": None,
                "lead_image_url": None,
                "language": "en",
                "content_hash": hashlib.sha256(f"{article_id}".encode()).hexdigest(),
                "first_seen_at": published,
                "last_seen_at": published,
                "last_fetched_at": published,
                "version_count": 1,
                "cluster_id": article_id,
            }


def insert_articles(store: Store, gen: Generator, start: int, stop: int, batch: int) -> float:
    """Rows start+1..stop, with one feed and two tags each; the seconds it took."""
    began = time.perf_counter()
    for first in range(start + 1, stop + 1, batch):
        count = min(batch, stop + 1 - first)
        rows = list(gen.batch(first, count))
        feeds = [{"article_id": r["id"], "feed": r["site"].split(".")[0] + "-rss",
                  "first_seen_at": r["first_seen_at"]} for r in rows]  # fmt: skip
        tags = [{"article_id": r["id"], "tag": t} for r in rows
                for t in {gen.rng.choice(TAGS), gen.rng.choice(TAGS)}]  # fmt: skip
        with store.engine.begin() as conn:
            conn.execute(Article.__table__.insert(), rows)
            conn.execute(ArticleFeed.__table__.insert(), feeds)
            conn.execute(ArticleTag.__table__.insert(), tags)
        done = first + count - 1
        print(f"\r  inserted {done:,} / {stop:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with store.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - began


def queries(gen: Generator) -> dict[str, ArticleFilter]:
    medium, rare = gen.word(1000), gen.word(20000)
    recent = START + timedelta(days=SPAN_DAYS - 60)
    return {
        f"common word ({gen.word(50)})": ArticleFilter(search=gen.word(50), limit=20),
        f"medium word ({medium})": ArticleFilter(search=medium, limit=20),
        f"rare word ({rare})": ArticleFilter(search=rare, limit=20),
        "two words": ArticleFilter(search=f"{gen.word(200)} {gen.word(300)}", limit=20),
        '"prime minister"': ArticleFilter(search='"prime minister"', limit=20),
        "muller (accent)": ArticleFilter(search="muller", limit=20),
        "medium + site + since": ArticleFilter(search=medium, site=SITES[3], since=recent),
        "medium --collapse": ArticleFilter(search=medium, limit=20, collapse=True),
        "hostile input": ArticleFilter(search="prime' OR 1=1; -- \"minister", limit=20),
    }


def matches(store: Store, f: ArticleFilter) -> int:
    with store.reading() as session:
        found = ranked_matches(store.dialect, parse_query(f.search or ""))
        return int(session.scalar(select(func.count()).select_from(found)) or 0)


def measure(store: Store, f: ArticleFilter, repeats: int) -> list[float]:
    timings = []
    for run in range(repeats + 1):
        began = time.perf_counter()
        with store.reading() as session:
            query_articles(session, f)
        if run:  # the first run warms caches
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def open_backend(backend: str, workdir: Path, pg_admin: str) -> tuple[Store, str]:
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        return Store.open(f"sqlite:///{path}"), str(path)
    admin_url = make_url(pg_admin)
    name = f"newsmon_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    return Store.open(url), name


def drop_backend(backend: str, where: str, pg_admin: str) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(where + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(make_url(pg_admin), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{where}" WITH (FORCE)'))
    admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="10000", help="comma-separated article counts, run in increasing order"
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument(
        "--pg-admin",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL URL allowed to create and drop a scratch database",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where the SQLite file goes",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated databases")
    args = parser.parse_args()
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    for backend in args.backends.split(","):
        gen = Generator()
        store, where = open_backend(backend, args.workdir, args.pg_admin)
        try:
            stored = 0
            for size in sizes:
                seconds = insert_articles(store, gen, stored, size, args.batch)
                stored = size
                load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
                print(f"\n{backend}, {size:,} articles (generated and indexed in {seconds:.0f} s;"
                      f" load average {load} on {os.cpu_count()} CPUs)")  # fmt: skip
                print(f"  {'query':<34}{'matches':>9}{'median ms':>11}{'p95 ms':>9}")
                for label, f in queries(gen).items():
                    timings = measure(store, f, args.repeats)
                    found, median = matches(store, f), statistics.median(timings)
                    print(
                        f"  {label:<34}{found:>9,}{median:>11.1f}{p95(timings):>9.1f}", flush=True
                    )
        finally:
            store.close()
            if args.keep:
                print(f"  kept {where}")
            else:
                drop_backend(backend, where, args.pg_admin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
