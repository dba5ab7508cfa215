"""Scrapy's ``<meta http-equiv="refresh">`` redirects, without decoding every page for them.

Scrapy's ``MetaRefreshMiddleware`` looks for the tag in ``response.text[0:4096]``, and
``response.text`` decodes the whole body and keeps the text on the response for as long as
the response lives. An article response lives until its page is parsed and stored, so on a
cold crawl of real pages (300 KB each, mostly non-ASCII text and inline script) every page
waiting for a parser process held its text next to its bytes: some 600 KB more per page,
60 MB of the crawl process's memory at a hundred pages in the pipeline, and the CPU of a
decode nobody used (the parser decodes the bytes itself, see crawler.extract.decoding).

The tag's name and the ``http-equiv`` value are ASCII, so the raw bytes of the page's head
say whether a refresh can be there: only a page whose first bytes name one (or whose
encoding is not ASCII-compatible) goes to Scrapy's middleware, which then decides exactly
as before.
"""

from __future__ import annotations

import re

from scrapy import Spider
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Request, Response

__all__ = ["HeadOnlyMetaRefreshMiddleware", "may_refresh"]

# Scrapy reads the first 4,096 characters; a character is at most 4 bytes in UTF-8.
_SCAN_BYTES = 4 * 4096
_REFRESH_PRAGMA = re.compile(rb"http-equiv\s*=\s*[\"']?[^\"'>]*refresh", re.IGNORECASE)


def may_refresh(body: bytes) -> bool:
    """Whether the first bytes of ``body`` can hold a ``<meta http-equiv="refresh">``: they
    name one, or they are in an encoding whose ASCII characters are not single bytes
    (UTF-16 and UTF-32 put NUL bytes beside them), which only a decode can tell."""
    head = body[:_SCAN_BYTES]
    return b"\x00" in head or _REFRESH_PRAGMA.search(head) is not None


class HeadOnlyMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's meta-refresh redirects, for the pages whose bytes can hold one."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        # ``spider`` only for the signature: Scrapy passes it to no middleware that does
        # not require it, and requiring it is deprecated.
        if isinstance(response, HtmlResponse) and not may_refresh(response.body):
            return response
        return super().process_response(request, response)
