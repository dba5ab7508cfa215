"""Saved article pages served on 127.0.0.1, for ``bench/pipeline.py --pages DIR``.

DIR is a directory in the corpus format — ``DIR/truth.jsonl`` (one JSON object a line, key
``file``) and ``DIR/pages/<file>.gz`` (the gzip of the page's UTF-8 bytes; ``file`` may
already end in ``.gz``) — or plain ``*.html`` files directly in DIR.

:class:`SavedPagesSite` serves them from ``HOSTS`` standard-library HTTP servers (one per
host, each on a free port of 127.0.0.1) with ``Content-Type: text/html; charset=utf-8``.
Each host has one RSS feed, ``/feed.xml``, listing every page it serves. ``repeat`` copies
of each page are served under different paths on *different* hosts (copy k of page i on
host (i + k) mod HOSTS), so no copy is a duplicate of another within one site: the store
deduplicates by content hash per site, and every copy is parsed, fingerprinted and stored
as a new article of its own site, as an article syndicated to several sites would be. The
bodies are the saved bytes, unchanged (no sentence injected); ``repeat`` is at most
``HOSTS``, and the bench reports "stored" as the articles in the database, duplicates
recognised printed apart (0 unless two saved pages have the same text).
"""

from __future__ import annotations

import email.utils
import gzip
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from harness import RESULT_PREFIX, ROOT, descendants, rss_mb

__all__ = ["HOSTS", "SavedPage", "SavedPagesSite", "load_pages", "run_child_peak_rss"]

HOSTS = 4
HTML_TYPE = "text/html; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class SavedPage:
    name: str  # a path-safe slug of the file name
    body: bytes  # the page's UTF-8 bytes


def load_pages(directory: Path) -> list[SavedPage]:
    """The pages of a corpus-format directory, or its ``*.html`` files."""
    truth = directory / "truth.jsonl"
    files: list[tuple[str, bytes]] = []
    if truth.is_file():
        for line in truth.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            name = json.loads(line)["file"]
            gz = name if name.endswith(".gz") else name + ".gz"
            files.append((name, gzip.decompress((directory / "pages" / gz).read_bytes())))
    else:
        files = [(p.name, p.read_bytes()) for p in sorted(directory.glob("*.html"))]
    if not files:
        raise SystemExit(f"no pages in {directory}: neither truth.jsonl nor *.html")
    pages: list[SavedPage] = []
    for index, (name, body) in enumerate(files):
        stem = re.sub(r"(\.html?)?(\.gz)?$", "", name)
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "page"
        pages.append(SavedPage(f"{index}-{slug}", body))
    return pages


