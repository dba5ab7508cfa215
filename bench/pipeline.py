"""Crawl-path benchmarks of a service that runs for months: cold crawl, steady state, growth.

    .venv/bin/python bench/pipeline.py [--articles 2000] [--growth 1000,10000,100000] [--only ...]
                             [--compare-threads] [--repeats 3] [--workdir DIR]
    .venv/bin/python bench/pipeline.py --pages DIR [--repeat 3] [--concurrency 8]

Everything goes through the product path — settings.toml → ``FeedRunner`` → feed spiders →
``StorePipeline`` → ``Store`` (SQLite file) — against a generated site on 127.0.0.1
(bench/gensite.py) served by this process. Each crawl runs in a child process of its own
(a Twisted reactor starts once per process) and reports its wall time and the CPU seconds
of its whole process tree (parse workers included) around ``run_feeds``; the request, 304
and byte counts are the site's own.

* cold — the whole site (one listing per section, paginated, plus one short RSS feed per
  section, all run at once as ``newsmon crawl`` does) into a fresh database: articles
  stored per second, against a fetch-only crawl of the same pages with the same settings
  and spiders, whose item pipeline discards each article page without parsing it. Figure:
  the ratio stored/s ÷ fetched/s. ``--compare-threads`` also crawls with the previous
  pipeline design (parse and save together in a worker thread).
* steady — the same feeds again, nothing new, ``revisit_window = "1s"`` (as in the cold
  run, where it changes nothing): requests, 304s, bytes and CPU against the cold crawl's.
* growth — one run over a listing of ``--known`` stored + ``--new`` new articles, with
  1,000 / 10,000 / 100,000 articles already in the database (bulk-inserted with SQLAlchemy
  Core: articles, URLs, versions, feed links, tags, LSH bands, boilerplate paragraph
  counts), ``--repeats`` runs each (the median is printed; ``revisit_window = "1s"`` so an
  earlier run's new articles are simply known). Each figure is printed with its ratio to
  the smallest size; flat means ratios near 1.
* ``--pages DIR`` — instead of all that, a cold crawl of saved real pages (a directory in the
  corpus format, see bench/savedpages.py), each served ``--repeat`` times on 4 loopback
  hosts with one RSS feed each, through the same product path: stored articles/s, against
  ``trafilatura.bare_extraction`` over the same pages in as many processes as the crawl
  parses in (run just before and just after the crawl: the mean) and a fetch-only crawl;
  peak RSS of the crawl's process tree; CPU ms per article for fetch, parse, fingerprint
  and write (which are measured, which derived: the output says).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Siblings: a script's own folder is on sys.path (newsmon itself is installed in the venv).
from gensite import GeneratedSite
from harness import (
    fmt_int,
    machine,
    process_cpu_seconds,
    report,
    run_child,
    tree_cpu_seconds,
    write_settings,
)
from prefill import prefill
from savedpages import bench_pages

SCRIPT = Path(__file__).resolve()
PARTS = ("cold", "steady", "growth")


# -- child side -------------------------------------------------------------------------------


class DiscardPipeline:
    """The fetch-only baseline's item pipeline: counts article pages, keeps nothing."""

    seen = 0

    def process_item(self, item: Any) -> Any:
        DiscardPipeline.seen += 1
        return item


class ThreadPipeline:
    """The design before worker processes, for comparison: parse and save each article
    together in one of asyncio's default worker threads (``to_thread``)."""

    def __init__(self, run: Any) -> None:
        self.run = run

    @classmethod
    def from_crawler(cls, crawler: Any) -> Any:
        from crawler.crawl.context import context_of

        return cls(context_of(crawler).run)

    async def process_item(self, item: Any) -> Any:
        from crawler.crawl.feedrun import ArticlePage

        if not isinstance(item, ArticlePage):
            return item
        result = await asyncio.to_thread(parse_and_save, self.run, item)
        if result is None:
            self.run.not_articles += 1
        else:
            self.run.counts.count_save(result.outcome)
        return item


