"""Turn one fetched news page into an :class:`~crawler.article.Article`, or None.

Approach
--------
1. Decode bytes (:mod:`crawler.extract.decoding`) and parse **once** with lxml (one parser
   per thread: lxml parsers are not thread-safe). The same tree feeds extruct's JSON-LD
   extractor, our meta and byline readers, trafilatura (``bare_extraction`` accepts a tree;
   it gets a pruned copy) and, only when nothing else dated the page, htmldate (which
   copies the tree itself).
2. Apply the site's ``remove`` selectors, collect every metadata source
   (:mod:`crawler.extract.meta`, :mod:`crawler.extract.authors`,
   :mod:`crawler.extract.lead_image`), extract and clean the body
   (:mod:`crawler.extract.body`), date the page (:mod:`crawler.extract.page_dates`).
3. Reject pages that are not articles (:mod:`crawler.extract.detection`): live-blog shells
   whose updates load by script, author/profile pages, collection/listing pages and index
   pages made of many headline links with no block of prose, video pages without text, error
   pages, and empty bodies.
4. Pick each field by README.md's field table, first good value wins. Site-rule
   selectors override the generic value of their field. For ``url``, every candidate
   (canonical, og:url, JSON-LD url) must be on the same site as the fetched URL, so a
   syndicated copy never takes the URL of its origin; ``canonical_url`` still records it.

The function is pure: no I/O, and no process-global state (trafilatura runs with
``deduplicate=False``), so the result depends only on its arguments. The one exception is
the clock: without ``hints.fetched_at``, "now" bounds plausible dates and anchors "2 hours
ago". Junk input returns None; exceptions are caught only around the libraries.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import Any

import lxml.html
from lxml import etree
from trafilatura.metadata import extract_title

from crawler.article import Article, ParseHints, SiteRules
from crawler.extract.app_state import embedded_article_paragraphs
from crawler.extract.authors import credits_of, jsonld_credits, photo_credits
from crawler.extract.body import (
    clean_paragraphs,
    paragraphs_of,
    run_trafilatura,
    split_article_body,
)
from crawler.extract.bylines import byline_texts, labelled_bylines, story_edge_bylines
from crawler.extract.decoding import decode_html
from crawler.extract.detection import is_live_blog_shell, not_an_article
from crawler.extract.elements import clean, select, text_of
from crawler.extract.lead_image import (
    caption_and_credit,
    figure_image,
    find_image_element,
    image_src,
    jsonld_image,
)
from crawler.extract.meta import (
    LISTING_TYPES,
    PageMeta,
    absolute_http,
    as_text,
    collect,
    same_site,
)
from crawler.extract.page_dates import PUBLISHED_META, modified_date, published_date
from crawler.extract.standfirst import visible_standfirst
from crawler.extract.tags import page_tags, split_tags
from crawler.extract.titles import (
    agreeing_headline,
    choose_title,
    displayed_headline,
    site_keys,
    strip_site_name,
    unshared_headline,
)
from crawler.textnorm import paragraph_key
from crawler.urls import normalize_url

__all__ = ["parse_article"]

_SUMMARY_CHARS = 300
_THIN_BODY_CHARS = 200  # below this JSON-LD articleBody may replace trafilatura's result


def parse_article(html: str | bytes, url: str, hints: ParseHints | None = None) -> Article | None:
    """Parse one page; None when it is not a news article or cannot be read."""
    hints = hints or ParseHints()
    if isinstance(html, bytes):
        html = decode_html(html, hints.charset)
    tree = _parse_tree(html)
    if tree is None:
        return None
    rules = hints.site_rules
    if rules is not None:
        for selector in rules.remove:
            for element in select(tree, selector):
                if element.getparent() is not None:
                    element.drop_tree()
    page = collect(tree, url)
    return _build(tree, page, url, hints, rules)


# --------------------------------------------------------------------------------------------
# Parsing

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_local = threading.local()


def _html_parser() -> Any:
    # lxml parser objects must not be shared between threads (extraction may run in
    # asyncio.to_thread workers): one per thread.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.HTMLParser(
            collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True
        )
        # lxml.html's own parser asks a Python function for the class of every element each
        # time Python touches one (half a million calls over a corpus of real pages, some 8%
        # of a parse); a default lookup does it in C. Every element is an HtmlElement, with
        # text_content(), drop_tree() and the rest; only lxml.html's form-field classes
        # (form, input, select, ...), which nothing here uses, are not made.
        parser.set_element_class_lookup(
            etree.ElementDefaultClassLookup(
                element=lxml.html.HtmlElement,
                comment=lxml.html.HtmlComment,
                pi=lxml.html.HtmlProcessingInstruction,
                entity=lxml.html.HtmlEntity,
            )
        )
        _local.parser = parser
    return parser


def _without_control_chars(text: str) -> str:
    """The text less the control characters lxml would keep (and trafilatura refuse).

    Most pages have none, and the regular expression's scan of a 300 KB page costs 0.6 ms:
    the UTF-8 bytes are asked first (half that). In UTF-8 these characters are single
    bytes that occur in no other character's encoding, so the counts say it exactly."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded.translate(None, _CONTROL_BYTES)) == len(encoded):
        return text
    return _CONTROL_CHARS.sub("", text)


