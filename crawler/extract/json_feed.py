"""Entries of a JSON Feed (jsonfeed.org, versions 1.0 and 1.1), which feedparser does not read.

The same ``Discovery`` as an RSS or Atom feed gives, so a feed of ``kind = "rss"`` may be
any of the three: item ``url`` (else ``external_url``, else an ``id`` that is a URL),
``title``, ``date_published`` (else ``date_modified``), ``tags``, ``authors`` (1.1) or
``author`` (1.0), ``image`` (else ``banner_image``).
"""

from __future__ import annotations

import json
from typing import Any

from crawler.errors import DiscoveryError, first_line
from crawler.extract.dates import parse_date
from crawler.extract.discovery import Candidate, Discovery, newest_first
from crawler.extract.publisher_links import publisher_link
from crawler.urls import normalize_url

VERSION_PREFIX = "https://jsonfeed.org/version/"


def is_json_feed(body: bytes) -> bool:
    """Whether the body is a JSON object naming a JSON Feed version (cheap: looks at the
    start before it parses anything)."""
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and b"jsonfeed.org/version/" in body[:4096]


def discover_json_feed(body: bytes, feed_url: str, *, max_entries: int | None = None) -> Discovery:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DiscoveryError(f"not a JSON Feed: {first_line(exc)}") from exc
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
        VERSION_PREFIX
    ):
        raise DiscoveryError("not a JSON Feed: no jsonfeed.org version")
    items = [i for i in document.get("items") or [] if isinstance(i, dict)]
    total = len(items) if max_entries is not None and len(items) > max_entries else None
    candidates: dict[str, Candidate] = {}
    for item in items:
        candidate = _candidate(item, feed_url)
        if candidate is not None and candidate.url not in candidates:
            candidates[candidate.url] = candidate
    kept = tuple(candidates.values())
    if total is not None and max_entries is not None:
        kept = tuple(sorted(kept, key=newest_first)[:max_entries])
    version = str(document["version"]).removeprefix(VERSION_PREFIX).replace(".", "")
    title = document.get("title")
    return Discovery(
        kept,
        total_entries=total,
        title=title.strip() or None if isinstance(title, str) else None,
        format=f"json{version}",
    )


def _candidate(item: dict[str, Any], feed_url: str) -> Candidate | None:
    link = next(
        (v for v in (item.get("url"), item.get("external_url"), item.get("id"))
         if isinstance(v, str) and v.strip().startswith(("http://", "https://", "/"))),
        None,
    )  # fmt: skip
    url = normalize_url(publisher_link(link.strip()), feed_url) if link else None
    if url is None:
        return None
    published = None
    for key in ("date_published", "date_modified"):
        if isinstance(item.get(key), str):
            published = parse_date(item[key])
            if published is not None:
                break
    people = item.get("authors") or (
        [item["author"]] if isinstance(item.get("author"), dict) else []
    )
    authors = tuple(
        a["name"].strip() for a in people if isinstance(a, dict) and isinstance(a.get("name"), str)
        and a["name"].strip()
    )  # fmt: skip
    tags = tuple(t.strip() for t in item.get("tags") or [] if isinstance(t, str) and t.strip())
    image = next(
        (v for v in (item.get("image"), item.get("banner_image")) if isinstance(v, str)), None
    )
    title = item.get("title")
    return Candidate(
        url=url,
        title=title.strip() or None if isinstance(title, str) else None,
        published_at=published.at if published else None,
        published_source="feed" if published else None,
        published_precision=published.precision if published else None,
        keywords=tags,
        authors=authors,
        image_url=normalize_url(image, feed_url) if image else None,
    )
