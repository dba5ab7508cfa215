"""Who wrote the article: author names out of JSON-LD, meta tags and on-page bylines.

Every source is untrusted text: :func:`clean_authors` keeps the person names of a byline
and drops the "By", dates, roles, and organisation or site names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lxml import etree

from crawler.extract.elements import clean, hint_of, in_chrome, text_of
from crawler.extract.meta import JsonObj, as_text, types_of

__all__ = ["byline_texts", "clean_authors", "jsonld_authors"]

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
