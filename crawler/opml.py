"""OPML 2.0 subscription lists: newsmon's feeds out, any feed reader's list in.

Written: one ``<outline>`` per feed, ``type="rss"`` with ``xmlUrl`` for RSS/Atom feeds (what
every reader imports) and ``type="link"`` with ``url`` for listing pages and sitemaps, the
tags in ``category``; the feed's other keys, exactly as settings.toml writes them, go in
``newsmon:kind`` and ``newsmon:options`` (JSON), so a list newsmon exported imports back to
the same feeds. Read: every outline with an ``xmlUrl`` (or a ``newsmon:kind`` and ``url``), at
any depth of folders, with lxml: a list with a DTD is refused (so no entity is expanded),
no network, a size limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from lxml import etree

from crawler.errors import DiscoveryError

NEWSMON_NS = "urn:newsmon:opml:1"
MAX_OPML_BYTES = 10_000_000
_KIND = f"{{{NEWSMON_NS}}}kind"
_OPTIONS = f"{{{NEWSMON_NS}}}options"
_OWN_KEYS = ("name", "kind", "url", "tags")  # written as OPML attributes of their own


@dataclass(frozen=True)
class Subscription:
    """One feed of an OPML list, in settings.toml terms."""

    url: str
    kind: str = "rss"
    title: str | None = None
    tags: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)  # other [[feeds]] keys


def write_opml(feeds: Iterable[Mapping[str, Any]], title: str = "newsmon feeds") -> str:
    """An OPML 2.0 document of ``[[feeds]]`` tables as written in settings.toml."""
    root = etree.Element("opml", version="2.0", nsmap={"newsmon": NEWSMON_NS})
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = etree.SubElement(root, "body")
    for feed in feeds:
        name, kind, url = str(feed["name"]), str(feed.get("kind", "rss")), str(feed["url"])
        outline = etree.SubElement(body, "outline", text=name, title=name)
        if kind == "rss":
            outline.set("type", "rss")
            outline.set("xmlUrl", url)
        else:
            outline.set("type", "link")
            outline.set("url", url)
        tags = feed.get("tags") or []
        if tags:
            outline.set("category", ",".join(str(tag) for tag in tags))
        outline.set(_KIND, kind)
        options = {k: v for k, v in feed.items() if k not in _OWN_KEYS}
        if options:
            outline.set(_OPTIONS, json.dumps(options, ensure_ascii=False, sort_keys=True))
    text: str = etree.tostring(root, encoding="unicode", pretty_print=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text


def read_opml(data: bytes, source: str) -> list[Subscription]:
    """The feeds of an OPML list; DiscoveryError naming ``source`` when it is not one."""
    if len(data) > MAX_OPML_BYTES:
        raise DiscoveryError(f"{source}: larger than {MAX_OPML_BYTES} bytes")
    if b"<!doctype" in data.lower() or b"<!entity" in data.lower():
        # libxml2 expands internal entities in attribute values whatever the parser's
        # options say; OPML has no use for a DTD, so a list that brings one is refused.
        raise DiscoveryError(f"{source}: an OPML list with a DTD or entities is not read")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"{source}: not an OPML file: {exc}") from None
    if root is None or etree.QName(root).localname != "opml":
        raise DiscoveryError(f"{source}: not an OPML file (no <opml> document element)")
    found: list[Subscription] = []
    for outline in root.iter("outline"):
        kind = outline.get(_KIND) or ("rss" if outline.get("xmlUrl") else None)
        url = outline.get("xmlUrl") or (outline.get("url") if kind else None)
        if not kind or not url:
            continue  # a folder, or a link to a page that is no feed
        found.append(
            Subscription(
                url=url.strip(),
                kind=kind,
                title=(outline.get("text") or outline.get("title") or "").strip() or None,
                tags=_categories(outline.get("category") or ""),
                options=_options(outline.get(_OPTIONS), source, url),
            )
        )
    return found


def _categories(text: str) -> tuple[str, ...]:
    """OPML categories are comma-separated, slash-delimited paths: "/News/World,tech"."""
    tags = (part.strip().strip("/").rsplit("/", 1)[-1].strip() for part in text.split(","))
    return tuple(dict.fromkeys(tag for tag in tags if tag))


def _options(text: str | None, source: str, url: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        options = json.loads(text)
    except ValueError:
        raise DiscoveryError(f"{source}: outline {url}: newsmon:options is not JSON") from None
    if not isinstance(options, dict):
        raise DiscoveryError(f"{source}: outline {url}: newsmon:options is not a JSON object")
    return {str(key): value for key, value in options.items() if key not in _OWN_KEYS}
