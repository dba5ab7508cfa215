"""How Scrapy's own log lines name items and requests in a newsmon crawl: by URL only.

Scrapy's ``LogFormatter`` puts an item's repr in the line it logs for a dropped item and
for an item that raised; an article item holds a whole page. The item pipeline logs every
article it could not store itself (once per reason, with the feed's name), so a dropped
item is a debug line here, and an item that raised is named by its URL and the first line
of its error. Set as Scrapy's ``LOG_FORMATTER`` by the runner.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure

from crawler.errors import first_line


def item_name(item: Any) -> str:
    """An item's URL when it has one, else its type: never its fields."""
    url = getattr(item, "url", None)
    return str(url) if isinstance(url, str) else type(item).__name__


def _item_line(level: int, what: str, item: Any, exception: BaseException) -> LogFormatterResult:
    return {
        "level": level,
        "msg": what + " %(item)s: %(exception)s",
        "args": {"item": item_name(item), "exception": first_line(exception)},
    }


class UrlOnlyLogFormatter(LogFormatter):
    """Scrapy's log lines with items named by URL and errors in one line."""

    # Scrapy passes (item, exception, response, spider); the last two say nothing here.
    def dropped(
        self, item: Any, exception: BaseException, *_: Any, **__: Any
    ) -> LogFormatterResult:
        # DEBUG: the pipeline has said why, once per reason.
        return _item_line(logging.DEBUG, "Dropped", item, exception)

    def item_error(
        self, item: Any, exception: BaseException, *_: Any, **__: Any
    ) -> LogFormatterResult:
        return _item_line(logging.ERROR, "Error processing", item, exception)

    def scraped(
        self, item: Any, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        return {
            "level": logging.DEBUG,
            "msg": "Scraped %(item)s",
            "args": {"item": item_name(item)},
        }
