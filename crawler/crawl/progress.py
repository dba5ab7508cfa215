"""Progress inside a feed run: a line now and then in the log, a live line on a terminal.

A first sitemap run or a 400-article listing takes minutes; without this nothing shows
between its start and its result line. Done counts every article page that finished —
stored, unchanged, not an article, refused or failed — against the article pages the run
has decided to fetch so far (``found``, which grows while feed pages are still read).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from crawler.crawl.feedrun import FeedRun

log = logging.getLogger("crawler.crawl.progress")

LIVE_EVERY = 1.0  # seconds between updates of a terminal's live line


@dataclass(frozen=True)
class Progress:
    feed: str
    done: int
    found: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        if self.found == 0:
            return f"{self.feed}: reading its feed pages ({_short_duration(self.seconds)})"
        text = f"{self.feed}: {self.done}/{self.found} articles, {self.rate:.1f}/s"
        left = self.found - self.done
        if left > 0 and self.rate > 0:
            text += f", about {_short_duration(left / self.rate)} left"
        return text


def progress_of(run: FeedRun, started: float) -> Progress:
    return Progress(
        run.feed.name, run.articles_done, run.articles_considered, time.monotonic() - started
    )


async def report_progress(
    run: FeedRun, started: float, every: float, show: Callable[[Progress], None] | None
) -> None:
    """Until cancelled: with ``show`` (a terminal), hand it the run's progress every second;
    otherwise log a progress line every ``every`` seconds — so a short run logs none."""
    while True:
        await asyncio.sleep(LIVE_EVERY if show is not None else every)
        progress = progress_of(run, started)
        if show is not None:
            show(progress)
        else:
            log.info("feed %s (running for %s)", progress.line(), _short_duration(progress.seconds))


def _short_duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