def _parse_tree(text: str) -> Any:
    text = _without_control_chars(_XML_DECLARATION.sub("", text, count=1))
    if not text.strip():
        return None
    try:
        tree = lxml.html.document_fromstring(text, parser=_html_parser())
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    if tree is None or not isinstance(tree.tag, str) or tree.find("body") is None:
        return None
    return tree


# --------------------------------------------------------------------------------------------
# Fields


def _build(
    tree: Any, page: PageMeta, url: str, hints: ParseHints, rules: SiteRules | None
) -> Article | None:
    article = page.article
    types = page.types()
    og_type = (page.first("og:type") or "").lower()
    site_names = site_names_of(page)
    if og_type == "profile":
        return None
    if not article and types & LISTING_TYPES:
        return None

    title = _title(tree, page, url, hints, rules)
    headline = text_of(page.h1) if page.h1 is not None else ""
    tags = _tags(tree, page, url, hints, rules, title)
    lead_image, caption, credit = _lead_image(tree, page, url, hints)

    if rules is not None and rules.body and (selected := select(tree, rules.body)):
        raw = paragraphs_of(selected)
    else:
        raw = _trafilatura(tree, url)
    bold_credits = [t for t in story_edge_bylines(tree) if credits_of([t])[0]]  # not story
    found = clean_paragraphs(
        raw,
        title=title,
        skip=(caption, credit, headline, *bold_credits),
        tags=tags,
        site_names=site_names,
    )
    paragraphs, keys = _drop_boilerplate(found, hints.boilerplate)
    raw_body = article.get("articleBody")  # not as_text(): its line breaks are paragraphs
    article_body = raw_body if isinstance(raw_body, str) else as_text(raw_body)
    if sum(map(len, paragraphs)) < _THIN_BODY_CHARS and article_body:
        fallback = clean_paragraphs(split_article_body(article_body), title=title)
        fallback_kept, fallback_keys = _drop_boilerplate(fallback, hints.boilerplate)
        if sum(map(len, fallback_kept)) > sum(map(len, paragraphs)):
            paragraphs, keys = fallback_kept, fallback_keys
    if sum(map(len, paragraphs)) < _THIN_BODY_CHARS and (
        embedded := embedded_article_paragraphs(tree)
    ):
        found = clean_paragraphs(embedded, title=title, tags=tags, site_names=site_names)
        if sum(map(len, found)) > sum(map(len, paragraphs)):
            paragraphs, keys = _drop_boilerplate(found, hints.boilerplate)
    descriptions = [page.first("og:description"), page.first("description"),
                    as_text(article.get("description"))]  # fmt: skip
    lead = visible_standfirst(tree, descriptions, "\n\n".join(paragraphs)) if paragraphs else None
    if lead and paragraph_key(lead) not in hints.boilerplate:
        paragraphs, keys = [lead, *paragraphs], (paragraph_key(lead), *keys)
    body = "\n\n".join(paragraphs)
    declared = bool(article) or og_type == "article" or bool(page.first(*PUBLISHED_META[:3]))
    declared = declared or bool(tree.xpath("//*[@itemscope][contains(@itemtype,'Article')]"))
    if is_live_blog_shell(types, body):
        return None
    if not_an_article(tree, url, (title, headline, body), og_type, types, declared):
        return None

    now = hints.fetched_at or datetime.now(UTC)
    published, source = published_date(tree, page, url, hints, rules, now)
    modified = modified_date(tree, page, hints.timezone, now)

    return Article(
        url=_final_url(page, url),
        canonical_url=normalize_url(page.canonical) if page.canonical else None,
        title=title,
        authors=_authors(tree, page, url, hints, rules),
        published_at=published.at if published else None,
        modified_at=modified.at if modified else None,
        tags=tuple(sorted(tags)),
        body=body,
        summary=_summary(page, paragraphs),
        lead_image_url=lead_image,
        language=_language(page, hints),
        published_source=source if published else None,
        published_precision=published.precision if published else None,
        lead_image_caption=caption,
        lead_image_credit=credit,
        paragraph_keys=keys,
    )


