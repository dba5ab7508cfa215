"""Metadata of a parsed page: meta tags, JSON-LD, microdata, canonical URL.

Everything here reads the one lxml tree the parser built and never changes it. The parser
(:mod:`crawler.extract.parser`) decides the order in which these sources win (the field table
of README.md); this module, :mod:`crawler.extract.authors` and
:mod:`crawler.extract.lead_image` only find and clean candidate values.

JSON-LD comes from extruct's ``JsonLdExtractor``, called once per ``<script>`` element so
that one broken block does not hide the others. Values from JSON-LD are untrusted: any
field may be a string, a list, an object or junk, so every read goes through ``as_text``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from extruct.jsonld import JsonLdExtractor

from crawler.extract.elements import clean, text_of
from crawler.urls import site_of

JsonObj = dict[str, Any]

ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
     "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "asknewsarticle",
     "askpublicnewsarticle", "blogposting", "report", "satiricalarticle", "techarticle",
     "liveblogposting", "posting", "socialmediaposting"}
)  # fmt: skip
LISTING_TYPES = frozenset({"collectionpage", "itemlist", "searchresultspage", "profilepage"})

_JSONLD = JsonLdExtractor()


def as_text(value: Any) -> str | None:
    """A JSON-LD value as one clean string: strings, {"@value"}, {"name"}, first of a list."""
    if isinstance(value, str):
        return clean(value) or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        for key in ("@value", "name", "url", "contentUrl", "@id"):
            if key in value:
                return as_text(value[key])
    if isinstance(value, list):
        for item in value:
            text = as_text(item)
            if text:
                return text
    return None


def types_of(obj: JsonObj) -> set[str]:
    raw = obj.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {v.rsplit("/", 1)[-1].casefold() for v in values if isinstance(v, str)}


def same_site(a: str, b: str) -> bool:
    """Same host without ``www.``, or sibling hosts of one domain (amp.x.com and www.x.com)."""
    host_a, host_b = site_of(a), site_of(b)
    if not host_a or not host_b:
        return False
    if host_a == host_b or host_a.endswith("." + host_b) or host_b.endswith("." + host_a):
        return True
    parent_a, parent_b = host_a.partition(".")[2], host_b.partition(".")[2]
    return (
        parent_a == parent_b
        and parent_a.count(".") >= 1
        and not _PUBLIC_SECOND_LEVEL.match(parent_a)
    )


_PUBLIC_SECOND_LEVEL = re.compile(r"^(co|com|net|org|gov|ac|edu|ne|or)\.[a-z]{2}$")


def absolute_http(url: str | None, base: str) -> str | None:
    """``url`` made absolute against ``base``; None unless it is http(s)."""
    if not url:
        return None
    try:
        joined = urljoin(base, url.strip())
        parts = urlsplit(joined)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return joined


# --------------------------------------------------------------------------------------------
# Collection


@dataclass
class PageMeta:
    """Raw metadata of one page, collected in one pass over the tree."""

    meta: dict[str, list[str]] = field(default_factory=dict)  # name/property → contents
    jsonld: list[JsonObj] = field(default_factory=list)  # every object, @graph flattened
    article: JsonObj = field(default_factory=dict)  # the main Article-typed object, or {}
    microdata: dict[str, list[Any]] = field(default_factory=dict)  # itemprop → elements
    canonical: str | None = None
    html_lang: str | None = None
    h1: Any = None  # the headline element, if any

    def first(self, *names: str) -> str | None:
        """The first non-empty content of the meta tags ``names``, in that order."""
        for name in names:
            for value in self.meta.get(name, ()):
                if text := clean(value):
                    return text
        return None

    def all(self, *names: str) -> list[str]:
        return [clean(v) for name in names for v in self.meta.get(name, ()) if clean(v)]

    def suffixed(self, name: str) -> list[str]:
        """Contents of the site's own meta fields for ``name`` ("dcsext.author",
        "parsely-author"): a name ending in ``.name``, ``:name``, ``-name`` or ``_name``."""
        ends = tuple(sep + name for sep in ".:-_")
        return [clean(v) for key, values in self.meta.items() if key.endswith(ends)
                for v in values if clean(v) and "://" not in v]  # fmt: skip

    def types(self) -> set[str]:
        found: set[str] = set()
        for obj in self.jsonld:
            found |= types_of(obj)
        return found

    def micro(self, prop: str) -> list[str]:
        """Values of microdata ``itemprop``: content/datetime/src/href attribute, else text."""
        values = []
        for element in self.microdata.get(prop, ()):
            value = next(
                (element.get(a) for a in ("content", "datetime", "src", "href") if element.get(a)),
                None,
            )
            if value is None and prop == "author":
                names = element.xpath(".//*[@itemprop='name']")
                value = names[0].get("content") or text_of(names[0]) if names else None
            values.append(clean(value if value is not None else text_of(element)))
        return [v for v in values if v]


def collect(tree: Any, url: str) -> PageMeta:
    page = PageMeta()
    page.html_lang = clean(tree.get("lang") or tree.get("xml:lang")) or None
    for element in tree.iter("meta", "link", "script", "h1"):
        tag = element.tag
        if tag == "meta":
            key = element.get("property") or element.get("name") or element.get("itemprop")
            key = key or element.get("http-equiv")
            content = element.get("content")
            if key and content is not None:
                page.meta.setdefault(key.strip().lower(), []).append(content)
        elif tag == "link":
            rel = (element.get("rel") or "").lower().split()
            if "canonical" in rel and page.canonical is None and element.get("href"):
                page.canonical = absolute_http(element.get("href"), url)
        elif tag == "script":
            if (element.get("type") or "").strip().lower().startswith("application/ld+json"):
                page.jsonld.extend(_flatten(_load_jsonld(element)))
        elif page.h1 is None and text_of(element):
            page.h1 = element
    for element in tree.xpath("//*[@itemprop]"):
        for prop in element.get("itemprop").split():
            page.microdata.setdefault(prop, []).append(element)
    page.article = _main_article(page.jsonld)
    return page


def _load_jsonld(script: Any) -> list[Any]:
    try:
        # The XPath inside extract_items is descendant-or-self, so it takes the one script.
        items: list[Any] = _JSONLD.extract_items(script)
    except (ValueError, TypeError, RecursionError):  # invalid JSON even for jstyleson
        return []
    return items


def _flatten(items: Iterable[Any], depth: int = 0) -> Iterator[JsonObj]:
    for item in items:
        if isinstance(item, list) and depth < 5:
            yield from _flatten(item, depth + 1)
        elif isinstance(item, dict):
            yield item
            if depth < 5:
                graph = item.get("@graph")
                if isinstance(graph, list):
                    yield from _flatten(graph, depth + 1)
                main = item.get("mainEntity")
                if isinstance(main, (dict, list)):
                    yield from _flatten([main], depth + 1)


def _main_article(objects: list[JsonObj]) -> JsonObj:
    articles = [obj for obj in objects if types_of(obj) & ARTICLE_TYPES]
    with_headline = [obj for obj in articles if as_text(obj.get("headline"))]
    return (with_headline or articles or [{}])[0]
