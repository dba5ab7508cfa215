"""What went wrong with a request or a response, in one line a person can act on, and
whether it is worth another try next run."""

from __future__ import annotations

import logging
import re

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

ROBOTS_REASON = "forbidden by robots.txt"


def is_transient(failure: Failure) -> bool:
    """Server errors and network trouble may pass; client errors (4xx) will not."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return int(exc.response.status) >= 500 or int(exc.response.status) == 429
    # Too large, a redirect loop, a decompression bomb: the same again next run.
    return not isinstance(exc, (IgnoreRequest, DownloadCancelledError))


# Scrapy's messages for DOWNLOAD_MAXSIZE: while downloading, and while decompressing.
_MAXSIZE = re.compile(r"(?:Expected to receive|Received) (\d+) bytes .*max size \((\d+)\)")
_MAXSIZE_DECOMPRESSED = re.compile(r"DOWNLOAD_MAXSIZE \((\d+) B\) during decompression")


class _ReportedBySpider(logging.Filter):
    """Drops Scrapy's own warnings about DOWNLOAD_MAXSIZE: the spider logs each of those
    failures itself, in one line that also names the feed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (_MAXSIZE.search(message) or _MAXSIZE_DECOMPRESSED.search(message))


_REPORTED_BY_SPIDER = _ReportedBySpider()
# (A logger's filters see only its own records, not those of its children.)
for _logger in (
    "scrapy.core.downloader.handlers.http11",
    "scrapy.downloadermiddlewares.httpcompression",
):
    logging.getLogger(_logger).addFilter(_REPORTED_BY_SPIDER)


def describe_failure(failure: Failure, max_page_bytes: int | None = None) -> str:
    """One line a person can act on, for a failed request."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    if isinstance(exc, (TimeoutError, TCPTimedOutError, DownloadTimeoutError)):
        return "timed out"
    if isinstance(exc, (DNSLookupError, CannotResolveHostError)):
        return "host name not found"
    if isinstance(exc, DownloadConnectionRefusedError):
        return "connection refused"
    message = str(exc)
    if match := _MAXSIZE.search(message):
        size, limit = match.groups()
        announced = message.startswith("Expected")
        more = f": the server announced {size} bytes" if announced else ""
        return f"larger than max_page_bytes ({limit} bytes){more}"
    if match := _MAXSIZE_DECOMPRESSED.search(message):
        return f"larger than max_page_bytes ({match.group(1)} bytes) once decompressed"
    if isinstance(exc, DownloadCancelledError) and not message:
        # Scrapy cancels a download without a message when the body outgrows
        # DOWNLOAD_MAXSIZE and the server announced no Content-Length.
        limit = f" ({max_page_bytes} bytes)" if max_page_bytes else ""
        return f"larger than max_page_bytes{limit}"
    if isinstance(exc, IgnoreRequest) and "max redirections" in message:
        return "too many redirects (a redirect loop?)"
    name = type(exc).__name__
    if name == "IgnoreRequest" and "robots" in str(exc).lower():
        return ROBOTS_REASON
    text = str(exc).strip().splitlines()
    return f"{name}: {text[0]}" if text else name


# Bytes that do not occur in text, HTML or not (tab, line feed, form feed, carriage
# return and escape do).
_CONTROL_BYTES = bytes([*range(0, 9), 11, *range(14, 27), *range(28, 32)])
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


def looks_binary(body: bytes) -> bool:
    """Images, archives, random bytes: more than 3% control bytes in the first 8 KB.
    A page with a few stray NULs is still text; UTF-16 (with its BOM) is text too."""
    sample = body[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    return len(sample.translate(None, _NOT_CONTROL)) > len(sample) * 0.03


def not_html_reason(body: bytes, content_type: str) -> str | None:
    """Why an article response is no HTML page, from its (lowercased) Content-Type and its
    bytes; None when it may be one."""
    if content_type and not any(t in content_type for t in ("html", "xml", "text/plain")):
        return f"not an HTML page (Content-Type {content_type})"
    if looks_binary(body):
        served = f"served as {content_type.split(';')[0]}" if content_type else "no Content-Type"
        return f"not an HTML page (binary content, {served})"
    return None
