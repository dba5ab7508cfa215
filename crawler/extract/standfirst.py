"""The standfirst: the lead paragraph shown between the headline and the story.

Publishers set it apart from the body (a larger font, its own block, often above the lead
image), and trafilatura, looking for the main text block, usually leaves it out. The page
also states it as its description (``og:description``, meta ``description``, JSON-LD
``description``), so we take a description only where the page *shows* it: an element of
the page whose text is that description, outside the site chrome. A description that only
exists in the metadata (an SEO summary) is never body text.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from crawler.extract.elements import in_chrome, text_of
from crawler.textnorm import normalize_text

__all__ = ["visible_standfirst"]

_MIN_CHARS = 60  # shorter descriptions are slogans or labels, not a lead paragraph
_SNIPPET_CHARS = 24  # the first words of the description, to find where it is shown
_CLIMB = 3  # the text node may sit in a <strong> or <span> inside the standfirst element
_TEXT_WITH = etree.XPath("//body//text()[contains(., $snippet)]")


def visible_standfirst(tree: Any, descriptions: list[str | None], body: str) -> str | None:
    """The first description the page displays and the body lacks, as displayed; else None."""
    normal_body = normalize_text(body)
    for description in descriptions:
        if not description or len(description) < _MIN_CHARS:
            continue
        wanted = normalize_text(description)
        if wanted in normal_body:
            return None  # the body already starts with (or holds) it
        snippet = description.split(None, 1)[-1][:_SNIPPET_CHARS].strip()
        if shown := _shown_as(tree, snippet, wanted):
            return shown
    return None


def _shown_as(tree: Any, snippet: str, wanted: str) -> str | None:
    """Text of the element showing ``wanted``, found from the text nodes holding ``snippet``
    (XPath runs in C: a walk over every element in Python cost more than the rest)."""
    if not snippet:
        return None
    for node in _TEXT_WITH(tree, snippet=snippet):
        element = node.getparent()
        for _ in range(_CLIMB):
            if element is None or element.tag in ("body", "head", "script", "style"):
                break
            text = text_of(element)
            if len(text) > 2 * len(wanted):
                break
            if normalize_text(text) == wanted and not in_chrome(element):
                return text
            element = element.getparent()
    return None
