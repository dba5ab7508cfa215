"""Found sources as ``[[feeds]]`` entries: unique names, tags, TOML text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from crawler.crawl.finder import Source
from crawler.settings_file import render_feeds

_NAME_SEGMENTS = re.compile(r"[a-z0-9]+")
# Path words that say nothing about a feed: /feeds/rss/index.xml is "the site's feed".
_NOISE = frozenset(
    {"feed", "feeds", "rss", "atom", "xml", "index", "tag", "tags", "topic", "topics",
     "section", "sections", "category", "categories", "www", "html", "php"}
)  # fmt: skip
_TLDS = frozenset({"com", "org", "net", "co", "uk", "de", "fr", "io", "info", "news", "example"})


def site_slug(url: str) -> str:
    """``herald`` for https://www.herald.example, ``127-0-0-1-8080`` for an address."""
    parts = urlsplit(url)
    host = (parts.hostname or "site").lower().removeprefix("www.")
    labels = host.split(".")
    if not host.replace(".", "").isdigit():
        while len(labels) > 1 and labels[-1] in _TLDS:
            labels.pop()
    elif parts.port:
        labels.append(str(parts.port))
    return "-".join("-".join(_NAME_SEGMENTS.findall(label)) for label in labels) or "site"


def feed_name(source: Source, taken: set[str]) -> str:
    """A name no other feed has: site, then what the path says (``herald-ukraine``)."""
    words = [
        w
        for segment in urlsplit(source.url).path.lower().split("/")
        for w in _NAME_SEGMENTS.findall(segment)
        if w not in _NOISE
    ]
    tail = "-".join(words[-2:]) if words else source.kind
    base = f"{site_slug(source.url)}-{tail}"[:60].strip("-")
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    taken.add(name)
    return name


def feed_entry(
    source: Source, name: str, tags: Sequence[str] = (), every: str | None = None
) -> dict[str, Any]:
    """The ``[[feeds]]`` keys for a source, in the order the shipped settings write them."""
    entry: dict[str, Any] = {"name": name, "kind": source.kind, "url": source.url}
    if tags:
        entry["tags"] = list(tags)
    if source.article_links:
        entry["article_links"] = source.article_links
    if every:
        entry["schedule"] = {"every": every}
    return entry


def describe(source: Source) -> str:
    """One line about a source, for a comment above its TOML block."""
    parts = [source.detail, f"{source.items} items"]
    if source.per_day is not None:
        parts.append(f"{source.per_day:g}/day")
    if source.newest_at is not None:
        parts.append(f"newest {source.newest_at:%Y-%m-%d %H:%M} UTC")
    parses = {True: "articles parse", False: "articles do not parse", None: "articles unchecked"}
    parts.append(parses[source.parses])
    return ", ".join(parts)


def render_toml(entries: Iterable[tuple[dict[str, Any], str]]) -> str:
    """``[[feeds]]`` blocks, each under a comment line, ready to paste into settings.toml."""
    return "\n".join(f"# {comment}\n{render_feeds([entry])}" for entry, comment in entries)
