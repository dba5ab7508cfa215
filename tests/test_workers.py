"""The pipeline's workers: parsing in processes, writing in a writer process, in batches.

A crawl of a few dozen articles never starts them (``POOL_AFTER_PAGES``); these tests
start them after a few pages and check that the database ends up exactly as when
everything runs in threads of one process.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawler.config import load_settings
from crawler.crawl.feedrun import ArticlePage, FeedRun
from crawler.crawl.pipeline import hints_for, save_request
from crawler.crawl.workers import ArticleWorkers
from crawler.extract.discovery import Candidate
from crawler.store.models import Article, ArticleFeed, ArticleTag
from crawler.store.saves import SaveResult
from crawler.store.store import Store

PAGES = Path(__file__).parent / "pages"
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def make_run(tmp_path: Path, name: str) -> FeedRun:
    settings_path = tmp_path / f"{name}.toml"
    settings_path.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path}/{name}.db"

[[feeds]]
name = "goldens"
kind = "rss"
url = "http://127.0.0.1:9/feed.xml"
tags = ["world"]
""",
        encoding="utf-8",
    )
    settings = load_settings(settings_path)
    store = Store.open(settings.database.url)
    return FeedRun(feed=settings.feeds[0], settings=settings, store=store)


def pages(*, articles_only: bool = False) -> list[ArticlePage]:
    found = []
    for spec_path in sorted(PAGES.glob("*.json")):
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        if articles_only and spec["article"] is None:
            continue
        url = spec["url"]
        found.append(
            ArticlePage(
                body=spec_path.with_suffix(".html").read_bytes(),
                url=url,
                requested_url=url,
                charset=None,
                candidate=Candidate(url=url),
                fetched_at=T0,
            )
        )
    return found


async def store_page(workers: ArticleWorkers, run: FeedRun, page: ArticlePage) -> SaveResult | None:
    """What the item pipeline does with one page."""
    parsed = await workers.parse(page.body, page.url, partial(hints_for, run, page))
    if parsed is None:
        return None
    return await workers.save(run.store, save_request(run, page, parsed))


async def parsers_started(workers: ArticleWorkers) -> None:
    """Wait until the parser pool (started in the background) takes pages, up to 60 s."""
    for _ in range(600):
        if workers.uses_processes:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the parser processes did not start in 60 s")


def snapshot(store: Store) -> list[tuple[Any, ...]]:
    with store.reading() as session:
        rows = []
        for article in session.scalars(select(Article).order_by(Article.url)):
            feeds = sorted(
                session.scalars(
                    select(ArticleFeed.feed).where(ArticleFeed.article_id == article.id)
                )
            )
            tags = sorted(
                session.scalars(select(ArticleTag.tag).where(ArticleTag.article_id == article.id))
            )
            rows.append((article.url, article.title, article.body, article.content_hash,
                         article.published_at, article.version_count, feeds, tags))  # fmt: skip
        return rows


def test_processes_store_exactly_what_threads_store(tmp_path: Path) -> None:
    threads_run, processes_run = make_run(tmp_path, "threads"), make_run(tmp_path, "processes")
    in_threads = ArticleWorkers(processes=1)
    in_processes = ArticleWorkers(processes=2, pool_after=3)

    async def crawl_in_threads() -> list[SaveResult | None]:
        return [await store_page(in_threads, threads_run, page) for page in pages()]

    async def crawl_in_processes() -> list[SaveResult | None]:
        todo = pages()
        first = [await store_page(in_processes, processes_run, page) for page in todo[:3]]
        # The pool starts in the background after the third page; wait for it to be ready.
        await parsers_started(in_processes)
        # All at once, as Scrapy hands over items: writes queue up and go in batches.
        rest = await asyncio.gather(
            *(store_page(in_processes, processes_run, page) for page in todo[3:])
        )
        return first + list(rest)

    try:
        threads_results = asyncio.run(crawl_in_threads())
        processes_results = asyncio.run(crawl_in_processes())
        writer = in_processes.writer_for(processes_run.store)
        assert writer is not None
        assert writer.process_batches >= 1, "nothing was written in the writer process"
        assert writer.largest_batch > 1, "concurrent saves were not batched"
    finally:
        in_threads.close()
        in_processes.close()

    def outcomes(results: list[SaveResult | None]) -> list[str | None]:
        return [r.outcome if r else None for r in results]

    assert outcomes(processes_results) == outcomes(threads_results)
    assert sum(1 for r in threads_results if r and r.outcome == "new") >= 15
    stored = snapshot(processes_run.store)
    assert stored == snapshot(threads_run.store)
    assert len(stored) >= 15
    threads_run.store.close()
    processes_run.store.close()