def parse_and_save(run: Any, page: Any) -> Any:
    """Blocking, all in the calling thread: one article parsed and saved on its own."""
    from crawler.crawl.parsing import parse
    from crawler.crawl.pipeline import hints_for, save_request

    parsed = parse(page.body, page.url, hints_for(run, page))
    if parsed is None:
        return None
    request = save_request(run, page, parsed)
    return run.store.save_article(
        request.article,
        feed=request.feed,
        feed_tags=request.feed_tags,
        urls=request.urls,
        fetched_at=request.fetched_at,
        fingerprint=request.fingerprint,
    )


def child_crawl(settings_path: str, pipeline: str) -> None:
    """One ``newsmon crawl`` of all enabled feeds, as crawler.cli.service_commands does it."""
    from sqlalchemy import func, select

    import crawler.crawl.runner as runner_module
    from crawler.config import load_settings
    from crawler.crawl.runner import FeedRunner, run_in_reactor
    from crawler.store.models import Article
    from crawler.store.store import Store

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings(settings_path)
    if pipeline != "product":
        product_settings = runner_module.scrapy_settings
        replacement = {"fetch-only": DiscardPipeline, "threads": ThreadPipeline}[pipeline]

        def bench_settings(values: Any) -> dict[str, Any]:
            scrapy_values = product_settings(values)
            scrapy_values["ITEM_PIPELINES"] = {f"{__name__}.{replacement.__name__}": 300}
            return scrapy_values

        runner_module.scrapy_settings = bench_settings  # type: ignore[assignment]
    store = Store.open(settings.database.url)
    store.sync_feeds((f.name, f.kind, f.url) for f in settings.feeds)
    feeds = list(settings.enabled_feeds())
    runner = FeedRunner(settings, store)
    if pipeline == "fetch-only":  # nothing is parsed: no worker process nor fork server starts
        runner.article_workers.processes = 1
    measured: dict[str, float] = {}

    async def crawl() -> list[Any]:
        cpu = tree_cpu_seconds()
        started = time.perf_counter()
        outcomes = await runner.run_feeds(feeds)
        measured["wall"] = time.perf_counter() - started
        measured["cpu"] = tree_cpu_seconds() - cpu
        # Before the stop reaps them: the CPU of the parse workers and of the writer process.
        workers: Any = runner.article_workers
        pool = workers._pool._processes if workers._pool else {}
        writers = [w._process._processes for w in workers._batch_writers.values() if w._process]
        measured["workers_cpu"] = sum(process_cpu_seconds(pid) for pid in pool)
        measured["writer_cpu"] = sum(process_cpu_seconds(p) for w in writers for p in w)
        await runner.stop()
        return outcomes

    outcomes = run_in_reactor(crawl)
    with store.reading() as session:
        stored = session.scalar(select(func.count()).select_from(Article)) or 0
    store.close()
    report(
        {
            "wall": measured["wall"],
            "cpu": measured["cpu"],
            "workers_cpu": measured.get("workers_cpu", 0.0),
            "writer_cpu": measured.get("writer_cpu", 0.0),
            "stored": stored,
            "duplicates": sum(o.counts.duplicates for o in outcomes),
            "items": DiscardPipeline.seen,
            "new": sum(o.counts.articles_new for o in outcomes),
            "errors": sum(o.counts.errors for o in outcomes),
            "outcomes": sorted({o.outcome for o in outcomes}),
            "problems": [o.summary() for o in outcomes if o.outcome != "ok"][:5],
        }
    )


# -- parent side ------------------------------------------------------------------------------


