"""Is this page a news article? The parser asks once it has the body.

Several signals, none decisive alone:

* a declared type (JSON-LD Article/NewsArticle, ``og:type=article``, ``article:published_time``,
  microdata ``*Article``) makes a page an article unless it is an error or video page;
* an undeclared page is a listing when it carries many headline-sized links and little prose
  besides them, *unless* it holds a block of prose: paragraphs under one parent whose own text
  is much more than the headline links inside it. Counting links over the whole page alone
  loses a short story next to a big menu or a related-stories rail: the links are in the
  chrome, the prose is in one block;
* a live blog (``LiveBlogPosting``) is kept only when its updates are on the page as text; the
  shell that loads them by script has nothing to store.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from crawler.extract.elements import in_chrome, text_of
from crawler.extract.meta import ARTICLE_TYPES

__all__ = ["is_live_blog_shell", "not_an_article"]

_AUTHOR_PATH = re.compile(r"^/(author|authors|people|staff|profile|profiles|by)/[^/]+/?$", re.I)
_MIN_BODY_CHARS = 80  # below this the page has no article text at all
_LIVE_BLOG_MIN_CHARS = 500  # a live blog with its updates as text, not a script shell
# A prose block: this much paragraph text under one parent (about three short paragraphs;
# a listing's teaser is one paragraph per item), with headline links inside it making up at
# most this share of its characters.
_PROSE_BLOCK_CHARS = 400
_PROSE_BLOCK_LINK_SHARE = 0.25

_ERROR_TITLE = re.compile(
    r"^\W*(error\W*)?(404|410)\b|\b(404|410) (error|not found|page)|"
    r"\b(page not found|not found|page (does not|doesn't|no longer) exists?|"
    r"error \d{3}|something went wrong|page unavailable|content unavailable|"
    r"(could ?n[o']t|can ?n[o']t|unable to) (find|locate) (that|this|the) page|"
    r"page you (are|were|'re) looking for)\b",
    re.I,
)


def is_live_blog_shell(types: set[str], body: str) -> bool:
    """A ``LiveBlogPosting`` whose updates are not on the page (they load by script)."""
    return "liveblogposting" in types and len(body) < _LIVE_BLOG_MIN_CHARS


def not_an_article(
    tree: Any,
    url: str,
    texts: tuple[str, str, str],
    og_type: str,
    types: set[str],
    declared: bool,
) -> bool:
    """``texts``: (title, displayed headline, body)."""
    title, headline, body = texts
    if len(body) < _MIN_BODY_CHARS:
        return True
    title_tag = tree.findtext(".//title") or ""
    first = body.split("\n\n", 1)[0]
    if len(body) < 600 and any(_ERROR_TITLE.search(t) for t in (title, title_tag, headline, first)):
        return True
    is_video = og_type.startswith("video") or ("videoobject" in types and not types & ARTICLE_TYPES)
    if is_video and len(body) < 400:
        return True
    if declared:
        return False
    if _AUTHOR_PATH.match(urlsplit(url).path):
        return True
    return _looks_like_listing(tree, body) and not _has_prose_block(tree)


def _headline_links(root: Any) -> tuple[int, int]:
    """How many links of four words or more under ``root``, and their characters."""
    count = chars = 0
    for anchor in root.iter("a"):
        text = text_of(anchor)
        if len(text.split()) >= 4:
            count += 1
            chars += len(text)
    return count, chars


def _looks_like_listing(tree: Any, body: str) -> bool:
    """Many headline-sized links and little prose besides them: an index or tag page.

    trafilatura often keeps teaser lists, so the link text is subtracted from the body before
    comparing: an article with a related-stories rail still has far more prose than links.
    """
    headline_links = link_words = 0
    for anchor in tree.iter("a"):
        words = len(text_of(anchor).split())
        if words >= 4:
            headline_links += 1
            link_words += words
    prose_words = max(0, len(body.split()) - link_words)
    return headline_links >= 5 and prose_words < 1.5 * link_words


def _has_prose_block(tree: Any) -> bool:
    """Paragraph text gathered under one parent, with few headline links inside it.

    Characters, not words, so that scripts without spaces between words count alike.
    """
    prose: dict[Any, int] = {}
    for paragraph in tree.iter("p"):
        parent = paragraph.getparent()
        if parent is None:
            continue
        own = len(text_of(paragraph)) - sum(len(text_of(a)) for a in paragraph.iter("a"))
        if own > 0:
            prose[parent] = prose.get(parent, 0) + own
    for parent, chars in prose.items():
        if chars < _PROSE_BLOCK_CHARS or in_chrome(parent):
            continue
        _, link_chars = _headline_links(parent)
        if link_chars <= _PROSE_BLOCK_LINK_SHARE * chars:
            return True
    return False
