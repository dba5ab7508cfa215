"""Metadata of a parsed page: meta tags, JSON-LD, microdata, bylines, tag links, lead image.

Everything here reads the one lxml tree the parser built and never changes it. The parser
(:mod:`crawler.extract.parser`) decides the order in which these sources win (DESIGN.md's
precedence table); this module only finds and cleans candidate values.

JSON-LD comes from extruct's ``JsonLdExtractor``, called once per ``<script>`` element so
that one broken block does not hide the others. Values from JSON-LD are untrusted: any
field may be a string, a list, an object or junk, so every read goes through ``as_text``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from extruct.jsonld import JsonLdExtractor
from lxml import etree

from crawler.urls import site_of

JsonObj = dict[str, Any]

ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
     "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "asknewsarticle",
     "askpublicnewsarticle", "blogposting", "report", "satiricalarticle", "techarticle",
     "liveblogposting", "posting", "socialmediaposting"}
)  # fmt: skip
LISTING_TYPES = frozenset({"collectionpage", "itemlist", "searchresultspage", "profilepage"})

_SPACE = re.compile(r"\s+")
_JSONLD = JsonLdExtractor()


def clean(text: str | None) -> str:
    """Entities decoded (some sites double-escape), white space collapsed, stripped."""
    if not text:
        return ""
    return _SPACE.sub(" ", html.unescape(text)).strip()


_TEXT_NODES = etree.XPath(
    ".//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template)]"
)
_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
     "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
     "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"}
)  # fmt: skip


def text_of(element: Any) -> str:
    """The visible text of an element (script and style excluded), blocks spaced apart."""
    parts: list[str] = []
    for node in _TEXT_NODES(element):
        parent = node.getparent()
        if parent is not None and parent.tag in _BLOCK_TAGS:
            parts.append(" ")
        parts.append(str(node))
    return clean("".join(parts))


def hint_of(element: Any) -> str:
    """Class and id of an element, lowercased: what its markup says it is."""
    return f"{element.get('class') or ''} {element.get('id') or ''}".lower()


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


def select(tree: Any, selector: str) -> list[Any]:
    """Elements matching a CSS selector from settings; [] when the selector is invalid."""
    try:
        return list(tree.cssselect(selector))
    except Exception:  # cssselect raises its own SelectorError/ExpressionError on a bad rule
        return []


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


# --------------------------------------------------------------------------------------------
# Authors

_BY = re.compile(
    r"^\s*(?:(?:written|words|reporting|story|text|posted|published|photos?|photographs?|"
    r"images?|video|graphics?|interview)\s+)?(?:by|von|par|por)\b[:\s]*",
    re.I,
)
# "and" in the languages we read; the short ones only in lower case ("John E Smith").
_SPLIT_NAMES = re.compile(r"\s*(?:[,;|•·/\n]|\s(?:and|&|und)\s|\s(?-i:y|e|et)\s)\s*", re.I)
_ORGANISATION = re.compile(
    r"\b(inc|ltd|llc|gmbh|plc|corp|press|reuters|afp|agence|newsroom|staff|wire|media|"
    r"news\s*service|associated|bloomberg|desk|team|editors)\b\.?",
    re.I,
)
_ROLE = re.compile(
    r"^(staff writer|writer|reporter|correspondent|contributor|editor|senior editor|"
    r"columnist|photographer|author|opinion|analysis|updated|published|posted)$",
    re.I,
)
# Parts of a date left after splitting a byline on commas ("Friday", "p.m."); month names
# are not listed, they are also first names (June, May) and dates carry digits anyway.
_DATE_WORD = re.compile(
    r"^(mon|tues?|wed(nes)?|thu(rs)?|fri|sat(ur)?|sun)(day)?\.?$|\b(ago|yesterday|today|"
    r"updated|am|pm|a\.m|p\.m)\b",
    re.I,
)


def clean_authors(values: Iterable[str], exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """Person names out of byline strings: no "By", no dates, no site or organisation names."""
    excluded = {clean(e).casefold() for e in exclude if e}
    names: list[str] = []
    seen: set[str] = set()
    for value in values:
        text = _BY.sub("", clean(value))
        for part in _SPLIT_NAMES.split(text):
            name = _BY.sub("", part).strip(" .,:;-–—'\"()[]")
            if not _is_name(name) or name.casefold() in excluded:
                continue
            if name.isupper():
                name = name.title()  # wire bylines: "By MARIA GOMEZ"
            if name.casefold() not in seen:
                seen.add(name.casefold())
                names.append(name)
    return tuple(names)


def _is_name(name: str) -> bool:
    if not name or len(name) > 60 or any(ch.isdigit() for ch in name):
        return False
    if "@" in name or "://" in name or not any(ch.isalpha() for ch in name):
        return False
    words = name.split()
    if len(words) > 5:
        return False
    return not (_ORGANISATION.search(name) or _ROLE.match(name) or _DATE_WORD.search(name))


def jsonld_authors(article: JsonObj) -> list[str]:
    raw = article.get("author") or article.get("creator")
    items = raw if isinstance(raw, list) else [raw]
    names = []
    for item in items:
        if isinstance(item, dict) and types_of(item) & {"organization", "newsmediaorganization"}:
            continue  # "no organisation names": the publisher is not an author
        name = as_text(item.get("name") if isinstance(item, dict) else item)
        if name and "://" not in name:
            names.append(name)
    return names


_BYLINE_HINT = re.compile(r"byline|author|autor|auteur|writer|contributor")
_NOT_BYLINE_HINT = re.compile(r"bio|avatar|photo|image|img|follow|social|more-from|about")
_CHROME_ANCESTOR = re.compile(r"related|recommend|promo|sidebar|trending|most-?read|comment")


def in_chrome(element: Any) -> bool:
    """Inside nav/header-of-site/footer/aside or a related-stories block."""
    for ancestor in element.iterancestors():
        if ancestor.tag in ("nav", "footer", "aside"):
            return True
        if _CHROME_ANCESTOR.search(hint_of(ancestor)):
            return True
    return False


_STARTS_WITH_BY = re.compile(r"^(by|von|par|por|photos? by)\s+\S", re.I)
_OPENS_WITH_BY = re.compile(r"^\s*(by|von|par|por|photos? by)\b", re.I)


def byline_texts(tree: Any, headline: Any = None) -> list[str]:
    """Candidate byline strings: rel=author / [itemprop=author], byline-ish classes, or a
    short "By ..." line after the headline."""
    found: list[str] = []
    for element in tree.xpath("//*[@rel='author'] | //*[@itemprop='author']"):
        if in_chrome(element):
            continue
        names = element.xpath(".//*[@itemprop='name']")
        value = element.get("content") or (text_of(names[0]) if names else text_of(element))
        if value:
            found.append(value)
    if found:
        return found
    after_headline = headline is None
    for element in tree.iter(etree.Element):
        after_headline = after_headline or element is headline
        if element.tag in ("body", "html", "main", "article", "script", "style"):
            continue
        hinted = False
        if element.get("class") or element.get("id"):
            hint = hint_of(element)
            hinted = bool(_BYLINE_HINT.search(hint)) and not _NOT_BYLINE_HINT.search(hint)
        if not hinted and not (
            after_headline
            and element.tag in ("p", "div", "span")
            and _OPENS_WITH_BY.match(element.text or "")
        ):
            continue  # cheap tests first: text_of is the expensive part
        text = text_of(element)
        if not text or len(text) >= 200 or (not hinted and not _STARTS_WITH_BY.match(text)):
            continue
        if not in_chrome(element):
            found.append(text)
            if len(found) >= 3:
                break
    return found


# --------------------------------------------------------------------------------------------
# Tags

_TAG_PATH = re.compile(r"/(tag|tags|topic|topics)/", re.I)
_TAG_LINE = re.compile(r"^\s*(tags?|topics?|related topics|keywords|filed under)\s*:", re.I)


def split_tags(values: Iterable[Any]) -> set[str]:
    """Split on commas, casefold, strip; JSON-LD may give strings or lists."""
    tags: set[str] = set()
    for value in values:
        if isinstance(value, list):
            tags |= split_tags(value)
        elif isinstance(value, str):
            for part in value.split(","):
                tag = clean(part).casefold().strip(" #.;|")
                if tag and len(tag) <= 80:
                    tags.add(tag)
    return tags


def page_tag_links(tree: Any, url: str) -> list[str]:
    """Texts of on-page tag links: rel=tag, /tag(s)/ and /topic(s)/ paths, a "Tags:" line."""
    found: list[str] = []
    for element in tree.iter(etree.Element):
        raw = element.text
        if raw and ":" in raw and _TAG_LINE.match(clean(raw)) and not in_chrome(element):
            found.extend(text_of(a) for a in element.iter("a"))
    for anchor in tree.iter("a"):
        rel = (anchor.get("rel") or "").lower().split()
        raw_href = (anchor.get("href") or "").lower()
        if "tag" not in rel and "/tag" not in raw_href and "/topic" not in raw_href:
            continue  # cheap test first: most links are not tag links
        href = absolute_http(anchor.get("href"), url)
        if "tag" in rel or (href and _TAG_PATH.search(urlsplit(href).path)):
            if href and not same_site(href, url) and "tag" not in rel:
                continue
            if not in_chrome(anchor) and not any(a.tag == "header" for a in anchor.iterancestors()):
                found.append(text_of(anchor))
    return [t for t in found if t]


# --------------------------------------------------------------------------------------------
# Lead image

_CREDIT = re.compile(
    r"\s*\(([^()]*(?:via|getty|reuters|afp|ap photo|photo|image|credit|courtesy|supplied|"
    r"file|pool|/|:)[^()]*)\)\s*$",
    re.I,
)
# "… this Friday. PHOTO: ANDRÉS QUIÑONES", "Foto: dpa": a labelled credit closing a caption.
_CREDIT_LABEL = re.compile(
    r"(?<=[.!?\s])(?:photo(?:graph)?|foto(?:grafía)?|bild|image|imagen|crédito|credit)s?"
    r"\s*:\s*[^.:]{2,80}$",
    re.I,
)


def jsonld_image(article: JsonObj) -> tuple[str | None, str | None]:
    """(url, caption) of the JSON-LD image: a string, a list, or an ImageObject."""
    raw = article.get("image") or article.get("thumbnailUrl")
    first = raw[0] if isinstance(raw, list) and raw else raw
    if isinstance(first, dict):
        return as_text(first.get("url") or first.get("contentUrl")), as_text(first.get("caption"))
    return as_text(first), None


def figure_image(tree: Any) -> Any:
    """The first image inside a figure (or an AMP figure), not in site chrome."""
    for image in tree.xpath("//figure//img | //figure//amp-img | //amp-img"):
        if not in_chrome(image) and (image.get("src") or image.get("data-src")):
            return image
    return None


def image_src(image: Any) -> str | None:
    src: str | None = image.get("src") or image.get("data-src") or image.get("data-original")
    return src


def find_image_element(tree: Any, image_url: str, base: str) -> Any:
    """The <img> showing ``image_url`` (same file name), else the first figure image."""
    name = urlsplit(image_url).path.rsplit("/", 1)[-1]
    if name:
        for image in tree.iter("img", "amp-img"):
            src = absolute_http(image_src(image), base)
            if src and urlsplit(src).path.rsplit("/", 1)[-1] == name:
                return image
    return figure_image(tree)


def caption_and_credit(image: Any) -> tuple[str | None, str | None]:
    """Caption and credit next to an image: figcaption, a caption-classed sibling, or the
    short text of a photo box (:func:`photo_box`)."""
    container = None
    for ancestor in image.iterancestors():
        if ancestor.tag == "figure" or ancestor.xpath(
            "./figcaption | ./*[contains(@class,'caption') or contains(@class,'Caption')]"
        ):
            container = ancestor
            break
        if ancestor.tag in ("body", "article", "main"):
            break
    box = photo_box(image) if container is None else None
    container = box if container is None else container
    if container is None:
        return None, None
    credit_nodes = container.xpath(".//*[contains(@class,'credit') or contains(@class,'Credit')]")
    credit = text_of(credit_nodes[0]) if credit_nodes else None
    captions = container.xpath(
        ".//figcaption | .//*[contains(@class,'caption') or contains(@class,'Caption')]"
    ) or ([box] if box is not None else [])
    caption = text_of(captions[0]) if captions else None
    if caption and credit and caption.endswith(credit):
        caption = caption[: -len(credit)].strip()
    if caption and not credit and (match := _CREDIT.search(caption)):
        credit = clean(match.group(1))
        caption = caption[: match.start()].strip()
    elif caption and not credit and (match := _CREDIT_LABEL.search(caption)):
        credit = clean(match.group(0))
        caption = caption[: match.start()].strip()
    return caption or None, credit or None


_PHOTO_BOX_CHARS = 300
_ICON = re.compile(r"emoji|smiley|icon")
_ICON_PIXELS = 100
_INLINE_WRAPPERS = frozenset({"a", "picture", "span", "noscript"})


def photo_box(image: Any) -> Any:
    """A figure written without ``<figure>``: the block around one image that holds nothing
    else but a short text (its caption), or None."""
    if _ICON.search(hint_of(image)) or any(
        (size := image.get(dimension, "")).isdigit() and int(size) < _ICON_PIXELS
        for dimension in ("width", "height")
    ):
        return None  # an emoji or icon inside a line of text, not a photo
    box = image.getparent()
    while box is not None and box.tag in _INLINE_WRAPPERS:
        box = box.getparent()
    if box is None or box.tag not in ("div", "section"):
        return None
    if len(box.xpath(".//img")) != 1:
        return None
    text = text_of(box)
    return box if text and len(text) <= _PHOTO_BOX_CHARS else None
