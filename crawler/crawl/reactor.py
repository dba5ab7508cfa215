"""The one Twisted reactor of the process: the asyncio one, installed before anything
imports ``twisted.internet.reactor`` and started once (it cannot be restarted)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def install_asyncio_reactor() -> asyncio.AbstractEventLoop:
    """Install the asyncio reactor (once) and return its event loop."""
    from scrapy.utils.reactor import (
        install_reactor,
        is_asyncio_reactor_installed,
        is_reactor_installed,
    )

    if is_reactor_installed():
        if not is_asyncio_reactor_installed():
            raise RuntimeError("a Twisted reactor other than the asyncio one is already installed")
        return get_reactor()._asyncioEventloop  # type: ignore[no-any-return]
    install_reactor(ASYNCIO_REACTOR)
    reactor = get_reactor()
    loop: asyncio.AbstractEventLoop = reactor._asyncioEventloop
    # AsyncCrawlerRunner neither sizes the reactor thread pool nor installs Scrapy's
    # caching resolver (the CrawlerProcess does both): do it here, once.
    reactor.suggestThreadPoolSize(10)
    from scrapy.resolver import CachingThreadedResolver

    CachingThreadedResolver(reactor, cache_size=10_000, timeout=60.0).install_on_reactor()
    return loop


def get_reactor() -> Any:
    """The installed Twisted reactor (typed loosely: its interfaces are split over many
    zope interfaces that mypy cannot combine)."""
    from twisted.internet import reactor

    return reactor


def run_in_reactor(main: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``main()`` on the asyncio reactor and return its result (once per process)."""
    loop = install_asyncio_reactor()
    reactor = get_reactor()
    outcome: dict[str, Any] = {}

    async def wrapper() -> None:
        try:
            outcome["value"] = await main()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            reactor.stop()

    reactor.callWhenRunning(lambda: loop.create_task(wrapper()))
    start_reactor(reactor)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def start_reactor(reactor: Any) -> None:
    """Run the reactor until it is stopped, start-up's objects left out of the cycle
    collector's walks (see crawler.crawl.processes.freeze_startup_heap)."""
    from crawler.crawl.processes import freeze_startup_heap

    freeze_startup_heap()
    reactor.run(installSignalHandlers=False)