def crawl_once(
    site: GeneratedSite, settings: Path, pipeline: str = "product"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one measured crawl in a child process; (child result, site counters)."""
    site.reset_counters()
    args = ["crawl", "--settings", str(settings), "--pipeline", pipeline]
    result = run_child(SCRIPT, args)
    if result["errors"] or result["outcomes"] != ["ok"]:
        raise RuntimeError(f"crawl did not go cleanly: {result}")
    return result, site.counters().as_dict()


def ratio(value: float, base: float) -> str:
    return f"{value / base:.3f}" if base else "n/a"


def bench_cold_and_steady(args: argparse.Namespace, workdir: Path, parts: set[str]) -> None:
    started = time.perf_counter()
    site = GeneratedSite(
        args.articles, sections=args.sections, per_page=args.per_page, feed_items=args.feed_items
    )
    try:
        feeds = site.feeds_toml(listings=True, rss=True)
        listing_pages = sum(site.listing_pages(s) for s in site.sections)
        print(
            f"site: {fmt_int(args.articles)} articles, {len(site.sections)} sections, "
            f"{listing_pages} listing pages + {len(site.sections)} RSS feeds of "
            f"{args.feed_items} items (rendered in {time.perf_counter() - started:.1f}s); "
            f"concurrent_requests_per_host = {args.concurrency}; {machine()}",
            flush=True,
        )
        crawl_settings: dict[str, object] = {
            "concurrent_requests_per_host": args.concurrency,
            "revisit_window": "1s",
        }
        largest_section = max(
            sum(1 for s in site.stories if s.section == name) for name in site.sections
        )
        if largest_section > 500:  # the default limit of articles a feed run considers
            crawl_settings["max_articles_per_run"] = largest_section
        base_settings = write_settings(
            workdir / "fetch-only.toml", workdir / "fetch-only.db", feeds, **crawl_settings
        )
        settings = write_settings(
            workdir / "cold.toml", workdir / "cold.db", feeds, **crawl_settings
        )

        fetched, fetched_site = crawl_once(site, base_settings, pipeline="fetch-only")
        pages = fetched_site["by_kind"].get("article", 0)
        fetch_rate = pages / fetched["wall"]
        cold, cold_site = crawl_once(site, settings)
        cold_rate = cold["stored"] / cold["wall"]
        article_requests = cold_site["by_kind"].get("article", 0)
        if "cold" in parts:
            print(
                f"cold crawl: {fmt_int(cold['stored'])} articles stored in {cold['wall']:.1f}s"
                f" = {cold_rate:.1f} articles/s ({fmt_int(article_requests)} article pages"
                f" fetched, {fmt_int(cold_site['requests'])} requests, CPU {cold['cpu']:.1f}s)"
            )
            print(
                f"fetch-only baseline: {fmt_int(pages)} article pages fetched in "
                f"{fetched['wall']:.1f}s = {fetch_rate:.1f} pages/s (CPU {fetched['cpu']:.1f}s)"
            )
            print(f"ratio cold/fetch-only: {ratio(cold_rate, fetch_rate)}")
            if args.compare_threads:
                threads, _ = crawl_once(
                    site,
                    write_settings(
                        workdir / "threads.toml", workdir / "threads.db", feeds, **crawl_settings
                    ),
                    pipeline="threads",
                )
                threads_rate = threads["stored"] / threads["wall"]
                print(
                    "previous design (parse + save together in a worker thread): "
                    f"{fmt_int(threads['stored'])} articles stored in {threads['wall']:.1f}s = "
                    f"{threads_rate:.1f} articles/s (CPU {threads['cpu']:.1f}s), ratio to "
                    f"fetch-only {ratio(threads_rate, fetch_rate)}; current design "
                    f"x{cold_rate / threads_rate:.2f}"
                )
        if cold["stored"] != args.articles:
            raise RuntimeError(f"{args.articles} articles on the site, {cold['stored']} stored")

        if "steady" in parts:
            steady, steady_site = crawl_once(site, settings)
            print(
                'steady state (same feeds again, nothing new, revisit_window = "1s"):'
                f" {len(site.sections) * 2} feeds"
            )
            rows = [
                ("requests", steady_site["requests"], cold_site["requests"]),
                ("304 responses", steady_site["not_modified"], cold_site["not_modified"]),
                ("bytes downloaded", steady_site["bytes_sent"], cold_site["bytes_sent"]),
            ]
            for name, value, base in rows:
                print(f"  steady {name}: {fmt_int(value)} (cold {fmt_int(base)}, ratio "
                      f"{ratio(value, base)})")  # fmt: skip
            print(
                f"  steady CPU seconds: {steady['cpu']:.2f} (cold {cold['cpu']:.2f}, ratio "
                f"{ratio(steady['cpu'], cold['cpu'])}); wall {steady['wall']:.2f}s"
            )
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(steady_site["by_kind"].items()))
            print(f"  steady requests by kind: {kinds}; new articles {steady['new']}")
    finally:
        site.close()


def bench_growth(args: argparse.Namespace, workdir: Path) -> None:
    sizes = [int(s) for s in args.growth.split(",") if s.strip()]
    known, new, repeats = args.known, args.new, max(1, args.repeats)
    print(
        f"growth: one run over a listing of {known} known + {new} new articles, "
        f'with N articles already stored (median of {repeats} runs; revisit_window = "1s")'
    )
    results: list[tuple[int, float, float, int, float]] = []
    for size in sizes:
        if size < known:
            raise SystemExit(f"--growth sizes must be at least --known ({known})")
        site = GeneratedSite(known + new, sections=1, per_page=known + new, feed_items=10)
        database = workdir / f"growth-{size}.db"
        walls: list[float] = []
        cpus: list[float] = []
        requests: set[int] = set()
        try:
            feeds = site.feeds_toml(listings=True, max_pages=1)
            feed_name = f"gen-{site.sections[0]}"
            settings = write_settings(
                workdir / f"growth-{size}.toml",
                database,
                feeds,
                concurrent_requests_per_host=args.concurrency,
                revisit_window="1s",  # earlier runs' new articles are known, not re-checked
            )
            started = time.perf_counter()
            prefill(f"sqlite:///{database}", size, site.stories[:known], site, feed_name)
            filled = time.perf_counter() - started
            for repeat in range(repeats):
                if repeat:
                    # The last run's new articles are known now; the listing shows the
                    # newest known + new, so each run has the same shape.
                    site.publish(new)
                result, counters = crawl_once(site, settings)
                if result["new"] != new:
                    raise RuntimeError(f"expected {new} new articles, a run stored {result['new']}")
                walls.append(result["wall"])
                cpus.append(result["cpu"])
                requests.add(counters["requests"])
        finally:
            site.close()
            database.unlink(missing_ok=True)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        results.append((size, wall, cpu, max(requests), filled))
    _, base_wall, base_cpu, base_requests, _ = results[0]
    for size, wall, cpu, count, filled in results:
        print(
            f"  growth {fmt_int(size)} stored: wall {wall:.2f}s (ratio {ratio(wall, base_wall)}), "
            f"requests {count} (ratio {ratio(count, base_requests)}), CPU {cpu:.2f}s (ratio "
            f"{ratio(cpu, base_cpu)}); prefill {filled:.1f}s"
        )
    print(f"  (ratios are to the {fmt_int(results[0][0])}-article case; {machine()})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Cold-crawl, steady-state and growth benchmarks of the crawl path."
    )
    parser.add_argument("--articles", type=int, default=2000, help="cold crawl: site size")
    parser.add_argument("--sections", type=int, default=8, help="listing feeds (1-8)")
    parser.add_argument("--per-page", type=int, default=50, help="links per listing page")
    parser.add_argument("--feed-items", type=int, default=10, help="items per RSS feed")
    parser.add_argument("--concurrency", type=int, default=8, help="requests per host at once")
    parser.add_argument(
        "--growth", default="1000,10000,100000", help="stored-article counts, comma-separated"
    )
    parser.add_argument("--known", type=int, default=50, help="growth: known articles listed")
    parser.add_argument("--new", type=int, default=10, help="growth: new articles listed")
    parser.add_argument("--repeats", type=int, default=3, help="growth: runs per size")
    parser.add_argument("--only", default=",".join(PARTS), help=f"subset of {','.join(PARTS)}")
    parser.add_argument(
        "--compare-threads",
        action="store_true",
        help="cold: also crawl with the previous pipeline design (threads only)",
    )
    parser.add_argument("--workdir", type=Path, help="keep the databases here")
    parser.add_argument("--pages", type=Path, help="cold crawl of saved pages in DIR instead")
    parser.add_argument("--repeat", type=int, default=3, help="--pages: copies of each page")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child = argparse.ArgumentParser()
        child.add_argument("mode", choices=["crawl"])
        child.add_argument("--settings", required=True)
        child.add_argument("--pipeline", choices=["product", "fetch-only", "threads"])
        options = child.parse_args(args.child)
        child_crawl(options.settings, options.pipeline)
        return 0
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    if not parts <= set(PARTS):
        parser.error(f"--only takes {','.join(PARTS)}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.pages is not None:
            bench_pages(args.pages, args.repeat, args.concurrency, workdir, SCRIPT)
            return 0
        if parts & {"cold", "steady"}:
            bench_cold_and_steady(args, workdir, parts)
        if "growth" in parts:
            bench_growth(args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
