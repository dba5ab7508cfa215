"""Distributed mode: how crawling scales with workers while the work is latency-bound.

Many small news hosts on 127.0.0.1 (one port each, so each is a host of its own with its
own lock), each with an RSS feed of a few small article pages; every response waits
``--latency`` seconds first, as a far-away server would. The same feeds are crawled by 1,
2 and 4 ``newsmon worker`` processes (``--concurrency`` jobs each) into a fresh PostgreSQL
database per round:

* throughput: every feed is queued at once (as a leader does when a batch falls due); the
  time from the first job queued to the last run finished gives articles/s, and the
  scaling ratio against one worker (targets: at least 1.8x with 2 workers, 3.2x with 4);
* queue wait: then ``newsmon run`` keeps the timetable (every feed due every
  ``--every`` seconds) over the 4 workers, and each worker logs how long each job waited
  between being queued and starting (target: p95 under 2 s);
* load: the CPU seconds the workers and their children used per wall second, and the
  1-minute load average at the end of each round.

Where the time goes, as measured on the two-core development machine with nothing else
running: runs are latency-bound (each 10.4 s: robots.txt, the feed and 3 pairs of articles
at 2 s each), jobs start 0.01-0.3 s after they are queued (each worker's job fetch is woken
by LISTEN/NOTIFY), and the workers use under one core between them at 4 workers. Two things
held the 4-worker round back before: this benchmark's stories were shifted copies of one
text, so every save was a near-copy of every other and all of them waited on the same
clustering locks (51 s for the round instead of 25 s: real stories of different events
share no text); and one clustering lock for every save in the cluster, now one per LSH
bucket and content hash (``crawler.store.clusters.lock_clusters``): 27.3 s with the single
lock, 24.8 s with the buckets' on the same pages.

Run: ``.venv/bin/python bench/cluster.py`` (PostgreSQL at ``$NEWSMON_TEST_PG``, default
127.0.0.1:5432, user postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

PG_ADMIN = os.environ.get(
    "NEWSMON_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
WAIT_LINE = re.compile(r"feed (\S+): started after ([0-9.]+) s in the queue")


# -- the hosts ---------------------------------------------------------------------------


def article_page(host: int, n: int, published: datetime) -> bytes:
    # Each story its own text (seeded, so every run serves the same pages): stories that
    # shared their sentences would be near-copies, clustered together, which real news of
    # different events is not.
    rng = random.Random(host * 1_000 + n)
    paragraphs = "".join(
        f"<p>Paragraph {i} of story {n} on host {host}: "
        + " ".join(f"word{rng.randrange(5_000)}" for _ in range(60))
        + ".</p>"
        for i in range(4)
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Story {n} of host {host} | Bench Times</title>"
        f'<meta property="og:title" content="Story {n} of host {host}">'
        f'<meta property="article:published_time" content="{published.isoformat()}">'
        '<meta property="og:type" content="article"></head><body><nav>Home News Sport</nav>'
        f"<article><h1>Story {n} of host {host}</h1><p class=byline>By Bench Writer</p>"
        f"{paragraphs}</article><footer>Copyright Bench Times</footer></body></html>"
    ).encode()


def feed_xml(host: int, base: str, articles: int, published: datetime) -> bytes:
    items = "".join(
        f"<item><title>Story {n} of host {host}</title><link>{base}/news/{host}/{n}</link>"
        f"<guid>{base}/news/{host}/{n}</guid>"
        f"<pubDate>{format_datetime(published - timedelta(minutes=n), True)}</pubDate></item>"
        for n in range(articles)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Host {host}</title><link>{base}/</link><description>bench</description>"
        f"{items}</channel></rss>"
    ).encode()


class Host:
    """One news host on its own port; every response waits ``latency`` seconds."""

    def __init__(self, index: int, articles: int, latency: float) -> None:
        self.index, self.articles, self.latency = index, articles, latency
        self.requests = 0
        self._lock = threading.Lock()
        self.published = datetime.now(UTC) - timedelta(hours=1)
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with host._lock:
                    host.requests += 1
                time.sleep(host.latency)
                body, kind = host.page(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, path: str) -> tuple[bytes, str]:
        if path == "/robots.txt":
            return b"User-agent: *\nAllow: /\n", "text/plain"
        if path == "/feed.xml":
            return feed_xml(
                self.index, self.base, self.articles, self.published
            ), "application/rss+xml"
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "news":
            n = int(parts[2])
            return article_page(
                self.index, n, self.published - timedelta(minutes=n)
            ), "text/html; charset=utf-8"
        return b"", "text/plain"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the cluster -------------------------------------------------------------------------


@contextmanager
def database() -> Iterator[str]:
    admin_url = PG_ADMIN
    name = f"newsmon_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def write_settings(
    folder: Path,
    url: str,
    hosts: list[Host],
    every: str,
    args: argparse.Namespace,
    jitter: str = "0s",
) -> Path:
    feeds = "".join(
        f'[[feeds]]\nname = "host-{h.index}"\nkind = "rss"\nurl = "{h.base}/feed.xml"\n\n'
        for h in hosts
    )
    path = folder / "settings.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n\n[cluster]\nmode = "distributed"\npoll_interval = 0.5\n\n'
        '[crawl]\nuser_agent = "newsmon-bench/0.1 (+https://example.invalid/bench)"\n'
        f"download_delay = 0\nconcurrent_requests_per_host = {args.per_host}\ntimeout = 30\n"
        "retries = 0\nallow_private_networks = true\n\n"
        f'[defaults]\nschedule = {{ every = "{every}", jitter = "{jitter}" }}\n\n{feeds}',
        encoding="utf-8",
    )
    return path


def start(folder: Path, name: str, *command: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = folder / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler", *command],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    return process, log


def live_workers(url: str) -> int:
    from crawler.cluster.listing import live_workers as listed

    return len(listed(url, 30) or [])


def finished(url: str) -> tuple[int, datetime | None, int]:
    from crawler.store.models import Article, CrawlRun

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            done = select(func.count(), func.max(CrawlRun.finished_at)).where(
                CrawlRun.outcome != "running"
            )
            runs, last = conn.execute(done).one()
            articles = conn.execute(select(func.count()).select_from(Article)).scalar_one()
        return int(runs), last, int(articles)
    finally:
        engine.dispose()


def queue_all(settings_path: Path) -> datetime:
    """Queue a run of every feed at once, as a leader does; when the first was queued."""
    from crawler.cluster.leader import Leader
    from crawler.config import load_settings
    from crawler.store.store import Store

    settings = load_settings(settings_path)

    async def main() -> datetime:
        store = Store.open(settings.database)
        leader = Leader(lambda: settings, store)
        await leader.open()
        first = datetime.now(UTC)
        for feed in settings.feeds:
            await leader.defer(feed, None)
        await leader.close()
        store.close()
        return first

    return asyncio.run(main())


def wait_until(what: str, probe, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise SystemExit(f"bench: timed out waiting for {what}")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_busy() -> tuple[float, float]:
    """The machine's busy and total CPU time so far (all processes, /proc/stat)."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def keep_logs(folder: Path, args: argparse.Namespace, name: str) -> None:
    if args.logs:
        target = Path(args.logs) / name
        target.mkdir(parents=True, exist_ok=True)
        for log in folder.glob("*.log"):
            shutil.copy(log, target / log.name)


