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

from crawler.extract.elements import in_chrome, text_of
from crawler.textnorm import normalize_text

__all__ = ["visible_standfirst"]

_MIN_CHARS = 60  # shorter descriptions are slogans or labels, not a lead paragraph
_LENGTH_SLACK = 0.1  # text_content() keeps white space and entities text_of cleans
_TAGS = ("p", "div", "h2", "span", "strong")
_MAX_CHILDREN = 5  # a standfirst is a paragraph with a few inline elements, not a section


def visible_standfirst(tree: Any, descriptions: list[str | None], body: str) -> str | None:
    """The first description the page displays and the body lacks, as displayed; else None."""
    normal_body = normalize_text(body)
    for description in descriptions:
        if not description or len(description) < _MIN_CHARS:
            continue
        wanted = normalize_text(description)
        if wanted in normal_body:
            return None  # the body already starts with (or holds) it
        size = len(description)
        for element in tree.iter(*_TAGS):
            # the cheap tests first: text_content() of a big section is costly, text_of more so
            if len(element) > _MAX_CHILDREN:
                continue
            if abs(len(element.text_content().strip()) - size) > _LENGTH_SLACK * size + 5:
                continue
            if element.getparent() is None or element.getparent().tag == "head":
                continue
            text = text_of(element)
            if normalize_text(text) == wanted and not in_chrome(element):
                return text
    return None