class _Handler(BaseHTTPRequestHandler):
    server: _HostServer
    protocol_version = "HTTP/1.1"
    server_version = "SavedPages/1.0"
    sys_version = ""
    timeout = 60

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        found = self.server.paths.get(path)
        status, (kind, content_type, body) = (
            (200, found) if found else (404, ("other", HTML_TYPE, b"<title>Not found</title>"))
        )
        self.server.count(kind)
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
            f"Server: {self.server_version}\r\nDate: {email.utils.formatdate(usegmt=True)}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            self.wfile.write(head.encode("latin-1") + body)
        except OSError:
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _HostServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, counts: Counter[str], lock: threading.Lock) -> None:
        self.paths: dict[str, tuple[str, str, bytes]] = {}
        self._counts, self._lock = counts, lock
        super().__init__(("127.0.0.1", 0), _Handler)

    def count(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: a client hanging up mid-response is normal for a crawler."""


class SavedPagesSite:
    """``repeat`` copies of each saved page on ``HOSTS`` loopback hosts, one RSS feed each."""

    def __init__(self, pages: list[SavedPage], repeat: int = 3) -> None:
        if not 1 <= repeat <= HOSTS:
            raise ValueError(f"repeat must be 1..{HOSTS} (each copy on a host of its own)")
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.servers = [_HostServer(self.counts, self._lock) for _ in range(HOSTS)]
        self.bases = [f"http://127.0.0.1:{s.server_address[1]}" for s in self.servers]
        self.served: list[tuple[str, SavedPage]] = []  # (URL, page) of every copy
        links: list[list[str]] = [[] for _ in range(HOSTS)]
        for index, page in enumerate(pages):
            for copy in range(repeat):
                host = (index + copy) % HOSTS
                path = f"/news/{copy}/{page.name}.html"
                self.servers[host].paths[path] = ("article", HTML_TYPE, page.body)
                url = self.bases[host] + path
                links[host].append(url)
                self.served.append((url, page))
        now = email.utils.formatdate(usegmt=True)
        for host, server in enumerate(self.servers):
            items = "".join(
                f"<item><title>Saved page {n}</title><link>{xml_escape(url)}</link>"
                f'<guid isPermaLink="true">{xml_escape(url)}</guid><pubDate>{now}</pubDate>'
                "</item>\n"
                for n, url in enumerate(links[host])
            )
            rss = (
                '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
                f"<title>Saved pages {host}</title><link>{self.bases[host]}/</link>"
                f"<description>Saved pages</description>\n{items}</channel></rss>\n"
            )
            server.paths["/feed.xml"] = ("feed", RSS_TYPE, rss.encode())
            server.paths["/robots.txt"] = ("robots", "text/plain", b"User-agent: *\n")
        self.max_per_feed = max(len(x) for x in links)
        self._threads = [
            threading.Thread(
                target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="pages"
            )
            for s in self.servers
        ]
        for thread in self._threads:
            thread.start()

    def feeds_toml(self) -> str:
        return "\n".join(
            f'[[feeds]]\nname = "pages-{n}"\nkind = "rss"\nurl = "{base}/feed.xml"\n'
            for n, base in enumerate(self.bases)
        )

    def reset_counters(self) -> None:
        with self._lock:
            self.counts.clear()

    def article_requests(self) -> int:
        with self._lock:
            return self.counts["article"]

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)


def tree_rss_mb(pid: int, pss: bool = True) -> tuple[float, float]:
    """Resident memory of a process and all its live descendants, MiB: the sum of their RSS
    (a page shared by processes forked from one parent counts once per process) and of
    their PSS (each shared page split among its sharers: what the tree really holds; 0.0
    unless ``pss``)."""
    alive = [p for p in (pid, *descendants(pid)) if os.path.exists(f"/proc/{p}")]
    return sum(rss_mb(p) for p in alive), sum(_pss_mb(p) for p in alive) if pss else 0.0


def _pss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # gone meanwhile, or no smaps_rollup on this kernel
        pass
    return 0.0


PSS_EVERY = 3  # samples: the kernel walks every page of a process to add its PSS up


def run_child_peak_rss(
    script: Path, args: list[str], every: float = 0.1, timeout: float = 1800
) -> tuple[dict[str, Any], float, float]:
    """Like ``harness.run_child``, sampling the child's process tree's RSS every ``every``
    seconds from here and its PSS every ``PSS_EVERY`` samples: (the child's result, the
    peak RSS sum and the peak PSS sum in MiB). The sampler shares the machine with what it
    measures: reading the PSS of the crawl's six processes costs some 10 ms of CPU, which
    every 0.1 s took a tenth of a core from the crawl."""
    peak = peak_pss = 0.0
    samples = 0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(
            [sys.executable, str(script), "--child", *args], stdout=out, stderr=err, cwd=ROOT
        )
        deadline = time.monotonic() + timeout
        while process.poll() is None:
            rss, pss = tree_rss_mb(process.pid, pss=samples % PSS_EVERY == 0)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            samples += 1
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                break
            time.sleep(every)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX) and process.returncode == 0:
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result, peak, peak_pss
    raise RuntimeError(f"child failed (exit {process.returncode}):\n{stderr[-4000:]}")


# -- trafilatura alone, in a pool ----------------------------------------------------------

_WORK: list[tuple[str, str]] = []


def _load_in_worker(directory: str, urls: list[str]) -> None:
    """Pool initializer: the pages, decoded, in this worker before the clock starts."""
    import trafilatura

    pages = load_pages(Path(directory))
    names = {p.name: p.body.decode("utf-8", "replace") for p in pages}
    _WORK[:] = [(names[url.rsplit("/", 1)[1].removesuffix(".html")], url) for url in urls]
    trafilatura.bare_extraction(_WORK[0][0], url=_WORK[0][1], with_metadata=True)  # warm


def _ready(_: int) -> int:
    time.sleep(0.3)  # one task per worker: every initializer has finished
    return os.getpid()


def _extract(index: int) -> bool:
    import trafilatura

    html, url = _WORK[index]
    return trafilatura.bare_extraction(html, url=url, with_metadata=True) is not None


def trafilatura_rate(directory: Path, urls: list[str], processes: int) -> tuple[float, int]:
    """bare_extraction over every served URL in ``processes`` spawned workers: (pages/s of
    the wall clock of the whole map, pages with a result)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, _load_in_worker, (str(directory), urls)) as pool:
        pool.map(_ready, range(processes), chunksize=1)
        started = time.perf_counter()
        results = pool.map(_extract, range(len(urls)), chunksize=1)
        wall = time.perf_counter() - started
    return len(urls) / wall, sum(results)


