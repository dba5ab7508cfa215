"""Dates as news pages write them, turned into aware UTC datetimes.

Two entry points:

* :func:`parse_date` for machine values (JSON-LD, meta tags, ``<time datetime>``, feeds):
  ISO 8601 with or without offset, date-only values, RFC 822 and Unix timestamps.
* :func:`find_visible_date` for dates a reader sees: "Friday, 11 November 2022 07:29 PM EST",
  "Nov. 11, 2022 7:29 p.m. ET", "11/11/2022 19:29 CET", "Updated 3:05 AM EDT, Sat November
  12, 2022", "2 hours ago"... and day-month-year dates in Spanish, German, French, Italian
  and Portuguese ("11 de noviembre de 2022 19:29 CET", "11. November 2022, 19:29 Uhr").

The grammar is a handful of regular expressions rather than ``dateutil.parser(fuzzy=True)``:
fuzzy parsing happily builds a date out of a comment count and a year, and it knows nothing
about the zone abbreviations of news sites. Zone abbreviations come from one table below;
the generic ones ("ET", "PT") take their offset from the IANA zone on that date, so DST is
right; the ambiguous ones (IST, CST, BST, AST) are resolved with the site's time zone.
A value without a zone is read in ``default_tz``. Every result passes :func:`is_plausible`
(1995-01-01 ≤ value ≤ now + 1 day); nothing here raises on bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "EARLIEST",
    "ParsedDate",
    "find_visible_date",
    "is_plausible",
    "parse_date",
    "precision_of",
    "zone",
]

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ParsedDate:
    """A date found in a page: ``at`` is aware UTC; ``precision`` is day, minute or second."""

    at: datetime
    precision: str


# --------------------------------------------------------------------------------------------
# Time zones

# Abbreviations with one fixed offset (minutes east of UTC). As written on the page: a site
# that prints "EST" in July means -05:00 literally, which is what we keep.
_FIXED: dict[str, int] = {
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
    "AST": -240, "ADT": -180, "NST": -210, "NDT": -150,
    "BST": 60, "IST": 330, "CET": 60, "CEST": 120, "MET": 60, "MEST": 120,
    "WEST": 60, "EET": 120, "EEST": 180, "MSK": 180, "CAT": 120, "EAT": 180, "WAT": 60,
    "SAST": 120, "PKT": 300, "WIB": 420, "PHT": 480, "JST": 540, "KST": 540, "HKT": 480,
    "SGT": 480, "AWST": 480, "ACST": 570, "ACDT": 630, "AEST": 600, "AEDT": 660,
    "NZST": 720, "NZDT": 780,
}  # fmt: skip

# Generic names that follow the local DST rules.
_GENERIC: dict[str, str] = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
    "AKT": "America/Anchorage",
    "AET": "Australia/Sydney",
}

# Abbreviations that mean something else in some markets: (site zones, offset there).
_AMBIGUOUS: dict[str, tuple[frozenset[str], int]] = {
    # Irish Standard Time is Ireland's summer time, UTC+1; everywhere else IST is India.
    "IST": (frozenset({"Europe/Dublin", "Eire"}), 60),
    # China Standard Time on Chinese and Taiwanese sites, US Central elsewhere.
    "CST": (
        frozenset(
            {
                "Asia/Shanghai",
                "Asia/Chongqing",
                "Asia/Harbin",
                "Asia/Taipei",
                "Asia/Macau",
                "PRC",
                "ROC",
            }
        ),
        480,
    ),
    "BST": (frozenset({"Asia/Dhaka"}), 360),  # Bangladesh, not British Summer Time
    "AST": (
        frozenset(
            {
                "Asia/Riyadh",
                "Asia/Baghdad",
                "Asia/Kuwait",
                "Asia/Qatar",
                "Asia/Bahrain",
                "Asia/Aden",
            }
        ),
        180,
    ),  # Arabia Standard Time, not Atlantic
}

_NORTH_AMERICAN_ABBREVIATIONS = frozenset(
    {"EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "AKST", "AKDT", "HST",
     "ET", "CT", "MT", "PT", "AKT"}
)  # fmt: skip

# Sites in these zones write numeric dates month first (11/30/2022).
_US_ZONE_PREFIXES = ("US/", "America/Indiana/", "America/Kentucky/", "America/North_Dakota/")
_US_ZONES = frozenset(
    {"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
     "America/Phoenix", "America/Anchorage", "America/Detroit", "America/Boise",
     "America/Juneau", "America/Sitka", "America/Nome", "America/Adak", "America/Menominee",
     "America/Metlakatla", "America/Yakutat", "Pacific/Honolulu", "America/Puerto_Rico",
     "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT"}
)  # fmt: skip


def zone(name: str | None) -> tzinfo:
    """The IANA zone called ``name``; UTC when it is empty or unknown (never raises)."""
    if not name or name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # unknown name, bad path characters, ...
        return UTC


def _is_american(default_tz: str) -> bool:
    return default_tz in _US_ZONES or default_tz.startswith(_US_ZONE_PREFIXES)


def _abbreviation_zone(abbr: str, default_tz: str) -> tzinfo | None:
    abbr = abbr.upper()
    if abbr in _AMBIGUOUS:
        zones, minutes = _AMBIGUOUS[abbr]
        if default_tz in zones:
            return timezone(timedelta(minutes=minutes))
    if abbr in _FIXED:
        return timezone(timedelta(minutes=_FIXED[abbr])) if _FIXED[abbr] else UTC
    if abbr in _GENERIC:
        return ZoneInfo(_GENERIC[abbr])
    return None


def _offset_zone(text: str) -> tzinfo | None:
    """'+02:00', '-0500', '+5', '+05:30' → a fixed offset; None when out of range."""
    match = re.fullmatch(r"([+-])(\d{1,2})(?::?(\d{2}))?", text.strip())
    if not match:
        return None
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if match.group(1) == "-" else delta) if delta else UTC


# --------------------------------------------------------------------------------------------
# Common helpers


def is_plausible(dt: datetime, now: datetime | None = None) -> bool:
    """1995-01-01 ≤ dt ≤ now + 1 day; a naive ``dt`` or ``now`` is read as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return EARLIEST <= dt <= now + timedelta(days=1)