def _drop_boilerplate(
    paragraphs: list[str], boilerplate: frozenset[str]
) -> tuple[list[str], tuple[str, ...]]:
    """The paragraphs that are not the site's learned chrome, and the keys of all of them.

    The keys are taken before the removal, so the store keeps counting a boilerplate
    paragraph on every page that carries it (see :mod:`crawler.store.boilerplate`).
    """
    keys = tuple(paragraph_key(p) for p in paragraphs)
    return [p for p, key in zip(paragraphs, keys, strict=True) if key not in boilerplate], keys


def _trafilatura(tree: Any, url: str) -> list[str]:
    try:
        return run_trafilatura(tree, url)
    except (ValueError, TypeError, etree.LxmlError, RecursionError):  # junk trees inside the lib
        return []


def _title(tree: Any, page: PageMeta, url: str, hints: ParseHints, rules: SiteRules | None) -> str:
    site_names = site_names_of(page)
    selected = select(tree, rules.title) if rules is not None and rules.title else []
    if selected and (text := text_of(selected[0])):
        return strip_site_name(text, site_names, url)
    stated = [
        strip_site_name(t, site_names, url)
        for t in (as_text(page.article.get("headline")), page.first("og:title"),
                  page.first("twitter:title"))
        if t
    ]  # fmt: skip
    if shown := agreeing_headline(tree, stated):  # not microdata: it marks the page's own text
        return shown
    micro = next(iter(page.micro("headline")), None)
    metadata = [*stated, strip_site_name(micro, site_names, url)] if micro else stated
    if unshared := unshared_headline(page.h1, metadata):
        return strip_site_name(unshared, site_names, url)
    headline = displayed_headline(page.h1)
    if title := choose_title(strip_site_name(headline, site_names, url), metadata):
        return title
    try:
        title = clean(extract_title(tree))
    except (ValueError, TypeError, etree.LxmlError):
        title = None
    return strip_site_name(title or clean(hints.title) or "", site_names, url)


def site_names_of(page: PageMeta) -> list[str]:
    """The site's own names, which titles and bylines carry and lose."""
    publisher = as_text(page.article.get("publisher"))
    names = (page.first("og:site_name"), publisher, page.first("application-name"))
    return [n for n in names if n]


def _final_url(page: PageMeta, url: str) -> str:
    for candidate in (page.canonical, page.first("og:url"),
                      as_text(page.article.get("url")),
                      as_text(page.article.get("mainEntityOfPage"))):  # fmt: skip
        absolute = absolute_http(candidate, url)
        if absolute and same_site(absolute, url) and (normal := normalize_url(absolute)):
            return normal
    return normalize_url(url) or url