def throughput_round(workers: int, hosts: list[Host], args: argparse.Namespace) -> dict[str, float]:
    with database() as url, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = write_settings(folder, url, hosts, "1h", args)
        subprocess.run(
            [sys.executable, "-m", "crawler", "db", "upgrade", "--settings", str(settings)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy_before = cpu_busy()
        procs = [
            start(
                folder,
                f"worker{i}",
                "worker",
                "--settings",
                str(settings),
                "--concurrency",
                str(args.concurrency),
            )[0]
            for i in range(workers)
        ]
        wait_until(f"{workers} workers", lambda: live_workers(url) >= workers, 120)
        first = queue_all(settings)
        started = time.monotonic()
        wait_until("every feed's run", lambda: finished(url)[0] >= len(hosts), 1800)
        wall = time.monotonic() - started
        _runs, last, articles = finished(url)
        load = os.getloadavg()[0]
        busy_after = cpu_busy()
        stop(procs)
        keep_logs(folder, args, f"throughput-{workers}")
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert last is not None
        last = last if last.tzinfo else last.replace(tzinfo=UTC)
        seconds = (last - first).total_seconds()
        cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
            cpu_before.ru_utime + cpu_before.ru_stime
        )
        return {
            "workers": workers,
            "articles": articles,
            "seconds": seconds,
            "rate": articles / seconds,
            "cpu_per_s": cpu / max(wall, 0.001),
            "machine_busy": (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1]),
            "load1": load,
        }


