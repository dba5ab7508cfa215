"""Where a page writes its byline: the strings :func:`crawler.extract.authors.credits_of`
reads credits from.

In order of trust: ``rel=author`` / ``[itemprop=author]``, elements whose class says byline
or author, a short "By ..." line after the headline; then, for pages without any of these,
a labelled credit ("Autorin/Autor: Name" as a label element and its value) and a name set
alone in bold as the first or last paragraph of the story (``<p><strong>Name</strong></p>``,
where small publishers put the byline).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from crawler.extract.elements import hint_of, in_chrome, text_of

__all__ = ["byline_texts", "labelled_bylines", "story_edge_bylines"]

_BYLINE_HINT = re.compile(r"byline|author|autor|auteur|writer|contributor")
_NOT_BYLINE_HINT = re.compile(r"bio|avatar|photo|image|img|follow|social|more-from|about")


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


# The label of a credit in a fact box ("<strong>Autorin/Autor</strong> Name", "<dt>Author</dt>
# <dd>Name</dd>"), in the languages we read.
_LABEL = re.compile(
    r"^(authors?|written by|autor(in)?(\s*/\s*autor(in)?)?|autoren|verfasser(in)?|auteur(e)?s?|"
    r"autore|autori|autores|redacción|forfatter|författare|tekst|text)\s*:?$",
    re.I,
)
_LABEL_TAGS = ("strong", "b", "dt", "th", "span", "label")
_MAX_CREDIT_CHARS = 80


def labelled_bylines(tree: Any) -> list[str]:
    """The values of labelled credits: the text after a label element in its parent, or the
    next element (a ``<dd>`` after a ``<dt>``)."""
    found: list[str] = []
    for element in tree.iter(*_LABEL_TAGS):
        label = element.text or ""
        if len(label) > 30 or not _LABEL.match(label.strip()) or len(element):
            continue
        value = (element.tail or "").strip()
        if not value and (following := element.getnext()) is not None:
            value = text_of(following)
        if not value and (parent := element.getparent()) is not None:
            value = text_of(parent)[len(text_of(element)) :].strip()
        value = value.lstrip(":").strip()
        if value and len(value) <= _MAX_CREDIT_CHARS and not in_chrome(element):
            found.append(value)
    return found


_PROSE_CHARS = 150
# Lower-case words a name may carry ("Ursula von der Leyen", "Vincent van Gogh").
_NAME_PARTICLES = frozenset(
    {"von", "van", "der", "den", "de", "da", "di", "du", "del", "la", "le", "bin", "ibn", "al"}
)
_LIST = re.compile(r"\s*(?:[,/&]|\s(?:and|und|et|y)\s)\s*")


def _names(text: str) -> bool:
    """Every word of every name starts with a capital letter, particles aside: a sentence
    in bold ("The interview was conducted by ...") is not a byline."""
    names = [n for n in _LIST.split(text.strip()) if n]
    words = [w for n in names for w in n.split()]
    return bool(words) and all(w[:1].isupper() or w in _NAME_PARTICLES for w in words)


_BOLD_ONLY = etree.XPath("//p[count(*) = 1][strong or b]")


def story_edge_bylines(tree: Any) -> list[str]:
    """A name alone in bold as the first or last paragraph of the story: the ``<p>`` whose
    whole text is one ``<strong>``/``<b>``, among the first three or the last of the
    paragraphs of a block of prose (three paragraphs of real length)."""
    found: list[str] = []
    for paragraph in _BOLD_ONLY(tree):  # cheap shape test first, in C
        bold = paragraph[0]
        text = text_of(paragraph)
        if not text or len(text) > _MAX_CREDIT_CHARS or text != text_of(bold) or not _names(text):
            continue
        parent = paragraph.getparent()
        paragraphs = [p for p in parent if p.tag == "p" and text_of(p).replace("\xa0", "")]
        if sum(len(text_of(p)) >= _PROSE_CHARS for p in paragraphs) < 3:
            continue
        if paragraph in paragraphs[:3] or paragraph is paragraphs[-1]:
            found.append(text)
    return found
