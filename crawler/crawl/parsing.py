"""What a parser worker process runs: the parse, and what derives from the article alone.

The parser is pure and its inputs and result pickle, so a worker needs nothing else. This
module's whole import closure (the parser, the article values, the fingerprint) stays free
of SQLAlchemy, Scrapy and Twisted: each worker process imports it, and every module it
pulls in costs each worker memory and start-up time (tests/test_workers.py checks on a real
worker).
"""

from __future__ import annotations

import os

from crawler.article import Article, ParseHints
from crawler.extract.parser import parse_article
from crawler.fingerprint import Fingerprint, fingerprint_of

Parsed = tuple[Article, Fingerprint]


def parse(body: bytes, url: str, hints: ParseHints) -> Parsed | None:
    """The parse and the article's fingerprint (content hash, MinHash signature)."""
    article = parse_article(body, url, hints)
    return None if article is None else (article, fingerprint_of(article))


def warm_worker() -> int:
    """First task of each worker: the modules are imported already (the fork server preloads
    them), so this only makes the pool start its processes."""
    return os.getpid()