def queue_wait_round(hosts: list[Host], args: argparse.Namespace) -> dict[str, float]:
    with database() as url, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        jitter = f"{args.every // 2}s"
        settings = write_settings(folder, url, hosts, f"{args.every}s", args, jitter)
        subprocess.run(
            [sys.executable, "-m", "crawler", "db", "upgrade", "--settings", str(settings)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        started = [
            start(
                folder,
                f"worker{i}",
                "worker",
                "--settings",
                str(settings),
                "--concurrency",
                str(args.concurrency),
            )
            for i in range(4)
        ]
        wait_until("4 workers", lambda: live_workers(url) >= 4, 120)
        # The cold crawl first (a backlog, not the steady state this round measures) …
        queue_all(settings)
        wait_until("the cold crawl", lambda: finished(url)[0] >= len(hosts), 600)
        cold = [len(WAIT_LINE.findall(log.read_text())) for _, log in started]
        # … then the timetable: every feed each --every seconds, spread by a jitter of half.
        scheduler, _ = start(folder, "scheduler", "run", "--settings", str(settings))
        time.sleep(args.steady)  # the timetable runs; nothing is measured by this sleep
        load = os.getloadavg()[0]
        stop([scheduler, *(p for p, _ in started)])
        keep_logs(folder, args, "queue-wait")
        waits: list[float] = []
        for (_, log), skip in zip(started, cold, strict=True):
            waits += [float(m.group(2)) for m in WAIT_LINE.finditer(log.read_text())][skip:]
        waits.sort()
        p95 = waits[max(0, int(len(waits) * 0.95) - 1)] if waits else float("nan")
        return {
            "jobs": len(waits),
            "p50": statistics.median(waits) if waits else float("nan"),
            "p95": p95,
            "max": max(waits, default=float("nan")),
            "load1": load,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=32)
    parser.add_argument("--articles", type=int, default=6, help="articles per feed")
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per response")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs per worker")
    parser.add_argument("--per-host", type=int, default=2, help="concurrent_requests_per_host")
    parser.add_argument("--every", type=int, default=30, help="feed interval (queue-wait round)")
    parser.add_argument("--steady", type=float, default=60, help="seconds of the queue-wait round")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--logs", help="keep the processes' logs in this folder")
    args = parser.parse_args(argv)
    hosts = [Host(i, args.articles, args.latency) for i in range(args.hosts)]
    try:
        print(
            f"{args.hosts} hosts x {args.articles} articles, {args.latency:.1f} s per response,"
            f" {args.concurrency} jobs per worker, {args.per_host} requests per host",
            flush=True,
        )
        rounds = [throughput_round(int(n), hosts, args) for n in args.workers.split(",")]
        base = rounds[0]["rate"]
        for r in rounds:
            print(
                f"{r['workers']:.0f} workers: {r['articles']:.0f} articles"
                f" in {r['seconds']:.1f} s ="
                f" {r['rate']:.2f} articles/s, x{r['rate'] / base:.2f};"
                f" workers' CPU {r['cpu_per_s']:.2f} cores; machine {r['machine_busy']:.0%} busy,"
                f" load {r['load1']:.2f}",
                flush=True,
            )
        wait = queue_wait_round(hosts, args)
        print(
            f"queue wait (4 workers, every feed each {args.every} s after a cold crawl,"
            f" {wait['jobs']:.0f} jobs):"
            f" p50 {wait['p50']:.2f} s, p95 {wait['p95']:.2f} s, max {wait['max']:.2f} s;"
            f" load {wait['load1']:.2f}"
        )
    finally:
        for host in hosts:
            host.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
