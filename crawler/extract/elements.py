"""Reading elements of the parsed page: their visible text, what their markup says they are,
whether they sit in site chrome, and CSS selection by the selectors of settings.

Nothing here changes the tree.
"""

from __future__ import annotations

import html
import re
from typing import Any

from lxml import etree

__all__ = ["clean", "hint_of", "in_chrome", "select", "text_of"]

_SPACE = re.compile(r"\s+")


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


def select(tree: Any, selector: str) -> list[Any]:
    """Elements matching a CSS selector from settings; [] when the selector is invalid."""
    try:
        return list(tree.cssselect(selector))
    except Exception:  # cssselect raises its own SelectorError/ExpressionError on a bad rule
        return []


_CHROME_ANCESTOR = re.compile(
    r"related|recommend|promo|sidebar|trending|most-?read|popular|comment"
)


def in_chrome(element: Any, article_footer: bool = False) -> bool:
    """Inside nav/header-of-site/footer/aside or a related-stories block (one without the
    page's headline inside). With
    ``article_footer``, the ``<footer>`` of an ``<article>`` (where its tags are) is not."""
    ancestors = list(element.iterancestors())
    for i, ancestor in enumerate(ancestors):
        footer = ancestor.tag == "footer" and article_footer
        if footer and any(a.tag == "article" for a in ancestors[i + 1 :]):
            continue
        if ancestor.tag in ("nav", "footer", "aside"):
            return True
        if ancestor.tag in ("body", "html"):
            break  # the page's own classes ("has-comments") describe the page, not a block
        if _CHROME_ANCESTOR.search(hint_of(ancestor)) and ancestor.find(".//h1") is None:
            return True  # (a block holding the headline is a layout column, "sidebar-1")
    return False
