"""Article URLs being downloaded right now, shared by every crawl of the runner.

Two feeds that list the same new article at the same moment would each download it; the
first to claim its URL downloads it, the other waits until it is stored and links it to
itself (see FeedRunner: the waits are settled before the run is recorded). When the
download failed, the waiting feed records the same problem as the one that downloaded it,
as if it had fetched the page itself: each feed's run says what became of its articles.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from crawler.crawl.feedrun import FeedRun
from crawler.store.store import utcnow

log = logging.getLogger("crawler.feed")


# What became of a download that was not stored: the problem to report (None: nothing to
# report, such as a page that is no article) and whether a retry may fix it.
Ending = tuple[str | None, bool]
STORED: Ending = (None, False)
NOT_ARTICLE = "not an article"


class InFlight:
    def __init__(self) -> None:
        self._owners: dict[str, tuple[object, asyncio.Future[Ending]]] = {}

    def claim(self, key: str, owner: object) -> asyncio.Future[Ending] | None:
        """None: ``owner`` now downloads ``key``; else the future of the crawl that does."""
        held = self._owners.get(key)
        if held is not None and held[0] is not owner and not held[1].done():
            return held[1]
        if held is None or held[1].done():
            self._owners[key] = (owner, asyncio.get_running_loop().create_future())
        return None

    def release(self, key: str, owner: object, ending: Ending = STORED) -> None:
        """The download of ``key`` is over, stored or not: whoever waits may look."""
        held = self._owners.get(key)
        if held is None or held[0] is not owner:
            return
        del self._owners[key]
        if not held[1].done():
            held[1].set_result(ending)

    def release_all(self, owner: object) -> None:
        """The owner's run is over: what it did not finish is fetched again next time."""
        for key in [k for k, (o, _) in self._owners.items() if o is owner]:
            self.release(key, owner, (None, True))


async def settle_waits(run: FeedRun, patience: float) -> None:
    """Link to ``run``'s feed the articles another crawl was downloading for it, once that
    crawl has stored them (waiting at most ``patience`` seconds); any it did not store is
    fetched by this feed's next run (the feed's validators are not saved)."""
    if not run.waits:
        return
    futures = {future for _, future, _ in run.waits}
    await asyncio.wait(futures, timeout=max(patience, 0.1))
    store = run.store
    known = await asyncio.to_thread(store.known_urls, [key for key, _, _ in run.waits])
    links: list[tuple[int, str]] = []
    for key, future, url in run.waits:
        if key in known:
            links.append((known[key].article_id, url))
            continue
        problem, transient = future.result() if future.done() else (None, True)
        if problem == NOT_ARTICLE:
            run.not_articles += 1
            log.info("feed %s: %s: not an article, skipped", run.feed.name, url)
        elif problem is not None:
            run.problem(url, problem)
        if transient:
            run.transient_failures += 1  # the feed's validators are not saved: fetched again
    if links:
        await asyncio.to_thread(
            partial(store.link_known, feed=run.feed.name, tags=run.feed.tags, seen_at=utcnow()),
            links,
        )
    run.waits.clear()
