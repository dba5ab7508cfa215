"""Page timings of the web app on a generated database: p50 and p95 per page.

    .venv/bin/python bench/web.py                      # 100,000 articles on SQLite
    .venv/bin/python bench/web.py --articles 20000 --repeats 10 --backend postgresql

Articles come from bench/search.py's generator (Zipf vocabulary, 160-word bodies in four
paragraphs, 8-word titles), given what the pages facet on: one or two of 400 authors, a
language (en, de, fr, es), two of 300 tags, one of 200 sites and its feed; 5 % have a
second version (a changed headline and paragraph). Dates run over the last year, so the
default windows (today, 7 days, 30 days of trends, 14 days per feed) have data. Rows are
bulk-inserted; the search objects are the real ones. Every feed has 40 recorded runs.

Each page is requested through Starlette's test client on the real app (routing,
parameter checks, the store's queries, Jinja2 rendering; no socket), ``--repeats``
times after a warm-up, on a store opened read-only as ``newsmon web`` opens it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Siblings: a script's own folder is on sys.path (newsmon itself is installed in the venv).
from search import SITES, TAGS, Generator, drop_backend, open_backend, p95
from sqlalchemy import text
from starlette.testclient import TestClient

from crawler.config import parse_settings
from crawler.store.models import (
    Article,
    ArticleFeed,
    ArticleTag,
    ArticleVersion,
    CrawlRun,
    FeedState,
)
from crawler.store.store import Store
from crawler.web.app import create_app

AUTHORS = [f"{first} {last}" for first in ("Ann", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal",
           "Ida", "Jo", "Kai", "Lu", "Mo", "Ned", "Oda", "Pia", "Quin", "Rey", "Sol", "Tam")
           for last in ("Lee", "Chen", "Diaz", "Novak", "Okafor", "Berg", "Rossi", "Silva",
           "Kaur", "Haas", "Ito", "Moreau", "Nagy", "Popov", "Quist", "Roth", "Sato", "Toth",
           "Vega", "Weiss")]  # fmt: skip
LANGUAGES = ["en"] * 14 + ["de"] * 3 + ["fr"] * 2 + ["es"]
EDITED_SHARE = 0.05
RUNS_PER_FEED = 40
SCHEDULE = timedelta(minutes=15)


def feed_of(site: str) -> str:
    return site.split(".")[0] + "-rss"


def insert(store: Store, gen: Generator, count: int, batch: int, now: datetime) -> list[int]:
    """``count`` articles ending now; the ids of the edited ones."""
    rng = random.Random(11)
    span = timedelta(days=365)
    edited: list[int] = []
    for first in range(1, count + 1, batch):
        rows = list(gen.batch(first, min(batch, count + 1 - first)))
        versions, feeds, tags = [], [], []
        for row in rows:
            # Ids grow with time, as they do when a crawler stores what it finds.
            when = now - span * (1 - row["id"] / count) - timedelta(minutes=rng.randrange(90))
            row.update(published_at=when, first_seen_at=when, last_seen_at=when,
                       last_fetched_at=when, language=rng.choice(LANGUAGES),
                       authors=rng.sample(AUTHORS, rng.choice((1, 1, 1, 2))),
                       summary=row["body"][:200])  # fmt: skip
            first_version = {"article_id": row["id"], "version": 1, "title": row["title"],
                             "body": row["body"], "content_hash": row["content_hash"],
                             "modified_at": None, "fetched_at": when}  # fmt: skip
            versions.append(first_version)
            if rng.random() < EDITED_SHARE:
                edited.append(row["id"])
                row["title"] += " (updated)"
                row["body"] = row["body"].replace(".", ", officials said.", 1)
                row["version_count"] = 2
                versions.append({**first_version, "version": 2, "title": row["title"],
                                 "body": row["body"], "content_hash": row["content_hash"][::-1],
                                 "fetched_at": when + timedelta(hours=2)})  # fmt: skip
            feeds.append({"article_id": row["id"], "feed": feed_of(row["site"]),
                          "first_seen_at": when})  # fmt: skip
            tags += [{"article_id": row["id"], "tag": t} for t in {rng.choice(TAGS),
                     rng.choice(TAGS)}]  # fmt: skip
        with store.engine.begin() as conn:
            conn.execute(Article.__table__.insert(), rows)
            conn.execute(ArticleVersion.__table__.insert(), versions)
            conn.execute(ArticleFeed.__table__.insert(), feeds)
            conn.execute(ArticleTag.__table__.insert(), tags)
        print(f"\r  inserted {first + len(rows) - 1:,} / {count:,}", end="", file=sys.stderr)
    print(file=sys.stderr)
    runs, states = [], []
    for site in SITES:
        for n in range(RUNS_PER_FEED):
            started = now - timedelta(minutes=15 * (RUNS_PER_FEED - n))
            failed = n % 17 == 16
            runs.append({"feed": feed_of(site), "started_at": started,
                         "finished_at": started + timedelta(seconds=40),
                         "outcome": "failed" if failed else "ok", "pages_fetched": 3,
                         "not_modified": 1, "articles_found": 20, "articles_new": 2,
                         "versions_new": 0, "duplicates": 0, "errors": int(failed),
                         "error": "https://x.example/: HTTP 503" if failed else None})  # fmt: skip
        states.append({"name": feed_of(site), "kind": "rss", "url": f"https://{site}/rss",
                       "last_run_at": now, "last_success_at": now, "last_outcome": "ok",
                       "consecutive_failures": 0, "next_run_at": now + SCHEDULE})  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(CrawlRun.__table__.insert(), runs)
        conn.execute(FeedState.__table__.insert(), states)
        conn.execute(text("ANALYZE"))
    return edited


def pages(
    gen: Generator, count: int, edited: list[int], rng: random.Random
) -> dict[str, list[str]]:
    """Each page with the URLs it is timed on (cycled through)."""
    medium, common, rare = gen.word(1000), gen.word(50), gen.word(20000)
    article_ids = [str(rng.randrange(1, count + 1)) for _ in range(10)]
    return {
        f"search + facets, medium word ({medium})": [f"/articles?q={medium}"],
        f"search + facets, common word ({common})": [f"/articles?q={common}"],
        f"search + facets, rare word ({rare})": [f"/articles?q={rare}"],
        "search + facets + tag + page 3": [f"/articles?q={common}&tag={TAGS[5]}&page=3"],
        "search + facets, collapsed": [f"/articles?q={medium}&collapse=1"],
        "/articles (all, facets)": ["/articles"],
        "/articles?tag=...": [f"/articles?tag={t}" for t in TAGS[:10]],
        "/articles/ID (edited, diff)": [f"/articles/{i}" for i in edited[:10]],
        "/articles/ID": [f"/articles/{i}" for i in article_ids],
        "/feeds": ["/feeds"],
        "/feeds/NAME": [f"/feeds/{feed_of(s)}" for s in SITES[:10]],
        "/trends (30 days by tag)": ["/trends"],
        "/trends?q=word": [f"/trends?q={medium}"],
        "/": ["/"],
        "/feeds.atom?q=word": [f"/feeds.atom?q={medium}"],
        "/api/articles?q=word": [f"/api/articles?q={medium}"],
    }


def time_pages(client: TestClient, urls: dict[str, list[str]], repeats: int) -> None:
    print(f"  {'page':<44}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for label, choices in urls.items():
        timings: list[float] = []
        for run in range(repeats + 1):
            url = choices[run % len(choices)]
            began = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - began) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
            if run:  # the first run warms caches
                timings.append(elapsed)
        print(f"  {label:<44}{statistics.median(timings):>9.1f}{p95(timings):>9.1f}"
              f"{max(timings):>9.1f}", flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    args = parser.parse_args()
    gen, now = Generator(), datetime.now(UTC)
    store, where = open_backend(args.backend, args.workdir, args.pg_admin)
    url = store.engine.url.render_as_string(hide_password=False)
    try:
        began = time.perf_counter()
        edited = insert(store, gen, args.articles, args.batch, now)
        store.close()
        print(f"{args.backend}, {args.articles:,} articles ({len(edited):,} edited), generated"
              f" in {time.perf_counter() - began:.0f} s")  # fmt: skip
        feeds = "".join(f'[[feeds]]\nname = "{feed_of(s)}"\nkind = "rss"\nurl = "https://{s}/rss"\n'
                        for s in SITES)  # fmt: skip
        settings = parse_settings(f'[database]\nurl = "{url}"\n{feeds}')
        reader = Store.open(settings.database, create=False, read_only=True)
        try:
            with TestClient(create_app(settings, reader)) as client:
                time_pages(
                    client, pages(gen, args.articles, edited, random.Random(3)), args.repeats
                )
        finally:
            reader.close()
    finally:
        store.close()
        if args.keep:
            print(f"  kept {where}")
        else:
            drop_backend(args.backend, where, args.pg_admin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
