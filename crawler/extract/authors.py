"""Who wrote the article: the credits of JSON-LD, meta tags and on-page bylines.

The byline model: a credit is a person (two to five words, or a short name in a script
without spaces, job titles such as "기자" dropped), an organisation or desk (one word, or a
name with an organisation word: "AFP", "Associated Press", "Guardian staff reporter"), or
not a credit at all: photo and picture-agency credits ("Foto: ...", "Getty Images"), dates,
roles, handles, profile blurbs, desk initials in parentheses ("(ema)"), and the single word
after a comma that is the dateline's place ("Jane Doe, Frankfurt"). People win; the
organisation is the author only where no person is credited (README: "authors").
A JSON-LD author list is taken as the publisher's record: every item is a credit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from crawler.extract.elements import clean
from crawler.extract.meta import JsonObj, as_text, types_of

__all__ = ["clean_authors", "credits_of", "is_person", "jsonld_credits", "photo_credits"]

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


# Credits that are not bylines: a photo, image or source line names who took the picture.
_CREDIT_LINE = re.compile(
    r"^\s*(fotos?|bild(er)?|images?|photos?|photographs?|pictures?|credits?|quelle|source|"
    r"grafik|graphics?|illustrations?|video|foto ?credit)\s*(:|by\b|von\b)",
    re.I,
)
# Picture agencies and stock libraries: a credit, never the writer.
_PICTURE_AGENCY = re.compile(
    r"\b(getty( images)?|istock(photo)?|shutterstock|keystone|imago|picture[- ]alliance|"
    r"alamy|depositphotos|adobe stock|unsplash|pexels|ap photo|afp photo|epa-efe)\b",
    re.I,
)
# A job title after a name in Korean, Chinese and Japanese bylines ("신현주 기자").
_CJK_ROLE = re.compile(r"\s*(기자|특파원|논설위원|記者|记者|特派員|特派员|編集委員|编辑)$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_LIST_MARK = re.compile(r"[,;|/•·\n]")
# A web address in a credit ("Deutsche Welle (www.dw.com)") makes it an organisation's.
_WEB_ADDRESS = re.compile(
    r"\bwww\.[\w-]+\.\w+|\b[\w-]+\.(?:com|net|org|de|co\.uk|fr|es|it)\b", re.I
)
_PARENTHESES = re.compile(r"\s*\([^)]*(\)|$)")
# A profile link's label glued to the name by text extraction ("Jane DoeTwitter").
_GLUED_SOCIAL = re.compile(r"(?<=[a-z])(Twitter|Facebook|Instagram|LinkedIn|Email|Mail)$")


def clean_authors(values: Iterable[str], exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """Person names out of byline strings: no "By", no dates, no site or organisation names."""
    return credits_of(values, exclude)[0]


def credits_of(
    values: Iterable[str], exclude: Iterable[str] = (), site_keys: Iterable[str] = ()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(people, organisations) credited by byline strings.

    A person has two to five words (or is written in a script without spaces); a single word
    ("AFP", "Agenturen", "Washington") or a name with an organisation word ("Associated
    Press", "Guardian staff reporter") is an organisation or a place, which the caller uses
    only when the page credits no person. So is a name with a word naming the site
    (``site_keys``: "MDR Thüringen" on mdr.de). Photo credits and picture agencies are neither.
    """
    excluded = {clean(e).casefold() for e in exclude if e}
    keys = set(site_keys)
    people: list[str] = []
    organisations: list[str] = []
    seen: set[str] = set()
    for value in values:
        text = clean(value)
        if _CREDIT_LINE.match(text) or _PICTURE_AGENCY.search(text):
            continue
        whole = _BY.sub("", text).strip(" .,:;-–—'\"")
        of_site = bool(_WEB_ADDRESS.search(text))
        text = _PARENTHESES.sub("", _BY.sub("", text))
        parts = [_name_of(part) for part in _SPLIT_NAMES.split(text)]
        parts = [p for p in parts if p]
        for name in parts:
            if name.casefold() in seen or name.casefold() in excluded:
                continue
            kind = _kind_of(name)
            names_site = any(_key(w) in keys for w in re.split(r"[\s-]+", name))
            if kind == "person" and (names_site or of_site):
                kind = "organisation"
            if kind == "person":
                seen.add(name.casefold())
                people.append(name)
            elif kind == "organisation" and len(parts) == 1:
                seen.add(name.casefold())
                organisations.append(name)
        # "Le Monde et AFP" is one credit; "srf/hosb; kesm" are initials, not a joint name
        is_joint = len(parts) > 1 and not any(_kind_of(p) == "person" for p in parts)
        is_joint = is_joint and not _LIST_MARK.search(whole)
        if is_joint and _kind_of(whole) == "organisation" and whole.casefold() not in seen:
            organisations.append(whole)
            seen.add(whole.casefold())
    return tuple(people), tuple(organisations)


