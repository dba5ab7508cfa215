"""Dates as readers see them on news pages, turned into aware UTC datetimes.

:func:`find_visible_date` reads "Friday, 11 November 2022 07:29 PM EST", "Nov. 11, 2022
7:29 p.m. ET", "11/11/2022 19:29 CET", "Updated 3:05 AM EDT, Sat November 12, 2022",
"2 hours ago"... and day-month-year dates in Spanish, German, French, Italian and Portuguese
("11 de noviembre de 2022 19:29 CET", "11. November 2022, 19:29 Uhr").

The grammar is a handful of regular expressions rather than ``dateutil.parser(fuzzy=True)``:
fuzzy parsing happily builds a date out of a comment count and a year, and it knows nothing
about the zone abbreviations of news sites (:mod:`crawler.extract.time_zones`). A value
without a zone is read in ``default_tz``. Every result is plausible
(:mod:`crawler.extract.parsed_dates`); nothing here raises on bad input.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, tzinfo

from crawler.extract.parsed_dates import ParsedDate, calendar_date, is_plausible, parsed_date
from crawler.extract.time_zones import (
    NORTH_AMERICAN_ABBREVIATIONS,
    abbreviation_zone,
    is_american,
    offset_zone,
    zone,
)

__all__ = ["find_visible_date"]

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
# Full month names of the other languages of the news we read (Spanish, German, French,
# Italian, Portuguese), where the first three letters are not the English abbreviation.
# Names only, no abbreviations: "mai" or "dic" alone are too easily something else.
_FOREIGN_MONTHS = {
    "enero": 1, "abril": 4, "agosto": 8, "setiembre": 9, "diciembre": 12,
    "märz": 3, "maerz": 3, "mai": 5, "oktober": 10, "dezember": 12,
    "janvier": 1, "février": 2, "fevrier": 2, "avril": 4, "juin": 6, "juillet": 7, "août": 8,
    "aout": 8, "décembre": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "settembre": 9, "ottobre": 10, "dicembre": 12,
    "janeiro": 1, "fevereiro": 2, "março": 3, "maio": 5, "junho": 6, "julho": 7,
    "setembro": 9, "outubro": 10, "dezembro": 12,
}  # fmt: skip
_MON = (
    r"(?P<mon>january|february|march|april|may|june|july|august|september|october|november"
    r"|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
    # other languages: names whose first three letters are an English month
    r"|januar|februar|febrero|marzo|mars|mayo|junio|juni|julio|juli|septiembre|septembre"
    r"|octubre|octobre|noviembre|novembre|novembro|janvier|giugno|juin|juillet|"
    + "|".join(sorted(_FOREIGN_MONTHS, key=len, reverse=True))
    + r")(?![^\W\d_])\.?"
)
# "11 de noviembre de 2022", "11. November 2022", "3 de março de 2023"
_OF = r"(?:of|de|del)"
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?\.?"

_DATE_PATTERNS = (
    # 11 November 2022, 11th of Nov. 2022
    ("dmy", re.compile(
        rf"(?<![\d:])(?P<d>\d{{1,2}})(?:st|nd|rd|th|er|º|°)?\.?\s+(?:{_OF}\s+)?{_MON},?\s+"
        rf"(?:{_OF}\s+)?(?P<y>\d{{4}})(?!\d)",
        re.I,
    )),
    # November 11, 2022 / Nov. 11th 2022
    ("mdy", re.compile(
        rf"(?<![a-z]){_MON}\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})(?!\d)", re.I
    )),
    # 2022-11-11, 2022/11/11
    ("ymd", re.compile(r"(?<![\d.:/-])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d/])")),  # noqa: E501
    # 11/11/2022, 11.11.2022, 11-11-2022
    ("num", re.compile(r"(?<![\d.:/-])(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})(?!\d)")),  # noqa: E501
)  # fmt: skip

_TIME = (
    r"(?<![\d:.])(?P<H>\d{1,2})(?:(?:[:h]|\.(?=\d{2}\s*[ap]))(?P<M>\d{2}))?(?::(?P<S>\d{2}))?"
    r"\s*(?P<ampm>[ap]\.?\s?m\b\.?)?"
)
_ZONE = (
    r"(?:\(?(?-i:(?P<zone>[A-Z]{1,5}))\)?(?![A-Za-z]))?\s*(?P<off>[+-]\d{1,2}(?::?\d{2})?(?!\d))?"
)
_TIME_AFTER = re.compile(
    rf"[\s,|@–—-]{{0,8}}(?:(?:at|a las|um|à|alle|às)\s+|T)?{_TIME}\s*(?:uhr\b\s*)?{_ZONE}", re.I
)
_TIME_BEFORE = re.compile(rf"{_TIME}\s*{_ZONE}[\s,|–—-]*(?:{_WEEKDAY}[\s,]*)?$", re.I)
_RELATIVE = re.compile(
    r"\b(?P<n>\d{1,3}|an?|one)\s+(?P<unit>sec|second|min|minute|hr|hour|day|week)s?\.?\s+ago\b"
    r"|\b(?P<yesterday>yesterday)\b",
    re.I,
)


def find_visible_date(
    text: str,
    default_tz: str = "UTC",
    now: datetime | None = None,
    *,
    allow_relative: bool = True,
) -> ParsedDate | None:
    """The first plausible date written in ``text`` as readers see it, or None.

    Absolute dates win over relative ones ("2 hours ago", "yesterday", counted from ``now``).
    Numeric dates are read month first when the site's zone (or the zone written next to
    the date) is North American, day first otherwise; a part above 12 decides by itself.
    """
    try:
        return _find_visible_date(text[:20_000], default_tz, now, allow_relative)
    except (ValueError, OverflowError, TypeError, AttributeError, re.error):
        return None


def _find_visible_date(
    text: str, default_tz: str, now: datetime | None, allow_relative: bool
) -> ParsedDate | None:
    candidates: list[tuple[int, str, re.Match[str]]] = []
    for kind, pattern in _DATE_PATTERNS:
        candidates.extend((m.start(), kind, m) for m in pattern.finditer(text))
    candidates.sort(key=lambda c: (c[0], -len(c[2].group(0))))
    taken_until = -1
    for start, kind, match in candidates:
        if start < taken_until:
            continue  # "11 November 2022" also contains "November 2022"-ish overlaps
        found = _resolve(text, kind, match, default_tz, now)
        if found is not None:
            return found
        taken_until = match.end()
    if allow_relative:
        return _relative(text, default_tz, now)
    return None


def _clock(match: re.Match[str]) -> tuple[time, str] | None:
    if match.group("M") is None and match.group("ampm") is None:
        return None  # a bare number is not a time
    hour, minute = int(match.group("H")), int(match.group("M") or 0)
    second = int(match.group("S") or 0)
    ampm = (match.group("ampm") or "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second), "second" if match.group("S") else "minute"


def _zone_of(match: re.Match[str], default_tz: str) -> tuple[tzinfo | None, str | None]:
    """The zone written after a time, and its abbreviation; (None, None) when there is none."""
    abbr, off = match.group("zone"), match.group("off")
    tz: tzinfo | None = None
    if abbr:
        tz = abbreviation_zone(abbr, default_tz)
        if tz is None:
            abbr = None
    if off and (tz is None or tz is UTC):
        tz = offset_zone(off) or tz
    return tz, abbr


def _resolve(
    text: str, kind: str, match: re.Match[str], default_tz: str, now: datetime | None
) -> ParsedDate | None:
    clock: tuple[time, str] | None = None
    tz: tzinfo | None = None
    abbr: str | None = None
    after = _TIME_AFTER.match(text, match.end())
    if after and (clock := _clock(after)):
        tz, abbr = _zone_of(after, default_tz)
    else:
        before = _TIME_BEFORE.search(text, max(0, match.start() - 40), match.start())
        if before and (clock := _clock(before)):
            tz, abbr = _zone_of(before, default_tz)
    year = int(match.group("y"))
    if kind in ("dmy", "mdy"):
        name = match.group("mon").lower().rstrip(".")
        month = _FOREIGN_MONTHS.get(name) or _MONTHS[name[:3]]
        day = calendar_date(year, month, int(match.group("d")))
    elif kind == "ymd":
        day = calendar_date(year, int(match.group("m")), int(match.group("d")))
    else:
        a, b = int(match.group("a")), int(match.group("b"))
        american = is_american(default_tz) or (abbr or "").upper() in NORTH_AMERICAN_ABBREVIATIONS
        if a > 12 or (b <= 12 and not american):
            day = calendar_date(year, b, a)
        else:
            day = calendar_date(year, a, b)
    if day is None:
        return None
    if clock is None:
        return parsed_date(day, None, None, default_tz, "day", now)
    return parsed_date(day, clock[0], tz, default_tz, clock[1], now)


_UNIT_SECONDS = {"sec": 1, "min": 60, "hr": 3600, "hou": 3600, "day": 86400, "wee": 604800}


def _relative(text: str, default_tz: str, now: datetime | None) -> ParsedDate | None:
    match = _RELATIVE.search(text)
    if match is None:
        return None
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if match.group("yesterday"):
        count, unit = 1, "day"
    else:
        raw = match.group("n").lower()
        count = int(raw) if raw.isdigit() else 1
        unit = match.group("unit").lower()[:3]
    seconds = _UNIT_SECONDS[unit]
    if seconds < 86400:
        at = (
            (now - timedelta(seconds=count * seconds))
            .astimezone(UTC)
            .replace(second=0, microsecond=0)
        )
        return ParsedDate(at=at, precision="minute") if is_plausible(at, now) else None
    local_day = now.astimezone(zone(default_tz)).date() - timedelta(seconds=count * seconds)
    return parsed_date(local_day, None, None, default_tz, "day", now)