def test_a_dead_writer_process_costs_its_batch_only(tmp_path: Path) -> None:
    import os
    import signal

    from crawler.errors import WriterCrashed

    run = make_run(tmp_path, "crash")
    workers = ArticleWorkers(processes=2, pool_after=1)
    todo = pages(articles_only=True)
    assert len(todo) >= 20  # every golden article page

    async def scenario() -> tuple[list[Any], int, int]:
        outcomes: list[Any] = [await store_page(workers, run, todo[0])]
        await parsers_started(workers)
        # The first save after the parsers are up starts the writer process and goes through it.
        outcomes.append(await store_page(workers, run, todo[1]))
        writer = workers.writer_for(run.store)
        assert writer is not None
        before_kill = writer.process_batches
        assert before_kill >= 1, "nothing was written in the writer process"
        process = writer._process
        assert process is not None
        for pid in list(process._processes):  # the writer process, killed as by the OOM killer
            os.kill(pid, signal.SIGKILL)
        for page in todo[2:]:
            try:
                outcomes.append(await store_page(workers, run, page))
            except WriterCrashed:
                outcomes.append("crashed")
        return outcomes, before_kill, writer.process_batches

    try:
        outcomes, before_kill, after_kill = asyncio.run(scenario())
    finally:
        workers.close()
    crashed = [o for o in outcomes if o == "crashed"]
    assert len(crashed) <= 1  # at most the batch that was on its way to the dead process
    assert after_kill == before_kill  # nothing more went to it: the writer went back to a thread
    assert all(isinstance(o, SaveResult) for o in outcomes[-5:]), outcomes
    # Only a crashed batch (one article: saves were awaited one by one) may be missing.
    assert len(snapshot(run.store)) == len(todo) - len(crashed)
    run.store.close()


def loaded(*packages: str) -> str:
    """An expression to eval in another process (stdlib only): which of these top-level
    packages it has imported, sorted."""
    return f"sorted({{m.partition('.')[0] for m in __import__('sys').modules}} & {set(packages)!r})"


WRITER_IMPORTS = loaded("alembic", "mako", "pydantic", "scrapy", "twisted")


def test_announced_downloads_start_the_processes_before_the_first_page(tmp_path: Path) -> None:
    run = make_run(tmp_path, "announced")
    workers = ArticleWorkers(processes=2, pool_after=10)
    todo = pages(articles_only=True)

    async def scenario() -> tuple[bool, bool, int, int]:
        workers.expect(4, run.store)  # a short run: nothing to start
        started_for_few = workers.pool_started
        workers.expect(6, run.store)  # 10 announced: the processes start, no page parsed yet
        started_for_many = workers.pool_started
        await parsers_started(workers)
        writer = workers.writer_for(run.store)
        assert writer is not None, "no writer made for the announced downloads"
        before = writer.process_batches
        # The first page goes to a parser process and its save to the writer process.
        result = await store_page(workers, run, todo[0])
        assert result is not None and result.outcome == "new"
        assert writer._process is not None
        # What the writer process loaded to write it: no migrations, settings or crawler.
        loaded = await asyncio.wrap_future(writer._process.submit(eval, WRITER_IMPORTS))
        assert loaded == [], loaded
        return started_for_few, started_for_many, before, writer.process_batches

    try:
        few, many, before, after = asyncio.run(scenario())
    finally:
        workers.close()
    assert (few, many) == (False, True)
    assert (before, after) == (0, 1)
    assert len(snapshot(run.store)) == 1
    run.store.close()


# In a fresh interpreter (this one may have its fork server already): whether preparing for
# each feed's run started one, as the children of the process say.
_FIRST_CRAWL = """
import asyncio, json, os, sys
from crawler.crawl.workers import ArticleWorkers
from crawler.store.store import RunCounts, Store

def fork_server_running():
    kids = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as handle:
            kids += handle.read().split()
    lines = [open(f"/proc/{pid}/cmdline", "rb").read() for pid in kids]
    return any(b"multiprocessing.forkserver" in line for line in lines)

store = Store.open(sys.argv[1])
store.sync_feeds([("old", "rss", "http://127.0.0.1:9/a.xml"), ("new", "rss", "http://127.0.0.1:9/b.xml")])
store.finish_run(store.start_run("old"), RunCounts(), "ok")
workers = ArticleWorkers(processes=2)
seen = []
for feed in ("old", "new"):
    asyncio.run(workers.prepare_for_first_crawl(store, feed))
    seen.append(fork_server_running())
print(json.dumps([seen, workers.pool_started]))
"""


