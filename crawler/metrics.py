"""``/metrics`` in Prometheus' text format, served by the service when ``[service] metrics``
names an address (prometheus_client's own HTTP server, in a thread of its own).

The figures are the ones each feed run already records in ``crawl_runs`` (outcome, pages
fetched, 304s, articles found and new, versions, duplicates, errors), counted as the runs
end, plus the time each article page waited, parsed and took to store (measured by the
item pipeline, :mod:`crawler.crawl.pipeline`). Counters count what this service process
did since it started, as Prometheus expects (a restart resets them; ``rate()`` copes).
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

from crawler.config_alerts import listen_address
from crawler.crawl.runner import FeedOutcome
from crawler.errors import ServiceError

# Article pages take milliseconds to seconds; a whole run seconds to its max_run_time.
_PAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_RUN_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# (metric name, what a run's counts call it, help)
_RUN_COUNTS = (
    ("newsmon_feed_requests", "pages_fetched", "Pages fetched (feed and article pages)"),
    ("newsmon_feed_not_modified", "not_modified", "Feed pages answered 304 or unchanged"),
    ("newsmon_feed_articles_found", "articles_found", "Article pages feed runs decided to fetch"),
    ("newsmon_feed_articles_new", "articles_new", "New articles stored"),
    ("newsmon_feed_versions_new", "versions_new", "New versions (edits) of stored articles"),
    ("newsmon_feed_duplicates", "duplicates", "Articles already stored under another URL"),
    ("newsmon_feed_errors", "errors", "Failed requests and pages of feed runs"),
)  # fmt: skip


class ServiceMetrics:
    """The service's metrics, on a registry of their own (with the process's CPU, memory
    and garbage collector, as prometheus_client reports them)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        r = self.registry
        self.runs = Counter(
            "newsmon_feed_runs", "Feed runs by outcome", ["feed", "outcome"], registry=r
        )
        self.failures = Counter(
            "newsmon_feed_failures", "Feed runs that failed outright", ["feed"], registry=r
        )
        self.counts = {
            field: Counter(name, text, ["feed"], registry=r) for name, field, text in _RUN_COUNTS
        }
        self.run_seconds = Histogram(
            "newsmon_feed_run_seconds", "Duration of feed runs", ["feed"],
            buckets=_RUN_BUCKETS, registry=r,
        )  # fmt: skip
        self.last_run = Gauge(
            "newsmon_feed_last_run_end_timestamp_seconds", "When the feed's last run ended",
            ["feed"], registry=r,
        )  # fmt: skip
        self.pages = {
            kind: Histogram(
                f"newsmon_article_{kind}_seconds", text, ["feed"], buckets=_PAGE_BUCKETS,
                registry=r,
            )
            for kind, text in (
                ("queue", "Time an article page waited between download and the pipeline"),
                ("parse", "Time to parse an article page, waiting for a parser included"),
                ("save", "Time to store a parsed article, the writer's queue included"),
            )
        }  # fmt: skip
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def record_run(self, outcome: FeedOutcome) -> None:
        feed = outcome.feed
        self.runs.labels(feed, outcome.outcome).inc()
        if outcome.outcome == "failed":
            self.failures.labels(feed).inc()
        for field, counter in self.counts.items():
            counter.labels(feed).inc(getattr(outcome.counts, field))
        self.run_seconds.labels(feed).observe(outcome.seconds)
        self.last_run.labels(feed).set_to_current_time()

    def page_timing(self, feed: str, kind: str, seconds: float) -> None:
        """The pipeline's timings (``queue``, ``parse``, ``save``) of one article page."""
        histogram = self.pages.get(kind)
        if histogram is not None:
            histogram.labels(feed).observe(max(seconds, 0.0))

    def serve(self, address: str) -> None:
        """Serve ``/metrics`` at ``host:port``; ServiceError when that cannot be done."""
        host, port = listen_address(address)
        try:
            self._server, self._thread = start_http_server(port, host, registry=self.registry)
        except OSError as exc:
            raise ServiceError(
                f"cannot serve metrics on {address} ([service] metrics): {exc.strerror or exc}"
            ) from None

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
