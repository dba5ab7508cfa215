"""Any article search as an Atom feed, so a feed reader can follow a topic across every
monitored site. Written by feedgen; the entries are the listing ``/articles`` shows for the
same parameters (newest first, or most relevant first with ``q``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feedgen.feed import FeedGenerator

ATOM_ENTRIES = 50


def atom_feed(
    records: list[dict[str, Any]], self_url: str, page_url: str, title: str, now: datetime
) -> bytes:
    """The Atom document of ``records`` (export records, newest or best first)."""
    feed = FeedGenerator()
    feed.id(self_url)
    feed.title(title)
    feed.author({"name": "newsmon"})
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    feed.link(href=page_url, rel="alternate", type="text/html")
    feed.generator("newsmon")
    times = [_updated(r) for r in records]
    feed.updated(max(times, default=now))
    for record, updated in zip(records, times, strict=True):
        entry = feed.add_entry(order="append")
        entry.id(record["url"])
        entry.title(record["title"] or record["url"])
        entry.link(href=record["url"], rel="alternate")
        entry.updated(updated)
        if record["published_at"]:
            entry.published(_parse(record["published_at"]))
        for name in record["authors"]:
            entry.author({"name": name})
        if record["summary"]:
            entry.summary(record["summary"])
        for tag in record["tags"]:
            entry.category(term=tag)
    result: bytes = feed.atom_str(pretty=True)
    return result


def _updated(record: dict[str, Any]) -> datetime:
    """An entry's last change: modified, else published, else first seen."""
    value = record["modified_at"] or record["published_at"] or record["first_seen_at"]
    return _parse(value)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
