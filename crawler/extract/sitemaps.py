"""Google News sitemaps and sitemap indexes, gzip or plain, read with a streaming parser."""

from __future__ import annotations

import gzip
import io
from datetime import datetime

from lxml import etree

from crawler.errors import DiscoveryError, first_line
from crawler.extract.dates import parse_date
from crawler.extract.discovery import Candidate, Discovery, ensure_kind
from crawler.urls import normalize_url

_SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def discover_sitemap(
    body: bytes,
    sitemap_url: str,
    *,
    max_bytes: int,
    default_tz: str = "UTC",
    max_age_cutoff: datetime | None = None,
) -> Discovery:
    """A urlset (with Google News extensions) or a sitemap index, gzip or plain.

    Scrapy's SitemapSpider flattens entries and loses news:publication_date, news:title and
    news:keywords, so the XML is read here with a streaming parser and a size limit.
    """
    data = _gunzip(body, max_bytes) if body[:2] == b"\x1f\x8b" else body
    ensure_kind(data, "sitemap")
    candidates: dict[str, Candidate] = {}
    children: list[str] = []
    try:
        for _event, element in etree.iterparse(
            io.BytesIO(data),
            events=("end",),
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
        ):
            tag = element.tag if isinstance(element.tag, str) else ""
            if tag == f"{_SM}sitemap":
                loc = normalize_url(element.findtext(f"{_SM}loc") or "", sitemap_url)
                if loc:
                    children.append(loc)
                element.clear()
            elif tag == f"{_SM}url":
                candidate = _sitemap_entry(element, sitemap_url, default_tz)
                element.clear()
                if candidate is None or candidate.url in candidates:
                    continue
                if (
                    max_age_cutoff
                    and candidate.published_at
                    and candidate.published_at < max_age_cutoff
                ):
                    continue
                candidates[candidate.url] = candidate
    except etree.XMLSyntaxError as exc:
        if not candidates and not children:
            raise DiscoveryError(f"not a sitemap: {first_line(exc)}") from exc
    return Discovery(tuple(candidates.values()), tuple(children))


def _sitemap_entry(element: etree._Element, base: str, default_tz: str) -> Candidate | None:
    url = normalize_url(element.findtext(f"{_SM}loc") or "", base)
    if url is None:
        return None
    news = element.find(f"{_NEWS}news")
    if news is None:
        return Candidate(url=url)
    raw_date = news.findtext(f"{_NEWS}publication_date")
    found = parse_date(raw_date, default_tz) if raw_date else None
    keywords = (news.findtext(f"{_NEWS}keywords") or "").split(",")
    return Candidate(
        url=url,
        title=_news_text(news, "title"),
        published_at=found.at if found else None,
        published_source="sitemap" if found else None,
        published_precision=found.precision if found else None,
        keywords=tuple(k.strip() for k in keywords if k.strip()),
        language=_news_text(news, f"publication/{_NEWS}language"),
    )


def _news_text(news: etree._Element, path: str) -> str | None:
    return (news.findtext(f"{_NEWS}{path}") or "").strip() or None


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    # Read at most max_bytes + 1 so a gzip bomb is refused instead of filling memory.
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
        try:
            data = stream.read(max_bytes + 1)
        except (OSError, EOFError) as exc:
            raise DiscoveryError(f"broken gzip: {first_line(exc)}") from exc
    if len(data) > max_bytes:
        raise DiscoveryError(f"larger than max_page_bytes ({max_bytes} bytes) once unzipped")
    return data
