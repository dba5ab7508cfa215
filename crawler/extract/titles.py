"""The headline: the one the page displays, without the site name, section or date.

Pages state their headline several times: the ``<h1>`` readers see, JSON-LD ``headline``,
``og:title``, ``twitter:title`` and ``<title>``. The metadata copies are often SEO variants
(another wording, a keyword prefix "Topic: ...") or carry the site name and a date
("... | DW | 28.04.2023", "... - Site Name"). So:

1. every candidate loses its site-name, section and date segments (:func:`strip_site_name`);
   the site is known by ``og:site_name``/publisher and by the labels of its host name;
2. the metadata headline the page displays wins (:func:`agreeing_headline`): an ``<h1>``
   (or an ``<h2>`` made of kicker and headline) outside breadcrumbs and menus with the same
   words. Which copy is the rewritten one varies by site, the page shows which is not;
3. else JSON-LD ``headline`` comes first, then ``og:title``, ``twitter:title``, microdata:
   on real pages the JSON-LD headline is the displayed one more often than ``og:title``,
   which is the one most often rewritten for search and social cards;
4. the ``<h1>`` (without its kicker span) replaces the chosen headline when it is that
   headline minus a trailing "- Some Name" segment stripping did not recognise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from crawler.extract.elements import clean, hint_of, text_of
from crawler.urls import site_of

__all__ = [
    "agreeing_headline",
    "choose_title",
    "displayed_headline",
    "site_keys",
    "strip_site_name",
    "unshared_headline",
]

# Separators between a headline and the site/section/date segments of a page title. A
# hyphen counts only between spaces ("Covid-19" stays whole); the Hangul vowel "ㅣ" and the
# full-width bar and colon are what Korean, Chinese and Japanese sites use as a bar.
_SEPARATOR = re.compile(r"(\s+(?:\||-{1,2}|–|—|\*|·|•|::|»)\s+|\s*[|｜ㅣ：]\s*|-{2})")
_DATE_SEGMENT = re.compile(r"^[\d\s./-]{6,}$")
_BY_SEGMENT = re.compile(r"^(by|von|par|por)\s", re.I)
_SECTION_MAX_CHARS = 12
# "…headline-정치ㅣSite": a section glued to a CJK/Hangul headline by a bare hyphen (a word
# in these scripts never ends in "-word", so nothing else is cut).
_GLUED_SECTION = re.compile(
    r"(?<=[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af])-[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{1,4}$"
)
# Class words of a kicker/overline inside the <h1> ("Eskalation im Nahen Osten - «...»"),
# and of text only screen readers get (the separator between kicker and headline).
_KICKER_HINT = re.compile(
    r"overline|kicker|eyebrow|topline|dachzeile|roofline|spitzmarke|offscreen"
)
_WORD = re.compile(r"\w+")
# Breadcrumbs and menus repeat a headline (often the SEO one) without displaying it as such.
_NAVIGATION_HINT = re.compile(r"breadcrumb|(?:^|[\s_-])nav|menu")
_MIN_SHOWN_CHARS = 12
# An article-header <h1> of at least this many words sharing under this share of its words
# with every metadata headline is another wording, not the same headline with a kicker.
_UNSHARED_MIN_WORDS = 4
_UNSHARED_MAX_SHARE = 0.5


def _key(text: str) -> str:
    return "".join(_WORD.findall(text.casefold()))


def site_keys(site_names: Iterable[str], url: str) -> set[str]:
    """The site's names as comparison keys, and its host's labels ("taipeitimes")."""
    keys = {_key(n) for n in site_names if n}
    try:
        host = site_of(url) or ""
    except ValueError:  # a junk URL names no site
        host = ""
    labels = host.split(".")[:-1]  # without the top-level domain
    keys |= {_key(label) for label in labels if label not in ("www", "m", "amp", "co", "com")}
    keys |= {_key(host)}
    return {k for k in keys if len(k) >= 2}


def _is_site_segment(segment: str, keys: set[str]) -> bool:
    key = _key(segment)
    if not key:
        return True  # a separator left alone
    if key in keys or _DATE_SEGMENT.match(segment) or _BY_SEGMENT.match(segment):
        return True
    # "The Times of India" against the host label "timesofindia"; "MDR.DE" against "mdr"
    return any(len(k) >= 4 and (key.endswith(k) or key.startswith(k)) for k in keys) or any(
        len(key) >= 2 and k.startswith(key) and len(k) - len(key) <= 3 for k in keys
    )


def strip_site_name(title: str, site_names: Iterable[str], url: str = "") -> str:
    """``title`` without leading/trailing segments that name the site, a date or an author."""
    keys = site_keys(site_names, url)
    parts = _SEPARATOR.split(title)
    segments, separators = parts[0::2], parts[1::2]
    stripped_end = False
    while len(segments) > 1 and _is_site_segment(segments[-1], keys):
        segments.pop()
        separators.pop()
        stripped_end = True
    # "Headline - Section | Site": a one-word section label before the site name
    last = segments[-1].strip()
    tied = len(segments) > 1 and separators[-1].strip() in ("-", "--", "|")
    if stripped_end and tied and " " not in last and len(last) <= _SECTION_MAX_CHARS:
        segments.pop()
        separators.pop()
    elif stripped_end:
        segments[-1] = _GLUED_SECTION.sub("", segments[-1].rstrip())
    while len(segments) > 1 and _is_site_segment(segments[0], keys):
        if separators[0].strip() in (":", "："):
            break  # "Brand: headline" is more often a topic than the site
        segments.pop(0)
        separators.pop(0)
    out = segments[0] + "".join(s + t for s, t in zip(separators, segments[1:], strict=True))
    return clean(out) or clean(title)


def displayed_headline(h1: Any) -> str:
    """The text of the page's ``<h1>`` without a kicker span or screen-reader-only text."""
    if h1 is None:
        return ""
    kept = [c for c in h1 if isinstance(c.tag, str)]
    if kept and any(_KICKER_HINT.search(hint_of(c)) for c in kept):
        rest = [text_of(c) for c in kept if not _KICKER_HINT.search(hint_of(c))]
        text = clean(" ".join(t for t in rest if t))
        if text:
            return text
    return text_of(h1)


