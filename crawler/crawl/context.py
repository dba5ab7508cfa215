"""How a feed crawl's Scrapy components get what they share with the runner.

The spider, the item pipeline and the downloader middlewares of one feed run need the
run's :class:`~crawler.crawl.feedrun.FeedRun` and the runner's long-lived objects (parser
and writer workers, the per-host budget, the robots.txt cache). Scrapy hands every
component the ``Crawler`` in ``from_crawler``, so the crawl is started with a
:class:`FeedCrawler` that carries them in one typed :class:`CrawlContext`, and each
component takes its share there when it is built.

Not through Scrapy's settings: ``Crawler.__init__`` deep-copies them (``Settings.copy()``
is ``copy.deepcopy``), and the point of the host guard, the robots.txt cache and the
workers is to be the same objects for every crawl of the runner. Not through spider
attributes either: a component would depend on how some spider happens to be written. Nor
through a process-wide registry: two runners in one process would share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings

from crawler.crawl.budget import ResponseBudget
from crawler.crawl.feedrun import FeedRun
from crawler.crawl.in_flight import InFlight
from crawler.crawl.pauses import HostPauses
from crawler.crawl.politeness import HostGuard
from crawler.crawl.robots import RobotsCache
from crawler.crawl.stopping import RunStop
from crawler.crawl.workers import ArticleWorkers


@dataclass(frozen=True)
class CrawlContext:
    """What one feed crawl shares with the runner that started it."""

    run: FeedRun  # this crawl's own
    workers: ArticleWorkers  # the runner's, for every crawl
    host_guard: HostGuard  # the runner's, for every crawl
    robots: RobotsCache | None = None  # the runner's; None: Scrapy's per-crawl robots.txt
    budget: ResponseBudget | None = None  # the runner's; None: response memory not capped
    stop: RunStop = field(default_factory=RunStop)  # this crawl's own
    pauses: HostPauses | None = None  # the runner's: hosts that sent Retry-After
    in_flight: InFlight = field(default_factory=InFlight)  # the runner's, for every crawl


class FeedCrawler(Crawler):
    """A Scrapy ``Crawler`` for one feed run, carrying its :class:`CrawlContext`."""

    def __init__(
        self, spidercls: type[Spider], settings: Settings | dict[str, Any], context: CrawlContext
    ) -> None:
        super().__init__(spidercls, settings)
        self.context = context


def context_of(crawler: Crawler) -> CrawlContext:
    """The crawl's context, for a component's ``from_crawler``; NotConfigured (the
    component stays out) for a crawl that a FeedRunner did not start."""
    if isinstance(crawler, FeedCrawler):
        return crawler.context
    raise NotConfigured("not a newsmon feed crawl: no CrawlContext to take")