def precision_of(dt: datetime) -> str:
    """A guess for values that arrive as datetimes (feeds, sitemaps, htmldate)."""
    if (dt.hour, dt.minute, dt.second, dt.microsecond) == (0, 0, 0, 0):
        return "day"
    return "minute" if dt.second == 0 and dt.microsecond == 0 else "second"


def _finish(
    day: date,
    clock: time | None,
    tz: tzinfo | None,
    default_tz: str,
    precision: str,
    now: datetime | None,
) -> ParsedDate | None:
    try:
        local = datetime.combine(day, clock or time(0), tzinfo=tz or zone(default_tz))
        at = local.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if not is_plausible(at, now):
        return None
    return ParsedDate(at=at, precision=precision)


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # month 29, February 30, ...
        return None


# --------------------------------------------------------------------------------------------
# Machine values

_ISO = re.compile(
    r"""(?P<y>\d{4})(?P<sep>[-/]?)(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})
        (?:(?:T|\s+|T\s*)(?P<H>\d{1,2}):?(?P<M>\d{2})(?::?(?P<S>\d{2})(?:[.,]\d+)?)?)?
        \s*(?P<tz>Z|[+-]\d{1,2}(?::?\d{2})?|\(?[A-Za-z]{1,5}\)?)?""",
    re.X,
)
_EPOCH = re.compile(r"(\d{10})(\d{3})?")


def parse_date(
    value: str, default_tz: str = "UTC", now: datetime | None = None
) -> ParsedDate | None:
    """Parse a machine-written date; None when it is junk, impossible or implausible."""
    try:
        return _parse_date(value, default_tz, now)
    except (ValueError, OverflowError, TypeError, AttributeError):
        return None


def _parse_date(value: str, default_tz: str, now: datetime | None) -> ParsedDate | None:
    text = value.strip()[:200]
    if not text:
        return None
    match = _ISO.fullmatch(text)
    if match and (match.group("sep") or len(match.group("m")) == len(match.group("d")) == 2):
        return _from_iso(match, default_tz, now)
    epoch = _EPOCH.fullmatch(text)
    if epoch:
        at = datetime.fromtimestamp(int(epoch.group(1)), UTC)
        return ParsedDate(at=at, precision="second") if is_plausible(at, now) else None
    # RFC 822 ("Fri, 11 Nov 2022 19:29:00 +0000") and other human spellings in machine slots.
    return find_visible_date(text, default_tz, now, allow_relative=False)


def _from_iso(match: re.Match[str], default_tz: str, now: datetime | None) -> ParsedDate | None:
    day = _make_date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
    if day is None:
        return None
    clock: time | None = None
    precision = "day"
    if match.group("H") is not None:
        hour, minute = int(match.group("H")), int(match.group("M"))
        second = int(match.group("S") or 0)
        if hour == 24 and minute == 0 and second == 0:
            day, hour = day + timedelta(days=1), 0
        if hour > 23 or minute > 59 or second > 59:
            return None
        clock = time(hour, minute, second)
        precision = "second" if match.group("S") is not None else "minute"
    tz: tzinfo | None = None
    raw_tz = (match.group("tz") or "").strip("()")
    if raw_tz:
        tz = _offset_zone(raw_tz) if raw_tz[0] in "+-" else _abbreviation_zone(raw_tz, default_tz)
        if tz is None:
            return None
    return _finish(day, clock, tz, default_tz, precision, now)


# --------------------------------------------------------------------------------------------
# Visible text

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
        tz = _abbreviation_zone(abbr, default_tz)
        if tz is None:
            abbr = None
    if off and (tz is None or tz is UTC):
        tz = _offset_zone(off) or tz
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
        day = _make_date(year, month, int(match.group("d")))
    elif kind == "ymd":
        day = _make_date(year, int(match.group("m")), int(match.group("d")))
    else:
        a, b = int(match.group("a")), int(match.group("b"))
        american = _is_american(default_tz) or (abbr or "").upper() in _NORTH_AMERICAN_ABBREVIATIONS
        if a > 12 or (b <= 12 and not american):
            day = _make_date(year, b, a)
        else:
            day = _make_date(year, a, b)
    if day is None:
        return None
    if clock is None:
        return _finish(day, None, None, default_tz, "day", now)
    return _finish(day, clock[0], tz, default_tz, clock[1], now)


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
    return _finish(local_day, None, None, default_tz, "day", now)