def parse_cpu(pages: list[SavedPage], url_of: dict[str, str]) -> tuple[float, float, int]:
    """CPU seconds (``time.process_time``) of ``parse_article`` and of ``fingerprint_of``
    over each distinct page once, in this process: (parse, fingerprint, articles)."""
    from crawler.extract.parser import parse_article
    from crawler.fingerprint import fingerprint_of

    for page in pages[:3]:  # warm: imports, caches, MinHash permutations
        warm = parse_article(page.body, url_of[page.name])
        if warm is not None:
            fingerprint_of(warm)
    parse_s = finger_s = 0.0
    articles = 0
    for page in pages:
        started = time.process_time()
        article = parse_article(page.body, url_of[page.name])
        parse_s += time.process_time() - started
        if article is not None:
            started = time.process_time()
            fingerprint_of(article)
            finger_s += time.process_time() - started
            articles += 1
    return parse_s, finger_s, articles


# -- the bench ------------------------------------------------------------------------------


def bench_pages(
    directory: Path, repeat: int, concurrency: int, workdir: Path, script: Path
) -> None:
    """``bench/pipeline.py --pages DIR``: the cold crawl of saved pages and what it is
    measured against; see pipeline.py's docstring."""
    from harness import fmt_int, machine, run_child, write_settings

    from crawler.crawl.processes import cpu_count

    pages = load_pages(directory)
    size = sum(len(p.body) for p in pages)
    site = SavedPagesSite(pages, repeat)
    try:
        urls = [url for url, _ in site.served]
        total = len(urls)
        print(
            f"saved pages: {len(pages)} distinct ({size / len(pages) / 1024:.0f} KiB mean), "
            f"each served {repeat}x on {HOSTS} hosts = {total} article URLs, one RSS feed a "
            f"host; concurrent_requests_per_host = {concurrency}; {machine()}",
            flush=True,
        )
        crawl: dict[str, object] = {
            "concurrent_requests_per_host": concurrency,
            "revisit_window": "1s",
            "max_articles_per_run": max(500, site.max_per_feed),
        }
        feeds = site.feeds_toml()

        def settings(name: str) -> Path:
            return write_settings(workdir / f"{name}.toml", workdir / f"{name}.db", feeds, **crawl)

        def checked(result: dict[str, Any]) -> dict[str, Any]:
            if result["errors"] or result["outcomes"] != ["ok"]:
                raise RuntimeError(f"crawl did not go cleanly: {result}")
            return result

        site.reset_counters()
        args = ["crawl", "--settings", str(settings("fetch-only")), "--pipeline", "fetch-only"]
        fetched = checked(run_child(script, args))
        fetch_pages = site.article_requests()
        fetch_rate = fetch_pages / fetched["wall"]
        # trafilatura alone runs just before and just after the crawl, and the crawl is
        # measured against the mean: on a shared machine the speed of the CPU drifts within
        # a minute (the same crawl took 12.9 s of CPU in one run and 17.9 s in the next).
        processes = cpu_count()
        before, extracted = trafilatura_rate(directory, urls, processes)
        site.reset_counters()
        args = ["crawl", "--settings", str(settings("cold")), "--pipeline", "product"]
        cold, peak, peak_pss = run_child_peak_rss(script, args)
        cold = checked(cold)
        cold_pages = site.article_requests()
        stored = cold["stored"]
        cold_rate = stored / cold["wall"]
        after, _ = trafilatura_rate(directory, urls, processes)
        trafilatura_per_s = (before + after) / 2
        url_of = {page.name: url for url, page in site.served}
        parse_s, finger_s, articles = parse_cpu(pages, url_of)
    finally:
        site.close()

    print(
        f"cold crawl: {fmt_int(stored)} articles stored in {cold['wall']:.1f}s = "
        f"{cold_rate:.1f} articles/s ({fmt_int(cold_pages)} article pages fetched; duplicates "
        f"recognised {cold['duplicates']}; CPU {cold['cpu']:.1f}s of the process tree)"
    )
    print(
        f"  peak memory of the crawl's process tree, sampled every 0.1 s (PSS every "
        f"{PSS_EVERY / 10:.1f} s): RSS summed {peak:.0f} MiB, PSS summed {peak_pss:.0f} MiB "
        "(shared pages counted once)"
    )
    print(
        f"trafilatura.bare_extraction(with_metadata=True), {processes} processes: "
        f"{trafilatura_per_s:.1f} pages/s ({before:.1f} before the crawl, {after:.1f} after; "
        f"{extracted}/{total} with a result)"
    )
    print(
        f"fetch-only baseline: {fmt_int(fetch_pages)} article pages in {fetched['wall']:.1f}s "
        f"= {fetch_rate:.1f} pages/s (CPU {fetched['cpu']:.1f}s)"
    )
    print(
        f"ratio stored/s ÷ trafilatura/s: {cold_rate / trafilatura_per_s:.3f}; "
        f"stored/s ÷ fetch-only/s: {cold_rate / fetch_rate:.3f}"
    )
    if not stored:
        return
    # Per stored article. parse and fingerprint: each distinct page re-run once here, scaled
    # to the pages the crawl parsed; write: the writer process's CPU; fetch: the rest.
    scale = cold_pages / len(pages)
    parse_ms = parse_s * scale / stored * 1000
    finger_ms = finger_s * scale / stored * 1000
    write_ms = cold["writer_cpu"] / stored * 1000
    fetch_ms = cold["cpu"] / stored * 1000 - parse_ms - finger_ms - write_ms
    print(f"CPU ms per stored article ({articles}/{len(pages)} distinct pages parse to one):")
    print(f"  parse {parse_ms:.1f}  (measured: parse_article re-run here, process_time)")
    print(f"  fingerprint {finger_ms:.1f}  (measured: fingerprint_of re-run here)")
    print(
        f"  write {write_ms:.1f}  (measured in the crawl: the writer process's CPU; saves before "
        "it started ran in the crawl process and count under fetch)"
    )
    print(
        f"  fetch {fetch_ms:.1f}  (derived: process-tree CPU {cold['cpu']:.1f}s minus the "
        "above — Scrapy, spiders, pipeline, IPC, pool start-up, the first pages parsed in "
        "threads)"
    )
    print(
        f"  for comparison, the parse workers' own CPU in the crawl: "
        f"{cold['workers_cpu'] / stored * 1000:.1f} ms per article (parse + fingerprint + "
        "unpickling, measured)"
    )
