"""The crawl's Scrapy components take what they share with the runner from the crawler.

Scrapy's own managers assemble the item pipeline and the downloader middlewares from the
crawl settings, exactly as for a real crawl. In a feed crawl every newsmon component must
hold the runner's very objects (its workers, host guard and robots.txt cache) and the run's
own FeedRun; in any other crawl, or when switched off, it stays out at build time
(NotConfigured), never failing later on a request.

A Twisted reactor is needed to build a crawler and installs once per process: the checks
run in a subprocess (``python -m tests.test_crawl_wiring``) and report what they found.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.test_end_to_end import write_settings


def test_components_hold_the_runners_objects_and_stay_out_of_other_crawls(
    tmp_path: Path, news_network: Any
) -> None:
    (tmp_path / "robots-off").mkdir()
    settings = write_settings(tmp_path, news_network)
    robots_off = write_settings(tmp_path / "robots-off", news_network, obey_robots_txt=False)
    result = subprocess.run(
        [sys.executable, "-m", "tests.test_crawl_wiring", str(settings), str(robots_off)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout)
    assert found["feed_crawl"] == {
        "StorePipeline": {"run": True, "workers": True},
        "DestinationPolicyMiddleware": {"run": True},
        "HostGuardMiddleware": {"guard": True},
        "SharedRobotsTxtMiddleware": {"cache": True},
        "FeedSpider": {"run": True},
    }
    # A crawl no FeedRunner started: robots.txt fetched as Scrapy does, and the strict
    # destination policy (it is never off), which records refusals in no run.
    assert found["other_crawl"] == {
        "DestinationPolicyMiddleware": {"run": False},
        "SharedRobotsTxtMiddleware": {"cache": False},
    }
    # robots.txt switched off in settings.toml: Scrapy's part says so at build time.
    assert found["robots_off"] == [
        "DestinationPolicyMiddleware",
        "HeadOnlyMetaRefreshMiddleware",  # in place of Scrapy's, in every crawl
        "HostGuardMiddleware",
        "StorePipeline",
    ]
    # Why the objects cannot travel in Scrapy's settings: each crawler deep-copies them.
    assert found["settings_keep_identity"] is False


# -- in the subprocess --------------------------------------------------------------------------


def newsmon_components(crawler: Any) -> list[Any]:
    """The item pipelines and downloader middlewares Scrapy builds for ``crawler`` that are
    newsmon's."""
    from scrapy.core.downloader.middleware import DownloaderMiddlewareManager
    from scrapy.pipelines import ItemPipelineManager

    crawler._apply_settings()  # what Crawler.crawl() does first (and scrapy.utils.test too)
    built = [
        *ItemPipelineManager.from_crawler(crawler).middlewares,
        *DownloaderMiddlewareManager.from_crawler(crawler).middlewares,
    ]
    return [c for c in built if type(c).__module__.startswith("crawler.")]


def inspect_wiring(settings_path: str, robots_off_path: str) -> dict[str, Any]:
    from scrapy import Spider
    from scrapy.crawler import Crawler

    from crawler.config import load_settings
    from crawler.crawl.context import CrawlContext, FeedCrawler
    from crawler.crawl.feedrun import FeedRun
    from crawler.crawl.runner import FeedRunner, install_asyncio_reactor, scrapy_settings
    from crawler.crawl.spider import FeedSpider
    from crawler.store.store import Store

    install_asyncio_reactor()
    settings = load_settings(Path(settings_path))
    store = Store.open(settings.database.url)
    runner = FeedRunner(settings, store)
    run = FeedRun(feed=settings.feeds[0], settings=settings, store=store)
    context = CrawlContext(run, runner.article_workers, runner.host_guard, runner.robots)

    def what_they_hold(crawler: Crawler) -> dict[str, dict[str, bool]]:
        holds: dict[str, dict[str, bool]] = {}
        for component in newsmon_components(crawler):
            name = type(component).__name__
            if name == "StorePipeline":
                holds[name] = {
                    "run": component.run is run,
                    "workers": component.workers is runner.article_workers,
                }
            elif name == "DestinationPolicyMiddleware":
                holds[name] = {"run": component.run is run}
            elif name == "HostGuardMiddleware":
                holds[name] = {"guard": component.guard is runner.host_guard}
            elif name == "SharedRobotsTxtMiddleware":
                holds[name] = {"cache": component.cache is runner.robots}
        return holds

    crawler = FeedCrawler(FeedSpider, scrapy_settings(settings), context)
    feed_crawl = what_they_hold(crawler)
    feed_crawl["FeedSpider"] = {"run": FeedSpider.from_crawler(crawler).run is run}

    other = Crawler(Spider, scrapy_settings(settings))
    no_robots = load_settings(Path(robots_off_path))
    robots_off = FeedCrawler(FeedSpider, scrapy_settings(no_robots), context)
    copied = Crawler(Spider, {"NEWSMON_GUARD": runner.host_guard})
    report = {
        "feed_crawl": feed_crawl,
        "other_crawl": what_they_hold(other),
        "robots_off": sorted(type(c).__name__ for c in newsmon_components(robots_off)),
        "settings_keep_identity": copied.settings["NEWSMON_GUARD"] is runner.host_guard,
    }
    runner.article_workers.close()
    store.close()
    return report


if __name__ == "__main__":
    print(json.dumps(inspect_wiring(sys.argv[1], sys.argv[2])))
