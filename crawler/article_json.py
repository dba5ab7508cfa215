"""ParseHints and Article as JSON, the way the golden pages spell them (tests/pages/NAME.json).

Lists are arrays, timestamps ISO 8601 in UTC (``Z``). It lives in the package because the
scripts that read or write golden pages (bench/parse.py, bench/accuracy.py,
scripts/regen_golden.py) can import only what is installed.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from crawler.article import Article, ParseHints, SiteRules


def hints_from_json(raw: dict[str, Any] | None) -> ParseHints | None:
    """The hints of a golden page: lists → tuples, ISO 8601 → datetime."""
    if raw is None:
        return None
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("published_at", "fetched_at") and value is not None:
            values[key] = datetime.fromisoformat(value)
        elif key == "site_rules" and value is not None:
            rules: dict[str, Any] = {k: tuple(v) if k == "remove" else v for k, v in value.items()}
            values[key] = SiteRules(**rules)
        elif key == "boilerplate":
            values[key] = frozenset(value)
        elif isinstance(value, list):
            values[key] = tuple(value)
        else:
            values[key] = value
    return ParseHints(**values)


def article_to_json(article: Article | None) -> dict[str, Any] | None:
    """The ``article`` of a golden page; ``paragraph_keys`` (hashes) are left out."""
    if article is None:
        return None
    out: dict[str, Any] = {}
    for field in dataclasses.fields(article):
        if field.name == "paragraph_keys":
            continue  # hashes of the body's paragraphs: tests/test_parser.py checks them
        value = getattr(article, field.name)
        if isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        elif isinstance(value, tuple):
            value = list(value)
        out[field.name] = value
    return out