def _authors(
    tree: Any, page: PageMeta, url: str, hints: ParseHints, rules: SiteRules | None
) -> tuple[str, ...]:
    """The people credited, from the first source that names one; when no source names a
    person, the organisation credited (README: "authors")."""
    site_names = site_names_of(page)
    selected = select(tree, rules.authors) if rules is not None and rules.authors else []
    if selected:  # the site's selector names the credits: people, else organisations
        people, named = credits_of((text_of(e) for e in selected), site_names)
        if people or named:
            return people or named
    credited, names_person = jsonld_credits(page.article, site_names, page.jsonld)
    if names_person:
        return credited
    meta = [a for a in page.all("author", "article:author", "dc.creator") if "://" not in a]
    organisations: list[str] = []
    keys = site_keys(site_names, url)
    bylines = byline_texts(tree, page.h1)
    for read in (lambda: meta, lambda: bylines, lambda: hints.authors,
                 lambda: page.suffixed("author"), lambda: labelled_bylines(tree),
                 lambda: story_edge_bylines(tree)):  # fmt: skip
        people, named = credits_of(read(), site_names, keys)
        if people:
            return people
        organisations.extend(named)
    # JSON-LD is the publisher's record, unless all it names is the publisher itself and a
    # byline credits someone else ("By Associated Press" on a page authored "Site Name")
    own = {n.casefold() for n in site_names}
    others = [o for o in organisations if not any(n in o.casefold() for n in own)]
    if others and all(n.casefold() in own for n in credited):
        return tuple(others[:1])
    # the photographer is the author only of a page that credits no one else (a gallery)
    return credited or tuple(organisations[:1]) or photo_credits(bylines, site_names)


def _tags(
    tree: Any, page: PageMeta, url: str, hints: ParseHints, rules: SiteRules | None, title: str
) -> set[str]:
    tags = split_tags([*hints.tags, *hints.keywords])
    if rules is not None and rules.tags and (selected := select(tree, rules.tags)):
        return tags | split_tags([text_of(e) for e in selected])
    return tags | page_tags(tree, page, url, title)


def _lead_image(
    tree: Any, page: PageMeta, url: str, hints: ParseHints
) -> tuple[str | None, str | None, str | None]:
    ld_url, ld_caption = jsonld_image(page.article)
    figure = figure_image(tree)
    candidates = [
        page.first("og:image", "og:image:url", "og:image:secure_url"), ld_url,
        page.first("twitter:image", "twitter:image:src"), next(iter(page.micro("image")), None),
        image_src(figure) if figure is not None else None, hints.image_url,
    ]  # fmt: skip
    image = next((a for c in candidates if (a := absolute_http(c, url))), None)
    if image is None:
        return None, None, None
    element = find_image_element(tree, image, url)
    caption, credit = caption_and_credit(element) if element is not None else (None, None)
    return image, caption or ld_caption, credit


def _summary(page: PageMeta, paragraphs: list[str]) -> str | None:
    text = page.first("og:description", "description", "twitter:description")
    text = text or as_text(page.article.get("description")) or (paragraphs[0] if paragraphs else "")
    if len(text) <= _SUMMARY_CHARS:
        return text or None
    cut = text[: _SUMMARY_CHARS + 1].rsplit(" ", 1)[0].rstrip(" ,;:-–—")
    return cut + "…"


def _language(page: PageMeta, hints: ParseHints) -> str | None:
    for raw in (page.html_lang, as_text(page.article.get("inLanguage")), hints.language,
                page.first("og:locale")):  # fmt: skip
        primary = re.split(r"[-_]", raw.strip(), maxsplit=1)[0].lower() if raw else ""
        if re.fullmatch(r"[a-z]{2,3}", primary):
            return primary
    return None