def test_the_reactor_runs_with_start_ups_objects_frozen() -> None:
    code = (
        "import asyncio, gc\n"
        "from crawler.crawl.reactor import run_in_reactor\n"
        "async def main():\n"
        "    return gc.get_freeze_count()\n"
        "print(gc.get_freeze_count(), run_in_reactor(main))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    before, running = map(int, result.stdout.split())
    assert before == 0 and running > 10_000


def test_a_feeds_first_crawl_starts_the_fork_server_before_any_page(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _FIRST_CRAWL, f"sqlite:///{tmp_path}/first.db"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # A feed that finished a run: nothing starts; one never crawled: the fork server does,
    # and no worker process yet (that waits for the pages, see expect()).
    assert json.loads(result.stdout) == [[False, True], False]


# What a module imports, as seen from inside the process that runs it (stdlib only).
SIGINT_HANDLER = "int(__import__('signal').getsignal(__import__('signal').SIGINT))"
HEAVY_IMPORTS = f"(__import__('os').getpid(), {loaded('sqlalchemy', 'scrapy', 'twisted')})"


def test_a_parser_process_loads_no_database_or_crawl_framework(tmp_path: Path) -> None:
    import os

    run = make_run(tmp_path, "imports")
    workers = ArticleWorkers(processes=2, pool_after=1)
    first, second = pages(articles_only=True)[:2]

    async def scenario() -> tuple[SaveResult | None, Any, tuple[int, list[str]]]:
        in_thread = await store_page(workers, run, first)  # starts the pool
        await parsers_started(workers)
        in_process = await workers.parse(second.body, second.url, partial(hints_for, run, second))
        pool = workers._pool
        assert pool is not None
        # Asked of a real parser process, after it parsed a page.
        sigint = await asyncio.wrap_future(pool.submit(eval, SIGINT_HANDLER))
        assert sigint == int(signal.SIG_IGN)  # a terminal's Ctrl-C is the owner's to handle
        # The fork server's imports are out of the cycle collector's walks (no copy-on-write).
        frozen = await asyncio.wrap_future(pool.submit(eval, "__import__('gc').get_freeze_count()"))
        assert frozen > 10_000, frozen
        return in_thread, in_process, await asyncio.wrap_future(pool.submit(eval, HEAVY_IMPORTS))

    try:
        in_thread, in_process, (pid, loaded) = asyncio.run(scenario())
        worker_pids = set(workers._pool._processes) if workers._pool else set()
    finally:
        workers.close()
        run.store.close()
    assert in_thread is not None and in_thread.outcome == "new"
    assert in_process is not None and in_process[0].url == second.url
    assert pid != os.getpid() and pid in worker_pids
    assert loaded == []
    # The question can tell: this process, which stores, has them all.
    assert eval(HEAVY_IMPORTS)[1] == ["scrapy", "sqlalchemy", "twisted"]


# Four threads each allocate and free 300 page-sized blocks, leaving a few small ones above
# them; the resident memory they leave behind, MiB, in a fresh interpreter.
_RETAINED = """
import re, sys, threading
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) // 1024
if sys.argv[1] == "lean":
    from crawler.crawl.processes import keep_malloc_lean
    keep_malloc_lean()
base, kept = rss(), []
def parse_pages():
    held = []
    for i in range(300):
        held.append(bytearray(200_000 + i))
        if len(held) > 200:
            held.pop(0)
    held.clear()
    kept.append([bytes(100) for _ in range(1000)])
threads = [threading.Thread(target=parse_pages) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(rss() - base)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_freed_page_buffers_go_back_to_the_system() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def retained(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", _RETAINED, mode], capture_output=True, text=True,
            check=True, env=env, cwd=Path(__file__).resolve().parents[1],
        ).stdout  # fmt: skip
        return int(out)

    lean, default = retained("lean"), retained("default")
    assert lean <= 4, (lean, default)
    assert default > lean + 5, (lean, default)  # glibc's defaults keep them: the case is real