_PHOTOS_BY = re.compile(r"^\s*(?:photos?|photographs?|pictures?|images?)\s+by\s+", re.I)


def photo_credits(values: Iterable[str], exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """The people a "Photos by ..." line credits: the authors of a page that credits no
    writer (a photo gallery), never beside one."""
    lines = [_PHOTOS_BY.sub("", clean(v)) for v in values if _PHOTOS_BY.match(clean(v))]
    return credits_of(lines, exclude)[0]


def _key(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _name_of(part: str) -> str:
    name = _BY.sub("", _PARENTHESES.sub("", part)).strip(" .,:;-–—'\"()[]")
    name = _CJK_ROLE.sub("", _GLUED_SOCIAL.sub("", name)).strip()
    if name.isupper() and not _CJK.search(name) and " " in name:
        name = name.title()  # wire bylines: "By MARIA GOMEZ"
    return name


def _kind_of(name: str) -> str:
    """ "person", "organisation" or "" (not a credit: a date, a role, a handle, a blurb)."""
    if not name or len(name) > 60 or any(ch.isdigit() for ch in name):
        return ""
    if "@" in name or "://" in name or not any(ch.isalpha() for ch in name):
        return ""
    if _ROLE.match(name) or _DATE_WORD.search(name):
        return ""
    words = name.split()
    if _CJK.search(name):
        # no spaces between words: a name is a few characters, a blurb many
        return "person" if len(words) <= 2 and len(name.replace(" ", "")) <= 8 else ""
    if len(words) > 5:
        return ""
    if _ORGANISATION.search(name) or len(words) == 1:
        return "organisation"
    return "person"


def jsonld_credits(
    article: JsonObj, exclude: Iterable[str] = (), graph: Iterable[JsonObj] = ()
) -> tuple[tuple[str, ...], bool]:
    """Every name JSON-LD lists as author, people and organisations alike, and whether one of
    them is a person.

    A JSON-LD author list is the publisher's own record of the credits, one item a credit,
    so an agency or desk in it ("AP", "SDA") is an author beside the people, and nothing in
    it is a dateline place. The site's own name is dropped when others are credited, and is
    never the person (a CMS account named after the site, typed Person). An item
    typed Organization is never the person, whatever its name looks like. An item that is
    only a reference (``{"@id": ...}``) is read from the object of that id in ``graph``.
    """
    raw = article.get("author") or article.get("creator")
    by_id = {obj["@id"]: obj for obj in graph if isinstance(obj.get("@id"), str)}
    excluded = {clean(e).casefold() for e in exclude if e}
    names: list[str] = []
    has_person = False
    for item in _flat_items(raw):
        if isinstance(item, dict) and not _name_field(item) and item.get("@id") in by_id:
            item = by_id[item["@id"]]
        name = _name_field(item) if isinstance(item, dict) else as_text(item)
        name = _name_of(name) if name else ""
        typed = types_of(item) if isinstance(item, dict) else set()
        kind = _kind_of(name) if name else ""
        if name and not kind and typed & _ORGANISATION_TYPES and _CJK.search(name):
            kind = "organisation"  # "読売新聞オンライン": a name too long for a person
        if not kind or _CREDIT_LINE.match(name) or _PICTURE_AGENCY.search(name):
            continue
        if name.casefold() in (n.casefold() for n in names):
            continue
        names.append(name)
        person = kind == "person" and not typed & _ORGANISATION_TYPES
        has_person = has_person or (person and name.casefold() not in excluded)  # not the site
    others = [n for n in names if n.casefold() not in excluded]
    return tuple(others or names), has_person


_ORGANISATION_TYPES = frozenset({"organization", "newsmediaorganization", "corporation"})


def _name_field(item: JsonObj) -> str | None:
    """``name``, else ``givenName familyName`` (schema.org Person without a display name)."""
    if name := as_text(item.get("name")):
        return name
    parts = [as_text(item.get(k)) for k in ("givenName", "familyName")]
    return " ".join(p for p in parts if p) or None


def is_person(name: str) -> bool:
    return _kind_of(name) == "person"


def _flat_items(raw: Any, depth: int = 0) -> list[Any]:
    if isinstance(raw, list) and depth < 3:
        return [item for value in raw for item in _flat_items(value, depth + 1)]
    return [raw] if isinstance(raw, (dict, str)) else []
