"""Parsed articles for the tests, built one way: a test names what it is about."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from crawler.article import Article


def make_article(url: str, *, title: str, body: str, **fields: Any) -> Article:
    """An article as the parser returns it. What ``fields`` do not name is empty (no
    canonical URL, authors, dates, tags, summary or lead image) and the language is English."""
    empty = Article(
        url=url,
        canonical_url=None,
        title=title,
        authors=(),
        published_at=None,
        modified_at=None,
        tags=(),
        body=body,
        summary=None,
        lead_image_url=None,
        language="en",
    )
    return replace(empty, **fields)