def _in_navigation(element: Any) -> bool:
    for node in (element, *element.iterancestors()):
        if node.tag == "nav" or _NAVIGATION_HINT.search(hint_of(node)):
            return True
    return False


def agreeing_headline(tree: Any, stated: list[str]) -> str | None:
    """The metadata headline that the page displays (as an ``<h1>``, or an ``<h2>`` made of
    kicker and headline) outside breadcrumbs and menus: the same words, punctuation aside.
    Metadata copies are often SEO rewrites, and which one (JSON-LD or OpenGraph) is the
    displayed one varies by site; the page shows which. None when none is displayed."""
    by_key: dict[str, str] = {}
    for text in stated:
        if text and (key := _key(text)):
            by_key.setdefault(key, text)
    if not by_key:
        return None
    shown = [e for e in tree.iter("h1", "h2") if e.tag == "h1" or len(e) >= 2]  # not subheads
    # the whole displayed headline first (its kicker is displayed too), then its last part
    for read in (displayed_headline, _last_part):
        for element in shown:
            text = read(element)
            if len(text) < _MIN_SHOWN_CHARS or (found := by_key.get(_key(text))) is None:
                continue
            if not _in_navigation(element):
                return found
    return None


def _last_part(element: Any) -> str:
    """The text of the last part of a headline made of parts ("Kicker – Headline" as two
    spans); "" for a headline in one piece."""
    parts = [c for c in element if isinstance(c.tag, str) and c.get("aria-hidden") != "true"]
    parts = [c for c in parts if text_of(c)]
    return text_of(parts[-1]) if len(parts) >= 2 else ""


def choose_title(headline: str, metadata: list[str]) -> str | None:
    """The first metadata headline (JSON-LD before OpenGraph), or the displayed ``headline``
    when it is that text without a site name, date or kicker that stripping missed; None when
    there is no metadata."""
    metadata = [m for m in metadata if m]
    if not metadata:
        return None
    first = metadata[0]
    if headline and _key(headline) != _key(first) and _key(first).startswith(_key(headline)):
        rest = first[len(headline) :].lstrip() if first.startswith(headline) else ""
        if rest[:1] in ("-", "|", "–", "—", "·", "•", "*"):
            return headline  # "Headline - Some Site Name" whose name differs from og:site_name
    return first


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold()))


def unshared_headline(h1: Any, metadata: list[str]) -> str | None:
    """The text of ``h1`` when it is the headline of the article's own header (inside an
    ``<article>`` and a ``<header>``, outside menus, not a link) and no metadata headline
    shares half its words: the page displays another wording than its metadata states. A
    kicker or a site name shares the words, so it never makes a headline "unshared"."""
    if h1 is None or h1.find(".//a") is not None or _in_navigation(h1):
        return None
    ancestors = {a.tag for a in h1.iterancestors()}
    if "article" not in ancestors or "header" not in ancestors:
        return None
    text = displayed_headline(h1)
    words = _words(text)
    if len(words) < _UNSHARED_MIN_WORDS or not metadata:
        return None
    shares = (len(words & _words(m)) / len(words) for m in metadata)
    return text if max(shares) < _UNSHARED_MAX_SHARE else None
