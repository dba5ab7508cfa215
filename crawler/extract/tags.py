"""The publisher's own topic tags: keyword metadata, tag links, tag lists under the story.

The page's sources, the first that gives a tag wins (:func:`page_tags`), editorial before
search-engine fields: ``news_keywords`` (the news-search field, set per article by the
desk), ``article:tag``, JSON-LD ``keywords``, microdata ``keywords``, then meta
``keywords`` (often stuffed with site-wide search terms), then tag links on the page
(``rel=tag``, ``/tag(s)/`` and ``/topic(s)/`` paths, a "Tags:" line, links inside an element
whose class says tags), then a *tag list*: a list of two or more short links to the same
site inside the article area and nothing else, the shape of the topic "pills" many
publishers (most German ones among them) put under the story without any class name or
path that says "tag". Sources are not merged: where a page has several, the later ones
repeat the first with search terms, sections and site names added. The feed's own tags and
keywords (``ParseHints``) are added to whichever source wins.

Every value then goes through :func:`split_tags`, whose rules each say why they exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from crawler.extract.elements import clean, hint_of, in_chrome, text_of
from crawler.extract.meta import PageMeta, absolute_http, same_site

__all__ = ["page_tag_links", "page_tags", "split_tags", "tag_list_links"]

_TAG_PATH = re.compile(r"/(tag|tags|topic|topics)/", re.I)
# A rel=tag link into a category or section path is the story's section, not a topic tag
# (blog engines mark their category links rel=tag too).
_SECTION_PATH = re.compile(r"/(category|categories|section|sections|rubrik|ressort)/", re.I)
_TAG_LINE = re.compile(r"^\s*(tags?|topics?|related topics|keywords|filed under)\s*:", re.I)
_TAG_LINE_INITIALS = frozenset("trkf")

_MAX_TAG_CHARS = 80
# Machine ids some CMSs put among the keywords (UUIDs, long hex or digit strings): no reader
# ever sees them, so they are not topics.
_MACHINE_ID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^[0-9a-f]{16,}$|^\d+$"
)
# A CMS's field name written into the value ("category: wine", "sections/sverige",
# "topic/..."): the tag is what follows it.
_CMS_PREFIX = re.compile(
    r"^(categor(y|ies)|tags?|topics?|sections?|organi[sz]ations?|persons?|people|locations?|"
    r"places?|keywords?|subjects?|themes?)\s*[:/]\s*(?=\S)",
    re.I,
)
# Values a classifier assigned, not an editor ("nlp category: general", "iab: ..."): dropped.
_CLASSIFIER_PREFIX = re.compile(r"^(nlp|iab|auto|ml|ai)\b[^:]{0,30}:", re.I)
# The site's own domain ("theprovince.com") among the keywords names the site, not a topic.
# ("node.js" has the same shape and is lost with it: rarer than a domain among keywords.)
_DOMAIN = re.compile(r"^[\w-]+(\.[\w-]+)*\.[a-z]{2,}$", re.I)
# An enumeration left in front of the tag ("(1) ...").
_ENUMERATION = re.compile(r"^\(\d+\)\s*")
# Han and Kana keywords have no spaces inside a word, so a space separates two keywords;
# Hangul does use spaces inside a phrase ("계파 갈등"), so Korean strings are left whole.
_HAN_KANA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
# A sentence, not a keyword: CJK sentence punctuation in a long value.
_CJK_SENTENCE = re.compile(r"[。、！？]")
_CJK_SENTENCE_CHARS = 20


def page_tags(tree: Any, page: PageMeta, url: str, title: str = "") -> set[str]:
    """The tags of the first of the page's sources that gives one (see the module's doc).
    A source whose tags are just words of the headline or of the URL's slug (the first
    headline: "mueren, seis, personas, incendio") was generated from it by the CMS, not
    chosen by an editor: the next source is read."""
    try:
        slug = urlsplit(url).path
    except ValueError:  # a junk URL has no slug
        slug = ""
    title_words = set(_WORD.findall(f"{title} {slug}".casefold()))
    sources = (
        lambda: page.all("news_keywords"),
        lambda: page.all("article:tag"),
        lambda: [page.article.get("keywords")],
        lambda: page.micro("keywords"),
        lambda: page.all("keywords"),
        lambda: page_tag_links(tree, url),
        lambda: tag_list_links(tree, url, page.h1),
    )
    for read in sources:
        if (tags := split_tags(read())) and not _headline_words(tags, title_words):
            return tags
    return set()


_WORD = re.compile(r"\w+")
_HEADLINE_WORDS_MIN = 3


def _headline_words(tags: set[str], title_words: set[str]) -> bool:
    return len(tags) >= _HEADLINE_WORDS_MIN and all(t in title_words for t in tags)


def split_tags(values: Iterable[Any]) -> set[str]:
    """Tags out of keyword values: split on commas, cleaned, casefolded; strings or lists.
    (A site's own name among its keywords stays: publishers tag their own brand pages.)"""
    tags: set[str] = set()
    for value in values:
        if isinstance(value, list):
            tags |= split_tags(value)
        elif isinstance(value, str):
            for part in re.split(r"[,，]", value):
                for piece in _words_of_keyword(clean(part)):
                    if tag := _clean_tag(piece):
                        tags.add(tag)
    return tags


def _words_of_keyword(text: str) -> list[str]:
    if " " in text and _HAN_KANA.search(text) and not _HANGUL.search(text):
        return text.split()
    return [text]


def _clean_tag(text: str) -> str | None:
    tag = _ENUMERATION.sub("", text).strip(" #.;|").casefold()
    if not tag or len(tag) > _MAX_TAG_CHARS or _CLASSIFIER_PREFIX.match(tag):
        return None
    tag = _CMS_PREFIX.sub("", tag).strip(" #.;|")
    if not tag or _MACHINE_ID.match(tag) or _DOMAIN.match(tag):
        return None
    if len(tag) > _CJK_SENTENCE_CHARS and _CJK_SENTENCE.search(tag):
        return None
    return tag


def page_tag_links(tree: Any, url: str) -> list[str]:
    """Texts of on-page tag links: rel=tag, /tag(s)/ and /topic(s)/ paths, a "Tags:" line."""
    found: list[str] = []
    for element in tree.iter(etree.Element):
        raw = element.text
        if not raw or ":" not in raw or raw.lstrip()[:1].lower() not in _TAG_LINE_INITIALS:
            continue  # cheap tests first: this runs on every element of the page
        if _TAG_LINE.match(clean(raw)) and not in_chrome(element):
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
            if href and _SECTION_PATH.search(urlsplit(href).path):
                continue
            if not in_chrome(anchor, article_footer=True) and not any(
                a.tag == "header" for a in anchor.iterancestors()
            ):
                found.append(text_of(anchor))
    return [t for t in found if t] or _tag_block_links(tree, url)


# An element whose class or id says it holds the tags ("articleTags", "tags__item",
# "p-related-tags", "keywords"): a tag word at the end of a name part, so "stage",
# "tagline" or "vintage" do not count.
_TAG_BLOCK_HINT = re.compile(r"tags?(?![a-z])|keywords?(?![a-z])|schlagw(?:ort|oerter)")


_HINTED = etree.XPath("//*[@class or @id]")


def _tag_block_links(tree: Any, url: str) -> list[str]:
    """Texts of short same-site links inside elements whose markup says "tags"."""
    found: list[str] = []
    seen: set[Any] = set()
    for block in _HINTED(tree):
        if not _TAG_BLOCK_HINT.search(hint_of(block)):
            continue
        for anchor in block.iter("a"):
            if anchor in seen:
                continue  # blocks nest ("tags" > "tags__item")
            seen.add(anchor)
            href = absolute_http(anchor.get("href"), url)
            if href is None or not same_site(href, url):
                continue
            if len([p for p in urlsplit(href).path.split("/") if p]) < 2:
                continue  # "/city": a section front at the top of the site, not a topic
            text = text_of(anchor)
            if not text or len(text) > _TAG_CHARS or len(text.split()) > _TAG_WORDS:
                continue
            if not in_chrome(anchor, article_footer=True):
                found.append(text)
    return found


_TAG_LIST_MIN_LINKS = 2
_TAG_WORDS = 4  # a topic is a name or a short phrase
_TAG_CHARS = 40
_NOT_TAG_LIST_HINT = re.compile(r"breadcrumb|share|social|pagination|pager|menu|nav|author")


def tag_list_links(tree: Any, url: str, headline: Any) -> list[str]:
    """Link texts of the last tag list after the headline: a list element (``ul``/``ol``,
    or a ``div`` of links) holding two or more short same-site links and no other text,
    inside ``main``/``article``, outside the site chrome. The last one, because section
    menus inside the article area come before the story and the topic pills after it."""
    if headline is None:
        return []
    after = False
    found: list[str] = []
    for element in tree.iter("ul", "ol", "div", "h1"):
        if element is headline:
            after = True  # document order: source lines say nothing in minified pages
        elif after and _in_article_area(element) and (texts := _tag_texts(element, url)):
            found = texts
    return found


def _in_article_area(element: Any) -> bool:
    return any(a.tag in ("main", "article") for a in element.iterancestors())


def _tag_texts(element: Any, url: str) -> list[str]:
    anchors = list(element.iter("a"))
    if len(anchors) < _TAG_LIST_MIN_LINKS or _NOT_TAG_LIST_HINT.search(hint_of(element)):
        return []
    texts = []
    for anchor in anchors:
        text = text_of(anchor)
        href = absolute_http(anchor.get("href"), url)
        if not text or len(text) > _TAG_CHARS or len(text.split()) > _TAG_WORDS:
            return []
        if href is None or not same_site(href, url) or urlsplit(href).path in ("", "/"):
            return []
        texts.append(text)
    if len(clean(" ".join(texts))) < 0.9 * len(text_of(element)) or in_chrome(element):
        return []  # the links are not all there is: teasers, a sentence, a related list
    return texts
